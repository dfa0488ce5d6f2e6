/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * CA private keys wrapped with AES-256-GCM under the key-encryption key for the store. */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"

/* Blob layout (x509.h):
 *
 *   +---------+------------------+---------------------------+-------------+
 *   | version | nonce (12 bytes) | ciphertext (PKCS#8 DER)   | tag (16)    |
 *   +---------+------------------+---------------------------+-------------+
 *
 * The additional authenticated data is the version byte followed by the caller's aad,
 * so neither the format version nor the owning CA can be swapped without the tag
 * failing. A fresh random nonce per wrap is safe for the handful of keys one KEK
 * protects (NIST SP 800-38D §8.3 allows 2^32 random nonces per key). */
#define WRAP_VERSION   1
#define WRAP_NONCE_LEN 12
#define WRAP_TAG_LEN   16
#define WRAP_OVERHEAD  (1 + WRAP_NONCE_LEN + WRAP_TAG_LEN)

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static int add_aad(EVP_CIPHER_CTX *ctx, const char *aad)
{
    const unsigned char version = WRAP_VERSION;
    size_t len = aad ? strlen(aad) : 0;
    int n;

    if (len > INT_MAX || EVP_CipherUpdate(ctx, NULL, &n, &version, 1) != 1) {
        return 0;
    }
    return len == 0 || EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)len) == 1;
}

/* PKCS#8 PrivateKeyInfo DER in an OPENSSL_malloc'ed buffer. OpenSSL builds it in a
 * memory BIO that grows with BUF_MEM_grow_clean, so no stale copy of the key is left
 * behind in freed memory; the caller cleanses the result. */
static int pkcs8_encode(unsigned char **pder, size_t *plen, EVP_PKEY *key)
{
    OSSL_ENCODER_CTX *ectx;
    int ok;

    ectx = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    ok = ectx && OSSL_ENCODER_CTX_get_num_encoders(ectx) > 0
         && OSSL_ENCODER_to_data(ectx, pder, plen) == 1;
    OSSL_ENCODER_CTX_free(ectx);
    return ok;
}

static EVP_PKEY *pkcs8_decode(const unsigned char *der, size_t len)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *key = NULL;

    dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "PrivateKeyInfo", NULL, EVP_PKEY_KEYPAIR,
                                         NULL, NULL);
    if (!dctx || OSSL_DECODER_from_data(dctx, &der, &len) != 1 || len != 0) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return key;
}

apr_status_t acmpca_key_wrap(unsigned char **pout, apr_size_t *poutlen, EVP_PKEY *key,
                             const unsigned char *kek, const char *aad, apr_pool_t *p)
{
    unsigned char *der = NULL, *out, *ct;
    size_t derlen = 0;
    EVP_CIPHER_CTX *ctx = NULL;
    apr_status_t rv = APR_EGENERAL;
    int n, m;

    *pout = NULL;
    *poutlen = 0;
    if (!key || !kek || !pkcs8_encode(&der, &derlen, key) || derlen > INT_MAX - WRAP_OVERHEAD) {
        goto leave;
    }
    out = apr_palloc(p, WRAP_OVERHEAD + derlen);
    out[0] = WRAP_VERSION;
    ct = out + 1 + WRAP_NONCE_LEN;
    if (acmpca_random(out + 1, WRAP_NONCE_LEN) != APR_SUCCESS || !(ctx = EVP_CIPHER_CTX_new())
        || EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), kek, out + 1, NULL) != 1
        || !add_aad(ctx, aad) || EVP_EncryptUpdate(ctx, ct, &n, der, (int)derlen) != 1
        || EVP_EncryptFinal_ex(ctx, ct + n, &m) != 1 || (size_t)(n + m) != derlen
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, WRAP_TAG_LEN, ct + derlen) != 1) {
        goto leave;
    }
    *pout = out;
    *poutlen = WRAP_OVERHEAD + derlen;
    rv = APR_SUCCESS;
leave:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_clear_free(der, derlen);
    return rv;
}

apr_status_t acmpca_key_unwrap(EVP_PKEY **pkey, const unsigned char *in, apr_size_t inlen,
                               const unsigned char *kek, const char *aad, apr_pool_t *p)
{
    const unsigned char *ct;
    unsigned char *plain = NULL;
    size_t ctlen;
    EVP_CIPHER_CTX *ctx = NULL;
    EVP_PKEY *key;
    apr_status_t rv = APR_EINVAL;
    int n, m;

    *pkey = NULL;
    if (!in || !kek || inlen <= WRAP_OVERHEAD || inlen > INT_MAX || in[0] != WRAP_VERSION) {
        return APR_EINVAL;
    }
    ct = in + 1 + WRAP_NONCE_LEN;
    ctlen = inlen - WRAP_OVERHEAD;
    if (!(plain = OPENSSL_malloc(ctlen)) || !(ctx = EVP_CIPHER_CTX_new())
        || EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), kek, in + 1, NULL) != 1 || !add_aad(ctx, aad)
        || EVP_DecryptUpdate(ctx, plain, &n, ct, (int)ctlen) != 1
        /* OpenSSL only reads the tag; the ctrl interface is not const-correct. */
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, WRAP_TAG_LEN, (void *)(ct + ctlen))
               != 1) {
        rv = APR_EGENERAL;
        goto leave;
    }
    /* The tag is checked here: anything tampered with, another kek or aad ends up here. */
    if (EVP_DecryptFinal_ex(ctx, plain + n, &m) != 1) {
        goto leave;
    }
    if (!(key = pkcs8_decode(plain, (size_t)(n + m)))) {
        rv = APR_EGENERAL; /* authentic but not a key: we wrapped garbage */
        goto leave;
    }
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
    *pkey = key;
    rv = APR_SUCCESS;
leave:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_clear_free(plain, ctlen);
    return rv;
}
