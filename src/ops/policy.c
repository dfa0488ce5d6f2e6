/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * PutPolicy, GetPolicy, DeletePolicy (PCA-API.md §5.18): the CA's resource policy, kept
 * verbatim in its document and evaluated by access.c on every cross-account call. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/auth.h"
#include "ops_int.h"

#define K_RESOURCE_ARN "ResourceArn"
#define K_POLICY       "Policy"

/* Beyond the shape (acmpca_policy_parse): every Resource must name this CA. */
static apr_status_t check_resources(const acmpca_policy_t *pol, const acmpca_ca_t *ca,
                                    acmpca_err_t *err, apr_pool_t *p)
{
    int i, j;

    for (i = 0; i < acmpca_policy_statements(pol); i++) {
        const apr_array_header_t *res = acmpca_policy_resources(pol, i);
        for (j = 0; j < res->nelts; j++) {
            const char *r = APR_ARRAY_IDX(res, j, const char *);
            if (!acmpca_authz_glob(r, ca->ref.arn, 0)) {
                return acmpca_err_set(err, ACMPCA_ERR_INVALID_POLICY, p,
                                      "The policy's Resource %s does not name the certificate "
                                      "authority %s: use its ARN or \"*\".",
                                      r, ca->ref.arn);
            }
        }
    }
    return APR_SUCCESS;
}

/* A policy that denies its author the means to change it again is refused. */
static apr_status_t check_lockout(const acmpca_policy_t *pol, const acmpca_op_ctx_t *ctx,
                                  const acmpca_ca_t *ca, acmpca_err_t *err, apr_pool_t *p)
{
    static const char *const keep[] = {"PutPolicy", "DeletePolicy", "GetPolicy"};
    acmpca_authz_req_t req;
    size_t i;

    for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        acmpca_authz_request(&req, keep[i], NULL, ctx->account,
                             ctx->call ? ctx->call->caller.principal : NULL, p);
        req.resource = ca->ref.arn;
        if (acmpca_policy_eval(pol, &req) == ACMPCA_AUTHZ_DENY) {
            return acmpca_err_set(err, ACMPCA_ERR_LOCKOUT_PREVENTED, p,
                                  "The policy denies you acm-pca:%s on %s: it would lock you "
                                  "out of managing the policy of this certificate authority.",
                                  keep[i], ca->ref.arn);
        }
    }
    return APR_SUCCESS;
}

typedef struct put_baton {
    const acmpca_op_ctx_t *ctx;
    const char *text;
} put_baton;

static apr_status_t put(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    put_baton *b = baton;
    acmpca_policy_t *pol;
    const char *why;
    apr_status_t rv;

    if ((rv = acmpca_state_allow("PutPolicy", ca, b->ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (acmpca_policy_parse(&pol, b->text, strlen(b->text), ACMPCA_POLICY_RESOURCE, &why, p)
        != APR_SUCCESS) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_POLICY, p, "%s", why);
    }
    if ((rv = check_resources(pol, ca, err, p)) != APR_SUCCESS
        || (rv = check_lockout(pol, b->ctx, ca, err, p)) != APR_SUCCESS) {
        return rv;
    }
    acmpca_json_set(ca->doc, ACMPCA_D_POLICY, cJSON_CreateString(b->text));
    return APR_SUCCESS;
}

apr_status_t acmpca_op_put_policy(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                  acmpca_err_t *err, apr_pool_t *p)
{
    put_baton b = {ctx, acmpca_json_str(in, K_POLICY)};
    (void)pout;
    return acmpca_ca_mutate(NULL, ctx, acmpca_json_str(in, K_RESOURCE_ARN), put, &b, err, p);
}

apr_status_t acmpca_op_get_policy(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                  acmpca_err_t *err, apr_pool_t *p)
{
    const char *text;
    acmpca_ca_t *ca;
    apr_status_t rv;

    if ((rv = acmpca_ca_load(&ca, ctx, acmpca_json_str(in, K_RESOURCE_ARN), err, p)) != APR_SUCCESS
        || (rv = acmpca_state_allow("GetPolicy", ca, ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    /* No policy is "not found" (AWS: "If either the private CA resource or the policy
     * cannot be found, this action returns a ResourceNotFoundException"). */
    if (!(text = acmpca_json_str(ca->doc, ACMPCA_D_POLICY))) {
        return acmpca_err_set(err, ACMPCA_ERR_NOT_FOUND, p,
                              "The certificate authority %s has no resource policy.", ca->ref.arn);
    }
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    cJSON_AddStringToObject(*pout, K_POLICY, text);
    return APR_SUCCESS;
}

static apr_status_t del(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    const acmpca_op_ctx_t *ctx = baton;
    apr_status_t rv;

    if ((rv = acmpca_state_allow("DeletePolicy", ca, ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Deleting a policy that is not there succeeds (AWS). */
    cJSON_DeleteItemFromObjectCaseSensitive(ca->doc, ACMPCA_D_POLICY);
    return APR_SUCCESS;
}

apr_status_t acmpca_op_delete_policy(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                     acmpca_err_t *err, apr_pool_t *p)
{
    (void)pout;
    return acmpca_ca_mutate(NULL, ctx, acmpca_json_str(in, K_RESOURCE_ARN), del, (void *)ctx, err,
                            p);
}
