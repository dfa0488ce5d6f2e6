/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * CreatePermission, ListPermissions, DeletePermission (PCA-API.md §5.15-5.17): what the
 * ACM service principal may do with a CA, kept in the CA's document. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/token.h"
#include "ops_int.h"

#define K_PRINCIPAL      "Principal"
#define K_SOURCE_ACCOUNT "SourceAccount"
#define K_ACTIONS        "Actions"
#define K_PERMISSIONS    "Permissions"
#define K_POLICY         "Policy"
#define ACM_PRINCIPAL    "acm.amazonaws.com"
#define PERMISSIONS_MAX  50 /* per CA: one per account that lets ACM renew with this CA */

/* The only principal AWS accepts (API_CreatePermission.html). */
static apr_status_t check_principal(const char *principal, acmpca_err_t *err, apr_pool_t *p)
{
    if (strcmp(principal, ACM_PRINCIPAL)) {
        return acmpca_err_set(err, ACMPCA_ERR_VALIDATION, p,
                              "1 validation error detected: Value '%s' at 'principal' failed "
                              "to satisfy constraint: Member must satisfy enum value set: [%s]",
                              principal, ACM_PRINCIPAL);
    }
    return APR_SUCCESS;
}

static cJSON *perm_find(cJSON *perms, const char *principal, const char *account)
{
    cJSON *perm;
    cJSON_ArrayForEach(perm, perms)
    {
        const char *who = acmpca_json_str(perm, K_PRINCIPAL);
        const char *source = acmpca_json_str(perm, K_SOURCE_ACCOUNT);
        if (who && source && !strcmp(who, principal) && !strcmp(source, account)) {
            return perm;
        }
    }
    return NULL;
}

static cJSON *perms_of(acmpca_ca_t *ca)
{
    cJSON *perms = cJSON_GetObjectItemCaseSensitive(ca->doc, ACMPCA_D_PERMISSIONS);
    if (!cJSON_IsArray(perms)) {
        acmpca_json_set(ca->doc, ACMPCA_D_PERMISSIONS, cJSON_CreateArray());
        perms = cJSON_GetObjectItemCaseSensitive(ca->doc, ACMPCA_D_PERMISSIONS);
    }
    return perms;
}

typedef struct perm_baton {
    const acmpca_op_ctx_t *ctx;
    const cJSON *in;
    const char *op;
} perm_baton;

static const char *source_account(const perm_baton *b)
{
    const char *account = acmpca_json_str(b->in, K_SOURCE_ACCOUNT);
    return account ? account : b->ctx->account;
}

static apr_status_t create(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    perm_baton *b = baton;
    const char *principal = acmpca_json_str(b->in, K_PRINCIPAL);
    cJSON *perms, *perm, *actions;
    const cJSON *a;
    apr_status_t rv;

    if ((rv = acmpca_state_allow(b->op, ca, b->ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    perms = perms_of(ca);
    if (perm_find(perms, principal, source_account(b))) {
        return acmpca_err_set(err, ACMPCA_ERR_PERMISSION_ALREADY_EXISTS, p,
                              "The designated permission has already been given to the user: "
                              "%s for account %s on %s.",
                              principal, source_account(b), ca->ref.arn);
    }
    if (cJSON_GetArraySize(perms) >= PERMISSIONS_MAX) {
        return acmpca_err_set(err, ACMPCA_ERR_LIMIT_EXCEEDED, p,
                              "The certificate authority %s already has %d permissions, the "
                              "most allowed.",
                              ca->ref.arn, PERMISSIONS_MAX);
    }
    perm = cJSON_CreateObject();
    cJSON_AddStringToObject(perm, K_PRINCIPAL, principal);
    cJSON_AddStringToObject(perm, K_SOURCE_ACCOUNT, source_account(b));
    actions = cJSON_AddArrayToObject(perm, K_ACTIONS);
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(b->in, K_ACTIONS))
    {
        const cJSON *seen;
        int dup = 0;
        cJSON_ArrayForEach(seen, actions)
        {
            dup |= !strcmp(seen->valuestring, a->valuestring);
        }
        if (!dup) {
            cJSON_AddItemToArray(actions, cJSON_CreateString(a->valuestring));
        }
    }
    acmpca_json_set_time(perm, ACMPCA_K_CREATED_AT, b->ctx->now);
    cJSON_AddItemToArray(perms, perm);
    return APR_SUCCESS;
}

apr_status_t acmpca_op_create_permission(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                         acmpca_err_t *err, apr_pool_t *p)
{
    perm_baton b = {ctx, in, "CreatePermission"};
    apr_status_t rv;

    (void)pout;
    if ((rv = check_principal(acmpca_json_str(in, K_PRINCIPAL), err, p)) != APR_SUCCESS) {
        return rv;
    }
    return acmpca_ca_mutate(NULL, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), create, &b, err, p);
}

static apr_status_t delete_perm(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    perm_baton *b = baton;
    const char *principal = acmpca_json_str(b->in, K_PRINCIPAL);
    cJSON *perm;
    apr_status_t rv;

    if ((rv = acmpca_state_allow(b->op, ca, b->ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    perm = perm_find(perms_of(ca), principal, source_account(b));
    if (!perm) {
        return acmpca_err_set(err, ACMPCA_ERR_NOT_FOUND, p,
                              "No permission for principal %s and account %s exists on the "
                              "certificate authority %s.",
                              principal, source_account(b), ca->ref.arn);
    }
    cJSON_Delete(cJSON_DetachItemViaPointer(perms_of(ca), perm));
    return APR_SUCCESS;
}

apr_status_t acmpca_op_delete_permission(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                         acmpca_err_t *err, apr_pool_t *p)
{
    perm_baton b = {ctx, in, "DeletePermission"};
    (void)pout;
    return acmpca_ca_mutate(NULL, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), delete_perm, &b, err,
                            p);
}

/* The resource policy a permission amounts to (PCA-API.md §5.16 [DECISION]). */
static const char *perm_policy(const cJSON *perm, const char *ca_arn, apr_pool_t *p)
{
    cJSON *pol = acmpca_json_own(cJSON_CreateObject(), p);
    cJSON *st = cJSON_CreateObject(), *actions, *cond;
    const cJSON *a;

    cJSON_AddStringToObject(pol, "Version", "2012-10-17");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(pol, "Statement"), st);
    cJSON_AddStringToObject(st, "Sid", "acm-pca-permission");
    cJSON_AddStringToObject(st, "Effect", "Allow");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(st, "Principal"), "Service",
                            acmpca_json_str(perm, K_PRINCIPAL));
    actions = cJSON_AddArrayToObject(st, "Action");
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(perm, K_ACTIONS))
    {
        cJSON_AddItemToArray(actions,
                             cJSON_CreateString(apr_pstrcat(p, "acm-pca:", a->valuestring, NULL)));
    }
    cJSON_AddStringToObject(st, "Resource", ca_arn);
    cond = cJSON_AddObjectToObject(cJSON_AddObjectToObject(st, "Condition"), "StringEquals");
    cJSON_AddStringToObject(cond, "aws:SourceAccount", acmpca_json_str(perm, K_SOURCE_ACCOUNT));
    return acmpca_json_print(pol, p);
}

apr_status_t acmpca_op_list_permissions(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                        acmpca_err_t *err, apr_pool_t *p)
{
    const char *token = acmpca_json_str(in, ACMPCA_K_NEXT_TOKEN);
    int page = (int)acmpca_json_num(in, ACMPCA_K_MAX_RESULTS, 1000);
    apr_int64_t start = 0;
    const cJSON *perm;
    cJSON *list;
    acmpca_ca_t *ca;
    apr_status_t rv;
    int i = 0;

    if ((rv = acmpca_ca_load(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p)) != APR_SUCCESS
        || (rv = acmpca_state_allow("ListPermissions", ca, ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (token
        && acmpca_token_parse(&start, ctx->env->kek, ACMPCA_KEK_LEN, "ListPermissions", ca->ref.id,
                              token, p)
               != APR_SUCCESS) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_NEXT_TOKEN, p,
                              "The token passed is not valid.");
    }
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    list = cJSON_AddArrayToObject(*pout, K_PERMISSIONS);
    cJSON_ArrayForEach(perm, cJSON_GetObjectItemCaseSensitive(ca->doc, ACMPCA_D_PERMISSIONS))
    {
        cJSON *out;
        if (i >= start + page) {
            cJSON_AddStringToObject(*pout, ACMPCA_K_NEXT_TOKEN,
                                    acmpca_token_make(ctx->env->kek, ACMPCA_KEK_LEN,
                                                      "ListPermissions", ca->ref.id, i, p));
            break;
        }
        if (i++ < start) {
            continue;
        }
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, ACMPCA_K_CA_ARN, ca->ref.arn);
        cJSON_AddItemToObject(out, ACMPCA_K_CREATED_AT,
                              cJSON_Duplicate(cJSON_GetObjectItem(perm, ACMPCA_K_CREATED_AT), 1));
        cJSON_AddStringToObject(out, K_PRINCIPAL, acmpca_json_str(perm, K_PRINCIPAL));
        cJSON_AddStringToObject(out, K_SOURCE_ACCOUNT, acmpca_json_str(perm, K_SOURCE_ACCOUNT));
        cJSON_AddItemToObject(out, K_ACTIONS,
                              cJSON_Duplicate(cJSON_GetObjectItem(perm, K_ACTIONS), 1));
        cJSON_AddStringToObject(out, K_POLICY, perm_policy(perm, ca->ref.arn, p));
        cJSON_AddItemToArray(list, out);
    }
    return APR_SUCCESS;
}
