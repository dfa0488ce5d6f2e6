/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Questions about a stored certificate answered from its DER fields, without decoding
 * the whole certificate: OpenSSL 3 decodes the public key of every X509 it parses through
 * its decoder framework (about 1.5 million instructions and several global locks), far
 * more than the read paths that only need to look at the names. */
#include <ctype.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END   "-----END CERTIFICATE-----"

/* The DER of the first certificate of a PEM text, in p; NULL when there is none. */
static unsigned char *pem_der(apr_size_t *plen, const char *pem, apr_pool_t *p)
{
    const char *b = pem ? strstr(pem, PEM_BEGIN) : NULL, *e;
    unsigned char *der;
    char *body, *o;

    if (!b || !(e = strstr(b += strlen(PEM_BEGIN), PEM_END))) {
        return NULL;
    }
    body = o = apr_palloc(p, (apr_size_t)(e - b) + 1);
    for (; b < e; b++) {
        if (!isspace((unsigned char)*b)) {
            *o++ = *b;
        }
    }
    *o = '\0';
    return acmpca_b64_decode(&der, plen, body, (apr_size_t)(o - body), p) == APR_SUCCESS ? der
                                                                                         : NULL;
}

/* Step over one TLV of [*pq, end): its whole encoding in *pstart / *plen. 0 on bad DER. */
static int next_tlv(const unsigned char **pstart, long *plen, const unsigned char **pq,
                    const unsigned char *end, int *ptag, int *pclass)
{
    const unsigned char *q = *pq;
    long len;

    if (q >= end || (ASN1_get_object(&q, &len, ptag, pclass, end - *pq) & 0x80) || len > end - q) {
        return 0;
    }
    *pstart = *pq;
    *plen = (long)(q - *pq) + len;
    *pq = q + len;
    return 1;
}

/* The issuer and subject Names of a certificate's DER (RFC 5280 §4.1): pointers into der. */
static int tbs_names(const unsigned char **piss, long *piss_len, const unsigned char **psub,
                     long *psub_len, const unsigned char *der, apr_size_t der_len)
{
    const unsigned char *q = der, *end = der + der_len, *start;
    long len;
    int tag, cls, i;

    /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { ... } ... } */
    for (i = 0; i < 2; i++) {
        if ((ASN1_get_object(&q, &len, &tag, &cls, end - q) & 0x80) || tag != V_ASN1_SEQUENCE
            || len > end - q) {
            return 0;
        }
        end = q + len;
    }
    if (!next_tlv(&start, &len, &q, end, &tag, &cls)) {
        return 0;
    }
    if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0 /* [0] version */
        && !next_tlv(&start, &len, &q, end, &tag, &cls)) {
        return 0;
    }
    /* start is the serial number; then the signature algorithm, issuer, validity, subject */
    return next_tlv(&start, &len, &q, end, &tag, &cls)
           && next_tlv(piss, piss_len, &q, end, &tag, &cls) && tag == V_ASN1_SEQUENCE
           && next_tlv(&start, &len, &q, end, &tag, &cls)
           && next_tlv(psub, psub_len, &q, end, &tag, &cls) && tag == V_ASN1_SEQUENCE;
}

/* X509_NAME_cmp of two DER Names; -1 when either does not decode. */
static int names_cmp(const unsigned char *a, long a_len, const unsigned char *b, long b_len)
{
    X509_NAME *na = d2i_X509_NAME(NULL, &a, a_len), *nb = d2i_X509_NAME(NULL, &b, b_len);
    int rc = (na && nb) ? X509_NAME_cmp(na, nb) : -1;

    X509_NAME_free(na);
    X509_NAME_free(nb);
    return rc;
}

int acmpca_cert_pem_self_signed(const char *pem, apr_pool_t *p)
{
    const unsigned char *iss, *sub;
    long iss_len, sub_len;
    acmpca_cert_info_t info;
    acmpca_err_t ignored = {0};
    unsigned char *der;
    apr_size_t len;
    X509 *x;

    ERR_set_mark();
    der = pem_der(&len, pem, p);
    /* Names that differ settle it; identical bytes are equal names without decoding
     * them, else X509_NAME_cmp's canonical comparison decides, as acmpca_cert_info's. */
    if (der && tbs_names(&iss, &iss_len, &sub, &sub_len, der, len)
        && (iss_len != sub_len || memcmp(iss, sub, (size_t)iss_len))
        && names_cmp(iss, iss_len, sub, sub_len) != 0) {
        ERR_pop_to_mark();
        return 0;
    }
    ERR_pop_to_mark();
    /* Same names (or DER we cannot walk): the whole certificate and its signature. */
    if (!pem
        || acmpca_cert_parse(&x, (const unsigned char *)pem, strlen(pem), &ignored, p)
               != APR_SUCCESS) {
        return 0;
    }
    acmpca_cert_info(&info, x, p);
    return info.self_signed;
}
