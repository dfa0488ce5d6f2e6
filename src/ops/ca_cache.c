/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * A per-process cache of unwrapped CA keys and parsed CA certificates.
 *
 * Unwrapping a CA key (AES-GCM, then a PKCS #8 decode through OpenSSL 3's decoder
 * framework) and parsing the CA certificate cost about half a millisecond together,
 * several times the signature itself; every IssueCertificate, OCSP answer and CRL build
 * needs both. They are kept here, keyed by the CA's id and the certificate its document
 * holds (the PEM text, compared whole): a CA's key never changes, and the certificate
 * only by an import, which is then a miss, and the next caller unwraps and parses
 * afresh. Other writes of the document (the CRL bookkeeping of every revocation, tags,
 * status) keep the entry: keyed by the record's version, each revocation cost the next
 * issuance or CRL an unwrap and a parse, about a millisecond. An entry older than the
 * caller's record whose certificate differs is dropped on the way; others age out by
 * LRU. The store and the KEK (by address: both live as long as the configuration) are
 * part of the key, so virtual hosts with stores or KEKs of their own never see each
 * other's keys.
 *
 * Callers get references of their own (EVP_PKEY_up_ref, X509_up_ref) released when
 * their pool goes, so an entry evicted by another thread in the meantime stays alive
 * until its last user is done; the cache's own reference is dropped on eviction, and
 * EVP_PKEY_free cleanses the key. Both objects are only ever read: OpenSSL 3 signs with
 * one EVP_PKEY from several threads, and a read-only X509 is shared safely.
 *
 * The cache is created on first use in each process, never inherited across fork():
 * a child that finds the cache of its parent (getpid() differs) drops it and starts
 * its own, so no key unwrapped in one process is used by another. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "ops_int.h"

#define ID_MAX 64 /* CA ids are uuids (36 characters); longer ones are not cached */

typedef struct entry_t {
    char id[ID_MAX];
    char *pem;           /* the certificate of the document it was made from (malloc), or NULL */
    apr_int64_t version; /* of the record it was made from */
    const void *store;   /* acmpca_store_t * of the CA */
    const unsigned char *kek; /* the KEK its key was unwrapped with */
    EVP_PKEY *key;            /* NULL: the slot is free */
    X509 *cert;               /* NULL when the document has no usable certificate */
    apr_uint64_t used;        /* LRU clock */
} entry_t;

typedef struct cache_t {
    pid_t pid;
    apr_pool_t *pool; /* process lifetime: never a request's or a child's pool */
    apr_thread_mutex_t *lock;
    apr_uint64_t clock;
    acmpca_ca_cache_stats_t stats;
    entry_t slots[ACMPCA_CA_CACHE_MAX];
} cache_t;

/* Guards the creation of the cache only (APR mutexes have no static initialiser). */
static pthread_mutex_t cache_init_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_t *cache;

static void entry_clear(entry_t *e)
{
    EVP_PKEY_free(e->key); /* cleanses the private key */
    X509_free(e->cert);
    free(e->pem);
    memset(e, 0, sizeof(*e));
}

static int same_pem(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The cache of this process, created on first use. One inherited from the parent (only
 * ever filled when the parent itself issued, as the unit tests do) is emptied, which
 * frees and cleanses this process's copies of its keys, and abandoned: its mutex may
 * have been held by a thread that does not exist here. */
static cache_t *cache_get(void)
{
    cache_t *c;
    apr_pool_t *pool;
    pid_t pid = acmpca_pid();
    int i;

    pthread_mutex_lock(&cache_init_lock);
    c = cache;
    if (c && c->pid != pid) {
        for (i = 0; i < ACMPCA_CA_CACHE_MAX; i++) {
            entry_clear(&c->slots[i]);
        }
        c = cache = NULL;
    }
    if (!c && apr_pool_create_unmanaged_ex(&pool, NULL, NULL) == APR_SUCCESS) {
        c = apr_pcalloc(pool, sizeof(*c));
        c->pid = pid;
        c->pool = pool;
        if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS) {
            apr_pool_destroy(pool);
            c = NULL;
        }
        cache = c;
    }
    pthread_mutex_unlock(&cache_init_lock);
    return c;
}

static apr_status_t pkey_release(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t x509_release(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

/* Hand the caller references of its own, released with p. */
static void hand_out(EVP_PKEY **pkey, X509 **pcert, EVP_PKEY *key, X509 *cert, apr_pool_t *p)
{
    EVP_PKEY_up_ref(key);
    apr_pool_cleanup_register(p, key, pkey_release, apr_pool_cleanup_null);
    *pkey = key;
    if (pcert) {
        *pcert = NULL;
        if (cert) {
            X509_up_ref(cert);
            apr_pool_cleanup_register(p, cert, x509_release, apr_pool_cleanup_null);
            *pcert = cert;
        }
    }
}

static int matches(const entry_t *e, const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                   const char *pem)
{
    return e->key && e->store == (const void *)ctx->store && e->kek == ctx->env->kek
           && !strcmp(e->id, ca->ref.id) && same_pem(e->pem, pem);
}

/* Under the lock: the entry for ca, whose document holds pem, or NULL. Entries of the
 * same CA made from an older record with another certificate are dropped on the way:
 * nobody asks for them again once a newer one is seen. */
static entry_t *lookup(cache_t *c, const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                       const char *pem)
{
    entry_t *found = NULL;
    int i;

    for (i = 0; i < ACMPCA_CA_CACHE_MAX; i++) {
        entry_t *e = &c->slots[i];

        if (!e->key) {
            continue;
        }
        if (matches(e, ctx, ca, pem)) {
            found = e;
        }
        else if (e->version < ca->rec->version && e->store == (const void *)ctx->store
                 && !strcmp(e->id, ca->ref.id)) {
            entry_clear(e);
            c->stats.invalidations++;
        }
    }
    return found;
}

/* Under the lock: a free slot, or the least recently used one, emptied. */
static entry_t *victim(cache_t *c)
{
    entry_t *lru = &c->slots[0];
    int i;

    for (i = 0; i < ACMPCA_CA_CACHE_MAX; i++) {
        if (!c->slots[i].key) {
            return &c->slots[i];
        }
        if (c->slots[i].used < lru->used) {
            lru = &c->slots[i];
        }
    }
    entry_clear(lru);
    c->stats.evictions++;
    return lru;
}

/* What a miss costs: the key unwrapped, the certificate (if any) parsed, both owned by p.
 * A certificate that does not parse is left out (cert NULL); whether that matters is the
 * caller's call (a root signing its own CSR does not look at it). */
static apr_status_t load_material(EVP_PKEY **pkey, X509 **pcert, const acmpca_op_ctx_t *ctx,
                                  const acmpca_ca_t *ca, acmpca_err_t *err, apr_pool_t *p)
{
    const char *pem = acmpca_json_str(ca->doc, ACMPCA_D_CERT);
    const unsigned char *wrapped;
    acmpca_err_t ignored = {0};
    apr_size_t len;
    apr_status_t rv;

    *pcert = NULL;
    rv = ctx->store->provider->ca_key_get(ctx->store, ca->ref.id, &wrapped, &len, p);
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "loading the CA key");
    }
    /* A key that does not unwrap was tampered with or the KEK changed: our fault. */
    rv = acmpca_key_unwrap(pkey, wrapped, len, ctx->env->kek, ca->ref.id, p);
    if (rv != APR_SUCCESS) {
        return acmpca_err_internal(err, rv, "unwrapping the CA key");
    }
    if (pem
        && acmpca_cert_parse(pcert, (const unsigned char *)pem, strlen(pem), &ignored, p)
               != APR_SUCCESS) {
        *pcert = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_ca_material(EVP_PKEY **pkey, X509 **pcert, const acmpca_op_ctx_t *ctx,
                                const acmpca_ca_t *ca, acmpca_err_t *err, apr_pool_t *p)
{
    const char *pem = acmpca_json_str(ca->doc, ACMPCA_D_CERT);
    cache_t *c = cache_get();
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    entry_t *e;
    char *copy = NULL;
    apr_status_t rv;

    *pkey = NULL;
    if (pcert) {
        *pcert = NULL;
    }
    if (c && ca->rec && strlen(ca->ref.id) < ID_MAX) {
        apr_thread_mutex_lock(c->lock);
        if ((e = lookup(c, ctx, ca, pem)) != NULL) {
            e->used = ++c->clock;
            c->stats.hits++;
            hand_out(pkey, pcert, e->key, e->cert, p);
            apr_thread_mutex_unlock(c->lock);
            return APR_SUCCESS;
        }
        c->stats.misses++;
        apr_thread_mutex_unlock(c->lock);
    }
    /* The slow part runs unlocked: other CAs are served meanwhile. Two threads missing
     * on the same CA both unwrap; the second to finish keeps the entry the first made. */
    if ((rv = load_material(&key, &cert, ctx, ca, err, p)) != APR_SUCCESS) {
        return rv;
    }
    *pkey = key;
    if (pcert) {
        *pcert = cert;
    }
    if (!c || !ca->rec || strlen(ca->ref.id) >= ID_MAX || (pem && !(copy = strdup(pem)))) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(c->lock);
    if (lookup(c, ctx, ca, pem)) {
        free(copy);
    }
    else {
        e = victim(c);
        apr_cpystrn(e->id, ca->ref.id, sizeof(e->id));
        e->pem = copy;
        e->version = ca->rec->version;
        e->store = ctx->store;
        e->kek = ctx->env->kek;
        EVP_PKEY_up_ref(key);
        e->key = key;
        if (cert) {
            X509_up_ref(cert);
            e->cert = cert;
        }
        e->used = ++c->clock;
    }
    apr_thread_mutex_unlock(c->lock);
    return APR_SUCCESS;
}

void acmpca_ca_cache_clear(void)
{
    cache_t *c = cache_get();
    int i;

    if (!c) {
        return;
    }
    apr_thread_mutex_lock(c->lock);
    for (i = 0; i < ACMPCA_CA_CACHE_MAX; i++) {
        entry_clear(&c->slots[i]);
    }
    memset(&c->stats, 0, sizeof(c->stats));
    apr_thread_mutex_unlock(c->lock);
}

void acmpca_ca_cache_destroy(void)
{
    cache_t *c;
    int i;

    pthread_mutex_lock(&cache_init_lock);
    c = cache;
    cache = NULL;
    pthread_mutex_unlock(&cache_init_lock);
    if (c && c->pid == acmpca_pid()) {
        for (i = 0; i < ACMPCA_CA_CACHE_MAX; i++) {
            entry_clear(&c->slots[i]);
        }
        apr_pool_destroy(c->pool);
    }
}

void acmpca_ca_cache_stats(acmpca_ca_cache_stats_t *st)
{
    cache_t *c = cache_get();
    int i;

    memset(st, 0, sizeof(*st));
    if (!c) {
        return;
    }
    apr_thread_mutex_lock(c->lock);
    *st = c->stats;
    for (i = 0; i < ACMPCA_CA_CACHE_MAX; i++) {
        st->entries += c->slots[i].key != NULL;
    }
    apr_thread_mutex_unlock(c->lock);
}
