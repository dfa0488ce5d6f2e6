/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: an API request body as the dispatcher decodes it (src/ops/dispatch.c) --
 * JSON, then shape validation against the generated model for the operation -- and, for
 * a body that passes, the checks each operation makes before it touches the store:
 * revocation configuration, tags, subject, validity, templates, ARNs, NextToken,
 * resource policies and the authorization request built from the body.
 *
 * Input: "<Operation>\n<body>", the X-Amz-Target operation on the first line (an unknown
 * name exercises the model-less path), the raw body after it. */
#include <string.h>

#include <apr_strings.h>

#include "fuzz.h"

#include "acmpca/arn.h"
#include "acmpca/auth.h"
#include "acmpca/err.h"
#include "acmpca/json.h"
#include "acmpca/model.h"
#include "acmpca/token.h"
#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "../../src/ops/ops_int.h"

static const unsigned char token_key[ACMPCA_KEK_LEN] = "fuzz-token-key-0123456789abcdef";

static int model_input(const char *op)
{
    int i;

    for (i = 0; i < acmpca_model_n_ops; i++) {
        if (!strcmp(acmpca_model_ops[i].name, op)) {
            return acmpca_model_ops[i].input;
        }
    }
    return -1;
}

/* An error a core function reports must be one the client can be told. */
static void check_err(apr_status_t rv, const acmpca_err_t *err)
{
    if (rv == APR_SUCCESS) {
        return;
    }
    FUZZ_ASSERT(rv == ACMPCA_EAWS || err->type == ACMPCA_ERR_INTERNAL);
    FUZZ_ASSERT(err->type > ACMPCA_ERR_NONE && err->type < ACMPCA_ERR_COUNT);
    FUZZ_ASSERT(acmpca_err_name(err->type) != NULL);
    FUZZ_ASSERT(err->type == ACMPCA_ERR_INTERNAL || err->message != NULL);
}

/* What the operations check of a validated body before they load anything. */
static void op_checks(const char *op, const cJSON *in, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    const char *arn = acmpca_json_str(in, ACMPCA_K_CA_ARN);
    const char *token = acmpca_json_str(in, ACMPCA_K_NEXT_TOKEN);
    const cJSON *config = acmpca_json_obj(in, ACMPCA_K_CA_CONFIG);
    const cJSON *rc = acmpca_json_obj(in, ACMPCA_K_REVOCATION_CONFIG);
    acmpca_authz_req_t areq;
    acmpca_ca_ref_t ref;
    const char *serial;
    apr_int64_t pos;
    apr_status_t rv;

    acmpca_authz_request(&areq, op, in, "123456789012", "arn:aws:iam::123456789012:user/fuzz", p);
    FUZZ_ASSERT(areq.action && areq.resource);
    if (arn && acmpca_arn_parse_ca(&ref, arn, p) == APR_SUCCESS) {
        FUZZ_ASSERT(ref.id && acmpca_is_uuid(ref.id) && !strcmp(ref.arn, arn));
    }
    if ((arn = acmpca_json_str(in, ACMPCA_K_CERT_ARN)) != NULL
        && acmpca_arn_parse_cert(&ref, &serial, arn, p) == APR_SUCCESS) {
        FUZZ_ASSERT(serial && *serial && strlen(serial) <= 40);
    }
    if (token) {
        rv = acmpca_token_parse(&pos, token_key, sizeof(token_key), op, "123456789012", token, p);
        FUZZ_ASSERT(rv == APR_SUCCESS || rv == APR_EINVAL);
    }
    if (rc) {
        rv = acmpca_revocation_check(rc, &err, p);
        check_err(rv, &err);
        cJSON_Delete(acmpca_revocation_normalize(rc, NULL));
        cJSON_Delete(acmpca_revocation_normalize(rc, rc));
    }
    if (cJSON_GetObjectItemCaseSensitive(in, ACMPCA_K_TAGS)) {
        rv = acmpca_tags_check(cJSON_GetObjectItemCaseSensitive(in, ACMPCA_K_TAGS), &err, p);
        check_err(rv, &err);
    }
    if (config) {
        X509_NAME *name;

        rv = acmpca_sigalg_check(acmpca_json_str(config, ACMPCA_K_SIGNING_ALGORITHM),
                                 acmpca_json_str(config, ACMPCA_K_KEY_ALGORITHM), &err, p);
        check_err(rv, &err);
        rv = acmpca_name_from_json(&name, acmpca_json_obj(config, ACMPCA_K_SUBJECT), &err, p);
        check_err(rv, &err);
        FUZZ_ASSERT(rv != APR_SUCCESS || X509_NAME_entry_count(name) > 0);
    }
    if (!strcmp(op, "IssueCertificate")) {
        apr_time_t now = apr_time_from_sec(1767225600); /* 2026-01-01 */
        apr_time_t nb = 0, na = 0;
        const char *t = acmpca_json_str(in, ACMPCA_K_TEMPLATE_ARN);

        (void)acmpca_template_find(t);
        rv = acmpca_validity_compute(&nb, &na, acmpca_json_obj(in, ACMPCA_K_VALIDITY),
                                     acmpca_json_obj(in, ACMPCA_K_VALIDITY_NOT_BEFORE), now,
                                     now + apr_time_from_sec(86400 * 3650), 0, &err, p);
        check_err(rv, &err);
        FUZZ_ASSERT(rv != APR_SUCCESS || nb <= na);
        rv = acmpca_validity_compute(&nb, &na, acmpca_json_obj(in, ACMPCA_K_VALIDITY),
                                     acmpca_json_obj(in, ACMPCA_K_VALIDITY_NOT_BEFORE), now, 0, 1,
                                     &err, p);
        check_err(rv, &err);
    }
    if (!strcmp(op, "PutPolicy") && acmpca_json_str(in, "Policy")) {
        const char *text = acmpca_json_str(in, "Policy"), *why = NULL;
        acmpca_policy_t *pol;

        rv = acmpca_policy_parse(&pol, text, strlen(text), ACMPCA_POLICY_RESOURCE, &why, p);
        FUZZ_ASSERT(rv == APR_SUCCESS || why != NULL);
        if (rv == APR_SUCCESS) {
            (void)acmpca_policy_eval(pol, &areq);
        }
    }
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
    apr_pool_t *p = fuzz_pool();
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_authz_req_t areq;
    const char *op = fuzz_line(&data, &size, p);
    const char *body = fuzz_cstr(data, size, p); /* a private copy: cJSON reads no further */
    cJSON *in;
    apr_status_t rv;
    int shape = model_input(op);

    /* The identity layer reads the body before the dispatcher does (mod_acmpca_auth.c). */
    acmpca_authz_request_body(&areq, op, body, size, "123456789012", NULL, p);
    /* Exactly the dispatcher's decoding: an empty body is an empty request. */
    in = size ? acmpca_json_parse(body, size, p) : acmpca_json_own(cJSON_CreateObject(), p);
    if (in && cJSON_IsObject(in) && shape >= 0) {
        rv = acmpca_validate(in, shape, &err, p);
        if (fuzz_verbose()) {
            fprintf(stderr, "  %s: %s\n", op, rv == APR_SUCCESS ? "valid" : err.message);
        }
        if (rv != APR_SUCCESS) {
            FUZZ_ASSERT(rv == ACMPCA_EAWS);
            FUZZ_ASSERT(err.type == ACMPCA_ERR_VALIDATION || err.type == ACMPCA_ERR_SERIALIZATION);
            FUZZ_ASSERT(err.message && *err.message);
        }
        else {
            op_checks(op, in, p);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
