/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Sign a certificate and keep its encoding.
 *
 * X509_sign encodes the TBSCertificate to sign it, then every i2d_X509 (PEM_write_bio_X509
 * calls it twice: length, then bytes) encodes it again: about 37k instructions each for
 * an end-entity certificate, more than the rest of the encoding. Here the TBS is encoded
 * once and the Certificate (RFC 5280 §4.1: SEQUENCE { tbsCertificate, signatureAlgorithm,
 * signatureValue }) is put together around those bytes. The AlgorithmIdentifier is the
 * one the signature provider gives for the key and digest, as ASN1_item_sign_ctx asks
 * for it, and x gets the same fields X509_sign would set, so the certificate it holds
 * encodes to the same bytes (test_intake.c checks). */
#include <string.h>

#include <apr_strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "sign_int.h"

/* The DER length octets of n (X.690 §8.1.3); returns their count. */
apr_size_t acmpca_der_len(unsigned char *out, apr_size_t n)
{
    apr_size_t k = 0, i;

    if (n < 0x80) {
        out[0] = (unsigned char)n;
        return 1;
    }
    for (i = n; i; i >>= 8) {
        k++;
    }
    out[0] = (unsigned char)(0x80 | k);
    for (i = 0; i < k; i++) {
        out[k - i] = (unsigned char)(n >> (8 * i));
    }
    return k + 1;
}

/* The signature's AlgorithmIdentifier (as the signer has it) into both places X509_sign
 * sets it. */
static int set_algorithm(X509 *x, const acmpca_signer_t *sg)
{
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *outer;
    X509_ALGOR *inner = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
    const unsigned char *pp = sg->aid;

    X509_get0_signature(&sig, &outer, x);
    if (!d2i_X509_ALGOR(&inner, &pp, (long)sg->aid_len)) {
        return 0;
    }
    pp = sg->aid;
    return d2i_X509_ALGOR((X509_ALGOR **)&outer, &pp, (long)sg->aid_len) != NULL;
}

int acmpca_signer_begin(acmpca_signer_t *sg, EVP_PKEY *key, const EVP_MD *md)
{
    EVP_PKEY_CTX *pctx = NULL;
    OSSL_PARAM params[2];

    memset(sg, 0, sizeof(*sg));
    sg->key = key;
    if (!(sg->mctx = EVP_MD_CTX_new())) {
        return 0;
    }
    /* One signature per context: without FINALISE, EVP_DigestSignFinal signs with a copy
     * of the context (EVP_PKEY_CTX_dup) so that more data could follow. */
    EVP_MD_CTX_set_flags(sg->mctx, EVP_MD_CTX_FLAG_FINALISE);
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, sg->aid,
                                                  sizeof(sg->aid));
    params[1] = OSSL_PARAM_construct_end();
    return EVP_DigestSignInit(sg->mctx, &pctx, md, NULL, key) == 1
           && EVP_PKEY_CTX_get_params(pctx, params) > 0
           && (sg->aid_len = params[0].return_size) > 0;
}

void acmpca_signer_end(acmpca_signer_t *sg)
{
    EVP_MD_CTX_free(sg->mctx);
    OPENSSL_free(sg->sig);
    sg->mctx = NULL;
    sg->sig = NULL;
}

int acmpca_signer_wrap(acmpca_signer_t *sg, const unsigned char *tbs, apr_size_t tbs_len,
                       const unsigned char **pder, apr_size_t *plen, apr_pool_t *p)
{
    unsigned char head[8], bits_head[8], *der, *o;
    apr_size_t body, hn, bn;
    int max_len;

    if ((max_len = EVP_PKEY_get_size(sg->key)) <= 0
        || !(sg->sig = OPENSSL_malloc(sg->sig_len = (size_t)max_len))
        || EVP_DigestSign(sg->mctx, sg->sig, &sg->sig_len, tbs, tbs_len) != 1) {
        return 0;
    }
    /* BIT STRING { 0 unused bits, signature } after TBS and algorithm, in a SEQUENCE. */
    bits_head[0] = V_ASN1_BIT_STRING;
    bn = 1 + acmpca_der_len(bits_head + 1, sg->sig_len + 1);
    bits_head[bn++] = 0;
    body = tbs_len + sg->aid_len + bn + sg->sig_len;
    head[0] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
    hn = 1 + acmpca_der_len(head + 1, body);
    o = der = apr_palloc(p, hn + body);
    memcpy(o, head, hn);
    memcpy(o += hn, tbs, tbs_len);
    memcpy(o += tbs_len, sg->aid, sg->aid_len);
    memcpy(o += sg->aid_len, bits_head, bn);
    memcpy(o + bn, sg->sig, sg->sig_len);
    *pder = der;
    *plen = hn + body;
    return 1;
}

int acmpca_x509_sign_der(X509 *x, EVP_PKEY *key, const EVP_MD *md, const unsigned char **pder,
                         apr_size_t *plen, apr_pool_t *p)
{
    acmpca_signer_t sg;
    unsigned char *tbs = NULL;
    const ASN1_BIT_STRING *cur;
    const X509_ALGOR *ignored;
    int tbs_len = 0, ok = 0;

    if (!acmpca_signer_begin(&sg, key, md) || !set_algorithm(x, &sg)
        || (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0
        || !acmpca_signer_wrap(&sg, tbs, (apr_size_t)tbs_len, pder, plen, p)) {
        goto done;
    }
    /* The signature into x, with no unused bits, as ASN1_item_sign_ctx leaves it. */
    X509_get0_signature(&cur, &ignored, x);
    if (!ASN1_BIT_STRING_set((ASN1_BIT_STRING *)cur, sg.sig, (int)sg.sig_len)) {
        goto done;
    }
    ((ASN1_BIT_STRING *)cur)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    ((ASN1_BIT_STRING *)cur)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    ok = 1;
done:
    OPENSSL_free(tbs);
    acmpca_signer_end(&sg);
    return ok;
}
