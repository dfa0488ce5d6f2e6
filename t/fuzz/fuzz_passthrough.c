/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: ApiPassthrough (PCA-API.md §7.2, src/x509/cert.c and name.c) -- subject,
 * key usage, extended key usages, certificate policies, subject alternative names and
 * custom extensions -- as IssueCertificate hands them to acmpca_cert_issue: validated
 * against the model's ApiPassthrough shape first, then issued by a fixed CA on an API
 * passthrough template.
 *
 * Input: a JSON object {"TemplateArn": "...", "ApiPassthrough": {...}}; TemplateArn
 * defaults to EndEntityCertificate_APIPassthrough/V1 and must name an API passthrough
 * template (others ignore ApiPassthrough: nothing to fuzz). */
#include "fuzz_ca.h"

#include "acmpca/model.h"
#include "../../src/ops/ops_int.h"

static int api_shape = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int i;

    (void)argc;
    (void)argv;
    fuzz_ca();
    for (i = 0; i < acmpca_model_n_shapes; i++) {
        if (!strcmp(acmpca_model_shapes[i].name, "ApiPassthrough")) {
            api_shape = i;
        }
    }
    FUZZ_ASSERT(api_shape >= 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    const fuzz_ca_t *ca = fuzz_ca();
    const acmpca_template_t *tmpl;
    const cJSON *in = acmpca_json_parse(fuzz_cstr(data, size, p), size, p), *api;
    const char *arn = acmpca_json_str(in, ACMPCA_K_TEMPLATE_ARN);
    acmpca_issue_t issue;
    X509 *cert = NULL;
    apr_status_t rv;

    tmpl = acmpca_template_find(
        arn ? arn : ACMPCA_TEMPLATE_ARN_PREFIX "EndEntityCertificate_APIPassthrough/V1");
    api = acmpca_json_obj(in, ACMPCA_K_API_PASSTHROUGH);
    /* Only what the dispatcher lets through reaches the builder. */
    if (tmpl && tmpl->api_passthrough && api
        && acmpca_validate(api, api_shape, &err, p) == APR_SUCCESS) {
        fuzz_ca_issue_init(&issue, ca, tmpl);
        issue.api_passthrough = api;
        rv = acmpca_cert_issue(&cert, &issue, &err, p);
        if (fuzz_verbose()) {
            fprintf(stderr, "  issued: %s\n", rv == APR_SUCCESS ? "yes" : err.message);
        }
        /* Bad content is the caller's fault (InvalidArgs), never ours (a 500). */
        FUZZ_ASSERT(rv == APR_SUCCESS
                    || (rv == ACMPCA_EAWS && err.type == ACMPCA_ERR_INVALID_ARGS && err.message));
        if (rv == APR_SUCCESS) {
            acmpca_cert_info_t info;
            const char *pem = acmpca_cert_pem(cert, p);
            X509 *back = NULL;

            FUZZ_ASSERT(
                pem
                && acmpca_cert_parse(&back, (const unsigned char *)pem, strlen(pem), &err, p)
                       == APR_SUCCESS);
            FUZZ_ASSERT(X509_verify(back, ca->key) == 1);
            acmpca_cert_info(&info, back, p);
            FUZZ_ASSERT(info.is_ca == tmpl->is_ca);
            /* Nothing the caller sent may duplicate an extension (RFC 5280 §4.2). */
            FUZZ_ASSERT(!(X509_get_extension_flags(back) & EXFLAG_INVALID));
        }
    }
    apr_pool_destroy(p);
    return 0;
}
