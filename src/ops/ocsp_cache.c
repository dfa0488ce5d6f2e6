/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Signed OCSP responses this process made, reused for the same request while nothing
 * they say can have changed (RFC 6960 §2.4 allows pre-produced responses).
 *
 * Signing is most of what an OCSP answer costs, and a client asks about the same
 * certificate again and again. The answer to a request without a nonce depends only on
 * the request's bytes, the CA (its store record's version: any change of its document,
 * key or certificate bumps it) and the certificate's status as the store has it right
 * now. The responder still reads that status for every request and it is part of the
 * key, so a revocation made anywhere (another process, another host) is answered at once;
 * only thisUpdate is older, by at most ACMPCA_OCSP_REUSE.
 *
 * acmpca_ocsp_cache_peek goes further: the slot remembers the CA and the serial the
 * request named, so a repeated request is answered without parsing it or loading the CA,
 * after the two store reads that prove the response current (src/ops/ocsp.c reuse).
 *
 * Direct-mapped slots, each holding one request and its response in malloc'd memory:
 * the cache never holds more than OCSP_CACHE_SLOTS of them, and a slot is overwritten by
 * the next request that hashes to it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ops_int.h"

#define OCSP_CACHE_SLOTS 512
#define MAX_REQ_LEN      512  /* one CertID and a few extensions */
#define MAX_RESP_LEN     4096 /* one SingleResponse signed with up to RSA-4096 */
#define ID_LEN           40
#define SERIAL_LEN       41 /* 20 octets in hex (RFC 5280 §4.1.2.2) */

typedef struct slot_t {
    unsigned char *req; /* NULL: free */
    apr_size_t req_len;
    const void *store;
    char ca_id[ID_LEN];
    apr_int64_t ca_version;
    char serial[SERIAL_LEN]; /* "" when unknown: no peek */
    acmpca_ocsp_status_t st;
    unsigned char *der;
    apr_size_t len;
    apr_time_t this_update, next_update;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[OCSP_CACHE_SLOTS];

/* FNV-1a of the request bytes. */
static slot_t *slot_of(const unsigned char *req, apr_size_t len)
{
    apr_uint32_t h = 2166136261u;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ req[i]) * 16777619u;
    }
    return &slots[h % OCSP_CACHE_SLOTS];
}

static int cacheable(const acmpca_ocsp_cache_key_t *k)
{
    return k->req_len > 0 && k->req_len <= MAX_REQ_LEN && strlen(k->ca_id) < ID_LEN;
}

static int same(const slot_t *s, const acmpca_ocsp_cache_key_t *k)
{
    return s->req && s->req_len == k->req_len && !memcmp(s->req, k->req, k->req_len)
           && s->store == k->store && s->ca_version == k->ca_version && !strcmp(s->ca_id, k->ca_id)
           && s->st.status == k->st.status && s->st.revoked_at == k->st.revoked_at
           && s->st.reason == k->st.reason;
}

static int usable(const slot_t *s, apr_time_t now)
{
    return s->this_update <= now && now < s->this_update + ACMPCA_OCSP_REUSE
           && now < s->next_update;
}

/* The slot's response into reply, in p. Called with the lock held. */
static void hand_out(acmpca_ocsp_reply_t *reply, const slot_t *s, apr_pool_t *p)
{
    reply->der = apr_pmemdup(p, s->der, s->len);
    reply->len = s->len;
    reply->next_update = s->next_update;
    reply->status = 0;
}

int acmpca_ocsp_cache_peek(acmpca_ocsp_cache_key_t *k, acmpca_ocsp_reply_t *reply,
                           const void *store, const unsigned char *req, apr_size_t len,
                           apr_time_t now, apr_pool_t *p)
{
    slot_t *s;
    int hit = 0;

    if (len == 0 || len > MAX_REQ_LEN) {
        return 0;
    }
    s = slot_of(req, len);
    pthread_mutex_lock(&lock);
    if (s->req && s->req_len == len && !memcmp(s->req, req, len) && s->store == store
        && s->serial[0] && usable(s, now)) {
        memset(k, 0, sizeof(*k));
        k->req = req;
        k->req_len = len;
        k->store = store;
        k->ca_id = apr_pstrdup(p, s->ca_id);
        k->ca_version = s->ca_version;
        k->serial = apr_pstrdup(p, s->serial);
        k->st = s->st;
        hand_out(reply, s, p);
        hit = 1;
    }
    pthread_mutex_unlock(&lock);
    return hit;
}

int acmpca_ocsp_cache_get(acmpca_ocsp_reply_t *reply, const acmpca_ocsp_cache_key_t *k,
                          apr_time_t now, apr_pool_t *p)
{
    slot_t *s;
    int hit = 0;

    if (!cacheable(k)) {
        return 0;
    }
    s = slot_of(k->req, k->req_len);
    pthread_mutex_lock(&lock);
    if (same(s, k) && usable(s, now)) {
        hand_out(reply, s, p);
        hit = 1;
    }
    pthread_mutex_unlock(&lock);
    return hit;
}

void acmpca_ocsp_cache_put(const acmpca_ocsp_cache_key_t *k, const acmpca_ocsp_reply_t *reply,
                           apr_time_t this_update)
{
    unsigned char *req, *der;
    slot_t *s;

    if (!cacheable(k) || reply->len == 0 || reply->len > MAX_RESP_LEN) {
        return;
    }
    /* Copied before taking the lock; a failed allocation just leaves the slot alone. */
    req = malloc(k->req_len);
    der = malloc(reply->len);
    if (!req || !der) {
        free(req);
        free(der);
        return;
    }
    memcpy(req, k->req, k->req_len);
    memcpy(der, reply->der, reply->len);
    s = slot_of(k->req, k->req_len);
    pthread_mutex_lock(&lock);
    free(s->req);
    free(s->der);
    s->req = req;
    s->req_len = k->req_len;
    s->store = k->store;
    apr_cpystrn(s->ca_id, k->ca_id, sizeof(s->ca_id));
    s->ca_version = k->ca_version;
    if (k->serial && strlen(k->serial) < sizeof(s->serial)) {
        apr_cpystrn(s->serial, k->serial, sizeof(s->serial));
    }
    else {
        s->serial[0] = '\0';
    }
    s->st = k->st;
    s->der = der;
    s->len = reply->len;
    s->this_update = this_update;
    s->next_update = reply->next_update;
    pthread_mutex_unlock(&lock);
}
