/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: SigV4 (src/auth/sigv4.c, canon.c) -- the Authorization header and the
 * presigned query parameters, the credential scope, the dates, and the canonical request
 * under both path rules (acm-pca and s3).
 *
 * Input: an HTTP request in a plain form,
 *     <method>\n<path>\n<query>\n<Name: value>\n...\n\n<body>
 * verified at 2015-08-30T12:36:00Z with the key of AWS's SigV4 test suite (AKIDEXAMPLE),
 * so that seeds signed at that instant (captured under faketime) take the success path. */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz.h"

#include "acmpca/auth.h"

#define AKID   "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static const char key_record[] = "the host's record of AKIDEXAMPLE";

static apr_status_t lookup(acmpca_sigv4_key_t *key, const char *access_key, void *baton)
{
    (void)baton;
    if (strcmp(access_key, AKID)) {
        return APR_NOTFOUND;
    }
    key->secret = SECRET;
    key->session_token = NULL;
    key->data = key_record;
    return APR_SUCCESS;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const services[] = {"acm-pca", "s3", NULL};
    apr_pool_t *p = fuzz_pool();
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_sigv4_opts_t opts = {services, "us-east-1", 0};
    acmpca_sigv4_result_t res;
    acmpca_sigv4_req_t req;
    apr_table_t *headers = apr_table_make(p, 8);
    const char *line, *signed_headers = "host;x-amz-date";
    const uint8_t *input = data;
    size_t input_len = size;
    apr_status_t rv;

    memset(&req, 0, sizeof(req));
    req.method = fuzz_line(&data, &size, p);
    req.path = fuzz_line(&data, &size, p);
    req.query = fuzz_line(&data, &size, p);
    while (size && *(line = fuzz_line(&data, &size, p))) {
        const char *colon = strchr(line, ':');

        if (colon) {
            const char *v = colon + 1;
            while (*v == ' ') {
                v++;
            }
            apr_table_addn(headers, apr_pstrndup(p, line, (apr_size_t)(colon - line)), v);
        }
    }
    req.headers = headers;
    req.body = size ? apr_pmemdup(p, data, size) : NULL; /* not NUL-terminated, as received */
    req.body_len = size;
    req.now = apr_time_from_sec(1440938160); /* 20150830T123600Z */

    memset(&res, 0, sizeof(res));
    rv = acmpca_sigv4_verify(&res, &req, &opts, lookup, NULL, &err, p);
    if (fuzz_verbose()) {
        fprintf(stderr, "  sigv4: %s %s\n",
                rv == APR_SUCCESS ? "verified" : acmpca_err_name(err.type),
                rv == APR_SUCCESS ? res.service : err.message);
    }
    if (rv == APR_SUCCESS) {
        FUZZ_ASSERT(res.access_key && !strcmp(res.access_key, AKID)
                    && res.data == (const void *)key_record);
        FUZZ_ASSERT(res.service && res.region && !strcmp(res.region, "us-east-1"));
    }
    else {
        FUZZ_ASSERT(rv == ACMPCA_EAWS && err.message);
        FUZZ_ASSERT(err.type == ACMPCA_ERR_MISSING_AUTH_TOKEN
                    || err.type == ACMPCA_ERR_INCOMPLETE_SIGNATURE
                    || err.type == ACMPCA_ERR_UNRECOGNIZED_CLIENT
                    || err.type == ACMPCA_ERR_INVALID_SIGNATURE);
        /* The secret never reaches a message (unless the request itself carried it: AWS
         * echoes a malformed credential, and so do we). */
        FUZZ_ASSERT(!strstr(err.message, SECRET) || memmem(input, input_len, SECRET, 40));
    }
    /* The canonicaliser alone, on whatever the input names as signed headers. */
    if ((line = apr_table_get(headers, "X-Fuzz-Signed-Headers")) != NULL) {
        signed_headers = line;
    }
    FUZZ_ASSERT(acmpca_sigv4_canonical_request(&req, signed_headers, "UNSIGNED-PAYLOAD", 0, 0, p));
    FUZZ_ASSERT(acmpca_sigv4_canonical_request(&req, signed_headers, "UNSIGNED-PAYLOAD", 1, 1, p));
    apr_pool_destroy(p);
    return 0;
}
