/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Create, Describe, List, Update, Delete and Restore CertificateAuthority. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/token.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define IDEMPOTENCY_WINDOW    apr_time_from_sec(5 * 60)
#define LIST_PAGE_MAX         100 /* AWS returns at most 100 CAs a page */
#define DEFAULT_DELETION_DAYS 30
#define DEFAULT_STANDARD      "FIPS_140_2_LEVEL_3_OR_HIGHER"
#define DEFAULT_USAGE_MODE    "GENERAL_PURPOSE"

/* ************************************************************************************
 * CreateCertificateAuthority
 */

static apr_status_t make_key(unsigned char **pwrapped, apr_size_t *plen, const char **pcsr,
                             const acmpca_op_ctx_t *ctx, const cJSON *config, const char *ca_id,
                             acmpca_err_t *err, apr_pool_t *p)
{
    EVP_PKEY *key;
    apr_status_t rv;

    if ((rv = acmpca_key_generate(&key, acmpca_json_str(config, ACMPCA_K_KEY_ALGORITHM), err, p))
            != APR_SUCCESS
        || (rv = acmpca_csr_make(pcsr, key, acmpca_json_obj(config, ACMPCA_K_SUBJECT),
                                 acmpca_json_obj(config, ACMPCA_K_CSR_EXTENSIONS),
                                 acmpca_json_str(config, ACMPCA_K_SIGNING_ALGORITHM), err, p))
               != APR_SUCCESS) {
        return rv;
    }
    rv = acmpca_key_wrap(pwrapped, plen, key, ctx->env->kek, ca_id, p);
    return rv == APR_SUCCESS ? rv : acmpca_err_internal(err, rv, "wrapping the CA key");
}

static apr_status_t check_create(const acmpca_op_ctx_t *ctx, const cJSON *in, acmpca_err_t *err,
                                 apr_pool_t *p)
{
    const cJSON *config = acmpca_json_obj(in, ACMPCA_K_CA_CONFIG);
    const char *standard = acmpca_json_str(in, ACMPCA_K_KEY_STORAGE_STANDARD);
    apr_int64_t count;
    apr_status_t rv;

    if (standard && !strcmp(standard, "CCPC_LEVEL_1_OR_HIGHER")) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "A certificate authority cannot be created in this region with "
                              "the specified security standard.");
    }
    if ((rv = acmpca_sigalg_check(acmpca_json_str(config, ACMPCA_K_SIGNING_ALGORITHM),
                                  acmpca_json_str(config, ACMPCA_K_KEY_ALGORITHM), err, p))
            != APR_SUCCESS
        || (rv = acmpca_revocation_check(acmpca_json_obj(in, ACMPCA_K_REVOCATION_CONFIG), err, p))
               != APR_SUCCESS
        || (rv = acmpca_tags_check(cJSON_GetObjectItemCaseSensitive(in, ACMPCA_K_TAGS), err, p))
               != APR_SUCCESS) {
        return rv;
    }
    /* Deleted CAs still count until they are gone for good, as on AWS. */
    rv = ctx->store->provider->ca_count(ctx->store, ctx->account, &count, p);
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "counting certificate authorities");
    }
    if (count >= ctx->env->max_cas) {
        return acmpca_err_set(err, ACMPCA_ERR_LIMIT_EXCEEDED, p,
                              "The account %s already has %d certificate authorities, the "
                              "most allowed.",
                              ctx->account, ctx->env->max_cas);
    }
    return APR_SUCCESS;
}

static cJSON *new_doc(const acmpca_op_ctx_t *ctx, const cJSON *in, const char *arn, const char *csr,
                      apr_pool_t *p)
{
    cJSON *doc = acmpca_json_own(cJSON_CreateObject(), p);
    const char *standard = acmpca_json_str(in, ACMPCA_K_KEY_STORAGE_STANDARD);
    const char *mode = acmpca_json_str(in, ACMPCA_K_USAGE_MODE);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, ACMPCA_K_TAGS);

    cJSON_AddStringToObject(doc, ACMPCA_K_ARN, arn);
    cJSON_AddStringToObject(doc, ACMPCA_K_OWNER_ACCOUNT, ctx->account);
    acmpca_json_set_time(doc, ACMPCA_K_CREATED_AT, ctx->now);
    acmpca_json_set_time(doc, ACMPCA_K_LAST_STATE_CHANGE_AT, ctx->now);
    cJSON_AddStringToObject(doc, ACMPCA_K_TYPE, acmpca_json_str(in, ACMPCA_K_CA_TYPE));
    /* Key and CSR are made synchronously, so CREATING is never observed. */
    cJSON_AddStringToObject(doc, ACMPCA_K_STATUS, ACMPCA_ST_PENDING);
    cJSON_AddItemToObject(doc, ACMPCA_K_CA_CONFIG,
                          cJSON_Duplicate(acmpca_json_obj(in, ACMPCA_K_CA_CONFIG), 1));
    cJSON_AddItemToObject(
        doc, ACMPCA_K_REVOCATION_CONFIG,
        acmpca_revocation_normalize(acmpca_json_obj(in, ACMPCA_K_REVOCATION_CONFIG), NULL));
    cJSON_AddStringToObject(doc, ACMPCA_K_KEY_STORAGE_STANDARD,
                            standard ? standard : DEFAULT_STANDARD);
    cJSON_AddStringToObject(doc, ACMPCA_K_USAGE_MODE, mode ? mode : DEFAULT_USAGE_MODE);
    cJSON_AddStringToObject(doc, ACMPCA_D_CSR, csr);
    cJSON_AddItemToObject(doc, ACMPCA_D_TAGS,
                          tags ? cJSON_Duplicate(tags, 1) : cJSON_CreateArray());
    return doc;
}

apr_status_t acmpca_op_create_ca(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    const char *token = acmpca_json_str(in, ACMPCA_K_IDEMPOTENCY_TOKEN);
    acmpca_idem_t idem = {apr_pstrcat(p, "CreateCertificateAuthority:", ctx->account, NULL), token,
                          ctx->now + IDEMPOTENCY_WINDOW, NULL};
    acmpca_ca_rec_t rec = {0};
    const char *arn = NULL, *csr;
    unsigned char *wrapped;
    apr_size_t wrapped_len;
    apr_status_t rv;

    /* A retry inside the window gets the first call's CA, whatever it asks now. */
    if (token) {
        rv = ctx->store->provider->idem_get(ctx->store, idem.scope, token, ctx->now, &arn, p);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return acmpca_ops_store_error(err, rv, "reading an idempotency token");
        }
    }
    if (!arn) {
        rec.id = acmpca_uuid(p);
        rec.account = ctx->account;
        arn = acmpca_arn_ca(ctx->env->region, ctx->account, rec.id, p);
        if ((rv = check_create(ctx, in, err, p)) != APR_SUCCESS
            || (rv = make_key(&wrapped, &wrapped_len, &csr, ctx,
                              acmpca_json_obj(in, ACMPCA_K_CA_CONFIG), rec.id, err, p))
                   != APR_SUCCESS) {
            return rv;
        }
        rec.doc = acmpca_json_print(new_doc(ctx, in, arn, csr, p), p);
        rv = ctx->store->provider->ca_create(ctx->store, &rec, wrapped, wrapped_len,
                                             token ? &idem : NULL, arn, p);
        if (rv == APR_EEXIST && idem.existing) {
            arn = idem.existing; /* a concurrent retry won the race */
        }
        else if (rv != APR_SUCCESS) {
            return acmpca_ops_store_error(err, rv, "creating a certificate authority");
        }
    }
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    cJSON_AddStringToObject(*pout, ACMPCA_K_CA_ARN, arn);
    return APR_SUCCESS;
}

/* ************************************************************************************
 * DescribeCertificateAuthority, ListCertificateAuthorities
 */

apr_status_t acmpca_op_describe_ca(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                   acmpca_err_t *err, apr_pool_t *p)
{
    const char *status, *text;
    acmpca_ca_t *ca;
    cJSON *out;
    apr_status_t rv;

    if ((rv = acmpca_ca_view(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p))
        != APR_SUCCESS) {
        return rv;
    }
    /* The answer depends on the document and the status it shows alone: rendered once
     * per document text (doc_cache.c). */
    status = acmpca_ca_status(ca, ctx->now);
    if (!(text = acmpca_ca_doc_answer(ca->entry, ACMPCA_ANSWER_DESCRIBE, status))) {
        out = acmpca_json_own(cJSON_CreateObject(), p);
        /* The view is already a tree of its own, owned by p: referenced, not copied again. */
        cJSON_AddItemReferenceToObject(out, ACMPCA_K_CA, acmpca_ca_describe(ca, ctx->now, p));
        if (!(text = acmpca_json_print(out, p))) {
            return acmpca_err_internal(err, APR_ENOMEM, "rendering the reply");
        }
        acmpca_ca_doc_answer_keep(ca->entry, ACMPCA_ANSWER_DESCRIBE, status, text);
    }
    *pout = acmpca_ops_rendered(text, p);
    return APR_SUCCESS;
}

/* A deleted CA past its restoration period is no longer listed. */
static int listable(const acmpca_ca_t *ca, apr_time_t now)
{
    apr_time_t until = acmpca_json_time(ca->doc, ACMPCA_K_RESTORABLE_UNTIL);
    return strcmp(acmpca_json_str(ca->doc, ACMPCA_K_STATUS), ACMPCA_ST_DELETED) || !until
           || until > now;
}

apr_status_t acmpca_op_list_cas(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                acmpca_err_t *err, apr_pool_t *p)
{
    const char *owner = acmpca_json_str(in, ACMPCA_K_RESOURCE_OWNER);
    const char *token = acmpca_json_str(in, ACMPCA_K_NEXT_TOKEN);
    const char *scope = apr_pstrcat(p, ctx->account, ":", owner ? owner : "SELF", NULL);
    int page = (int)acmpca_json_num(in, ACMPCA_K_MAX_RESULTS, LIST_PAGE_MAX);
    apr_int64_t after = 0, last = 0;
    apr_array_header_t *recs = NULL;
    cJSON *list;
    apr_status_t rv;
    int i, more = 0, others;

    if (token
        && acmpca_token_parse(&after, ctx->env->kek, ACMPCA_KEK_LEN, "ListCertificateAuthorities",
                              scope, token, p)
               != APR_SUCCESS) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_NEXT_TOKEN, p,
                              "The token passed is not valid.");
    }
    page = page > LIST_PAGE_MAX ? LIST_PAGE_MAX : page;
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    list = cJSON_AddArrayToObject(*pout, ACMPCA_K_CAS);
    /* OTHER_ACCOUNTS: the CAs of other accounts that their resource policy shares with
     * the caller (access.c), found by walking every account's CAs. */
    others = owner && !strcmp(owner, "OTHER_ACCOUNTS");
    while (cJSON_GetArraySize(list) < page) {
        rv = ctx->store->provider->ca_list(ctx->store, others ? NULL : ctx->account, after,
                                           page + 1, &recs, p);
        if (rv != APR_SUCCESS) {
            return acmpca_ops_store_error(err, rv, "listing certificate authorities");
        }
        for (i = 0; i < recs->nelts; i++) {
            acmpca_ca_t ca = {APR_ARRAY_IDX(recs, i, acmpca_ca_rec_t *), NULL, {0}, NULL};
            after = ca.rec->seq;
            ca.doc = acmpca_json_parse(ca.rec->doc, strlen(ca.rec->doc), p);
            if (!ca.doc || !listable(&ca, ctx->now)) {
                continue;
            }
            if (others) {
                ca.ref.arn = acmpca_json_str(ca.doc, ACMPCA_K_ARN);
                ca.ref.id = ca.rec->id;
                if (!acmpca_ca_shared(ctx, &ca, p)) {
                    continue;
                }
            }
            if (cJSON_GetArraySize(list) == page) {
                more = 1; /* one beyond the page: there is a next page */
                break;
            }
            cJSON_AddItemReferenceToArray(list, acmpca_ca_describe(&ca, ctx->now, p));
            last = ca.rec->seq;
        }
        if (more || recs->nelts < page + 1) {
            break;
        }
    }
    if (more) {
        cJSON_AddStringToObject(*pout, ACMPCA_K_NEXT_TOKEN,
                                acmpca_token_make(ctx->env->kek, ACMPCA_KEK_LEN,
                                                  "ListCertificateAuthorities", scope, last, p));
    }
    return APR_SUCCESS;
}

/* ************************************************************************************
 * UpdateCertificateAuthority
 */

typedef struct update_baton {
    const acmpca_op_ctx_t *ctx;
    const cJSON *in;
    int crl_on; /* CRLs were off and are turned on */
} update_baton;

static int crl_enabled(const cJSON *doc)
{
    const cJSON *rc = acmpca_json_obj(doc, ACMPCA_K_REVOCATION_CONFIG);

    return acmpca_json_bool(acmpca_json_obj(rc, ACMPCA_K_CRL_CONFIG), ACMPCA_K_ENABLED, 0);
}

static apr_status_t update(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    update_baton *b = baton;
    const acmpca_op_ctx_t *ctx = b->ctx;
    const cJSON *revocation = acmpca_json_obj(b->in, ACMPCA_K_REVOCATION_CONFIG);
    const char *status = acmpca_json_str(b->in, ACMPCA_K_STATUS);
    apr_status_t rv;

    if ((rv = acmpca_state_allow("UpdateCertificateAuthority", ca, ctx->now, err, p))
        != APR_SUCCESS) {
        return rv;
    }
    if (status && strcmp(status, ACMPCA_ST_ACTIVE) && strcmp(status, ACMPCA_ST_DISABLED)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "The status of a certificate authority can only be set to ACTIVE "
                              "or DISABLED, not %s.",
                              status);
    }
    b->crl_on = 0; /* a retry of the write starts over */
    if (revocation) {
        int was_on = crl_enabled(ca->doc);

        if ((rv = acmpca_revocation_check(revocation, err, p)) != APR_SUCCESS) {
            return rv;
        }
        acmpca_json_set(ca->doc, ACMPCA_K_REVOCATION_CONFIG,
                        acmpca_revocation_normalize(
                            revocation, acmpca_json_obj(ca->doc, ACMPCA_K_REVOCATION_CONFIG)));
        b->crl_on = !was_on && crl_enabled(ca->doc);
    }
    if (status && strcmp(status, acmpca_json_str(ca->doc, ACMPCA_K_STATUS))) {
        acmpca_ca_set_status(ca, status, ctx->now);
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_op_update_ca(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    update_baton b = {ctx, in, 0};
    acmpca_op_ctx_t sys;
    acmpca_ca_t *ca = NULL;
    apr_status_t rv;

    (void)pout;
    rv = acmpca_ca_mutate(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), update, &b, err, p);
    /* CRLs turned on again: the object left from before lacks what was revoked since,
     * and a download serves the object there is. Publish now, as for a revocation
     * (a big CRL is the job's). A failure is logged; the job retries. */
    if (rv == APR_SUCCESS && b.crl_on && ca && !acmpca_crl_deferred(ctx->env, ca)) {
        acmpca_ops_system_ctx(&sys, ctx->env, ca->rec->account, ctx->now);
        acmpca_crl_publish(&sys, ca->ref.arn, "CRLs turned on", p);
    }
    return rv;
}

/* ************************************************************************************
 * DeleteCertificateAuthority, RestoreCertificateAuthority
 */

typedef struct delete_baton {
    const acmpca_op_ctx_t *ctx;
    int days;
    int purge; /* CREATING/FAILED CAs have no restoration period */
} delete_baton;

static apr_status_t delete_ca(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    delete_baton *b = baton;
    const char *status = acmpca_json_str(ca->doc, ACMPCA_K_STATUS);
    apr_status_t rv;

    if ((rv = acmpca_state_allow("DeleteCertificateAuthority", ca, b->ctx->now, err, p))
        != APR_SUCCESS) {
        return rv;
    }
    b->purge = !strcmp(status, ACMPCA_ST_CREATING) || !strcmp(status, ACMPCA_ST_FAILED);
    acmpca_json_set(ca->doc, ACMPCA_D_PRE_DELETE, cJSON_CreateString(status));
    acmpca_json_set_time(ca->doc, ACMPCA_K_RESTORABLE_UNTIL,
                         b->ctx->now + apr_time_from_sec((apr_time_t)b->days * 86400));
    acmpca_ca_set_status(ca, ACMPCA_ST_DELETED, b->ctx->now);
    return APR_SUCCESS;
}

apr_status_t acmpca_op_delete_ca(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    delete_baton b = {
        ctx, (int)acmpca_json_num(in, ACMPCA_K_PERMANENT_DELETION, DEFAULT_DELETION_DAYS), 0};
    acmpca_ca_t *ca;
    apr_status_t rv;

    (void)pout;
    rv = acmpca_ca_mutate(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), delete_ca, &b, err, p);
    if (rv == APR_SUCCESS && b.purge) {
        rv = ctx->store->provider->ca_purge(ctx->store, ca->ref.id, p);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return acmpca_ops_store_error(err, rv, "deleting a certificate authority");
        }
        rv = APR_SUCCESS;
    }
    return rv;
}

static apr_status_t restore(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    const acmpca_op_ctx_t *ctx = baton;
    const char *before = acmpca_json_str(ca->doc, ACMPCA_D_PRE_DELETE);
    apr_status_t rv;

    /* Copy it out: the member is deleted from the document below. */
    before = apr_pstrdup(p, before ? before : ACMPCA_ST_PENDING);

    if ((rv = acmpca_state_allow("RestoreCertificateAuthority", ca, ctx->now, err, p))
        != APR_SUCCESS) {
        return rv;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(ca->doc, ACMPCA_K_RESTORABLE_UNTIL);
    cJSON_DeleteItemFromObjectCaseSensitive(ca->doc, ACMPCA_D_PRE_DELETE);
    acmpca_ca_set_status(ca, before, ctx->now);
    return APR_SUCCESS;
}

apr_status_t acmpca_op_restore_ca(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                  acmpca_err_t *err, apr_pool_t *p)
{
    (void)pout;
    return acmpca_ca_mutate(NULL, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), restore, (void *)ctx,
                            err, p);
}
