/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: IAM policy documents (src/auth/authz.c) -- PutPolicy's resource policies
 * and the identity policies of the credentials file -- parsed as both kinds and, when
 * they parse, evaluated for a handful of requests, with IAM's glob matcher on the way.
 * The document arrives as len bytes with nothing after them (as PutPolicy's member
 * and the credentials file are read).
 *
 * Input: the policy text (JSON). */
#include <string.h>

#include <apr_strings.h>

#include "fuzz.h"

#include "acmpca/auth.h"

static const char *const actions[] = {"IssueCertificate", "RevokeCertificate",
                                      "GetCertificate",   "DescribeCertificateAuthority",
                                      "ListPermissions",  "CreateCertificateAuthority"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

static void evaluate(const acmpca_policy_t *pol, apr_pool_t *p)
{
    static const char *const ca = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
                                  "11111111-2222-4333-8444-555555555555";
    apr_table_t *context = apr_table_make(p, 4);
    acmpca_authz_req_t req;
    size_t i;
    int k;

    apr_table_setn(context, "acm-pca:TemplateArn", ACMPCA_CROSS_ACCOUNT_TEMPLATE);
    apr_table_setn(context, "aws:PrincipalAccount", "210987654321");
    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        memset(&req, 0, sizeof(req));
        req.action = apr_pstrcat(p, "acm-pca:", actions[i], NULL);
        req.resource = i == 5 ? "*" : ca;
        req.account = "210987654321";
        req.principal = "arn:aws:iam::210987654321:role/fuzz";
        req.context = context;
        (void)acmpca_authz_denied_message(&req, acmpca_policy_eval(pol, &req), "resource", p);
    }
    for (k = 0; k < acmpca_policy_statements(pol); k++) {
        int not = 0;
        const apr_array_header_t *a = acmpca_policy_actions(pol, k, &not );
        const apr_array_header_t *r = acmpca_policy_resources(pol, k);
        int j;

        for (j = 0; a && j < a->nelts; j++) {
            (void)acmpca_authz_glob(APR_ARRAY_IDX(a, j, const char *), "acm-pca:IssueCertificate",
                                    1);
        }
        for (j = 0; r && j < r->nelts; j++) {
            (void)acmpca_authz_glob(APR_ARRAY_IDX(r, j, const char *), ca, 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *text = fuzz_cstr(data, size, p);
    acmpca_policy_t *pol = NULL;
    const char *why = NULL;
    apr_status_t rv;

    rv = acmpca_policy_parse(&pol, apr_pmemdup(p, data, size ? size : 1), size,
                             ACMPCA_POLICY_RESOURCE, &why, p);
    FUZZ_ASSERT(rv == APR_SUCCESS || (rv == APR_EINVAL && why));
    if (rv == APR_SUCCESS) {
        evaluate(pol, p);
    }
    rv = acmpca_policy_parse(&pol, text, size, ACMPCA_POLICY_IDENTITY, &why, p);
    FUZZ_ASSERT(rv == APR_SUCCESS || (rv == APR_EINVAL && why));
    if (rv == APR_SUCCESS) {
        evaluate(pol, p);
    }
    /* Glob: the input's first half against its second, both ways of case. */
    if (size > 1) {
        const char *a = apr_pstrndup(p, text, size / 2), *b = text + size / 2;
        (void)acmpca_authz_glob(a, b, 0);
        (void)acmpca_authz_glob(a, b, 1);
    }
    apr_pool_destroy(p);
    return 0;
}
