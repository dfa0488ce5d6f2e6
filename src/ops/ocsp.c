/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The OCSP responder (RFC 6960) for CAs whose OcspConfiguration is enabled: finds the CA
 * a request names, looks each serial up in the store, signs with the CA key. */
#include <pthread.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/revoke.h"
#include "acmpca/util.h"
#include "ops_int.h"

/* How long a response may be relied on. Revocations reach the store at once, so a short
 * validity bounds how long a cached "good" can outlive one [DECISION]. */
#define OCSP_VALIDITY apr_time_from_sec(3600)
#define CA_PAGE       100

typedef struct responder_t {
    acmpca_ca_t *ca;
    X509 *cert;
    EVP_PKEY *key; /* NULL until needed when the CA was found by a scan */
} responder_t;

static int ocsp_enabled(const acmpca_ca_t *ca, apr_time_t now)
{
    const cJSON *rc = acmpca_json_obj(ca->doc, ACMPCA_K_REVOCATION_CONFIG);
    const char *status = acmpca_ca_status(ca, now);

    return acmpca_json_bool(acmpca_json_obj(rc, ACMPCA_K_OCSP_CONFIG), ACMPCA_K_ENABLED, 0)
           && acmpca_json_str(ca->doc, ACMPCA_D_CERT)
           && (!strcmp(status, ACMPCA_ST_ACTIVE) || !strcmp(status, ACMPCA_ST_DISABLED)
               || !strcmp(status, ACMPCA_ST_EXPIRED));
}

/* Is rec the CA that CertID 0 of req names, with OCSP on? Fills r when it is. A CA
 * remembered for this issuer (cached) comes with its key and certificate from the
 * process's CA cache; the others of a scan only get their certificate parsed, so that
 * looking for the right CA unwraps no key. */
static int try_ca(responder_t *r, acmpca_ca_rec_t *rec, const acmpca_env_t *env,
                  const acmpca_ocsp_req_t *req, int cached, apr_time_t now, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_ca_t *ca = apr_pcalloc(p, sizeof(*ca));
    acmpca_op_ctx_t ctx;
    const char *pem;

    ca->rec = rec;
    ca->doc = acmpca_ca_doc_parse(env->store, rec, p);
    if (!ca->doc || !ocsp_enabled(ca, now)) {
        return 0;
    }
    ca->ref.id = rec->id;
    ca->ref.arn = acmpca_json_str(ca->doc, ACMPCA_K_ARN);
    ca->ref.account = rec->account;
    pem = acmpca_json_str(ca->doc, ACMPCA_D_CERT);
    r->key = NULL;
    if (cached) {
        acmpca_ops_system_ctx(&ctx, env, rec->account, now);
        if (acmpca_ca_material(&r->key, &r->cert, &ctx, ca, &err, p) != APR_SUCCESS || !r->cert) {
            return 0;
        }
    }
    else if (acmpca_cert_parse(&r->cert, (const unsigned char *)pem, strlen(pem), &err, p)
             != APR_SUCCESS) {
        return 0;
    }
    if (!acmpca_ocsp_issued_by(req, 0, r->cert)) {
        return 0;
    }
    r->ca = ca;
    return 1;
}

/* CertID issuer -> CA id, remembered per process: the responder URL is shared by every
 * CA of the store, and finding the CA otherwise means reading all of them. A hit is
 * checked against the CA itself, so a stale entry costs a lookup, never a wrong answer. */
#define CACHE_SLOTS 256

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char issuer[200]; /* acmpca_ocsp_issuer_id(), "" when free */
    char ca_id[40];
} cache[CACHE_SLOTS];
static unsigned int cache_next;

static const char *cache_get(const char *issuer, apr_pool_t *p)
{
    const char *id = NULL;
    int i;

    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < CACHE_SLOTS && !id; i++) {
        if (!strcmp(cache[i].issuer, issuer)) {
            id = apr_pstrdup(p, cache[i].ca_id);
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return id;
}

static void cache_put(const char *issuer, const char *ca_id)
{
    int i, slot = -1;

    if (strlen(issuer) >= sizeof(cache[0].issuer)) {
        return;
    }
    pthread_mutex_lock(&cache_lock);
    for (i = 0; i < CACHE_SLOTS && slot < 0; i++) {
        if (!strcmp(cache[i].issuer, issuer)) {
            slot = i;
        }
    }
    if (slot < 0) {
        slot = (int)(cache_next++ % CACHE_SLOTS);
    }
    apr_cpystrn(cache[slot].issuer, issuer, sizeof(cache[slot].issuer));
    apr_cpystrn(cache[slot].ca_id, ca_id, sizeof(cache[slot].ca_id));
    pthread_mutex_unlock(&cache_lock);
}

/* The CA whose certificate CertID 0 names (issuer name and key hashes): the one
 * remembered for it, else every CA of the store in turn. */
static apr_status_t find_ca(responder_t *r, const acmpca_env_t *env, const acmpca_ocsp_req_t *req,
                            apr_time_t now, apr_pool_t *p)
{
    const char *issuer = acmpca_ocsp_issuer_id(req, 0, p), *id;
    apr_array_header_t *recs;
    acmpca_ca_rec_t *rec;
    apr_int64_t after = 0;
    apr_status_t rv;
    int i;

    if (issuer && (id = cache_get(issuer, p)) != NULL
        && env->store->provider->ca_get(env->store, id, &rec, p) == APR_SUCCESS
        && try_ca(r, rec, env, req, 1, now, p)) {
        return APR_SUCCESS;
    }
    do {
        rv = env->store->provider->ca_list(env->store, NULL, after, CA_PAGE, &recs, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        for (i = 0; i < recs->nelts; i++) {
            rec = APR_ARRAY_IDX(recs, i, acmpca_ca_rec_t *);
            after = rec->seq;
            if (try_ca(r, rec, env, req, 0, now, p)) {
                if (issuer) {
                    cache_put(issuer, rec->id);
                }
                return APR_SUCCESS;
            }
        }
    } while (recs->nelts == CA_PAGE);
    return APR_NOTFOUND;
}

/* The status the store has for (ca_id, serial) right now. */
static apr_status_t cert_status(acmpca_ocsp_status_t *st, const acmpca_env_t *env,
                                const char *ca_id, const char *serial, apr_pool_t *p)
{
    acmpca_cert_rec_t *rec;
    apr_status_t rv;

    memset(st, 0, sizeof(*st));
    st->status = ACMPCA_OCSP_UNKNOWN;
    rv = env->store->provider->cert_get(env->store, ca_id, serial, &rec, p);
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rec->revoked_at) {
        st->status = ACMPCA_OCSP_REVOKED;
        st->revoked_at = rec->revoked_at;
        st->reason = acmpca_revocation_reason_code(rec->revocation_reason);
    }
    else {
        st->status = ACMPCA_OCSP_GOOD;
    }
    return APR_SUCCESS;
}

static apr_status_t status_of(acmpca_ocsp_status_t *st, const acmpca_env_t *env,
                              const responder_t *r, const acmpca_ocsp_req_t *req, int i,
                              apr_pool_t *p)
{
    const char *serial = acmpca_ocsp_serial(req, i, p);

    memset(st, 0, sizeof(*st));
    st->status = ACMPCA_OCSP_UNKNOWN;
    /* Another issuer in the same request, or a serial no CA of ours could have made. */
    if (!serial || !acmpca_ocsp_issued_by(req, i, r->cert)) {
        return APR_SUCCESS;
    }
    return cert_status(st, env, r->ca->ref.id, serial, p);
}

/* The response this process signed for the same request bytes, when the CA's record
 * still has the version and the certificate the status it was signed with, both read
 * from the store now (cert_status: one read of the two): a revocation or any change of
 * the CA, made by any process or host, is answered at once. Neither the request is
 * parsed nor the CA loaded: the bytes name the same CertID, and a CA record of the same
 * version the same CA and certificate (time alone only turns an ACTIVE or DISABLED CA
 * EXPIRED, all three answered). */
static int reuse(acmpca_ocsp_reply_t *reply, const acmpca_env_t *env, const unsigned char *der,
                 apr_size_t len, apr_time_t now, apr_pool_t *p)
{
    acmpca_ocsp_cache_key_t k;
    acmpca_ocsp_status_t st = {0};
    apr_int64_t version;
    apr_time_t revoked_at;
    const char *reason;
    int found;

    if (!acmpca_ocsp_cache_peek(&k, reply, env->store, der, len, now, p)
        || env->store->provider->cert_status(env->store, k.ca_id, k.serial, &version, &found,
                                             &revoked_at, &reason, p)
               != APR_SUCCESS
        || version != k.ca_version) {
        return 0;
    }
    st.status = !found ? ACMPCA_OCSP_UNKNOWN : revoked_at ? ACMPCA_OCSP_REVOKED : ACMPCA_OCSP_GOOD;
    if (st.status == ACMPCA_OCSP_REVOKED) {
        st.revoked_at = revoked_at;
        st.reason = acmpca_revocation_reason_code(reason);
    }
    return st.status == k.st.status && st.revoked_at == k.st.revoked_at && st.reason == k.st.reason;
}

static void error_reply(acmpca_ocsp_reply_t *reply, int status, apr_pool_t *p)
{
    reply->status = status;
    reply->next_update = 0;
    if (acmpca_ocsp_error(&reply->der, &reply->len, status, p) != APR_SUCCESS) {
        reply->der = NULL;
        reply->len = 0;
    }
}

void acmpca_ocsp_answer(acmpca_ocsp_reply_t *reply, const acmpca_env_t *env,
                        const unsigned char *der, apr_size_t len, apr_time_t now, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_ocsp_signer_t signer = {0};
    acmpca_ocsp_cache_key_t key;
    acmpca_ocsp_status_t *statuses;
    acmpca_ocsp_req_t *req;
    acmpca_op_ctx_t ctx;
    responder_t r = {0};
    apr_status_t rv;
    int i, n;

    memset(reply, 0, sizeof(*reply));
    if (reuse(reply, env, der, len, now, p)) {
        return;
    }
    memset(reply, 0, sizeof(*reply));
    if (acmpca_ocsp_parse(&req, der, len, p) != APR_SUCCESS) {
        error_reply(reply, ACMPCA_OCSP_MALFORMED_REQUEST, p);
        return;
    }
    if ((rv = find_ca(&r, env, req, now, p)) != APR_SUCCESS) {
        /* RFC 6960 §2.3: not a CA we answer for. */
        error_reply(reply, rv == APR_NOTFOUND ? ACMPCA_OCSP_UNAUTHORIZED : ACMPCA_OCSP_TRY_LATER,
                    p);
        return;
    }
    n = acmpca_ocsp_count(req);
    statuses = apr_pcalloc(p, sizeof(*statuses) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        if (status_of(&statuses[i], env, &r, req, i, p) != APR_SUCCESS) {
            error_reply(reply, ACMPCA_OCSP_TRY_LATER, p);
            return;
        }
    }
    /* Without a nonce, one CertID: the answer signed a moment ago still holds when the
     * CA and the status just read are the same (ocsp_cache.c). */
    key.req = der;
    key.req_len = (n == 1 && !acmpca_ocsp_has_nonce(req)) ? len : 0;
    key.store = env->store;
    key.ca_id = r.ca->ref.id;
    key.ca_version = r.ca->rec->version;
    key.serial = acmpca_ocsp_serial(req, 0, p);
    key.st = statuses[0];
    if (acmpca_ocsp_cache_get(reply, &key, now, p)) {
        return;
    }
    acmpca_ops_system_ctx(&ctx, env, r.ca->ref.account, now);
    if (!r.key && acmpca_ca_key(&r.key, &ctx, r.ca, &err, p) != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, err.cause, p,
                   "ACMPCA0730: OCSP: the key of CA %s is not available", r.ca->ref.id);
        error_reply(reply, ACMPCA_OCSP_INTERNAL_ERROR, p);
        return;
    }
    signer.ca_key = r.key;
    signer.ca_cert = r.cert;
    signer.signing_algorithm =
        acmpca_json_str(acmpca_json_obj(r.ca->doc, ACMPCA_K_CA_CONFIG), ACMPCA_K_SIGNING_ALGORITHM);
    signer.this_update = apr_time_from_sec(apr_time_sec(now));
    signer.next_update = signer.this_update + OCSP_VALIDITY;
    if (acmpca_ocsp_respond(&reply->der, &reply->len, req, statuses, &signer, p) != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, 0, p,
                   "ACMPCA0731: OCSP: signing a response of CA %s failed", r.ca->ref.id);
        error_reply(reply, ACMPCA_OCSP_INTERNAL_ERROR, p);
        return;
    }
    reply->next_update = signer.next_update;
    acmpca_ocsp_cache_put(&key, reply, signer.this_update);
}
