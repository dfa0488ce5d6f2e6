/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The periodic CRL job (PCA-API.md §7.4): every CA with CRLs enabled gets a fresh CRL
 * well before its nextUpdate, a first one without waiting for a request, a repair when
 * its CRL lacks revocations, and the rebuild of a big CRL that revocations left to it
 * (crl.c acmpca_crl_deferred). The glue runs it once per host (mod_watchdog). */
#include <pthread.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/revoke.h"
#include "ops_int.h"

#define CA_PAGE 100

/* A CRL that lacks revocations is normally being rebuilt by the request that revoked,
 * perhaps in another process; a second build of a big CRL would only compete with it.
 * So a shortfall is repaired only once it has lasted LAG_GRACE with the same CRL
 * number (the job runs in one thread: the table is its memory between runs). */
#define LAG_GRACE apr_time_from_sec(15)
#define LAG_SLOTS 64

static pthread_mutex_t lag_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char ca_id[40]; /* "" when free */
    double number;
    apr_time_t since;
} lag[LAG_SLOTS];

/* Has ca_id lacked revocations since at least LAG_GRACE, with CRL number? */
static int lagging(const char *ca_id, double number, apr_time_t now)
{
    int i, slot = -1, oldest = 0, late = 0;

    pthread_mutex_lock(&lag_lock);
    for (i = 0; i < LAG_SLOTS; i++) {
        if (!strcmp(lag[i].ca_id, ca_id)) {
            slot = i;
            break;
        }
        if (slot < 0 && !lag[i].ca_id[0]) {
            slot = i;
        }
        if (lag[i].since < lag[oldest].since) {
            oldest = i;
        }
    }
    if (slot < 0) {
        slot = oldest;
    }
    if (!strcmp(lag[slot].ca_id, ca_id) && lag[slot].number == number) {
        late = now - lag[slot].since >= LAG_GRACE;
    }
    else {
        apr_cpystrn(lag[slot].ca_id, ca_id, sizeof(lag[slot].ca_id));
        lag[slot].number = number;
        lag[slot].since = now;
    }
    pthread_mutex_unlock(&lag_lock);
    return late;
}

static void lag_clear(const char *ca_id)
{
    int i;

    pthread_mutex_lock(&lag_lock);
    for (i = 0; i < LAG_SLOTS; i++) {
        if (!strcmp(lag[i].ca_id, ca_id)) {
            lag[i].ca_id[0] = '\0';
        }
    }
    pthread_mutex_unlock(&lag_lock);
}

static int needs_refresh(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, const char **pwhy,
                         apr_pool_t *p)
{
    const cJSON *last = acmpca_json_obj(ca->doc, ACMPCA_D_CRL);
    const char *bucket, *key;
    apr_time_t this_update, next_update;
    apr_int64_t revoked = 0;
    int days;

    if (!acmpca_crl_target(ca, ctx->now, &bucket, &key, &days, p)) {
        return 0;
    }
    this_update = acmpca_json_time(last, "ThisUpdate");
    next_update = acmpca_json_time(last, "NextUpdate");
    if (!last) {
        *pwhy = "first CRL";
    }
    else if (strcmp(bucket, acmpca_json_str(last, "Bucket") ? acmpca_json_str(last, "Bucket") : "")
             || strcmp(key, acmpca_json_str(last, "Key") ? acmpca_json_str(last, "Key") : "")) {
        *pwhy = "new location";
    }
    else if (ctx->now >= this_update + (next_update - this_update) / 2) {
        *pwhy = "periodic refresh";
    }
    else if (acmpca_json_num(last, "Revoked", -1) < 0) {
        *pwhy = "failed publication";
    }
    else if (ctx->store->provider->cert_count(ctx->store, ca->ref.id, ACMPCA_CERT_ITER_REVOKED,
                                              &revoked, p)
             != APR_SUCCESS) {
        return 0;
    }
    else if (revoked == (apr_int64_t)acmpca_json_num(last, "Revoked", -1)) {
        lag_clear(ca->ref.id);
        return 0;
    }
    else if (acmpca_crl_deferred(ctx->env, ca)) {
        /* No request builds it (revoke.c): this run coalesces every revocation since. */
        *pwhy = "deferred revocations";
    }
    else if (lagging(ca->ref.id, acmpca_json_num(last, "Number", 0), ctx->now)) {
        *pwhy = "revocations not on the CRL";
    }
    else {
        return 0;
    }
    return 1;
}

apr_status_t acmpca_crl_refresh_all(const acmpca_env_t *env, apr_time_t now, apr_pool_t *p)
{
    apr_array_header_t *recs;
    apr_int64_t after = 0;
    apr_pool_t *ptemp, *pca;
    apr_status_t rv;
    int i;

    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&pca, p)) != APR_SUCCESS) {
        return rv;
    }
    do {
        apr_pool_clear(ptemp);
        rv = env->store->provider->ca_list(env->store, NULL, after, CA_PAGE, &recs, ptemp);
        if (rv != APR_SUCCESS) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, ptemp,
                       "ACMPCA0703: the CRL job cannot list the certificate authorities");
            break;
        }
        for (i = 0; i < recs->nelts; i++) {
            acmpca_ca_rec_t *rec = APR_ARRAY_IDX(recs, i, acmpca_ca_rec_t *);
            acmpca_ca_t ca = {rec, NULL, {0}, NULL};
            acmpca_op_ctx_t ctx;
            const char *why = NULL;

            apr_pool_clear(pca);
            after = rec->seq;
            ca.doc = acmpca_json_parse(rec->doc, strlen(rec->doc), pca);
            ca.ref.id = rec->id;
            ca.ref.arn = acmpca_json_str(ca.doc, ACMPCA_K_ARN);
            acmpca_ops_system_ctx(&ctx, env, rec->account, now);
            if (ca.doc && ca.ref.arn && needs_refresh(&ctx, &ca, &why, pca)) {
                acmpca_crl_publish(&ctx, ca.ref.arn, why, pca);
            }
        }
    } while (recs->nelts == CA_PAGE);
    apr_pool_destroy(pca);
    apr_pool_destroy(ptemp);
    return rv;
}
