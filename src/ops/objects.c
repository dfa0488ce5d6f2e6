/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The emulated S3 namespace (PCA-API.md §9): which names exist, what an object is (a
 * public CRL or a private audit report), who may read it. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/revoke.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define CRL_TYPE      "application/pkix-crl"
#define REPORT_PREFIX "audit-report/"
#define UUID_LEN      36

/* ************************************************************************************
 * Names
 */

/* Printable ASCII without the characters that escape, encode or separate: a key is
 * taken literally, there is no decoding to do and no way to name a file. */
static int key_char_ok(char c)
{
    return c > 0x20 && c < 0x7f && c != '%' && c != '\\' && c != '?' && c != '#' && c != '"'
           && c != '<' && c != '>';
}

int acmpca_object_name_ok(const char *bucket, const char *key)
{
    const char *seg, *c;
    size_t n;

    if (!bucket || !key || !acmpca_s3_bucket_ok(bucket)) {
        return 0;
    }
    n = strlen(key);
    if (n == 0 || n > ACMPCA_OBJECT_KEY_MAX || key[0] == '/' || key[n - 1] == '/') {
        return 0;
    }
    for (seg = key;; seg = c + 1) {
        for (c = seg; *c && *c != '/'; c++) {
            if (!key_char_ok(*c)) {
                return 0;
            }
        }
        /* no empty, "." or ".." segment */
        if (c == seg || (c - seg == 1 && seg[0] == '.')
            || (c - seg == 2 && seg[0] == '.' && seg[1] == '.')) {
            return 0;
        }
        if (!*c) {
            return 1;
        }
    }
}

/* "<...>/<uuid>.crl" -> uuid, else NULL. */
static const char *crl_key_ca(const char *key, apr_pool_t *p)
{
    const char *last = strrchr(key, '/');
    const char *id;

    last = last ? last + 1 : key;
    if (strlen(last) != UUID_LEN + 4 || strcmp(last + UUID_LEN, ".crl")) {
        return NULL;
    }
    id = apr_pstrndup(p, last, UUID_LEN);
    return acmpca_is_uuid(id) ? id : NULL;
}

/* "audit-report/<uuid>/..." -> uuid, else NULL. */
static const char *report_key_ca(const char *key, apr_pool_t *p)
{
    const char *id;

    if (strncmp(key, REPORT_PREFIX, strlen(REPORT_PREFIX))
        || strlen(key) <= strlen(REPORT_PREFIX) + UUID_LEN
        || key[strlen(REPORT_PREFIX) + UUID_LEN] != '/') {
        return NULL;
    }
    id = apr_pstrndup(p, key + strlen(REPORT_PREFIX), UUID_LEN);
    return acmpca_is_uuid(id) ? id : NULL;
}

/* ************************************************************************************
 * Serving
 */

/* A CA by id, for the server's own work (no caller: the routes are not the API). */
static apr_status_t ca_by_id(acmpca_ca_t **pca, acmpca_op_ctx_t *ctx, const acmpca_env_t *env,
                             const char *id, apr_time_t now, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_ca_rec_t *rec;
    const cJSON *doc;
    apr_status_t rv;

    rv = env->store->provider->ca_get(env->store, id, &rec, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    doc = acmpca_ca_doc_parse(env->store, rec, p);
    if (!doc || !acmpca_json_str(doc, ACMPCA_K_ARN)) {
        return APR_EGENERAL;
    }
    acmpca_ops_system_ctx(ctx, env, rec->account, now);
    rv = acmpca_ca_load(pca, ctx, acmpca_json_str(doc, ACMPCA_K_ARN), &err, p);
    return rv == APR_SUCCESS ? rv : APR_NOTFOUND;
}

static void classify(acmpca_served_t *out, const acmpca_env_t *env, const acmpca_object_t *obj,
                     apr_pool_t *p)
{
    acmpca_ca_rec_t *rec;
    const char *id;

    out->obj = obj;
    if (obj->content_type && !strcmp(obj->content_type, CRL_TYPE)) {
        out->is_public = 1;
        out->ca_id = crl_key_ca(obj->key, p);
        out->next_update = acmpca_crl_next_update(obj->data, obj->len);
        return;
    }
    /* Everything else is private to the account of the CA it belongs to; a report of a
     * CA gone for good belongs to nobody. */
    if ((id = report_key_ca(obj->key, p)) != NULL
        && env->store->provider->ca_get(env->store, id, &rec, p) == APR_SUCCESS) {
        out->ca_id = id;
        out->owner_account = rec->account;
    }
}

static apr_status_t get(acmpca_served_t *out, const acmpca_env_t *env, const char *bucket,
                        const char *key, apr_pool_t *p)
{
    acmpca_object_t *obj;
    apr_status_t rv;

    if (!acmpca_object_name_ok(bucket, key)) {
        return APR_NOTFOUND;
    }
    rv = env->store->provider->object_get(env->store, bucket, key, &obj, p);
    if (rv == APR_SUCCESS) {
        classify(out, env, obj, p);
    }
    return rv;
}

/* How long a first request waits for a first CRL that another process or host is
 * building (it holds the CA's CRL lock, so acmpca_crl_publish left the build to it). */
#define FIRST_CRL_WAIT_STEPS 20
#define FIRST_CRL_WAIT_STEP  apr_time_from_msec(100)

/* The CRL of ca, built first when it was never published. Only a CA's very first CRL
 * can be missing: a build running elsewhere is waited for, not answered 404. A build of
 * ours that failed (logged; the CRL job retries) is not: nobody else is at it. */
static apr_status_t serve_ca_crl(acmpca_served_t *out, acmpca_op_ctx_t *ctx, acmpca_ca_t *ca,
                                 const char *bucket, const char *key, apr_pool_t *p)
{
    apr_status_t rv = get(out, ctx->env, bucket, key, p);
    int i, steps = FIRST_CRL_WAIT_STEPS;

    if (rv == APR_NOTFOUND) {
        if (acmpca_crl_publish(ctx, ca->ref.arn, "first request", p) != APR_SUCCESS) {
            steps = 0;
        }
        rv = get(out, ctx->env, bucket, key, p);
    }
    for (i = 0; rv == APR_NOTFOUND && i < steps; i++) {
        apr_sleep(FIRST_CRL_WAIT_STEP);
        rv = get(out, ctx->env, bucket, key, p);
    }
    return rv;
}

/* The CRL of the CA id, from this process's memory while the CA's record keeps the
 * version it was cached at (crl_cache.c): one store read of that version alone. The
 * names need no check of their own: a hit is a byte-for-byte match of the bucket and key
 * of an object read through get(), which checked them. */
static int cached_crl(acmpca_served_t *out, const acmpca_env_t *env, const char *id,
                      const char *bucket, const char *key, apr_pool_t *p)
{
    apr_int64_t version;

    return id && env->store->provider->ca_version(env->store, id, &version, p) == APR_SUCCESS
           && acmpca_crl_cache_get(out, env, id, version, bucket, key, p);
}

apr_status_t acmpca_object_serve(acmpca_served_t *out, const acmpca_env_t *env, const char *bucket,
                                 const char *key, apr_time_t now, apr_pool_t *p)
{
    const cJSON *crl_conf;
    const char *id, *t_bucket, *t_key;
    acmpca_op_ctx_t ctx;
    acmpca_ca_t *ca;
    apr_status_t rv;
    int days;

    memset(out, 0, sizeof(*out));
    if (cached_crl(out, env, key ? crl_key_ca(key, p) : NULL, bucket, key, p)) {
        return APR_SUCCESS;
    }
    rv = get(out, env, bucket, key, p);
    if (rv == APR_SUCCESS && out->is_public && out->ca_id) {
        /* An earlier home of a CA's CRL (UpdateCertificateAuthority moved it): the CDPs of
         * certificates issued before still name it, so it gets the current CRL. */
        acmpca_served_t cur;
        if (ca_by_id(&ca, &ctx, env, out->ca_id, now, p) == APR_SUCCESS
            && acmpca_crl_target(ca, now, &t_bucket, &t_key, &days, p)) {
            if (strcmp(bucket, t_bucket) || strcmp(key, t_key)) {
                if (serve_ca_crl(&cur, &ctx, ca, t_bucket, t_key, p) == APR_SUCCESS) {
                    *out = cur;
                }
            }
            else {
                acmpca_crl_cache_put(env, ca, out, p);
            }
        }
        return APR_SUCCESS;
    }
    if (rv != APR_NOTFOUND || (id = crl_key_ca(key, p)) == NULL) {
        return rv;
    }
    /* Not there: a CRL that is due but was never built? */
    if (ca_by_id(&ca, &ctx, env, id, now, p) != APR_SUCCESS
        || !acmpca_crl_target(ca, now, &t_bucket, &t_key, &days, p)) {
        return APR_NOTFOUND;
    }
    if (!strcmp(bucket, t_bucket) && !strcmp(key, t_key)) {
        return serve_ca_crl(out, &ctx, ca, t_bucket, t_key, p);
    }
    /* http://<CustomCname>/<CustomPath>/<id>.crl (src/ops/cert.c) reaches us as
     * /<CustomPath>/<id>.crl: its first segment looks like a bucket. */
    crl_conf =
        acmpca_json_obj(acmpca_json_obj(ca->doc, ACMPCA_K_REVOCATION_CONFIG), ACMPCA_K_CRL_CONFIG);
    if (acmpca_json_str(crl_conf, "CustomCname")
        && !strcmp(apr_pstrcat(p, bucket, "/", key, NULL), t_key)) {
        return serve_ca_crl(out, &ctx, ca, t_bucket, t_key, p);
    }
    return APR_NOTFOUND;
}

apr_status_t acmpca_crl_serve(acmpca_served_t *out, const acmpca_env_t *env, const char *ca_id,
                              apr_time_t now, apr_pool_t *p)
{
    const char *bucket, *key;
    acmpca_op_ctx_t ctx;
    acmpca_ca_t *ca;
    apr_status_t rv;
    int days;

    memset(out, 0, sizeof(*out));
    if (!acmpca_is_uuid(ca_id)) {
        return APR_NOTFOUND;
    }
    if (cached_crl(out, env, ca_id, NULL, NULL, p)) {
        return APR_SUCCESS;
    }
    if (ca_by_id(&ca, &ctx, env, ca_id, now, p) != APR_SUCCESS
        || !acmpca_crl_target(ca, now, &bucket, &key, &days, p)) {
        return APR_NOTFOUND; /* unknown, or CRLs disabled: no CRL (issue 4) */
    }
    rv = serve_ca_crl(out, &ctx, ca, bucket, key, p);
    if (rv == APR_SUCCESS) {
        acmpca_crl_cache_put(env, ca, out, p);
    }
    return rv;
}

int acmpca_object_readable(const acmpca_env_t *env, const acmpca_served_t *obj,
                           const acmpca_caller_t *caller, apr_time_t now, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_call_t call = {0};
    acmpca_op_ctx_t ctx;
    acmpca_ca_rec_t *rec;
    const cJSON *doc;
    acmpca_ca_t *ca;

    if (obj->is_public) {
        return 1;
    }
    if (!obj->ca_id || !obj->owner_account || !caller || !caller->account
        || env->store->provider->ca_get(env->store, obj->ca_id, &rec, p) != APR_SUCCESS
        || !(doc = acmpca_ca_doc_parse(env->store, rec, p))) {
        return 0;
    }
    /* As if the caller described the report through the API: its own account may,
     * unless the CA's resource policy denies; other accounts may not (the action is not
     * one AWS shares across accounts). */
    call.env = env;
    call.caller = *caller;
    call.now = now;
    acmpca_ops_system_ctx(&ctx, env, caller->account, now);
    ctx.call = &call;
    ctx.operation = "DescribeCertificateAuthorityAuditReport";
    return acmpca_ca_load(&ca, &ctx, acmpca_json_str(doc, ACMPCA_K_ARN), &err, p) == APR_SUCCESS
           && !strcmp(ca->rec->account, caller->account);
}
