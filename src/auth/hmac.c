/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * SHA-256 and HMAC-SHA256 for SigV4, on a digest fetched once per process, and a memo of
 * derived signing keys.
 *
 * OpenSSL 3's one-shot HMAC() and EVP_Digest(EVP_sha256()) look the algorithm up in the
 * provider store on every call (a global lock and hash lookups), and SigV4 needs five
 * HMACs and two digests per request. The signing key, HMAC over the date, region and
 * service, changes once a day per secret: it is kept per (secret, date, region, service)
 * in a small table, wiped when its slot is reused. */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acmpca/auth.h"
#include "acmpca/util.h"

#define BLOCK      64 /* SHA-256 block size */
#define KEY_SLOTS  16
#define SECRET_MAX 128
#define SCOPE_MAX  64
#define TERMINATOR "aws4_request"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
    pthread_once(&fetch_once, fetch_sha256);
    return sha256_md ? sha256_md : EVP_sha256();
}

static void *ctx_make(void)
{
    return EVP_MD_CTX_new();
}

static void ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

/* A digest context per thread, made once and reset by each EVP_DigestInit_ex2: a fresh
 * EVP_MD_CTX per digest (allocations, the provider's context, init and teardown) cost
 * about as much as hashing a request's few blocks. Freed when the thread exits. Callers
 * here finish with it before they hash anything else. NULL when none can be made. */
static acmpca_thread_slot_t thread_ctxs = ACMPCA_THREAD_SLOT(ctx_make, ctx_free);

static EVP_MD_CTX *thread_ctx(void)
{
    return acmpca_thread_obj(&thread_ctxs, 1);
}

int acmpca_sha256(unsigned char out[32], const void *data, apr_size_t len)
{
    EVP_MD_CTX *ctx = thread_ctx();
    unsigned int n = 0;

    if (!ctx) {
        return EVP_Digest(data, len, out, &n, sha256(), NULL) && n == 32;
    }
    return EVP_DigestInit_ex2(ctx, sha256(), NULL) && EVP_DigestUpdate(ctx, data, len)
           && EVP_DigestFinal_ex(ctx, out, &n) && n == 32;
}

const char *acmpca_sha256_hex(const void *data, apr_size_t len, apr_pool_t *p)
{
    unsigned char md[32];

    return acmpca_sha256(md, data, len) ? acmpca_hex(md, sizeof(md), 0, p) : NULL;
}

/* RFC 2104: H((K ^ opad) || H((K ^ ipad) || msg)), keys longer than a block hashed first. */
int acmpca_hmac_sha256(unsigned char out[32], const void *key, apr_size_t key_len, const void *msg,
                       apr_size_t msg_len)
{
    unsigned char k[BLOCK] = {0}, pad[BLOCK], inner[32];
    EVP_MD_CTX *ctx, *own = NULL;
    unsigned int n = 0;
    int i, ok = 1;

    if (key_len > BLOCK) {
        ok = acmpca_sha256(k, key, key_len); /* before ctx is in use */
    }
    else {
        memcpy(k, key, key_len);
    }
    if (!(ctx = thread_ctx())) {
        ctx = own = EVP_MD_CTX_new();
    }
    ok = ok && ctx != NULL;
    for (i = 0; i < BLOCK; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    ok = ok && EVP_DigestInit_ex2(ctx, sha256(), NULL) && EVP_DigestUpdate(ctx, pad, BLOCK)
         && EVP_DigestUpdate(ctx, msg, msg_len) && EVP_DigestFinal_ex(ctx, inner, &n);
    for (i = 0; i < BLOCK; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    ok = ok && EVP_DigestInit_ex2(ctx, sha256(), NULL) && EVP_DigestUpdate(ctx, pad, BLOCK)
         && EVP_DigestUpdate(ctx, inner, sizeof(inner)) && EVP_DigestFinal_ex(ctx, out, &n)
         && n == 32;
    if (own) {
        EVP_MD_CTX_free(own); /* cleanses */
    }
    else if (ctx) {
        EVP_DigestInit_ex2(ctx, sha256(), NULL); /* the state held the (derived key's) MAC */
    }
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok;
}

/* ************************************************************************************
 * Signing keys
 */

typedef struct key_slot_t {
    char secret[SECRET_MAX]; /* "" when free */
    char scope[SCOPE_MAX];   /* "<date>/<region>/<service>" */
    unsigned char key[32];
} key_slot_t;

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static key_slot_t slots[KEY_SLOTS];
static unsigned int slots_next;

static int derive(unsigned char out[32], const char *secret, const char *date, const char *region,
                  const char *service)
{
    size_t slen = strlen(secret);
    unsigned char k0[4 + SECRET_MAX], k[32];
    int ok;

    if (slen > SECRET_MAX) {
        return 0;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen);
    ok = acmpca_hmac_sha256(k, k0, slen + 4, date, strlen(date))
         && acmpca_hmac_sha256(k, k, 32, region, strlen(region))
         && acmpca_hmac_sha256(k, k, 32, service, strlen(service))
         && acmpca_hmac_sha256(out, k, 32, TERMINATOR, strlen(TERMINATOR));
    OPENSSL_cleanse(k0, sizeof(k0));
    OPENSSL_cleanse(k, sizeof(k));
    return ok;
}

int acmpca_sigv4_signing_key(unsigned char out[32], const char *secret, const char *date,
                             const char *region, const char *service)
{
    char scope[SCOPE_MAX];
    size_t slen = strlen(secret), dlen = strlen(date), rlen = strlen(region);
    size_t vlen = strlen(service);
    int i, n = (int)(dlen + rlen + vlen + 2);

    if (dlen + rlen + vlen + 2 >= sizeof(scope) || slen >= SECRET_MAX) {
        return derive(out, secret, date, region, service); /* too long to keep */
    }
    /* "<date>/<region>/<service>", without snprintf's format parsing on every request */
    memcpy(scope, date, dlen);
    scope[dlen] = '/';
    memcpy(scope + dlen + 1, region, rlen);
    scope[dlen + 1 + rlen] = '/';
    memcpy(scope + dlen + rlen + 2, service, vlen + 1);
    pthread_mutex_lock(&slots_lock);
    for (i = 0; i < KEY_SLOTS; i++) {
        if (!strcmp(slots[i].scope, scope) && strlen(slots[i].secret) == slen
            && !CRYPTO_memcmp(slots[i].secret, secret, slen)) {
            memcpy(out, slots[i].key, 32);
            pthread_mutex_unlock(&slots_lock);
            return 1;
        }
    }
    pthread_mutex_unlock(&slots_lock);
    if (!derive(out, secret, date, region, service)) {
        return 0;
    }
    /* Round robin: a day's keys of a handful of principals fit; more only cost HMACs. */
    pthread_mutex_lock(&slots_lock);
    i = (int)(slots_next++ % KEY_SLOTS);
    OPENSSL_cleanse(&slots[i], sizeof(slots[i]));
    memcpy(slots[i].secret, secret, slen + 1);
    memcpy(slots[i].scope, scope, (size_t)n + 1);
    memcpy(slots[i].key, out, 32);
    pthread_mutex_unlock(&slots_lock);
    return 1;
}

void acmpca_sigv4_keys_clear(void)
{
    pthread_mutex_lock(&slots_lock);
    OPENSSL_cleanse(slots, sizeof(slots));
    pthread_mutex_unlock(&slots_lock);
}
