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

/* The attribute types of a DER Name in order, each RDN opened by a 0 byte, into buf:
 * its length, or -1 when it does not fit or is not a Name. */
static long name_shape(unsigned char *buf, long cap, const unsigned char *der, long len)
{
    const unsigned char *q = der, *end = der + len, *rdn_end, *atv, *oid;
    long n = 0, l, atv_len, oid_len;
    int tag, cls;

    if ((ASN1_get_object(&q, &l, &tag, &cls, len) & 0x80) || tag != V_ASN1_SEQUENCE
        || l > end - q) {
        return -1;
    }
    end = q + l;
    while (q < end) {
        if ((ASN1_get_object(&q, &l, &tag, &cls, end - q) & 0x80) || tag != V_ASN1_SET
            || l > end - q || n >= cap) {
            return -1;
        }
        buf[n++] = 0;
        for (rdn_end = q + l; q < rdn_end;) {
            const unsigned char *c;

            if (!next_tlv(&atv, &atv_len, &q, rdn_end, &tag, &cls) || tag != V_ASN1_SEQUENCE) {
                return -1;
            }
            /* the type is the first element of the AttributeTypeAndValue */
            c = atv;
            if ((ASN1_get_object(&c, &l, &tag, &cls, atv_len) & 0x80)
                || !next_tlv(&oid, &oid_len, &c, atv + atv_len, &tag, &cls) || tag != V_ASN1_OBJECT
                || n + oid_len > cap) {
                return -1;
            }
            memcpy(buf + n, oid, (size_t)oid_len);
            n += oid_len;
        }
    }
    return n;
}

/* Can X509_NAME_cmp find these DER Names equal? Not when their attribute types differ
 * (its canonical encoding keeps every type, in order); else it has to decide. */
static int may_be_equal(const unsigned char *a, long a_len, const unsigned char *b, long b_len)
{
    unsigned char sa[256], sb[256];
    long na = name_shape(sa, sizeof(sa), a, a_len), nb = name_shape(sb, sizeof(sb), b, b_len);

    return na < 0 || nb < 0 || (na == nb && !memcmp(sa, sb, (size_t)na));
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
        && (!may_be_equal(iss, iss_len, sub, sub_len)
            || names_cmp(iss, iss_len, sub, sub_len) != 0)) {
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
