/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: a whole API request through acmpca_ops_call -- dispatch, decoding, model
 * validation and the operation itself -- against a sqlite store holding an ACTIVE root CA
 * (fuzz_store.h), so that a body that passes validation reaches the code behind it.
 * Whatever comes in, the reply is an AWS JSON answer; a 500 (our own fault) is a finding.
 *
 * Input: "<Operation>\n<body>", as fuzz_request, with the placeholders of fuzz_store.h
 * (@CA_ARN@, @CERT_ARN@, ...) replaced when the body is text. The store keeps what the
 * inputs did: the target is stateful, as the server is. */
#include "fuzz_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_store();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    acmpca_reply_t reply;
    const char *op, *body;
    const cJSON *out;
    size_t len;

    fuzz_store();
    op = fuzz_line(&data, &size, p);
    if (memchr(data, '\0', size)) {
        body = apr_pmemdup(p, data, size); /* binary: as it came */
        len = size;
    }
    else {
        body = fuzz_store_expand(fuzz_cstr(data, size, p), p);
        len = strlen(body);
        body = len ? apr_pmemdup(p, body, len) : NULL; /* exact length, no NUL after it */
    }
    fuzz_call(&reply, op, body, len, p);
    if (fuzz_verbose()) {
        fprintf(stderr, "  %s: %d %.200s\n", op, reply.status, reply.body);
    }
    out = acmpca_json_parse(reply.body, reply.body_len, p);
    FUZZ_ASSERT(reply.body && cJSON_IsObject(out));
    if (reply.status == 200) {
        FUZZ_ASSERT(reply.error_type == NULL && reply.operation != NULL);
    }
    else {
        FUZZ_ASSERT(reply.error_type && !strcmp(acmpca_json_str(out, "__type"), reply.error_type));
        FUZZ_ASSERT(acmpca_json_str(out, "message") != NULL);
        if (reply.status >= 500) {
            fprintf(stderr, "fuzz_ops: %s answered %d %s\n", op, reply.status, reply.body);
        }
        FUZZ_ASSERT(reply.status == 400 || reply.status == 413);
    }
    fuzz_store_input_done();
    apr_pool_destroy(p);
    return 0;
}
