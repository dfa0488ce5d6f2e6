/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Who may act on a CA: its own account, and other accounts as far as the CA's resource
 * policy (PutPolicy) or its permissions (CreatePermission) allow, within the actions AWS
 * grants across accounts (userguide/pca-rbp.html). */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/auth.h"
#include "acmpca/log.h"
#include "ops_int.h"

/* What a resource policy can give another account; everything else stays the owner's. */
static const char *const cross_account_ops[] = {
    "DescribeCertificateAuthority",
    "GetCertificate",
    "GetCertificateAuthorityCertificate",
    "IssueCertificate",
    "ListPermissions",
    "ListTags",
    "RevokeCertificate",
};

#define N_CROSS (sizeof(cross_account_ops) / sizeof(cross_account_ops[0]))

static int cross_account_op(const char *op)
{
    size_t i;
    for (i = 0; i < N_CROSS; i++) {
        if (!strcmp(cross_account_ops[i], op)) {
            return 1;
        }
    }
    return 0;
}

/* The CA's resource policy (NULL when it has none). A stored policy was checked by
 * PutPolicy; one that no longer parses grants nothing and is logged. */
static const acmpca_policy_t *ca_policy(const acmpca_ca_t *ca, apr_pool_t *p)
{
    const char *text = acmpca_json_str(ca->doc, ACMPCA_D_POLICY);
    acmpca_policy_t *pol = NULL;
    const char *why = NULL;

    if (text
        && acmpca_policy_parse(&pol, text, strlen(text), ACMPCA_POLICY_RESOURCE, &why, p)
               != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, APR_EINVAL, p,
                   "ACMPCA0520: the stored policy of CA %s does not parse (%s); ignored",
                   ca->ref.id, why);
        return NULL;
    }
    return pol;
}

/* A permission (CreatePermission) lets its service principal act for SourceAccount. */
static int permission_allows(const acmpca_ca_t *ca, const acmpca_op_ctx_t *ctx,
                             const char *principal, const char *op)
{
    const cJSON *perm, *a;

    if (!principal) {
        return 0;
    }
    cJSON_ArrayForEach(perm, cJSON_GetObjectItemCaseSensitive(ca->doc, ACMPCA_D_PERMISSIONS))
    {
        const char *who = acmpca_json_str(perm, "Principal");
        const char *source = acmpca_json_str(perm, "SourceAccount");

        if (!who || !source || strcmp(who, principal) || strcmp(source, ctx->account)) {
            continue;
        }
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(perm, "Actions"))
        {
            if (cJSON_IsString(a) && !strcmp(a->valuestring, op)) {
                return 1;
            }
        }
    }
    return 0;
}

static const char *caller_principal(const acmpca_op_ctx_t *ctx)
{
    return ctx->call ? ctx->call->caller.principal : NULL;
}

static int shared_with(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                       const acmpca_policy_t *pol, apr_pool_t *p)
{
    acmpca_authz_req_t req;
    size_t i;

    for (i = 0; i < N_CROSS; i++) {
        acmpca_authz_request(&req, cross_account_ops[i], NULL, ctx->account, caller_principal(ctx),
                             p);
        req.resource = ca->ref.arn;
        if (acmpca_policy_eval(pol, &req) == ACMPCA_AUTHZ_ALLOW
            || permission_allows(ca, ctx, caller_principal(ctx), cross_account_ops[i])) {
            return 1;
        }
    }
    return 0;
}

int acmpca_ca_shared(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, apr_pool_t *p)
{
    if (!ca->rec || !strcmp(ca->rec->account, ctx->account)) {
        return 0;
    }
    return shared_with(ctx, ca, ca_policy(ca, p), p);
}

/* Every refusal here is a decision worth a line at info level (never a secret). */
static void log_refusal(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, const char *why,
                        apr_pool_t *p)
{
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, APR_SUCCESS, p,
               "ACMPCA0521: request %s: %s on %s by %s (account %s): %s",
               ctx->call && ctx->call->request_id ? ctx->call->request_id : "-",
               ctx->operation ? ctx->operation : "-", ca->ref.arn,
               caller_principal(ctx) ? caller_principal(ctx) : "(anonymous)", ctx->account, why);
}

static apr_status_t denied(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, acmpca_err_t *err,
                           const acmpca_authz_req_t *req, acmpca_authz_t verdict, apr_pool_t *p)
{
    log_refusal(ctx, ca,
                verdict == ACMPCA_AUTHZ_DENY ? "denied (explicit deny in the CA's policy)"
                                             : "denied (not granted by the CA's policy)",
                p);
    return acmpca_err_set(err, ACMPCA_ERR_ACCESS_DENIED, p, "%s",
                          acmpca_authz_denied_message(req, verdict, "resource-based", p));
}

/* Not shared at all: for this caller the CA does not exist. */
static apr_status_t unseen(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, acmpca_err_t *err,
                           apr_pool_t *p)
{
    log_refusal(ctx, ca, "not found (another account's CA, not shared)", p);
    return acmpca_err_set(err, ACMPCA_ERR_NOT_FOUND, p, "Could not find certificate authority %s.",
                          ca->ref.arn);
}

apr_status_t acmpca_ca_authorize(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    int own = !strcmp(ca->rec->account, ctx->account);
    const acmpca_policy_t *pol;
    acmpca_authz_req_t req;
    acmpca_authz_t verdict;
    const char *tmpl;

    if (!ctx->operation) { /* outside the dispatcher: the owner only */
        return own ? APR_SUCCESS : unseen(ctx, ca, err, p);
    }
    pol = ca_policy(ca, p);
    if (own && !pol) {
        return APR_SUCCESS;
    }
    acmpca_authz_request(&req, ctx->operation, ctx->in, ctx->account, caller_principal(ctx), p);
    req.resource = ca->ref.arn;
    verdict = acmpca_policy_eval(pol, &req);
    if (own) { /* an explicit Deny binds the owner too, as in IAM */
        return verdict == ACMPCA_AUTHZ_DENY ? denied(ctx, ca, err, &req, verdict, p) : APR_SUCCESS;
    }
    if (verdict != ACMPCA_AUTHZ_DENY && cross_account_op(ctx->operation)
        && (verdict == ACMPCA_AUTHZ_ALLOW
            || permission_allows(ca, ctx, caller_principal(ctx), ctx->operation))) {
        /* AWS limits cross-account issuers to end-entity certificates. */
        tmpl = apr_table_get(req.context, "acm-pca:TemplateArn");
        if (tmpl && strcmp(tmpl, ACMPCA_CROSS_ACCOUNT_TEMPLATE)) {
            log_refusal(ctx, ca, "denied (cross-account issuance with another template)", p);
            return acmpca_err_set(err, ACMPCA_ERR_ACCESS_DENIED, p,
                                  "User: %s is not authorized to perform: acm-pca:"
                                  "IssueCertificate on resource: %s with the template %s: "
                                  "another account may only use %s",
                                  req.principal ? req.principal : ctx->account, ca->ref.arn, tmpl,
                                  ACMPCA_CROSS_ACCOUNT_TEMPLATE);
        }
        return APR_SUCCESS;
    }
    if (!shared_with(ctx, ca, pol, p)) {
        return unseen(ctx, ca, err, p);
    }
    return denied(ctx, ca, err, &req, verdict, p);
}
