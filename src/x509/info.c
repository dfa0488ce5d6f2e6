/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Read-only facts about certificates and CRLs for the public repository and the metrics:
 * SHA-256 fingerprints, DER and PKCS#7 forms, and a CRL's number, dates and size. */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "acmpca/x509.h"
#include "acmpca/x509_info.h"

/* ************************************************************************************
 * Certificates
 */

const char *acmpca_x509_fingerprint_sha256(X509 *cert, apr_pool_t *p)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *out, *o;

    if (!cert || !X509_digest(cert, EVP_sha256(), md, &n) || n == 0) {
        return NULL;
    }
    out = o = apr_palloc(p, n * 3);
    for (i = 0; i < n; i++) {
        *o++ = hex[md[i] >> 4];
        *o++ = hex[md[i] & 0x0F];
        *o++ = i + 1 < n ? ':' : '\0';
    }
    return out;
}

/* Copy an OpenSSL i2d result into p: the caller never frees OpenSSL memory. */
static const unsigned char *to_pool(unsigned char *buf, int len, apr_pool_t *p)
{
    unsigned char *copy = apr_pmemdup(p, buf, (apr_size_t)len);
    OPENSSL_free(buf);
    return copy;
}

apr_status_t acmpca_x509_pem_to_der(const unsigned char **pder, apr_size_t *plen, const char *pem,
                                    apr_pool_t *p)
{
    unsigned char *buf = NULL;
    BIO *bio;
    X509 *x;
    int len;

    if (!pem || !(bio = BIO_new_mem_buf(pem, -1))) {
        return APR_EINVAL;
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!x) {
        return APR_EINVAL;
    }
    len = i2d_X509(x, &buf);
    X509_free(x);
    if (len <= 0) {
        return APR_EINVAL;
    }
    *pder = to_pool(buf, len, p);
    *plen = (apr_size_t)len;
    return APR_SUCCESS;
}

apr_status_t acmpca_x509_chain_p7(const unsigned char **pder, apr_size_t *plen,
                                  const char *pem_bundle, apr_pool_t *p)
{
    unsigned char *buf = NULL;
    apr_status_t rv = APR_EINVAL;
    PKCS7 *p7 = NULL;
    BIO *bio;
    X509 *x;
    int n = 0, len;

    if (!pem_bundle || !(bio = BIO_new_mem_buf(pem_bundle, -1))) {
        return APR_EINVAL;
    }
    /* SignedData, version 1, content type data without content, no signers: the
     * "certs-only" form every PKCS#7 reader accepts (RFC 2315 §9.1, crl2pkcs7). */
    if (!(p7 = PKCS7_new()) || !PKCS7_set_type(p7, NID_pkcs7_signed)) {
        goto leave;
    }
    p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        int ok = PKCS7_add_certificate(p7, x); /* takes its own reference */
        X509_free(x);
        if (!ok) {
            goto leave;
        }
        n++;
    }
    if (n == 0 || (len = i2d_PKCS7(p7, &buf)) <= 0) {
        goto leave;
    }
    *pder = to_pool(buf, len, p);
    *plen = (apr_size_t)len;
    rv = APR_SUCCESS;
leave:
    ERR_clear_error();
    PKCS7_free(p7);
    BIO_free(bio);
    return rv;
}

/* ************************************************************************************
 * CRLs: a walk over the DER headers of RFC 5280 §5.1
 *
 *   CertificateList  ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
 *   TBSCertList      ::= SEQUENCE {
 *       version             INTEGER OPTIONAL,
 *       signature           AlgorithmIdentifier,
 *       issuer              Name,
 *       thisUpdate          Time,
 *       nextUpdate          Time OPTIONAL,
 *       revokedCertificates SEQUENCE OF SEQUENCE {...} OPTIONAL,
 *       crlExtensions       [0] EXPLICIT Extensions OPTIONAL }
 */

typedef struct tlv_t {
    const unsigned char *hdr;     /* start of the tag */
    const unsigned char *content; /* start of the content */
    long len;                     /* content length */
    int tag;
    int xclass;
    int constructed;
} tlv_t;

/* Read the TLV at *pp (not past end) and leave *pp after it. Definite lengths only. */
static int tlv_next(tlv_t *t, const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *q = *pp;
    int ret;

    if (q >= end) {
        return 0;
    }
    t->hdr = q;
    ret = ASN1_get_object(&q, &t->len, &t->tag, &t->xclass, (long)(end - *pp));
    if ((ret & 0x80) || ret == 0x21 /* indefinite */ || t->len < 0 || t->len > end - q) {
        return 0;
    }
    t->content = q;
    t->constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
    *pp = q + t->len;
    return 1;
}

static int is_univ(const tlv_t *t, int tag)
{
    return t->xclass == V_ASN1_UNIVERSAL && t->tag == tag;
}

static int is_time(const tlv_t *t)
{
    return is_univ(t, V_ASN1_UTCTIME) || is_univ(t, V_ASN1_GENERALIZEDTIME);
}

static apr_time_t tlv_time(const tlv_t *t)
{
    const unsigned char *q = t->hdr;
    ASN1_TIME *at = d2i_ASN1_TIME(NULL, &q, (long)(t->content + t->len - t->hdr));
    struct tm tm;
    apr_time_t out = 0;

    if (at && ASN1_TIME_to_tm(at, &tm)) {
        out = apr_time_from_sec(timegm(&tm));
    }
    ASN1_TIME_free(at);
    return out;
}

/* The cRLNumber of the [0] EXPLICIT Extensions, in decimal; NULL when absent. */
static const char *crl_number(const tlv_t *exts, apr_pool_t *p)
{
    const unsigned char *q = exts->content;
    STACK_OF(X509_EXTENSION) *sk = d2i_X509_EXTENSIONS(NULL, &q, exts->len);
    ASN1_INTEGER *num = NULL;
    const char *out = NULL;
    BIGNUM *bn = NULL;
    char *dec = NULL;
    int i;

    for (i = 0; sk && i < sk_X509_EXTENSION_num(sk); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(sk, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_crl_number) {
            num = X509V3_EXT_d2i(ext);
            break;
        }
    }
    if (num && (bn = ASN1_INTEGER_to_BN(num, NULL)) != NULL && (dec = BN_bn2dec(bn)) != NULL) {
        out = apr_pstrdup(p, dec);
    }
    OPENSSL_free(dec);
    BN_free(bn);
    ASN1_INTEGER_free(num);
    sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
    return out;
}

/* A PEM CRL becomes DER in p; anything else is taken as DER. */
static int crl_der(const unsigned char **pbuf, apr_size_t *plen, apr_pool_t *p)
{
    static const char begin[] = "-----BEGIN X509 CRL-----";
    unsigned char *der = NULL;
    X509_CRL *crl;
    BIO *bio;
    int len;

    if (*plen < sizeof(begin) - 1 || !memmem(*pbuf, *plen, begin, sizeof(begin) - 1)) {
        return 1;
    }
    if (*plen > INT_MAX || !(bio = BIO_new_mem_buf(*pbuf, (int)*plen))) {
        return 0;
    }
    crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!crl || (len = i2d_X509_CRL(crl, &der)) <= 0) {
        X509_CRL_free(crl);
        return 0;
    }
    X509_CRL_free(crl);
    *pbuf = to_pool(der, len, p);
    *plen = (apr_size_t)len;
    return 1;
}

apr_status_t acmpca_crl_info(acmpca_crl_info_t *info, const unsigned char *buf, apr_size_t len,
                             apr_pool_t *p)
{
    const unsigned char *q, *end, *tbs_end;
    tlv_t outer, tbs, t;
    int have;

    memset(info, 0, sizeof(*info));
    if (!buf || !crl_der(&buf, &len, p) || len > LONG_MAX) {
        return APR_EINVAL;
    }
    q = buf;
    end = buf + len;
    if (!tlv_next(&outer, &q, end) || !is_univ(&outer, V_ASN1_SEQUENCE)) {
        return APR_EINVAL;
    }
    q = outer.content;
    end = outer.content + outer.len;
    if (!tlv_next(&tbs, &q, end) || !is_univ(&tbs, V_ASN1_SEQUENCE)) {
        return APR_EINVAL;
    }
    q = tbs.content;
    tbs_end = tbs.content + tbs.len;

    /* version (optional), signature, issuer */
    if (!tlv_next(&t, &q, tbs_end)) {
        return APR_EINVAL;
    }
    if (is_univ(&t, V_ASN1_INTEGER) && !tlv_next(&t, &q, tbs_end)) {
        return APR_EINVAL;
    }
    if (!is_univ(&t, V_ASN1_SEQUENCE) || !tlv_next(&t, &q, tbs_end)
        || !is_univ(&t, V_ASN1_SEQUENCE)) {
        return APR_EINVAL;
    }
    /* thisUpdate, nextUpdate (optional) */
    if (!tlv_next(&t, &q, tbs_end) || !is_time(&t) || (info->this_update = tlv_time(&t)) == 0) {
        return APR_EINVAL;
    }
    have = tlv_next(&t, &q, tbs_end);
    if (have && is_time(&t)) {
        info->next_update = tlv_time(&t);
        have = tlv_next(&t, &q, tbs_end);
    }
    /* revokedCertificates (optional): count the entries by their headers only. */
    if (have && is_univ(&t, V_ASN1_SEQUENCE)) {
        const unsigned char *e = t.content, *e_end = t.content + t.len;
        tlv_t entry;
        while (e < e_end) {
            if (!tlv_next(&entry, &e, e_end) || !is_univ(&entry, V_ASN1_SEQUENCE)) {
                return APR_EINVAL;
            }
            info->entries++;
        }
        have = tlv_next(&t, &q, tbs_end);
    }
    /* crlExtensions [0] EXPLICIT */
    if (have && t.xclass == V_ASN1_CONTEXT_SPECIFIC && t.tag == 0 && t.constructed) {
        info->number = crl_number(&t, p);
    }
    ERR_clear_error();
    return APR_SUCCESS;
}
