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

#define AID_MAX 128 /* an AlgorithmIdentifier; RSASSA-PSS with all its parameters fits */

/* The DER length octets of n (X.690 §8.1.3); returns their count. */
static apr_size_t der_len(unsigned char *out, apr_size_t n)
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

/* The signature's AlgorithmIdentifier into both places X509_sign sets it. */
static int set_algorithm(X509 *x, EVP_PKEY_CTX *pctx, unsigned char *aid, size_t *paid_len)
{
    OSSL_PARAM params[2];
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *outer;
    X509_ALGOR *inner = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
    const unsigned char *pp;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, AID_MAX);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(pctx, params) <= 0 || !(*paid_len = params[0].return_size)) {
        return 0;
    }
    X509_get0_signature(&sig, &outer, x);
    pp = aid;
    if (!d2i_X509_ALGOR(&inner, &pp, (long)*paid_len)) {
        return 0;
    }
    pp = aid;
    return d2i_X509_ALGOR((X509_ALGOR **)&outer, &pp, (long)*paid_len) != NULL;
}

int acmpca_x509_sign_der(X509 *x, EVP_PKEY *key, const EVP_MD *md, const unsigned char **pder,
                         apr_size_t *plen, apr_pool_t *p)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char aid[AID_MAX], *tbs = NULL, *sig = NULL, *der, *o;
    unsigned char head[8], bits_head[8];
    const ASN1_BIT_STRING *cur;
    const X509_ALGOR *ignored;
    size_t aid_len = 0, sig_len = 0;
    apr_size_t body, hn, bn;
    int tbs_len = 0, max_len, ok = 0;

    if (!mctx) {
        goto done;
    }
    /* One signature per context: without FINALISE, EVP_DigestSignFinal signs with a copy
     * of the context (EVP_PKEY_CTX_dup) so that more data could follow. */
    EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_FINALISE);
    if (EVP_DigestSignInit(mctx, &pctx, md, NULL, key) != 1
        || !set_algorithm(x, pctx, aid, &aid_len) || (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0
        || (max_len = EVP_PKEY_get_size(key)) <= 0
        || !(sig = OPENSSL_malloc(sig_len = (size_t)max_len))
        || EVP_DigestSign(mctx, sig, &sig_len, tbs, (size_t)tbs_len) != 1) {
        goto done;
    }
    /* The signature into x, with no unused bits, as ASN1_item_sign_ctx leaves it. */
    X509_get0_signature(&cur, &ignored, x);
    if (!ASN1_BIT_STRING_set((ASN1_BIT_STRING *)cur, sig, (int)sig_len)) {
        goto done;
    }
    ((ASN1_BIT_STRING *)cur)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    ((ASN1_BIT_STRING *)cur)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    /* BIT STRING { 0 unused bits, signature } after TBS and algorithm, in a SEQUENCE. */
    bits_head[0] = V_ASN1_BIT_STRING;
    bn = 1 + der_len(bits_head + 1, sig_len + 1);
    bits_head[bn++] = 0;
    body = (apr_size_t)tbs_len + aid_len + bn + sig_len;
    head[0] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
    hn = 1 + der_len(head + 1, body);
    o = der = apr_palloc(p, hn + body);
    memcpy(o, head, hn);
    memcpy(o += hn, tbs, (size_t)tbs_len);
    memcpy(o += tbs_len, aid, aid_len);
    memcpy(o += aid_len, bits_head, bn);
    memcpy(o + bn, sig, sig_len);
    *pder = der;
    *plen = hn + body;
    ok = 1;
done:
    OPENSSL_free(tbs);
    OPENSSL_free(sig);
    EVP_MD_CTX_free(mctx);
    return ok;
}
