/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The CA document: loading it for the caller's tenant, its derived status, its public
 * view, and the read-modify-write loop every change goes through. */
#include <math.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define MUTATE_TRIES 8

apr_status_t acmpca_ops_store_error(acmpca_err_t *err, apr_status_t rv, const char *what)
{
    err->type = ACMPCA_ERR_STORE_UNAVAILABLE;
    err->message = what;
    err->cause = rv;
    return ACMPCA_EAWS;
}

void acmpca_json_set_time(cJSON *obj, const char *key, apr_time_t t)
{
    /* Milliseconds are enough and keep the numbers short on the wire. */
    acmpca_json_set(obj, key, cJSON_CreateNumber(floor(acmpca_time_epoch(t) * 1000) / 1000));
}

apr_time_t acmpca_json_time(const cJSON *obj, const char *key)
{
    double d = acmpca_json_num(obj, key, 0);
    return d > 0 ? acmpca_time_from_epoch(d) : 0;
}

static apr_status_t not_found(acmpca_err_t *err, const char *arn, apr_pool_t *p)
{
    return acmpca_err_set(err, ACMPCA_ERR_NOT_FOUND, p, "Could not find certificate authority %s.",
                          arn);
}

/* How load() reads the CA: a tree of the caller's own, the cache's tree, or the cache's
 * tree and record without a store read (LOAD_HINT, acmpca_ca_view_hint). */
enum { LOAD_OWN, LOAD_VIEW, LOAD_HINT };

static apr_status_t load_once(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                              int how, acmpca_err_t *err, apr_pool_t *p)
{
    acmpca_ca_t *ca = apr_pcalloc(p, sizeof(*ca));
    apr_status_t rv;

    if (acmpca_arn_parse_ca(&ca->ref, arn, p) != APR_SUCCESS) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARN, p, "Not a valid arn.");
    }
    /* A CA of another region does not exist here; one of another tenant only if its
     * resource policy shares it (acmpca_ca_authorize). */
    if (strcmp(ca->ref.region, ctx->env->region)) {
        return not_found(err, arn, p);
    }
    if (how == LOAD_HINT) {
        ca->doc = (cJSON *)acmpca_ca_doc_hint(&ca->rec, &ca->entry, ctx->store, ca->ref.id, p);
        rv = ca->doc ? APR_SUCCESS : APR_NOTFOUND;
    }
    else {
        rv = ctx->store->provider->ca_get(ctx->store, ca->ref.id, &ca->rec, p);
    }
    if (rv == APR_NOTFOUND) {
        return not_found(err, arn, p);
    }
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "loading a certificate authority");
    }
    if (strcmp(ca->rec->account, ca->ref.account)) {
        return not_found(err, arn, p);
    }
    /* A view shares the cache's tree: nothing below, nor its callers, change it. */
    if (how == LOAD_VIEW) {
        ca->doc = (cJSON *)acmpca_ca_doc_view(&ca->entry, ctx->store, ca->rec, p);
    }
    else if (how == LOAD_OWN) {
        ca->doc = acmpca_ca_doc_parse(ctx->store, ca->rec, p);
    }
    if (!ca->doc) {
        return acmpca_err_internal(err, APR_EGENERAL, "unreadable CA document");
    }
    ca->ref.arn = acmpca_json_str(ca->doc, ACMPCA_K_ARN);
    *pca = ca;
    return APR_SUCCESS;
}

static apr_status_t load(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn, int how,
                         acmpca_err_t *err, apr_pool_t *p)
{
    acmpca_ca_t *ca = NULL;
    apr_time_t until;
    apr_status_t rv;

    if ((rv = load_once(&ca, ctx, arn, how, err, p)) != APR_SUCCESS) {
        return rv;
    }
    /* A deleted CA may be due for its purge: the store decides, not a cached copy. */
    if (how == LOAD_HINT && !strcmp(acmpca_json_str(ca->doc, ACMPCA_K_STATUS), ACMPCA_ST_DELETED)) {
        return APR_NOTFOUND;
    }
    /* Past its restoration period a deleted CA is gone for good. */
    until = acmpca_json_time(ca->doc, ACMPCA_K_RESTORABLE_UNTIL);
    if (!strcmp(acmpca_json_str(ca->doc, ACMPCA_K_STATUS), ACMPCA_ST_DELETED) && until
        && until <= ctx->now) {
        rv = ctx->store->provider->ca_purge(ctx->store, ca->ref.id, p);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, rv, p,
                       "ACMPCA0201: purging expired CA %s failed", ca->ref.id);
        }
        return not_found(err, arn, p);
    }
    if ((rv = acmpca_ca_authorize(ctx, ca, err, p)) != APR_SUCCESS) {
        return rv;
    }
    *pca = ca;
    return APR_SUCCESS;
}

apr_status_t acmpca_ca_load(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                            acmpca_err_t *err, apr_pool_t *p)
{
    return load(pca, ctx, arn, LOAD_OWN, err, p);
}

apr_status_t acmpca_ca_view(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                            acmpca_err_t *err, apr_pool_t *p)
{
    return load(pca, ctx, arn, LOAD_VIEW, err, p);
}

apr_status_t acmpca_ca_view_hint(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                                 apr_pool_t *p)
{
    acmpca_err_t ignored = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};

    return load(pca, ctx, arn, LOAD_HINT, &ignored, p) == APR_SUCCESS ? APR_SUCCESS : APR_NOTFOUND;
}

const char *acmpca_ca_status(const acmpca_ca_t *ca, apr_time_t now)
{
    const char *status = acmpca_json_str(ca->doc, ACMPCA_K_STATUS);
    apr_time_t not_after = acmpca_json_time(ca->doc, ACMPCA_K_NOT_AFTER);

    if ((!strcmp(status, ACMPCA_ST_ACTIVE) || !strcmp(status, ACMPCA_ST_DISABLED)) && not_after
        && not_after < now) {
        return ACMPCA_ST_EXPIRED;
    }
    return status;
}

void acmpca_ca_set_status(acmpca_ca_t *ca, const char *status, apr_time_t now)
{
    acmpca_json_set(ca->doc, ACMPCA_K_STATUS, cJSON_CreateString(status));
    acmpca_json_set_time(ca->doc, ACMPCA_K_LAST_STATE_CHANGE_AT, now);
}

cJSON *acmpca_ca_describe(const acmpca_ca_t *ca, apr_time_t now, apr_pool_t *p)
{
    cJSON *out = acmpca_json_own(cJSON_CreateObject(), p);
    const cJSON *m;

    cJSON_ArrayForEach(m, ca->doc)
    {
        if (m->string[0] != '_') {
            cJSON_AddItemToObject(out, m->string, cJSON_Duplicate(m, 1));
        }
    }
    acmpca_json_set(out, ACMPCA_K_STATUS, cJSON_CreateString(acmpca_ca_status(ca, now)));
    return out;
}

apr_status_t acmpca_ca_mutate(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                              acmpca_ca_mutate_fn *fn, void *baton, acmpca_err_t *err,
                              apr_pool_t *p)
{
    acmpca_ca_t *ca;
    apr_status_t rv;
    int i;

    for (i = 0; i < MUTATE_TRIES; i++) {
        if ((rv = acmpca_ca_load(&ca, ctx, arn, err, p)) != APR_SUCCESS
            || (rv = fn(ca, baton, err, p)) != APR_SUCCESS) {
            return rv;
        }
        ca->rec->doc = acmpca_json_print(ca->doc, p);
        rv = ctx->store->provider->ca_update(ctx->store, ca->rec, p);
        if (rv == APR_SUCCESS) {
            if (pca) {
                *pca = ca;
            }
            return APR_SUCCESS;
        }
        if (rv == APR_NOTFOUND) {
            return not_found(err, arn, p);
        }
        if (rv != ACMPCA_ECONFLICT) {
            return acmpca_ops_store_error(err, rv, "updating a certificate authority");
        }
    }
    return acmpca_err_set(err, ACMPCA_ERR_CONCURRENT_MODIFICATION, p,
                          "A previous update to the certificate authority %s is still in "
                          "progress. Try again later.",
                          arn);
}

apr_status_t acmpca_ca_key(EVP_PKEY **pkey, const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                           acmpca_err_t *err, apr_pool_t *p)
{
    /* Unwrapping costs far more than the signature it serves: ca_cache.c keeps the key
     * for as long as the CA record keeps its version. */
    return acmpca_ca_material(pkey, NULL, ctx, ca, err, p);
}
