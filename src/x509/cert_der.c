/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The lean certificate builder: IssueCertificate's certificate written straight as DER
 * (RFC 5280 §4.1) for the common request, byte for byte what the general builder
 * (cert.c) issues for it.
 *
 * The general builder fills an X509 field by field, encodes it, and frees it again:
 * OpenSSL objects for every extension, name and time, each duplicated on the way in.
 * That was two fifths of an issuance's CPU besides the signature itself (make profile,
 * P-256 CA). Most of it is the same for every certificate of one CA and template: the
 * template's extensions (BasicConstraints, the authority key identifier, key usages,
 * the CRL and OCSP pointers). Each thread keeps their DER, made once by the general
 * builder's own code (acmpca_cert_template_exts), so both builders cannot drift apart;
 * per request only the serial, the validity, the names as the CSR and the issuing
 * certificate encode them, the subject key as the CSR encodes it, its key identifier
 * and the CSR's SubjectAltName remain to be written.
 *
 * The common request: a template that neither self-signs nor passes anything through
 * (or an API passthrough template without ApiPassthrough), an EC subject key on a named
 * curve (copied as encoded, as acmpca_cert_issue_lean does), an issuing certificate
 * with a subject key identifier. Anything else takes the general builder. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "cert_int.h"
#include "sign_int.h"

/* ******************************************************************************** */
/* The template's extensions, per thread                                             */
/* ******************************************************************************** */

#define TEMPLATE_SLOTS 4 /* CA and template pairs a thread keeps */
#define KEY_ID_MAX     64

/* One CA and template's extensions as acmpca_cert_template_exts orders them, without the
 * subject key identifier, which goes at split. Filling a slot runs the general
 * builder's checks of the request (issue_check: the signing algorithm fits the CA's
 * key; profile_check), so a slot is only used for requests that pass them alike. */
typedef struct tmpl_exts {
    const acmpca_template_t *tmpl; /* NULL: a free slot */
    unsigned char issuer_id[KEY_ID_MAX];
    int issuer_id_len;
    char *crl_url, *ocsp_url; /* NULL: none */
    char *signing_algorithm;  /* checked against the CA's key when the slot was filled */
    int usable;               /* 0: the general builder decides (a refusal) */
    unsigned char *exts;      /* malloc */
    apr_size_t len, split;
} tmpl_exts;

typedef struct tmpl_cache {
    tmpl_exts slot[TEMPLATE_SLOTS];
    unsigned int next; /* the slot to fill next, round robin */
} tmpl_cache;

static void slot_clear(tmpl_exts *t)
{
    free(t->crl_url);
    free(t->ocsp_url);
    free(t->signing_algorithm);
    free(t->exts);
    memset(t, 0, sizeof(*t));
}

static void *cache_make(void)
{
    return calloc(1, sizeof(tmpl_cache));
}

static void cache_free(void *obj)
{
    tmpl_cache *c = obj;
    int i;

    for (i = 0; i < TEMPLATE_SLOTS; i++) {
        slot_clear(&c->slot[i]);
    }
    free(c);
}

static acmpca_thread_slot_t thread_caches = ACMPCA_THREAD_SLOT(cache_make, cache_free);

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static char *str_dup(const char *s, int *ok)
{
    char *d = s ? strdup(s) : NULL;

    *ok = *ok && (!s || d);
    return d;
}

/* Fill t for in from the general builder's extensions. 0: out of memory. */
static int slot_fill(tmpl_exts *t, const acmpca_issue_t *in, const ASN1_OCTET_STRING *issuer_id,
                     apr_pool_t *p)
{
    apr_array_header_t *exts = NULL;
    const acmpca_ext_der_t *d;
    apr_size_t len = 0;
    int i, ok = 1, ski = -1;

    slot_clear(t);
    t->tmpl = in->tmpl;
    memcpy(t->issuer_id, ASN1_STRING_get0_data(issuer_id), (size_t)ASN1_STRING_length(issuer_id));
    t->issuer_id_len = ASN1_STRING_length(issuer_id);
    t->crl_url = str_dup(in->crl_url, &ok);
    t->ocsp_url = str_dup(in->ocsp_url, &ok);
    t->signing_algorithm = str_dup(in->signing_algorithm, &ok);
    if (!ok || acmpca_cert_template_exts(&exts, in, p) != APR_SUCCESS) {
        return ok; /* not usable: the general builder refuses it in its own words */
    }
    for (i = 0; i < exts->nelts; i++) {
        d = &APR_ARRAY_IDX(exts, i, acmpca_ext_der_t);
        if (d->nid == NID_subject_key_identifier && ski < 0) {
            ski = i;
        }
        else {
            len += d->len;
        }
    }
    if (ski < 0) {
        return 1;
    }
    if (!(t->exts = malloc(len ? len : 1))) {
        return 0;
    }
    for (i = 0; i < exts->nelts; i++) {
        d = &APR_ARRAY_IDX(exts, i, acmpca_ext_der_t);
        if (i == ski) {
            t->split = t->len;
            continue;
        }
        memcpy(t->exts + t->len, d->der, d->len);
        t->len += d->len;
    }
    t->usable = 1;
    return 1;
}

/* This thread's extensions of in's CA and template; NULL when none can be had. */
static const tmpl_exts *template_exts(const acmpca_issue_t *in, const ASN1_OCTET_STRING *issuer_id,
                                      apr_pool_t *p)
{
    tmpl_cache *c = acmpca_thread_obj(&thread_caches, 1);
    tmpl_exts *t;
    int i, n = ASN1_STRING_length(issuer_id);

    if (!c || n <= 0 || n > KEY_ID_MAX) {
        return NULL;
    }
    for (i = 0; i < TEMPLATE_SLOTS; i++) {
        t = &c->slot[i];
        if (t->tmpl == in->tmpl && t->issuer_id_len == n
            && !memcmp(t->issuer_id, ASN1_STRING_get0_data(issuer_id), (size_t)n)
            && same_str(t->crl_url, in->crl_url) && same_str(t->ocsp_url, in->ocsp_url)
            && same_str(t->signing_algorithm, in->signing_algorithm)) {
            return t;
        }
    }
    t = &c->slot[c->next++ % TEMPLATE_SLOTS];
    if (!slot_fill(t, in, issuer_id, p)) {
        slot_clear(t);
        return NULL;
    }
    return t;
}

/* ******************************************************************************** */
/* DER                                                                               */
/* ******************************************************************************** */

#define TAG_INTEGER      0x02
#define TAG_BIT_STRING   0x03
#define TAG_OCTET_STRING 0x04
#define TAG_OID          0x06
#define TAG_UTC_TIME     0x17
#define TAG_GEN_TIME     0x18
#define TAG_SEQUENCE     0x30
#define TAG_EXPLICIT_3   0xA3 /* [3] EXPLICIT, the TBSCertificate's extensions */

/* Tag and length octets of a content of n octets. */
static apr_size_t head_len(apr_size_t n)
{
    unsigned char ignored[16];

    return 1 + acmpca_der_len(ignored, n);
}

static unsigned char *put_head(unsigned char *o, int tag, apr_size_t n)
{
    *o = (unsigned char)tag;
    return o + 1 + acmpca_der_len(o + 1, n);
}

static unsigned char *put(unsigned char *o, const void *m, apr_size_t n)
{
    memcpy(o, m, n);
    return o + n;
}

/* Two decimal digits of v. */
static char *digits2(char *o, int v)
{
    o[0] = (char)('0' + v / 10 % 10);
    o[1] = (char)('0' + v % 10);
    return o + 2;
}

/* A time as ASN1_TIME_set writes it (RFC 5280 §4.1.2.5): UTCTime from 1950 through
 * 2049, GeneralizedTime otherwise. 0 for a year it cannot write. */
static apr_size_t time_text(char out[16], apr_time_t t)
{
    time_t secs = (time_t)apr_time_sec(t);
    struct tm tm;
    char *o = out;
    int year;

    if (!gmtime_r(&secs, &tm) || (year = tm.tm_year + 1900) < 0 || year > 9999) {
        return 0;
    }
    if (year < 1950 || year >= 2050) {
        o = digits2(o, year / 100);
    }
    o = digits2(o, year % 100);
    o = digits2(o, tm.tm_mon + 1);
    o = digits2(o, tm.tm_mday);
    o = digits2(o, tm.tm_hour);
    o = digits2(o, tm.tm_min);
    o = digits2(o, tm.tm_sec);
    *o++ = 'Z';
    return (apr_size_t)(o - out);
}

static int time_tag(apr_size_t len)
{
    return len == 13 ? TAG_UTC_TIME : TAG_GEN_TIME;
}

/* ******************************************************************************** */
/* The certificate                                                                   */
/* ******************************************************************************** */

static const unsigned char version_3[] = {0xA0, 0x03, 0x02, 0x01, 0x02};
static const unsigned char oid_ec_public_key[] = {0x06, 0x07, 0x2A, 0x86, 0x48,
                                                  0xCE, 0x3D, 0x02, 0x01};
static const unsigned char oid_ski[] = {0x06, 0x03, 0x55, 0x1D, 0x0E};
static const unsigned char oid_san[] = {0x06, 0x03, 0x55, 0x1D, 0x11};
static const unsigned char critical_true[] = {0x01, 0x01, 0xFF};

/* What the request gives the TBSCertificate, measured before it is written. */
typedef struct tbs_parts {
    const unsigned char *serial; /* without leading zero octets */
    apr_size_t serial_len;
    int serial_pad; /* a 0 octet first: the high bit is set, and the serial is positive */
    char before[16], after[16];
    apr_size_t before_len, after_len;
    X509_NAME *subject;
    const X509_NAME *issuer;
    int subject_len, issuer_len;
    unsigned char curve[32]; /* the curve's OID, DER */
    int curve_len;
    const unsigned char *point;
    int point_len;
    unsigned char key_id[SHA_DIGEST_LENGTH];
    const ASN1_OCTET_STRING *san; /* the CSR's SubjectAltName value, or NULL */
    int san_critical;
} tbs_parts;

/* The CSR's key as acmpca_cert_issue_lean copies it: an EC key on a named curve. */
static int key_parts(tbs_parts *t, X509_REQ *csr)
{
    ASN1_OBJECT *alg = NULL;
    X509_ALGOR *pa = NULL;
    const void *pval = NULL;
    unsigned char *o = t->curve;
    unsigned int n = 0;
    int ptype = V_ASN1_UNDEF;

    if (!X509_PUBKEY_get0_param(&alg, &t->point, &t->point_len, &pa,
                                X509_REQ_get_X509_PUBKEY(csr))) {
        return 0;
    }
    X509_ALGOR_get0(NULL, &ptype, &pval, pa);
    if (OBJ_obj2nid(alg) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT || !t->point
        || t->point_len <= 0 || i2d_ASN1_OBJECT(pval, NULL) > (int)sizeof(t->curve)) {
        return 0;
    }
    t->curve_len = i2d_ASN1_OBJECT(pval, &o);
    /* RFC 5280 §4.2.1.2 method 1, as the general builder's key_id. */
    return t->curve_len > 0
           && EVP_Digest(t->point, (size_t)t->point_len, t->key_id, &n, EVP_sha1(), NULL)
           && n == sizeof(t->key_id);
}

/* The CSR's first SubjectAltName, critical exactly when the subject is empty, as the
 * general builder's add_csr_san. exts stays the caller's to free. */
static void san_part(tbs_parts *t, STACK_OF(X509_EXTENSION) * exts)
{
    int i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);

    t->san = i >= 0 ? X509_EXTENSION_get_data(X509v3_get_ext(exts, i)) : NULL;
    t->san_critical = X509_NAME_entry_count(t->subject) == 0;
}

static int parts_of(tbs_parts *t, const acmpca_issue_t *in)
{
    apr_size_t i;

    for (i = 0; i < in->serial_len && !in->serial[i]; i++) {
    }
    t->serial = in->serial + i;
    t->serial_len = in->serial_len - i;
    t->serial_pad = t->serial_len && (t->serial[0] & 0x80);
    t->before_len = time_text(t->before, in->not_before);
    t->after_len = time_text(t->after, in->not_after);
    t->subject = X509_REQ_get_subject_name(in->csr);
    t->issuer = X509_get_subject_name(in->issuer_cert);
    t->subject_len = i2d_X509_NAME(t->subject, NULL);
    t->issuer_len = i2d_X509_NAME(t->issuer, NULL);
    return t->serial_len && t->before_len && t->after_len && t->subject_len > 0 && t->issuer_len > 0
           && key_parts(t, in->csr);
}

/* The TBSCertificate (RFC 5280 §4.1.1) in p, fields in order. */
static unsigned char *tbs_write(apr_size_t *plen, const tbs_parts *t, const tmpl_exts *x,
                                const acmpca_signer_t *sg, apr_pool_t *p)
{
    apr_size_t serial = t->serial_pad + t->serial_len;
    apr_size_t validity =
        head_len(t->before_len) + t->before_len + head_len(t->after_len) + t->after_len;
    apr_size_t alg = sizeof(oid_ec_public_key) + (apr_size_t)t->curve_len;
    apr_size_t spki =
        head_len(alg) + alg + head_len((apr_size_t)t->point_len + 1) + (apr_size_t)t->point_len + 1;
    apr_size_t ski = sizeof(oid_ski) + 2 * 2 + sizeof(t->key_id);
    apr_size_t san = t->san
                         ? sizeof(oid_san) + (t->san_critical ? sizeof(critical_true) : 0)
                               + head_len((apr_size_t)t->san->length) + (apr_size_t)t->san->length
                         : 0;
    apr_size_t exts = x->len + head_len(ski) + ski + (t->san ? head_len(san) + san : 0);
    apr_size_t body = sizeof(version_3) + head_len(serial) + serial + sg->aid_len
                      + (apr_size_t)t->issuer_len + head_len(validity) + validity
                      + (apr_size_t)t->subject_len + head_len(spki) + spki
                      + head_len(head_len(exts) + exts) + head_len(exts) + exts;
    unsigned char *tbs = apr_palloc(p, head_len(body) + body), *o = tbs, *name;

    o = put_head(o, TAG_SEQUENCE, body);
    o = put(o, version_3, sizeof(version_3));
    o = put_head(o, TAG_INTEGER, serial);
    if (t->serial_pad) {
        *o++ = 0;
    }
    o = put(o, t->serial, t->serial_len);
    o = put(o, sg->aid, sg->aid_len);
    name = o;
    o += i2d_X509_NAME(t->issuer, &name);
    o = put_head(o, TAG_SEQUENCE, validity);
    o = put(put_head(o, time_tag(t->before_len), t->before_len), t->before, t->before_len);
    o = put(put_head(o, time_tag(t->after_len), t->after_len), t->after, t->after_len);
    name = o;
    o += i2d_X509_NAME(t->subject, &name);
    o = put_head(put_head(o, TAG_SEQUENCE, spki), TAG_SEQUENCE, alg);
    o = put(put(o, oid_ec_public_key, sizeof(oid_ec_public_key)), t->curve,
            (apr_size_t)t->curve_len);
    o = put_head(o, TAG_BIT_STRING, (apr_size_t)t->point_len + 1);
    *o++ = 0; /* no unused bits */
    o = put(o, t->point, (apr_size_t)t->point_len);
    o = put_head(put_head(o, TAG_EXPLICIT_3, head_len(exts) + exts), TAG_SEQUENCE, exts);
    o = put(o, x->exts, x->split);
    o = put(put_head(o, TAG_SEQUENCE, ski), oid_ski, sizeof(oid_ski));
    o = put_head(put_head(o, TAG_OCTET_STRING, 2 + sizeof(t->key_id)), TAG_OCTET_STRING,
                 sizeof(t->key_id));
    o = put(o, t->key_id, sizeof(t->key_id));
    o = put(o, x->exts + x->split, x->len - x->split);
    if (t->san) {
        o = put(put_head(o, TAG_SEQUENCE, san), oid_san, sizeof(oid_san));
        if (t->san_critical) {
            o = put(o, critical_true, sizeof(critical_true));
        }
        o = put_head(o, TAG_OCTET_STRING, (apr_size_t)t->san->length);
        o = put(o, t->san->data, (apr_size_t)t->san->length);
    }
    *plen = (apr_size_t)(o - tbs);
    return tbs;
}

/* What acmpca_cert_info reads back from the general builder's certificate. Its key is
 * left encoded there too, so it is never found self-signed. */
static void info_of(acmpca_cert_info_t *info, const tbs_parts *t, const acmpca_issue_t *in,
                    apr_pool_t *p)
{
    memset(info, 0, sizeof(*info));
    info->serial_hex = acmpca_hex(t->serial, t->serial_len, 0, p);
    info->serial_colons = acmpca_hex(t->serial, t->serial_len, 1, p);
    info->not_before = apr_time_from_sec(apr_time_sec(in->not_before));
    info->not_after = apr_time_from_sec(apr_time_sec(in->not_after));
    info->subject = acmpca_name_rfc2253(t->subject, p);
    info->is_ca = in->tmpl->is_ca;
    info->path_len = in->tmpl->is_ca && in->tmpl->path_len >= 0 ? in->tmpl->path_len : -1;
}

int acmpca_cert_der_issue(const unsigned char **pder, apr_size_t *plen, acmpca_cert_info_t *info,
                          const acmpca_issue_t *in, apr_pool_t *p)
{
    const acmpca_template_t *tmpl = in->tmpl;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    const ASN1_OCTET_STRING *issuer_id;
    const EVP_MD *md;
    const tmpl_exts *x;
    acmpca_signer_t sg;
    tbs_parts t;
    const unsigned char *tbs;
    apr_size_t tbs_len;
    int rc = -1;

    memset(&t, 0, sizeof(t));
    if (!tmpl || tmpl->root || tmpl->csr_passthrough
        || (tmpl->api_passthrough && in->api_passthrough) || !in->csr || !in->issuer_cert
        || !in->issuer_key || !in->serial || in->serial_len > 20
        || !(md = acmpca_sigalg_md(in->signing_algorithm))
        || !(issuer_id = X509_get0_subject_key_id(in->issuer_cert)) || !parts_of(&t, in)) {
        return 0;
    }
    if (!(x = template_exts(in, issuer_id, p))) {
        return -1;
    }
    if (!x->usable) {
        return 0;
    }
    exts = X509_REQ_get_extensions(in->csr);
    san_part(&t, exts);
    if (acmpca_signer_begin(&sg, in->issuer_key, md) && (tbs = tbs_write(&tbs_len, &t, x, &sg, p))
        && acmpca_signer_wrap(&sg, tbs, tbs_len, pder, plen, p)) {
        info_of(info, &t, in, p);
        rc = 1;
    }
    acmpca_signer_end(&sg);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}
