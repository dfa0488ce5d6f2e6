/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of src/x509/wrap.c: AES-256-GCM wrapping of CA private keys. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <apr_strings.h>

#include "unit.h"

#include "acmpca/err.h"
#include "acmpca/x509.h"

/* Any 32 bytes do as a KEK; these are the key of the AES-256 example in FIPS 197
 * appendix C.3, so nobody mistakes them for a secret. */
static const unsigned char kek[ACMPCA_KEK_LEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

#define AAD       "b2d5c1f0-5b8e-4a57-9b61-0d1e4ff7c0a1" /* a CA id (PCA-API.md §3) */
#define NONCE_LEN 12
#define TAG_LEN   16
#define OVERHEAD  (1 + NONCE_LEN + TAG_LEN) /* x509.h: version | nonce | ct | tag */

static EVP_PKEY *gen(apr_pool_t *p, const char *alg)
{
    acmpca_err_t err = {0};
    EVP_PKEY *key = NULL;

    assert_int_equal(acmpca_key_generate(&key, alg, &err, p), APR_SUCCESS);
    return key;
}

/* The unwrapped private key signs what the original public key verifies. */
static void assert_same_private(EVP_PKEY *orig, EVP_PKEY *copy)
{
    static const unsigned char msg[] = "wrapped keys must still sign";
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    assert_true(acmpca_key_same_public(orig, copy));
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, copy), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)), 1);
    EVP_MD_CTX_reset(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, orig), 1);
    assert_int_equal(EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(ctx);
}

static void test_round_trip(void **state)
{
    static const char *const algs[] = {"EC_prime256v1", "EC_secp521r1", "RSA_2048"};
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        EVP_PKEY *key = gen(p, algs[i]), *back = NULL;
        unsigned char *blob;
        apr_size_t len;

        assert_int_equal(acmpca_key_wrap(&blob, &len, key, kek, AAD, p), APR_SUCCESS);
        assert_true(len > OVERHEAD);
        assert_int_equal(blob[0], 1);
        assert_int_equal(acmpca_key_unwrap(&back, blob, len, kek, AAD, p), APR_SUCCESS);
        assert_non_null(back);
        assert_same_private(key, back);
        assert_string_equal(acmpca_key_algorithm_of(back), algs[i]);
    }
}

/* The blob is exactly what x509.h documents: an independent AES-256-GCM decryption with
 * AAD = version byte || aad yields a PKCS#8 PrivateKeyInfo (RFC 5958 §2). */
static void test_format(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1"), *dec;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    PKCS8_PRIV_KEY_INFO *p8;
    unsigned char *blob, plain[512];
    const unsigned char *d = plain;
    apr_size_t len, ctlen;
    int n, m;

    assert_int_equal(acmpca_key_wrap(&blob, &len, key, kek, AAD, p), APR_SUCCESS);
    ctlen = len - OVERHEAD;
    assert_true(ctlen <= sizeof(plain));
    assert_int_equal(EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), kek, blob + 1, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(ctx, NULL, &n, blob, 1), 1);
    assert_int_equal(EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)AAD, strlen(AAD)), 1);
    assert_int_equal(EVP_DecryptUpdate(ctx, plain, &n, blob + 1 + NONCE_LEN, (int)ctlen), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, blob + len - TAG_LEN),
                     1);
    assert_int_equal(EVP_DecryptFinal_ex(ctx, plain + n, &m), 1);
    EVP_CIPHER_CTX_free(ctx);

    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &d, n + m);
    assert_non_null(p8);
    assert_ptr_equal(d, plain + n + m);
    dec = EVP_PKCS82PKEY(p8);
    assert_non_null(dec);
    assert_true(acmpca_key_same_public(key, dec));
    EVP_PKEY_free(dec);
    PKCS8_PRIV_KEY_INFO_free(p8);
}

/* Fresh nonce per wrap (NIST SP 800-38D §8.2.2): two wraps of one key differ. */
static void test_nonce_fresh(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    unsigned char *a, *b;
    apr_size_t alen, blen;

    assert_int_equal(acmpca_key_wrap(&a, &alen, key, kek, AAD, p), APR_SUCCESS);
    assert_int_equal(acmpca_key_wrap(&b, &blen, key, kek, AAD, p), APR_SUCCESS);
    assert_int_equal(alen, blen);
    assert_memory_not_equal(a + 1, b + 1, NONCE_LEN);
}

/* Every region of the blob is authenticated (x509.h; NIST SP 800-38D §7.2). */
static void test_tampered(void **state)
{
    static const struct {
        const char *what;
        int from_end; /* offset counts back from the end */
        apr_size_t offset;
    } cases[] = {
        {"version byte", 0, 0},
        {"first nonce byte", 0, 1},
        {"last nonce byte", 0, NONCE_LEN},
        {"first ciphertext byte", 0, 1 + NONCE_LEN},
        {"last ciphertext byte", 1, TAG_LEN + 1},
        {"first tag byte", 1, TAG_LEN},
        {"last tag byte", 1, 1},
    };
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1"), *back;
    unsigned char *blob, *copy;
    apr_size_t len, i;

    assert_int_equal(acmpca_key_wrap(&blob, &len, key, kek, AAD, p), APR_SUCCESS);
    copy = apr_pmemdup(p, blob, len);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_size_t at = cases[i].from_end ? len - cases[i].offset : cases[i].offset;

        memcpy(copy, blob, len);
        copy[at] ^= 0x01;
        back = (EVP_PKEY *)1;
        if (acmpca_key_unwrap(&back, copy, len, kek, AAD, p) != APR_EINVAL) {
            fail_msg("tampered %s was accepted", cases[i].what);
        }
        assert_null(back);
    }
}

static void test_wrong_context(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1"), *back;
    unsigned char *blob, other_kek[ACMPCA_KEK_LEN];
    apr_size_t len;

    assert_int_equal(acmpca_key_wrap(&blob, &len, key, kek, AAD, p), APR_SUCCESS);
    memcpy(other_kek, kek, sizeof(kek));
    other_kek[31] ^= 0x80;
    assert_int_equal(acmpca_key_unwrap(&back, blob, len, other_kek, AAD, p), APR_EINVAL);
    /* The aad binds the blob to its CA: another CA id, a prefix of it, none. */
    assert_int_equal(acmpca_key_unwrap(&back, blob, len, kek, "another-ca", p), APR_EINVAL);
    assert_int_equal(acmpca_key_unwrap(&back, blob, len, kek, "b2d5c1f0", p), APR_EINVAL);
    assert_int_equal(acmpca_key_unwrap(&back, blob, len, kek, NULL, p), APR_EINVAL);
    assert_int_equal(acmpca_key_unwrap(&back, blob, len, kek, AAD, p), APR_SUCCESS);
}

static void test_truncated(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1"), *back;
    unsigned char *blob;
    apr_size_t len;

    assert_int_equal(acmpca_key_wrap(&blob, &len, key, kek, AAD, p), APR_SUCCESS);
    assert_int_equal(acmpca_key_unwrap(&back, blob, 0, kek, AAD, p), APR_EINVAL);
    assert_int_equal(acmpca_key_unwrap(&back, blob, OVERHEAD, kek, AAD, p), APR_EINVAL);
    assert_int_equal(acmpca_key_unwrap(&back, blob, len - 1, kek, AAD, p), APR_EINVAL);
    assert_int_equal(acmpca_key_unwrap(&back, NULL, len, kek, AAD, p), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_round_trip), UNIT_TEST(test_format),        UNIT_TEST(test_nonce_fresh),
        UNIT_TEST(test_tampered),   UNIT_TEST(test_wrong_context), UNIT_TEST(test_truncated),
    };

    return cmocka_run_group_tests_name("wrap", tests, unit_group_setup, unit_group_teardown);
}
