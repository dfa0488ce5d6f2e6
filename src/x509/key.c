/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * CA key pairs: generation per KeyAlgorithm, SigningAlgorithm checks, key comparison. */
#include <string.h>

#include <apr_strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "acmpca/x509.h"

/* The KeyAlgorithm values the module can generate (PCA-API.md §5.1, §7.1). ML_DSA_* and
 * SM2 are valid enum values but not implemented: InvalidArgsException [DECISION]. */
typedef struct {
    const char *name;  /* KeyAlgorithm */
    const char *type;  /* OpenSSL key type */
    size_t bits;       /* RSA modulus size */
    const char *curve; /* EC group as OpenSSL names it */
    const char *nist;  /* EC group as NIST names it (some providers report this) */
} key_alg_t;

static const key_alg_t key_algs[] = {
    {"RSA_2048", "RSA", 2048, NULL, NULL},
    {"RSA_3072", "RSA", 3072, NULL, NULL},
    {"RSA_4096", "RSA", 4096, NULL, NULL},
    {"EC_prime256v1", "EC", 0, "prime256v1", "P-256"},
    {"EC_secp384r1", "EC", 0, "secp384r1", "P-384"},
    {"EC_secp521r1", "EC", 0, "secp521r1", "P-521"},
};

/* Every SigningAlgorithm of the service model with the key family that can use it;
 * md is NULL for the ones the module cannot sign with. The order within a family is
 * the order AWS lists them in its error message (aws-privateca-issuer#22). */
typedef struct {
    const char *name;
    const char *family;
    const EVP_MD *(*md)(void);
} sig_alg_t;

static const sig_alg_t sig_algs[] = {
    {"SHA256WITHRSA", "RSA", EVP_sha256},  {"SHA384WITHRSA", "RSA", EVP_sha384},
    {"SHA512WITHRSA", "RSA", EVP_sha512},  {"SHA256WITHECDSA", "EC", EVP_sha256},
    {"SHA384WITHECDSA", "EC", EVP_sha384}, {"SHA512WITHECDSA", "EC", EVP_sha512},
    {"SM3WITHSM2", "SM2", NULL},           {"ML_DSA_44", "ML_DSA_44", NULL},
    {"ML_DSA_65", "ML_DSA_65", NULL},      {"ML_DSA_87", "ML_DSA_87", NULL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static const key_alg_t *key_alg_find(const char *name)
{
    size_t i;

    for (i = 0; name && i < COUNT(key_algs); i++) {
        if (!strcmp(key_algs[i].name, name)) {
            return &key_algs[i];
        }
    }
    return NULL;
}

static const sig_alg_t *sig_alg_find(const char *name)
{
    size_t i;

    for (i = 0; name && i < COUNT(sig_algs); i++) {
        if (!strcmp(sig_algs[i].name, name)) {
            return &sig_algs[i];
        }
    }
    return NULL;
}

/* The signing family of a KeyAlgorithm, including the ones we cannot generate, so that
 * "SHA256WITHRSA with ML_DSA_44" still gets AWS's family message. */
static const char *key_family(const char *key_algorithm)
{
    if (!key_algorithm) {
        return NULL;
    }
    if (!strncmp(key_algorithm, "RSA_", 4)) {
        return "RSA";
    }
    if (!strncmp(key_algorithm, "EC_", 3)) {
        return "EC";
    }
    if (!strcmp(key_algorithm, "SM2") || !strncmp(key_algorithm, "ML_DSA_", 7)) {
        return key_algorithm;
    }
    return NULL;
}

static const char *family_list(const char *family, apr_pool_t *p)
{
    const char *list = NULL;
    size_t i;

    for (i = 0; i < COUNT(sig_algs); i++) {
        if (!strcmp(sig_algs[i].family, family)) {
            list = list ? apr_pstrcat(p, list, ", ", sig_algs[i].name, NULL) : sig_algs[i].name;
        }
    }
    return list;
}

/* RSA with e = 65537 and EC on a named curve with uncompressed points (PCA-API.md §7.1);
 * both are OpenSSL's defaults, set explicitly so a provider change cannot alter them. */
static int set_keygen_params(EVP_PKEY_CTX *ctx, const key_alg_t *ka)
{
    OSSL_PARAM params[4];
    size_t bits = ka->bits;
    unsigned int e = 65537;

    if (ka->bits) {
        params[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits);
        params[1] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &e);
        params[2] = OSSL_PARAM_construct_end();
    }
    else {
        /* OSSL_PARAM wants char *; OpenSSL only reads these strings. */
        params[0] =
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)ka->curve, 0);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                     (char *)"uncompressed", 0);
        params[2] =
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, (char *)"named_curve", 0);
        params[3] = OSSL_PARAM_construct_end();
    }
    return EVP_PKEY_CTX_set_params(ctx, params) == 1;
}

apr_status_t acmpca_key_generate(EVP_PKEY **pkey, const char *key_algorithm, acmpca_err_t *err,
                                 apr_pool_t *p)
{
    const key_alg_t *ka = key_alg_find(key_algorithm);
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *key = NULL;
    int ok;

    *pkey = NULL;
    if (!ka) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "Key algorithm %s is not supported.",
                              key_algorithm ? key_algorithm : "(none)");
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, ka->type, NULL);
    ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && set_keygen_params(ctx, ka)
         && EVP_PKEY_generate(ctx, &key) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(key);
        return acmpca_err_internal(err, APR_EGENERAL, "key generation failed");
    }
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
    *pkey = key;
    return APR_SUCCESS;
}

const char *acmpca_key_algorithm_of(EVP_PKEY *key)
{
    char group[80];
    size_t i;

    if (!key) {
        return NULL;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        int bits = EVP_PKEY_get_bits(key);

        for (i = 0; i < COUNT(key_algs); i++) {
            if (key_algs[i].bits && (int)key_algs[i].bits == bits) {
                return key_algs[i].name;
            }
        }
    }
    else if (EVP_PKEY_is_a(key, "EC")
             && EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                               sizeof(group), NULL)) {
        for (i = 0; i < COUNT(key_algs); i++) {
            if (key_algs[i].curve
                && (!strcmp(group, key_algs[i].curve) || !strcmp(group, key_algs[i].nist))) {
                return key_algs[i].name;
            }
        }
    }
    return NULL;
}

apr_status_t acmpca_sigalg_check(const char *signing_algorithm, const char *key_algorithm,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    const char *family = key_family(key_algorithm);
    const sig_alg_t *sa = sig_alg_find(signing_algorithm);

    if (!family) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "Key algorithm %s is not supported.",
                              key_algorithm ? key_algorithm : "(none)");
    }
    if (!sa || strcmp(sa->family, family)) {
        /* Verbatim AWS wording, cert-manager/aws-privateca-issuer#22. */
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "Signing algorithm %s cannot be used with key type %s. Valid "
                              "signing algorithms are: %s.",
                              signing_algorithm ? signing_algorithm : "(none)", key_algorithm,
                              family_list(family, p));
    }
    if (!sa->md) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "Signing algorithm %s is not supported.", signing_algorithm);
    }
    return APR_SUCCESS;
}

const EVP_MD *acmpca_sigalg_md(const char *signing_algorithm)
{
    const sig_alg_t *sa = sig_alg_find(signing_algorithm);

    return (sa && sa->md) ? sa->md() : NULL;
}

int acmpca_key_same_public(EVP_PKEY *key, EVP_PKEY *pub)
{
    /* EVP_PKEY_eq compares the public halves (and domain parameters) only. */
    return key && pub && EVP_PKEY_eq(key, pub) == 1;
}
