/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * CRLs (RFC 5280 §5, PCA-API.md §7.4) built in bounded memory: the revoked entries are
 * written as DER bytes, one after another, into a single growing buffer; OpenSSL only
 * encodes the fixed parts (issuer, algorithm, extensions) from an empty CRL it signs. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"

/* An entry is at most 2 + (2 + 65) + 17 + 14 bytes; an entry buffer of 64 KiB grows in
 * steps that keep the number of reallocations small for a million entries. */
#define CRL_INITIAL_CAP (64 * 1024)
#define MAX_SERIAL_LEN  64 /* octets; RFC 5280 allows 20, imported certificates vary */
#define DER_HDR_MAX     6  /* tag + length of up to 2^32 bytes */

/* ************************************************************************************
 * A byte buffer with room reserved in front, so that the headers, whose lengths are
 * known only at the end, go in front of the entries without copying them.
 */

typedef struct crl_buf {
    unsigned char *base;
    size_t cap;
    size_t head; /* reserved in front of the entries */
    size_t len;  /* bytes written after head */
    int failed;  /* an allocation failed: everything after is dropped */
} crl_buf;

static apr_status_t buf_cleanup(void *data)
{
    free(data);
    return APR_SUCCESS;
}

static int buf_reserve(crl_buf *b, size_t more)
{
    size_t need = b->head + b->len + more, cap = b->cap ? b->cap : CRL_INITIAL_CAP;
    unsigned char *nb;

    if (b->failed) {
        return 0;
    }
    if (need <= b->cap) {
        return 1;
    }
    while (cap < need) {
        cap = cap < ((size_t)1 << 24) ? cap * 2 : cap + ((size_t)1 << 24);
    }
    /* realloc, not a pool: a pool never gives the smaller blocks back. */
    if ((nb = realloc(b->base, cap)) == NULL) {
        b->failed = 1;
        return 0;
    }
    b->base = nb;
    b->cap = cap;
    return 1;
}

static void buf_put(crl_buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n)) {
        memcpy(b->base + b->head + b->len, data, n);
        b->len += n;
    }
}

/* ************************************************************************************
 * DER
 */

static size_t der_len_size(size_t len)
{
    size_t n = 1;

    if (len < 0x80) {
        return 1;
    }
    for (; len; len >>= 8) {
        n++;
    }
    return n;
}

/* Tag and length into out (at least DER_HDR_MAX bytes); returns the bytes written. */
static size_t der_header(unsigned char *out, unsigned char tag, size_t len)
{
    size_t n = der_len_size(len), i;

    out[0] = tag;
    if (n == 1) {
        out[1] = (unsigned char)len;
        return 2;
    }
    out[1] = (unsigned char)(0x80 | (n - 1));
    for (i = n - 1; i > 0; i--) {
        out[1 + i] = (unsigned char)(len & 0xff);
        len >>= 8;
    }
    return 1 + n;
}

/* 1 + the value of a hex digit, 0 for anything else: a table, since a million serials
 * of 32 digits each went through a call per digit (8 % of a build). */
static const unsigned char hex_plus1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The content octets of the INTEGER of a serial in hex: minimal, positive. */
static int serial_der(unsigned char *out, size_t *pn, const char *hex)
{
    unsigned char bytes[MAX_SERIAL_LEN + 1];
    const unsigned char *h = (const unsigned char *)hex;
    size_t len = strlen(hex), n = 0, i = 0, skip = 0;
    unsigned bad = 0, hi, lo;

    if (len == 0 || len > 2 * MAX_SERIAL_LEN) {
        return 0;
    }
    if (len % 2) { /* "abc" is 0a bc */
        if (!(lo = hex_plus1[h[0]])) {
            return 0;
        }
        bytes[n++] = (unsigned char)(lo - 1);
        i = 1;
    }
    /* One test for all the digits: a non-digit's (0 - 1), unsigned, sets bits above the
     * nibble. */
    for (; i < len; i += 2) {
        hi = hex_plus1[h[i]] - 1u;
        lo = hex_plus1[h[i + 1]] - 1u;
        bad |= hi | lo;
        bytes[n++] = (unsigned char)((hi & 0x0f) << 4 | (lo & 0x0f));
    }
    if (bad > 0x0f) {
        return 0;
    }
    while (skip + 1 < n && bytes[skip] == 0) {
        skip++;
    }
    i = 0;
    if (bytes[skip] & 0x80) { /* keep it positive */
        out[i++] = 0;
    }
    memcpy(out + i, bytes + skip, n - skip);
    *pn = i + n - skip;
    return 1;
}

/* "00" to "99": two digits by one copy instead of two divisions (put2 ran 6 times an entry). */
static const char digits2[201] = "00010203040506070809101112131415161718192021222324"
                                 "25262728293031323334353637383940414243444546474849"
                                 "50515253545556575859606162636465666768697071727374"
                                 "75767778798081828384858687888990919293949596979899";

static unsigned char *put2(unsigned char *out, unsigned v)
{
    memcpy(out, digits2 + 2 * v, 2);
    return out + 2;
}

/* RFC 5280 §5.1.2.6: UTCTime through 2049, GeneralizedTime from 2050; always Zulu and
 * whole seconds. out needs 17 bytes. The civil date comes from the day number directly
 * (H. Hinnant's days-to-civil): gmtime_r and snprintf took 10 % of a build. */
static size_t der_time(unsigned char *out, apr_time_t t)
{
    apr_int64_t secs = apr_time_sec(t), days, era, doe, yoe, doy, mp, year;
    apr_int64_t sod;
    unsigned month, day;
    unsigned char *p = out + 2;

    days = secs / 86400 - (secs % 86400 < 0);
    sod = secs - days * 86400;
    days += 719468; /* from 0000-03-01 */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999) {
        return 0;
    }
    if (year >= 1950 && year < 2050) {
        out[0] = V_ASN1_UTCTIME;
        out[1] = 13;
    }
    else {
        out[0] = V_ASN1_GENERALIZEDTIME;
        out[1] = 15;
        p = put2(p, (unsigned)(year / 100));
    }
    p = put2(p, (unsigned)(year % 100));
    p = put2(p, month);
    p = put2(p, day);
    p = put2(p, (unsigned)(sod / 3600));
    p = put2(p, (unsigned)(sod / 60 % 60));
    p = put2(p, (unsigned)(sod % 60));
    *p++ = 'Z';
    return (size_t)(p - out);
}

/* ************************************************************************************
 * Entries
 */

typedef struct crl_ctx {
    crl_buf buf;
    apr_size_t count;
} crl_ctx;

/* RFC 5280 §5.3.1 reason codes that may appear (unspecified is left out, 7 unused). */
static int reason_ok(int reason)
{
    return (reason >= 1 && reason <= 6) || (reason >= 8 && reason <= 10);
}

/* revokedCertificates entry: SEQUENCE { INTEGER serial, Time revocationDate,
 * Extensions { Extension { id-ce-cRLReasons, OCTET STRING { ENUMERATED } } } OPTIONAL } */
static apr_status_t emit(void *baton, const char *serial_hex, apr_time_t revoked_at, int reason)
{
    static const unsigned char reason_ext[] = {0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55,
                                               0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01};
    crl_ctx *ctx = baton;
    unsigned char *entry;
    unsigned char serial[MAX_SERIAL_LEN + 1], when[17];
    size_t slen, tlen, body, n;
    int with_reason = reason_ok(reason);

    if (!serial_der(serial, &slen, serial_hex) || !(tlen = der_time(when, revoked_at))) {
        return APR_EINVAL;
    }
    /* Encoded in place at the end of the buffer: a million entries, each copied once. */
    if (!buf_reserve(&ctx->buf, 2 + 2 + MAX_SERIAL_LEN + 1 + 17 + sizeof(reason_ext) + 1)) {
        return APR_ENOMEM;
    }
    entry = ctx->buf.base + ctx->buf.head + ctx->buf.len;
    body = 2 + slen + tlen + (with_reason ? sizeof(reason_ext) + 1 : 0);
    n = der_header(entry, 0x30, body);
    n += der_header(entry + n, V_ASN1_INTEGER, slen);
    memcpy(entry + n, serial, slen);
    n += slen;
    memcpy(entry + n, when, tlen);
    n += tlen;
    if (with_reason) {
        memcpy(entry + n, reason_ext, sizeof(reason_ext));
        n += sizeof(reason_ext);
        entry[n++] = (unsigned char)reason;
    }
    ctx->buf.len += n;
    ctx->count++;
    return APR_SUCCESS;
}

/* ************************************************************************************
 * The fixed parts, from an empty CRL that OpenSSL builds and signs
 */

typedef struct crl_parts {
    unsigned char *tbs; /* the empty CRL's TBSCertList (OpenSSL's allocation) */
    int tbs_len;
    size_t prefix_off, prefix_len; /* version .. nextUpdate, inside tbs */
    size_t suffix_off, suffix_len; /* [0] crlExtensions, inside tbs */
    unsigned char *alg;            /* signatureAlgorithm AlgorithmIdentifier */
    int alg_len;
} crl_parts;

static apr_status_t set_time(X509_CRL *crl, apr_time_t t, int next)
{
    ASN1_TIME *at = ASN1_TIME_set(NULL, (time_t)apr_time_sec(t));
    int ok = at && (next ? X509_CRL_set1_nextUpdate(crl, at) : X509_CRL_set1_lastUpdate(crl, at));

    ASN1_TIME_free(at);
    return ok ? APR_SUCCESS : APR_ENOMEM;
}

/* keyIdentifier = the CA's SKI as its certificate states it, else the RFC 5280 method-1
 * id of its key, as the certificates it issues say (src/x509/cert.c). */
static apr_status_t add_aki(X509_CRL *crl, X509 *ca)
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    int ok = akid != NULL;

    if (ok && ski) {
        ok = (akid->keyid = ASN1_OCTET_STRING_dup(ski)) != NULL;
    }
    else if (ok) {
        ok = X509_pubkey_digest(ca, EVP_sha1(), md, &mdlen)
             && (akid->keyid = ASN1_OCTET_STRING_new()) != NULL
             && ASN1_OCTET_STRING_set(akid->keyid, md, (int)mdlen);
    }
    ok = ok && X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) == 1;
    AUTHORITY_KEYID_free(akid);
    return ok ? APR_SUCCESS : APR_ENOMEM;
}

static apr_status_t add_number(X509_CRL *crl, apr_int64_t number)
{
    ASN1_INTEGER *n = ASN1_INTEGER_new();
    int ok = n && ASN1_INTEGER_set_int64(n, number)
             && X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0) == 1;

    ASN1_INTEGER_free(n);
    return ok ? APR_SUCCESS : APR_ENOMEM;
}

/* Find [0] crlExtensions among the TBSCertList's elements: what precedes it is the
 * prefix the entries follow. */
static int split_tbs(crl_parts *parts)
{
    const unsigned char *p = parts->tbs, *content, *end;
    long len;
    int tag, xclass;

    if (ASN1_get_object(&p, &len, &tag, &xclass, parts->tbs_len) & 0x80 || tag != V_ASN1_SEQUENCE) {
        return 0;
    }
    content = p;
    end = p + len;
    while (p < end) {
        const unsigned char *elem = p;
        if (ASN1_get_object(&p, &len, &tag, &xclass, end - p) & 0x80) {
            return 0;
        }
        if (xclass == V_ASN1_CONTEXT_SPECIFIC && tag == 0) {
            parts->prefix_off = (size_t)(content - parts->tbs);
            parts->prefix_len = (size_t)(elem - content);
            parts->suffix_off = (size_t)(elem - parts->tbs);
            parts->suffix_len = (size_t)(end - elem);
            return 1;
        }
        p += len;
    }
    return 0;
}

static apr_status_t fixed_parts(crl_parts *parts, const acmpca_crl_params_t *in, const EVP_MD *md)
{
    X509_CRL *crl = X509_CRL_new();
    const X509_ALGOR *alg = NULL;
    apr_status_t rv = APR_ENOMEM;

    memset(parts, 0, sizeof(*parts));
    if (!crl || !X509_CRL_set_version(crl, X509_CRL_VERSION_2)
        || !X509_CRL_set_issuer_name(crl, X509_get_subject_name(in->ca_cert))
        || set_time(crl, in->this_update, 0) != APR_SUCCESS
        || set_time(crl, in->next_update, 1) != APR_SUCCESS
        || add_aki(crl, in->ca_cert) != APR_SUCCESS || add_number(crl, in->number) != APR_SUCCESS) {
        goto leave;
    }
    /* Signing fixes signatureAlgorithm exactly as OpenSSL encodes it for this key and
     * digest (parameters included); the TBS is signed again below with the entries. */
    if (X509_CRL_sign(crl, in->ca_key, md) <= 0) {
        rv = APR_EGENERAL;
        goto leave;
    }
    X509_CRL_get0_signature(crl, NULL, &alg);
    parts->tbs_len = i2d_re_X509_CRL_tbs(crl, &parts->tbs);
    parts->alg_len = i2d_X509_ALGOR(alg, &parts->alg);
    if (parts->tbs_len <= 0 || parts->alg_len <= 0) {
        goto leave;
    }
    rv = split_tbs(parts) ? APR_SUCCESS : APR_EGENERAL;
leave:
    X509_CRL_free(crl);
    return rv;
}

static void parts_free(crl_parts *parts)
{
    OPENSSL_free(parts->tbs);
    OPENSSL_free(parts->alg);
}

/* ************************************************************************************
 * Assembly
 */

static apr_status_t sign_pieces(unsigned char **psig, size_t *psiglen, EVP_PKEY *key,
                                const EVP_MD *md, const unsigned char *const *pieces,
                                const size_t *lens, int n)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int ok, i;

    ok = mctx && EVP_DigestSignInit(mctx, NULL, md, NULL, key) == 1;
    for (i = 0; ok && i < n; i++) {
        ok = EVP_DigestSignUpdate(mctx, pieces[i], lens[i]) == 1;
    }
    ok = ok && EVP_DigestSignFinal(mctx, NULL, &siglen) == 1
         && (sig = OPENSSL_malloc(siglen)) != NULL && EVP_DigestSignFinal(mctx, sig, &siglen) == 1;
    EVP_MD_CTX_free(mctx);
    if (!ok) {
        OPENSSL_free(sig);
        return APR_EGENERAL;
    }
    *psig = sig;
    *psiglen = siglen;
    return APR_SUCCESS;
}

apr_status_t acmpca_crl_build(const unsigned char **pder, apr_size_t *plen, apr_size_t *pcount,
                              const acmpca_crl_params_t *in, acmpca_crl_entries_fn *entries,
                              void *baton, apr_pool_t *p)
{
    const EVP_MD *md = acmpca_sigalg_md(in->signing_algorithm);
    unsigned char rev_hdr[DER_HDR_MAX], tbs_hdr[DER_HDR_MAX], out_hdr[DER_HDR_MAX];
    unsigned char sig_hdr[DER_HDR_MAX + 1], *sig = NULL, *start;
    size_t rev_hdr_len = 0, tbs_hdr_len, out_hdr_len, sig_hdr_len, siglen = 0, tbs_len, total;
    const unsigned char *pieces[5];
    size_t lens[5];
    crl_ctx ctx;
    crl_parts parts;
    apr_status_t rv;

    *pder = NULL;
    *plen = 0;
    if (!md || !in->ca_cert || !in->ca_key) {
        return APR_EINVAL;
    }
    memset(&ctx, 0, sizeof(ctx));
    ERR_set_mark();
    if ((rv = fixed_parts(&parts, in, md)) != APR_SUCCESS) {
        goto leave;
    }
    /* Room in front for the prefix and three headers; the entries follow. */
    ctx.buf.head = 3 * DER_HDR_MAX + parts.prefix_len;
    if (!buf_reserve(&ctx.buf, 0)) {
        rv = APR_ENOMEM;
        goto leave;
    }
    if (entries && (rv = entries(baton, emit, &ctx)) != APR_SUCCESS) {
        goto leave;
    }
    if (ctx.buf.failed) {
        rv = APR_ENOMEM;
        goto leave;
    }
    /* RFC 5280 §5.1.2.6: no revoked certificates, no (empty) list. */
    if (ctx.buf.len) {
        rev_hdr_len = der_header(rev_hdr, 0x30, ctx.buf.len);
    }
    tbs_len = parts.prefix_len + rev_hdr_len + ctx.buf.len + parts.suffix_len;
    tbs_hdr_len = der_header(tbs_hdr, 0x30, tbs_len);
    pieces[0] = tbs_hdr;
    lens[0] = tbs_hdr_len;
    pieces[1] = parts.tbs + parts.prefix_off;
    lens[1] = parts.prefix_len;
    pieces[2] = rev_hdr;
    lens[2] = rev_hdr_len;
    pieces[3] = ctx.buf.base + ctx.buf.head;
    lens[3] = ctx.buf.len;
    pieces[4] = parts.tbs + parts.suffix_off;
    lens[4] = parts.suffix_len;
    if ((rv = sign_pieces(&sig, &siglen, in->ca_key, md, pieces, lens, 5)) != APR_SUCCESS) {
        goto leave;
    }
    sig_hdr_len = der_header(sig_hdr, V_ASN1_BIT_STRING, siglen + 1);
    sig_hdr[sig_hdr_len++] = 0; /* no unused bits */
    total = tbs_hdr_len + tbs_len + (size_t)parts.alg_len + sig_hdr_len + siglen;
    out_hdr_len = der_header(out_hdr, 0x30, total);

    /* After the entries: crlExtensions, signatureAlgorithm, signatureValue. */
    if (!buf_reserve(&ctx.buf, parts.suffix_len + (size_t)parts.alg_len + sig_hdr_len + siglen)) {
        rv = APR_ENOMEM;
        goto leave;
    }
    buf_put(&ctx.buf, parts.tbs + parts.suffix_off, parts.suffix_len);
    buf_put(&ctx.buf, parts.alg, (size_t)parts.alg_len);
    buf_put(&ctx.buf, sig_hdr, sig_hdr_len);
    buf_put(&ctx.buf, sig, siglen);
    /* In front of them, backwards: list header, prefix, TBS header, CRL header. */
    start = ctx.buf.base + ctx.buf.head - rev_hdr_len;
    memcpy(start, rev_hdr, rev_hdr_len);
    start -= parts.prefix_len;
    memcpy(start, parts.tbs + parts.prefix_off, parts.prefix_len);
    start -= tbs_hdr_len;
    memcpy(start, tbs_hdr, tbs_hdr_len);
    start -= out_hdr_len;
    memcpy(start, out_hdr, out_hdr_len);

    apr_pool_cleanup_register(p, ctx.buf.base, buf_cleanup, apr_pool_cleanup_null);
    *pder = start;
    *plen = out_hdr_len + total;
    if (pcount) {
        *pcount = ctx.count;
    }
    ctx.buf.base = NULL; /* the pool owns it now */
leave:
    free(ctx.buf.base);
    OPENSSL_free(sig);
    parts_free(&parts);
    ERR_pop_to_mark();
    return rv;
}

/* ************************************************************************************
 * Reading a CRL's nextUpdate without decoding its entries
 */

apr_time_t acmpca_crl_next_update(const unsigned char *der, apr_size_t len)
{
    const unsigned char *p = der, *end;
    long l;
    int tag, xclass, i;
    ASN1_TIME *t;
    struct tm tm;
    apr_time_t when = 0;

    /* CertificateList SEQUENCE, then into TBSCertList SEQUENCE. */
    for (i = 0; i < 2; i++) {
        if (ASN1_get_object(&p, &l, &tag, &xclass, (long)(der + len - p)) & 0x80
            || tag != V_ASN1_SEQUENCE) {
            return 0;
        }
    }
    end = p + l;
    /* version, signature, issuer, thisUpdate: skip; then nextUpdate. */
    for (i = 0; i < 5 && p < end; i++) {
        const unsigned char *elem = p;
        if (ASN1_get_object(&p, &l, &tag, &xclass, (long)(end - p)) & 0x80) {
            return 0;
        }
        if (i == 4) {
            if (tag != V_ASN1_UTCTIME && tag != V_ASN1_GENERALIZEDTIME) {
                return 0; /* nextUpdate is optional in RFC 5280 */
            }
            p = elem;
            t = d2i_ASN1_TIME(NULL, &p, (long)(end - elem));
            if (t && ASN1_TIME_to_tm(t, &tm)) {
                when = apr_time_from_sec(timegm(&tm));
            }
            ASN1_TIME_free(t);
            return when;
        }
        p += l;
    }
    return 0;
}
