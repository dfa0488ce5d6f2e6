/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Signing a certificate with its encoding kept (sign.c). Private to src/x509. */
#ifndef ACMPCA_SIGN_INT_H
#define ACMPCA_SIGN_INT_H

#include <apr_pools.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define ACMPCA_AID_MAX 128 /* an AlgorithmIdentifier; RSASSA-PSS with all its parameters fits */

/** The DER length octets of n (X.690 §8.1.3) into out (9 octets at most); their count. */
apr_size_t acmpca_der_len(unsigned char *out, apr_size_t n);

struct acmpca_signer_slot;

/** One signature of a TBSCertificate, and the Certificate put together around it. */
typedef struct acmpca_signer_t {
    EVP_PKEY *key;
    EVP_MD_CTX *mctx;                  /* a digest-sign context of its own, or */
    struct acmpca_signer_slot *slot;   /* the thread's contexts for key and digest */
    unsigned char aid[ACMPCA_AID_MAX]; /* the signature's AlgorithmIdentifier, DER */
    apr_size_t aid_len;
    unsigned char *sig;
    size_t sig_len;
} acmpca_signer_t;

/** Ready to sign with key and md (NULL for a key that names its own, SM2), and the
 *  AlgorithmIdentifier the signature provider gives for them, as ASN1_item_sign_ctx asks
 *  for it (the TBS must carry it). 0 on failure; acmpca_signer_end either way. */
int acmpca_signer_begin(acmpca_signer_t *sg, EVP_PKEY *key, const EVP_MD *md);

/** Sign tbs and hand back the Certificate (RFC 5280 §4.1: SEQUENCE { tbsCertificate,
 *  signatureAlgorithm, signatureValue }) in p; sg->sig keeps the signature. 0: failed. */
int acmpca_signer_wrap(acmpca_signer_t *sg, const unsigned char *tbs, apr_size_t tbs_len,
                       const unsigned char **pder, apr_size_t *plen, apr_pool_t *p);

void acmpca_signer_end(acmpca_signer_t *sg);

/** Sign x as X509_sign(x, key, md) does, leaving the same certificate in x, and hand back
 *  its DER (in p): the TBSCertificate is encoded once, and the certificate is put
 *  together around it rather than encoded again. 0 on failure. */
int acmpca_x509_sign_der(X509 *x, EVP_PKEY *key, const EVP_MD *md, const unsigned char **pder,
                         apr_size_t *plen, apr_pool_t *p);

#endif
