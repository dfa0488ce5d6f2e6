/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * SHA-256 and HMAC-SHA256 on a digest fetched once per process and a context per thread.
 *
 * OpenSSL 3's one-shot HMAC() and EVP_Digest(EVP_sha256()) look the algorithm up in the
 * provider store on every call (a global lock and hash lookups); SigV4 needs five HMACs
 * and two digests per request, and each issuance hashes its CSR's signed part. */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acmpca/util.h"

#define BLOCK 64 /* SHA-256 block size */

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
