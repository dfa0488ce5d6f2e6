/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of the strict CSR intake (src/x509/intake.c) and of what hostile CSRs and
 * API passthrough values can get signed (src/x509/cert.c): PCA-API.md §5.5, §7.2, §7.3. */
#include <pthread.h>
#include <string.h>

#include <apr_strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit.h"

#include "acmpca/err.h"
#include "acmpca/json.h"
#include "acmpca/util.h"
#include "acmpca/x509.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TPL(n)   ACMPCA_TEMPLATE_ARN_PREFIX n
#define DAY      (apr_time_from_sec(86400))

/* ******************************************************************************** */
/* Helpers                                                                           */
/* ******************************************************************************** */

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static EVP_PKEY *own_key(apr_pool_t *p, EVP_PKEY *key)
{
    assert_non_null(key);
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
    return key;
}

static EVP_PKEY *gen(apr_pool_t *p, const char *alg)
{
    acmpca_err_t err = {0};
    EVP_PKEY *key = NULL;

    assert_int_equal(acmpca_key_generate(&key, alg, &err, p), APR_SUCCESS);
    return key;
}

static cJSON *json(apr_pool_t *p, const char *text)
{
    cJSON *j = text ? acmpca_json_parse(text, strlen(text), p) : NULL;

    if (text && !j) {
        fail_msg("bad JSON in test: %s", text);
    }
    return j;
}

/* What a CSR is made of; every field has a sane default. */
typedef struct {
    EVP_PKEY *key;
    const char *cn;    /* NULL: empty subject */
    const char **exts; /* "nid_sn:value" lines in openssl.cnf syntax, NULL-terminated */
    const EVP_MD *md;  /* default SHA-256; NULL md for EdDSA via no_md */
    int no_md;
    int ext_req_twice;              /* a second extensionRequest attribute */
    STACK_OF(X509_EXTENSION) * raw; /* extra extensions added as they are */
    EVP_PKEY *signer;               /* signs instead of key: a forged request */
} csr_spec_t;

/* DER of a CSR per spec, in p. */
static unsigned char *csr_der(apr_pool_t *p, const csr_spec_t *s, int *plen)
{
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    unsigned char *der = NULL, *out;
    int i;

    if (s->cn) {
        X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req), NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)s->cn, -1, -1, 0);
    }
    for (i = 0; s->exts && s->exts[i]; i++) {
        const char *colon = strchr(s->exts[i], ':');
        char *name = apr_pstrmemdup(p, s->exts[i], (apr_size_t)(colon - s->exts[i]));
        X509_EXTENSION *ext = X509V3_EXT_conf(NULL, NULL, name, colon + 1);

        if (!ext) {
            fail_msg("extension %s not made", s->exts[i]);
        }
        sk_X509_EXTENSION_push(exts, ext);
    }
    for (i = 0; s->raw && i < sk_X509_EXTENSION_num(s->raw); i++) {
        sk_X509_EXTENSION_push(exts, X509_EXTENSION_dup(sk_X509_EXTENSION_value(s->raw, i)));
    }
    if (sk_X509_EXTENSION_num(exts) > 0) {
        assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
    }
    if (s->ext_req_twice) {
        /* OpenSSL refuses a second extensionRequest attribute: add the extensions again
         * as Microsoft's extension request (1), or as a second value of the first (2). */
        unsigned char *v = NULL;
        int n = ASN1_item_i2d((ASN1_VALUE *)exts, &v, ASN1_ITEM_rptr(X509_EXTENSIONS));

        if (s->ext_req_twice == 1) {
            assert_int_equal(X509_REQ_add1_attr_by_NID(req, NID_ms_ext_req, V_ASN1_SEQUENCE, v, n),
                             1);
        }
        else {
            X509_ATTRIBUTE *a =
                X509_REQ_get_attr(req, X509_REQ_get_attr_by_NID(req, NID_ext_req, -1));
            assert_int_equal(X509_ATTRIBUTE_set1_data(a, V_ASN1_SEQUENCE, v, n), 1);
        }
        OPENSSL_free(v);
    }
    assert_int_equal(X509_REQ_set_pubkey(req, s->key), 1);
    assert_true(X509_REQ_sign(req, s->signer ? s->signer : s->key,
                              s->no_md ? NULL
                              : s->md  ? s->md
                                       : EVP_sha256())
                > 0);
    *plen = i2d_X509_REQ(req, &der);
    assert_true(*plen > 0);
    out = apr_pmemdup(p, der, (apr_size_t)*plen);
    OPENSSL_free(der);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    return out;
}

static const char *der_to_pem(apr_pool_t *p, const unsigned char *der, int len, const char *label)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;
    const char *pem;

    assert_true(PEM_write_bio(bio, label, "", der, len) > 0);
    n = BIO_get_mem_data(bio, &data);
    pem = apr_pstrmemdup(p, data, (apr_size_t)n);
    BIO_free(bio);
    return pem;
}

/* The strict intake's verdict, which the lean one (intake_lean.c) must give too, word
 * for word, on every CSR of these tests. */
static apr_status_t parse(X509_REQ **preq, const void *buf, apr_size_t len, acmpca_err_t *err,
                          apr_pool_t *p)
{
    acmpca_err_t lean_err = {0};
    X509_REQ *lean = (X509_REQ *)1;
    apr_status_t rv, lean_rv;

    memset(err, 0, sizeof(*err));
    rv = acmpca_csr_parse(preq, buf, len, err, p);
    lean_rv = acmpca_csr_parse_lean(&lean, buf, len, &lean_err, p);
    assert_int_equal(lean_rv, rv);
    assert_int_equal(lean_err.type, err->type);
    if (rv == APR_SUCCESS) {
        assert_non_null(lean);
    }
    else {
        assert_null(lean);
        assert_string_equal(lean_err.message, err->message);
    }
    return rv;
}

static X509_REQ *parse_ok(apr_pool_t *p, const void *buf, apr_size_t len, const char *what)
{
    acmpca_err_t err;
    X509_REQ *req = NULL;

    if (parse(&req, buf, len, &err, p) != APR_SUCCESS) {
        fail_msg("%s: refused: %s", what, err.message);
    }
    assert_non_null(req);
    return req;
}

static void parse_refused(apr_pool_t *p, const void *buf, apr_size_t len, const char *what,
                          const char *msg_part)
{
    acmpca_err_t err;
    X509_REQ *req = (X509_REQ *)1;
    apr_status_t rv = parse(&req, buf, len, &err, p);

    if (rv != ACMPCA_EAWS || err.type != ACMPCA_ERR_MALFORMED_CSR) {
        fail_msg("%s: not refused as MalformedCSRException (rv=%d, %s)", what, rv,
                 err.message ? err.message : "");
    }
    if (msg_part && !strstr(err.message, msg_part)) {
        fail_msg("%s: message '%s' lacks '%s'", what, err.message, msg_part);
    }
    assert_null(req);
}

static X509_REQ *spec_ok(apr_pool_t *p, const csr_spec_t *s, const char *what)
{
    int len;
    unsigned char *der = csr_der(p, s, &len);

    return parse_ok(p, der, (apr_size_t)len, what);
}

static void spec_refused(apr_pool_t *p, const csr_spec_t *s, const char *what, const char *msg_part)
{
    int len;
    unsigned char *der = csr_der(p, s, &len);

    parse_refused(p, der, (apr_size_t)len, what, msg_part);
}

/* ******************************************************************************** */
/* Framing                                                                           */
/* ******************************************************************************** */

static void test_framing(void **state)
{
    apr_pool_t *p = *state;
    csr_spec_t s = {0};
    unsigned char *der, *ber;
    const char *pem;
    int len;

    s.key = gen(p, "EC_prime256v1");
    s.cn = "framing";
    der = csr_der(p, &s, &len);
    pem = der_to_pem(p, der, len, "CERTIFICATE REQUEST");

    parse_ok(p, der, (apr_size_t)len, "DER");
    parse_ok(p, pem, strlen(pem), "PEM");
    {
        const char *t = apr_pstrcat(p, "\r\n  ", pem, "\r\n\n", NULL);
        parse_ok(p, t, strlen(t), "PEM with white space around");
    }
    pem = der_to_pem(p, der, len, "NEW CERTIFICATE REQUEST");
    parse_ok(p, pem, strlen(pem), "PEM labelled NEW CERTIFICATE REQUEST");
    /* The shapes the BIO-less reading takes (CRLF, lines of 76) and some it leaves to
     * PEM_read_bio (longer lines, one line, padding within): the same request. */
    {
        static const int widths[] = {76, 80, 4, 100000};
        const char *b64 = acmpca_b64_encode(der, (apr_size_t)len, p);
        const unsigned char *want = NULL;
        unsigned char *got = NULL;
        X509_REQ *req;
        size_t i;
        int n = i2d_X509_REQ(parse_ok(p, pem, strlen(pem), "plain PEM"), &got);

        want = got;
        for (i = 0; i < COUNT(widths); i++) {
            const char *t = "-----BEGIN CERTIFICATE REQUEST-----\r\n";
            apr_size_t at;

            for (at = 0; at < strlen(b64); at += (apr_size_t)widths[i]) {
                t = apr_pstrcat(p, t, apr_pstrndup(p, b64 + at, (apr_size_t)widths[i]), "\r\n",
                                NULL);
            }
            t = apr_pstrcat(p, t, "-----END CERTIFICATE REQUEST-----\r\n", NULL);
            req = parse_ok(p, t, strlen(t), apr_psprintf(p, "PEM in lines of %d", widths[i]));
            got = NULL;
            assert_int_equal(i2d_X509_REQ(req, &got), n);
            assert_memory_equal(got, want, (size_t)n);
            OPENSSL_free(got);
        }
        OPENSSL_free((void *)want);
    }

    pem = der_to_pem(p, der, len, "CERTIFICATE REQUEST");
    {
        const char *t = apr_pstrcat(p, pem, "garbage", NULL);
        parse_refused(p, t, strlen(t), "PEM with trailing garbage", "after");
        t = apr_pstrcat(p, pem, pem, NULL);
        parse_refused(p, t, strlen(t), "two PEM blocks", "after");
        t = apr_pstrcat(p, "Certificate Request:\n", pem, NULL);
        parse_refused(p, t, strlen(t), "text before the PEM block", NULL);
        t = der_to_pem(p, der, len, "CERTIFICATE");
        parse_refused(p, t, strlen(t), "wrong PEM label", "labelled");
        t = apr_pstrndup(p, pem, strlen(pem) / 2);
        parse_refused(p, t, strlen(t), "truncated PEM", NULL);
        t = apr_pstrcat(p, "-----BEGIN CERTIFICATE REQUEST-----\nProc-Type: 4,ENCRYPTED\n\n",
                        strchr(pem, '\n') + 1, NULL);
        parse_refused(p, t, strlen(t), "PEM with headers", NULL);
    }
    parse_refused(p, der, (apr_size_t)len - 1, "truncated DER", NULL);
    {
        unsigned char *t = apr_palloc(p, (apr_size_t)len + 2);
        memcpy(t, der, (apr_size_t)len);
        t[len] = 0x05;
        t[len + 1] = 0x00;
        parse_refused(p, t, (apr_size_t)len + 2, "DER with a trailing NULL", NULL);
    }
    parse_refused(p, "", 0, "empty", NULL);

    /* BER, not DER: the outer length in a non-minimal long form (X.690 §10.1). The
     * signed part is unchanged, so only the DER check can catch it. */
    assert_int_equal(der[0], 0x30);
    assert_int_equal(der[1], 0x81); /* a P-256 CSR is 128..255 bytes long */
    ber = apr_palloc(p, (apr_size_t)len + 1);
    ber[0] = 0x30;
    ber[1] = 0x82;
    ber[2] = 0x00;
    memcpy(ber + 3, der + 2, (apr_size_t)len - 2);
    parse_refused(p, ber, (apr_size_t)len + 1, "BER length", "DER");
}

/* ******************************************************************************** */
/* Signature and key                                                                 */
/* ******************************************************************************** */

static EVP_PKEY *explicit_ec(apr_pool_t *p)
{
    EVP_PKEY *key = own_key(p, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));

    assert_int_equal(EVP_PKEY_set_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, "explicit"),
                     1);
    return key;
}

static void test_signature_and_key(void **state)
{
    apr_pool_t *p = *state;
    csr_spec_t s = {0};

    s.cn = "keys";
    /* Accepted: every KeyAlgorithm of PCA-API.md §5.1 with a SHA-2 signature. */
    s.key = gen(p, "RSA_2048");
    spec_ok(p, &s, "RSA 2048 SHA-256");
    s.md = EVP_sha512();
    spec_ok(p, &s, "RSA 2048 SHA-512");
    s.key = gen(p, "EC_secp384r1");
    s.md = EVP_sha384();
    spec_ok(p, &s, "P-384 SHA-384");
    s.key = gen(p, "EC_secp521r1");
    s.md = EVP_sha512();
    spec_ok(p, &s, "P-521 SHA-512");

    /* Weak digests (RFC 6151; SHAttered). */
    s.key = gen(p, "EC_prime256v1");
    s.md = EVP_sha1();
    spec_refused(p, &s, "ECDSA SHA-1", "too weak");
    s.key = gen(p, "RSA_2048");
    spec_refused(p, &s, "RSA SHA-1", "too weak");
    s.md = EVP_md5();
    spec_refused(p, &s, "RSA MD5", "too weak");
    s.md = NULL;

    /* Keys the CA does not certify. */
    s.key = own_key(p, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
    spec_refused(p, &s, "RSA 1024", "1024-bit");
    s.key = own_key(p, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2040));
    spec_refused(p, &s, "RSA 2040", "2040-bit");
    s.key = explicit_ec(p);
    spec_refused(p, &s, "explicit EC parameters", "explicitly");
    s.key = own_key(p, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"));
    spec_refused(p, &s, "secp256k1", "secp256k1");
    s.key = own_key(p, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224"));
    spec_refused(p, &s, "P-224", "curve");
    s.key = own_key(p, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
    s.no_md = 1;
    spec_refused(p, &s, "Ed25519", "cannot certify");
}

/* The lean intake builds the key with EC_POINT_oct2point alone (no separate key check):
 * a compressed point is accepted as the strict intake accepts it, a point off the curve
 * refused as it refuses it (parse() compares the two verdicts word for word). */
static void test_ec_points(void **state)
{
    static const unsigned char spki_bits[] = {0x03, 0x42, 0x00, 0x04}; /* P-256, uncompressed */
    apr_pool_t *p = *state;
    csr_spec_t s = {0};
    unsigned char *der, *at = NULL;
    acmpca_err_t err;
    X509_REQ *req;
    int len, i;

    s.cn = "points";
    s.key = gen(p, "EC_prime256v1");
    assert_int_equal(EVP_PKEY_set_utf8_string_param(
                         s.key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
                     1);
    spec_ok(p, &s, "P-256, compressed point");

    s.key = gen(p, "EC_prime256v1");
    der = csr_der(p, &s, &len);
    for (i = 0; !at && i + (int)sizeof(spki_bits) + 64 <= len; i++) {
        if (!memcmp(der + i, spki_bits, sizeof(spki_bits))) {
            at = der + i + sizeof(spki_bits);
        }
    }
    assert_non_null(at);
    at[63] ^= 0x01; /* the last byte of y: off the curve */
    assert_int_not_equal(parse(&req, der, (apr_size_t)len, &err, p), APR_SUCCESS);
}

/* The lean intake checks signatures with a key of its thread whose point each request
 * replaces. In a thread of its own, so that its first request sets that point: a request
 * of key a passes, then one that carries key b but is signed by a is refused (a key left
 * with a's point would accept it), then b's own passes. */
typedef struct replaced_t {
    apr_pool_t *p;
    const unsigned char *der[3];
    int len[3];
    apr_status_t rv[3];
} replaced_t;

static void *replaced_run(void *data)
{
    replaced_t *r = data;
    acmpca_err_t err;
    X509_REQ *req;
    int i;

    for (i = 0; i < 3; i++) {
        r->rv[i] = acmpca_csr_parse_lean(&req, r->der[i], (apr_size_t)r->len[i], &err, r->p);
    }
    return NULL;
}

static void test_lean_key_replaced(void **state)
{
    apr_pool_t *p = *state;
    replaced_t r = {p, {NULL}, {0}, {0}};
    csr_spec_t s = {0};
    EVP_PKEY *a = gen(p, "EC_prime256v1"), *b = gen(p, "EC_prime256v1");
    pthread_t t;

    s.cn = "replaced";
    s.key = a;
    spec_ok(p, &s, "a, signed by a"); /* the curve has a prototype key from here on */
    r.der[0] = csr_der(p, &s, &r.len[0]);
    s.key = b;
    s.signer = a;
    r.der[1] = csr_der(p, &s, &r.len[1]);
    s.signer = NULL;
    r.der[2] = csr_der(p, &s, &r.len[2]);
    assert_int_equal(pthread_create(&t, NULL, replaced_run, &r), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rv[0], APR_SUCCESS);
    assert_int_equal(r.rv[1], ACMPCA_EAWS);
    assert_int_equal(r.rv[2], APR_SUCCESS);
}

static void test_bad_signature(void **state)
{
    apr_pool_t *p = *state;
    csr_spec_t s = {0};
    unsigned char *der;
    int len;

    s.key = gen(p, "RSA_2048");
    s.cn = "signature";
    der = csr_der(p, &s, &len);
    der[len - 3] ^= 0x40; /* inside the RSA signature, the last field */
    parse_refused(p, der, (apr_size_t)len, "bad signature", "signature");
}

/* ******************************************************************************** */
/* Extensions and names                                                              */
/* ******************************************************************************** */

static X509_EXTENSION *raw_ext(int nid, int critical, const char *der, int len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext;

    ASN1_OCTET_STRING_set(os, (const unsigned char *)der, len);
    ext = X509_EXTENSION_create_by_NID(NULL, nid, critical, os);
    ASN1_OCTET_STRING_free(os);
    assert_non_null(ext);
    return ext;
}

static X509_EXTENSION *many_sans(apr_pool_t *p, int n)
{
    const char *value = "DNS:h0.example";
    int i;

    for (i = 1; i < n; i++) {
        value = apr_psprintf(p, "%s,DNS:h%d.example", value, i);
    }
    return X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
}

static void test_extensions(void **state)
{
    static const char *dup[] = {"subjectAltName:DNS:a.example", "subjectAltName:DNS:b.example",
                                NULL};
    static const char *san_nc[] = {"subjectAltName:DNS:a.example", NULL};
    static const char *san_c[] = {"subjectAltName:critical,DNS:a.example", NULL};
    apr_pool_t *p = *state;
    STACK_OF(X509_EXTENSION) *raw = sk_X509_EXTENSION_new_null();
    csr_spec_t s = {0};

    s.key = gen(p, "EC_prime256v1");
    s.cn = "extensions";
    s.exts = dup;
    spec_refused(p, &s, "a duplicate SAN", "more than once");
    s.exts = san_nc;
    s.ext_req_twice = 1;
    spec_refused(p, &s, "two extension requests", "at most one");
    s.ext_req_twice = 2;
    spec_refused(p, &s, "an extension request with two values", "at most one");
    s.ext_req_twice = 0;

    /* keyUsage whose value is not a BIT STRING; a value with bytes after it. */
    s.exts = NULL;
    s.raw = raw;
    sk_X509_EXTENSION_push(raw, raw_ext(NID_key_usage, 1, "\x04\x01\x00", 3));
    spec_refused(p, &s, "a malformed keyUsage", "malformed");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));
    sk_X509_EXTENSION_push(raw, raw_ext(NID_key_usage, 1, "\x03\x02\x05\xa0\x00", 5));
    spec_refused(p, &s, "a keyUsage with trailing bytes", "malformed");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));
    /* A SAN iPAddress of 5 octets (RFC 5280 §4.2.1.6: 4 or 16). */
    sk_X509_EXTENSION_push(
        raw, raw_ext(NID_subject_alt_name, 0, "\x30\x07\x87\x05\x01\x02\x03\x04\x05", 9));
    spec_refused(p, &s, "a 5-octet iPAddress", "subject alternative name");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));
    /* A dNSName outside the preferred name syntax; a wildcard and '_' are fine. */
    sk_X509_EXTENSION_push(raw, raw_ext(NID_subject_alt_name, 0,
                                        "\x30\x0b\x82\x09"
                                        "bad name!",
                                        13));
    spec_refused(p, &s, "a dNSName with a space", "subject alternative name");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));
    sk_X509_EXTENSION_push(raw, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
                                                    "DNS:*.example.com,DNS:_acme.example"));
    spec_ok(p, &s, "a wildcard and an underscore");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));
    /* An empty dNSName. */
    sk_X509_EXTENSION_push(raw, raw_ext(NID_subject_alt_name, 0, "\x30\x02\x82\x00", 4));
    spec_refused(p, &s, "an empty dNSName", "subject alternative name");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));

    /* The SAN bound: exactly the limit passes, one more is refused. */
    sk_X509_EXTENSION_push(raw, many_sans(p, ACMPCA_CSR_MAX_SAN_NAMES));
    spec_ok(p, &s, "the most SANs allowed");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));
    sk_X509_EXTENSION_push(raw, many_sans(p, ACMPCA_CSR_MAX_SAN_NAMES + 1));
    spec_refused(p, &s, "one SAN too many", "at most");
    X509_EXTENSION_free(sk_X509_EXTENSION_pop(raw));
    s.raw = NULL;

    /* Empty subject: the SAN must be there and critical [AWS aws-privateca-issuer#6]. */
    s.cn = NULL;
    s.exts = san_nc;
    spec_refused(p, &s, "empty subject, non-critical SAN", "critical");
    s.exts = san_c;
    spec_ok(p, &s, "empty subject, critical SAN");
    s.exts = NULL;
    spec_refused(p, &s, "empty subject, no SAN", "neither");
    sk_X509_EXTENSION_pop_free(raw, X509_EXTENSION_free);
}

static void test_subject_text(void **state)
{
    apr_pool_t *p = *state;
    X509_REQ *req = X509_REQ_new();
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    unsigned char *der = NULL;
    int len;

    /* A UTF8String that is not UTF-8. */
    X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req), NID_commonName, V_ASN1_UTF8STRING,
                               (const unsigned char *)"bad \xc3\x28", -1, -1, 0);
    X509_REQ_set_pubkey(req, key);
    X509_REQ_sign(req, key, EVP_sha256());
    len = i2d_X509_REQ(req, &der);
    /* OpenSSL may already refuse it while decoding; either way it is malformed. */
    parse_refused(p, der, (apr_size_t)len, "invalid UTF-8 in the subject", NULL);
    OPENSSL_free(der);
    X509_REQ_free(req);
}

/* ******************************************************************************** */
/* What hostile requests get signed (PCA-API.md §7.3, RFC 5280)                     */
/* ******************************************************************************** */

typedef struct {
    EVP_PKEY *ikey;
    X509 *root;
    X509_REQ *csr;
    const char *crl_url;
} fixture_t;

static apr_status_t issue_rv(X509 **px, const fixture_t *f, const char *tmpl, const char *api,
                             acmpca_err_t *err, apr_pool_t *p)
{
    static const unsigned char serial[16] = {0x4d, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                             0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    apr_time_t now = apr_time_now();
    acmpca_issue_t in = {0};

    memset(err, 0, sizeof(*err));
    in.csr = f->csr;
    in.issuer_key = f->ikey;
    in.issuer_cert = f->root;
    in.signing_algorithm = "SHA256WITHECDSA";
    in.tmpl = acmpca_template_find(tmpl);
    in.serial = serial;
    in.serial_len = sizeof(serial);
    in.not_before = now - apr_time_from_sec(3600);
    in.not_after = now + 30 * DAY;
    in.crl_url = f->crl_url;
    in.api_passthrough = json(p, api);
    assert_non_null(in.tmpl);
    *px = NULL;
    return acmpca_cert_issue(px, &in, err, p);
}

static X509 *issue_ok(const fixture_t *f, const char *tmpl, const char *api, apr_pool_t *p)
{
    acmpca_err_t err;
    X509 *x;

    if (issue_rv(&x, f, tmpl, api, &err, p) != APR_SUCCESS) {
        fail_msg("%s: refused: %s", tmpl, err.message);
    }
    return x;
}

static void issue_refused(const fixture_t *f, const char *tmpl, const char *api, const char *part,
                          apr_pool_t *p)
{
    acmpca_err_t err;
    X509 *x;

    if (issue_rv(&x, f, tmpl, api, &err, p) != ACMPCA_EAWS || err.type != ACMPCA_ERR_INVALID_ARGS) {
        fail_msg("%s %s: not refused as InvalidArgsException (%s)", tmpl, api ? api : "",
                 err.message ? err.message : "");
    }
    if (part && !strstr(err.message, part)) {
        fail_msg("%s: message '%s' lacks '%s'", tmpl, err.message, part);
    }
    assert_null(x);
}

static void fixture(fixture_t *f, apr_pool_t *p, const char **exts)
{
    acmpca_err_t err = {0};
    const char *pem = NULL;
    X509_REQ *rootcsr;
    acmpca_issue_t in = {0};
    static const unsigned char serial[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x08};
    csr_spec_t s = {0};

    memset(f, 0, sizeof(*f));
    f->ikey = gen(p, "EC_prime256v1");
    assert_int_equal(acmpca_csr_make(&pem, f->ikey, json(p, "{\"CommonName\":\"Hostile Root\"}"),
                                     NULL, "SHA256WITHECDSA", &err, p),
                     APR_SUCCESS);
    rootcsr = parse_ok(p, pem, strlen(pem), "root CSR");
    in.csr = rootcsr;
    in.issuer_key = f->ikey;
    in.signing_algorithm = "SHA256WITHECDSA";
    in.tmpl = acmpca_template_find(TPL("RootCACertificate/V1"));
    in.serial = serial;
    in.serial_len = sizeof(serial);
    in.not_before = apr_time_now() - DAY;
    in.not_after = apr_time_now() + 365 * DAY;
    assert_int_equal(acmpca_cert_issue(&f->root, &in, &err, p), APR_SUCCESS);
    s.key = gen(p, "EC_prime256v1");
    s.cn = "hostile";
    s.exts = exts;
    f->csr = spec_ok(p, &s, "hostile CSR");
}

static int has(X509 *x, int nid)
{
    return X509_get_ext_by_NID(x, nid, -1) >= 0;
}

static void assert_ee_profile(X509 *x, unsigned int ku, unsigned int xku)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);

    assert_non_null(bc);
    assert_false(bc->ca);
    assert_null(bc->pathlen);
    BASIC_CONSTRAINTS_free(bc);
    assert_int_equal(X509_get_key_usage(x), ku);
    assert_int_equal(X509_get_extended_key_usage(x), xku);
    assert_false(has(x, NID_name_constraints));
    assert_false(has(x, NID_info_access));
    assert_false(has(x, NID_crl_distribution_points));
    assert_false(has(x, NID_policy_constraints));
    assert_int_equal(X509_check_ca(x), 0);
}

/* A CSR asking for everything a requester must not get. */
static const char *everything[] = {
    "basicConstraints:critical,CA:TRUE",
    "keyUsage:critical,keyCertSign,cRLSign,digitalSignature",
    "extendedKeyUsage:codeSigning,OCSPSigning,serverAuth",
    "authorityInfoAccess:OCSP;URI:http://evil.example/ocsp,caIssuers;URI:http://evil.example/ca",
    "crlDistributionPoints:URI:http://evil.example/crl",
    "subjectAltName:DNS:hostile.example",
    NULL,
};

static void test_hostile_csr(void **state)
{
    static const char *nc[] = {"nameConstraints:critical,permitted;DNS:.example", NULL};
    static const char *pc[] = {"policyConstraints:critical,requireExplicitPolicy:0", NULL};
    static const char *unknown_critical[] = {"1.3.6.1.4.1.99999.42:critical,ASN1:NULL", NULL};
    static const char *unknown[] = {"1.3.6.1.4.1.99999.42:ASN1:UTF8String:hello", NULL};
    apr_pool_t *p = *state;
    fixture_t f;
    X509 *x;

    fixture(&f, p, everything);
    /* Base template: only SAN comes from the CSR. */
    x = issue_ok(&f, TPL("EndEntityCertificate/V1"), NULL, p);
    assert_ee_profile(x, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
                      XKU_SSL_SERVER | XKU_SSL_CLIENT);
    assert_true(has(x, NID_subject_alt_name));
    /* CSR passthrough: the template's BC, KU and EKU stand; AIA and CDP are the CA's. */
    x = issue_ok(&f, TPL("EndEntityServerAuthCertificate_CSRPassthrough/V1"), NULL, p);
    assert_ee_profile(x, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, XKU_SSL_SERVER);
    x = issue_ok(&f, TPL("CodeSigningCertificate_APICSRPassthrough/V1"), NULL, p);
    assert_ee_profile(x, KU_DIGITAL_SIGNATURE, XKU_CODE_SIGN);
    /* With a CRL configured, the CDP is the CA's URL, not the CSR's. */
    f.crl_url = "http://ca.example/crl/x.crl";
    x = issue_ok(&f, TPL("EndEntityCertificate_CSRPassthrough/V1"), NULL, p);
    {
        CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
        GENERAL_NAME *gn =
            sk_GENERAL_NAME_value(sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname, 0);

        assert_string_equal(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                            "http://ca.example/crl/x.crl");
        CRL_DIST_POINTS_free(cdp);
    }
    f.crl_url = NULL;
    /* A blank template takes KU from the CSR, and keyCertSign is not for end entities. */
    issue_refused(&f, TPL("BlankEndEntityCertificate_APICSRPassthrough/V1"), NULL, "keyCertSign",
                  p);
    /* ... unless the API's KU wins (API > CSR). */
    x = issue_ok(&f, TPL("BlankEndEntityCertificate_APICSRPassthrough/V1"),
                 "{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":true}}}", p);
    assert_ee_profile(x, KU_DIGITAL_SIGNATURE, XKU_CODE_SIGN | XKU_OCSP_SIGN | XKU_SSL_SERVER);
    /* A subordinate template: CA:TRUE with the template's path length, never the CSR's. */
    x = issue_ok(&f, TPL("SubordinateCACertificate_PathLen1_CSRPassthrough/V1"), NULL, p);
    assert_int_equal(X509_check_ca(x), 1);
    assert_int_equal(X509_get_pathlen(x), 1);
    assert_false(has(x, NID_info_access));
    assert_false(has(x, NID_crl_distribution_points));

    /* Name and policy constraints: CA certificates only (RFC 5280 §4.2.1.10-11). */
    fixture(&f, p, nc);
    x = issue_ok(&f, TPL("EndEntityCertificate/V1"), NULL, p);
    assert_false(has(x, NID_name_constraints));
    issue_refused(&f, TPL("EndEntityCertificate_CSRPassthrough/V1"), NULL, "nameConstraints", p);
    x = issue_ok(&f, TPL("SubordinateCACertificate_PathLen0_CSRPassthrough/V1"), NULL, p);
    assert_true(has(x, NID_name_constraints));
    fixture(&f, p, pc);
    issue_refused(&f, TPL("EndEntityClientAuthCertificate_CSRPassthrough/V1"), NULL, "policy", p);

    /* Unknown extensions: passed through when non-critical, refused when critical. */
    fixture(&f, p, unknown);
    x = issue_ok(&f, TPL("EndEntityCertificate_CSRPassthrough/V1"), NULL, p);
    assert_int_equal(X509_get_ext_count(x), 6); /* BC AKI SKI KU EKU + the unknown */
    fixture(&f, p, unknown_critical);
    x = issue_ok(&f, TPL("EndEntityCertificate/V1"), NULL, p);
    assert_int_equal(X509_get_ext_count(x), 5);
    issue_refused(&f, TPL("EndEntityCertificate_CSRPassthrough/V1"), NULL, "critical", p);
}

static void test_hostile_api(void **state)
{
    static const char *san[] = {"subjectAltName:DNS:csr.example", NULL};
    apr_pool_t *p = *state;
    fixture_t f;
    X509 *x;

    fixture(&f, p, san);
    /* CA-managed extensions as CustomExtensions never come in: CDP (URI
     * http://evil.example/c), AIA (OCSP http://e/o), BasicConstraints CA:TRUE. */
    x = issue_ok(&f, TPL("BlankEndEntityCertificate_APIPassthrough/V1"),
                 "{\"Extensions\":{\"CustomExtensions\":["
                 "{\"ObjectIdentifier\":\"2.5.29.31\",\"Value\":"
                 "\"MB8wHaAboBmGF2h0dHA6Ly9ldmlsLmV4YW1wbGUvY3Js\"},"
                 "{\"ObjectIdentifier\":\"1.3.6.1.5.5.7.1.1\",\"Value\":"
                 "\"MBgwFgYIKwYBBQUHMAGGCmh0dHA6Ly9lL28=\"},"
                 "{\"ObjectIdentifier\":\"2.5.29.19\",\"Value\":\"MAMBAf8=\",\"Critical\":true}]}}",
                 p);
    assert_false(has(x, NID_crl_distribution_points));
    assert_false(has(x, NID_info_access));
    assert_int_equal(X509_check_ca(x), 0);
    /* keyCertSign and name constraints on an end-entity certificate. */
    issue_refused(&f, TPL("BlankEndEntityCertificate_APIPassthrough/V1"),
                  "{\"Extensions\":{\"KeyUsage\":{\"KeyCertSign\":true}}}", "keyCertSign", p);
    issue_refused(&f, TPL("BlankEndEntityCertificate_APIPassthrough/V1"),
                  "{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":\"2.5.29.30\","
                  "\"Value\":\"MBKgEDAOggwuZXhhbXBsZS5jb20=\",\"Critical\":true}]}}",
                  "nameConstraints", p);
    /* A CA certificate without keyCertSign (RFC 5280 §4.2.1.3, §4.2.1.9). */
    issue_refused(&f, TPL("BlankSubordinateCACertificate_PathLen0_APIPassthrough/V1"), NULL,
                  "KeyCertSign", p);
    issue_refused(&f, TPL("BlankSubordinateCACertificate_PathLen0_APIPassthrough/V1"),
                  "{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":true}}}", "KeyCertSign", p);
    /* ... and name constraints, which a CA template may carry. */
    x = issue_ok(&f, TPL("BlankSubordinateCACertificate_PathLen0_APIPassthrough/V1"),
                 "{\"Extensions\":{\"KeyUsage\":{\"KeyCertSign\":true,\"CRLSign\":true},"
                 "\"CustomExtensions\":[{\"ObjectIdentifier\":\"2.5.29.30\","
                 "\"Value\":\"MBKgEDAOggwuZXhhbXBsZS5jb20=\",\"Critical\":true}]}}",
                 p);
    assert_true(has(x, NID_name_constraints));
    assert_int_equal(X509_check_ca(x), 1);
    /* Values that are not one DER element, or not the extension they claim to be. */
    issue_refused(&f, TPL("BlankEndEntityCertificate_APIPassthrough/V1"),
                  "{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":\"1.2.3.4\","
                  "\"Value\":\"BQAF\"}]}}",
                  "DER", p);
    issue_refused(&f, TPL("BlankEndEntityCertificate_APIPassthrough/V1"),
                  "{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":\"2.5.29.15\","
                  "\"Value\":\"BQA=\"}]}}",
                  "DER", p);
}

/* The SAN of the certificate is critical exactly when its subject is empty. */
static void test_san_criticality(void **state)
{
    static const char *san_c[] = {"subjectAltName:critical,DNS:only.example", NULL};
    apr_pool_t *p = *state;
    fixture_t f;
    csr_spec_t s = {0};
    X509 *x;

    fixture(&f, p, NULL);
    s.key = gen(p, "EC_prime256v1");
    s.exts = san_c;
    f.csr = spec_ok(p, &s, "SAN-only CSR");
    x = issue_ok(&f, TPL("EndEntityCertificate/V1"), NULL, p);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
    assert_int_equal(X509_EXTENSION_get_critical(
                         X509_get_ext(x, X509_get_ext_by_NID(x, NID_subject_alt_name, -1))),
                     1);
    x = issue_ok(&f, TPL("EndEntityCertificate_APIPassthrough/V1"),
                 "{\"Subject\":{\"CommonName\":\"api\"}}", p);
    assert_int_equal(X509_EXTENSION_get_critical(
                         X509_get_ext(x, X509_get_ext_by_NID(x, NID_subject_alt_name, -1))),
                     0);
}

/* The lean intake and builder issue what the strict intake and the full builder issue,
 * byte for byte (the signature aside: ECDSA's is randomised), with every template that
 * signs a CSR other than the CA's own, for every key type, or refuse alike. */
static void test_lean_same_certificate(void **state)
{
    static const char *exts[] = {
        "subjectAltName:DNS:lean.example,IP:192.0.2.1",
        "extendedKeyUsage:serverAuth",
        "1.3.6.1.4.1.99999.7:ASN1:UTF8String:passed through",
        NULL,
    };
    static const char *keys[] = {"EC_prime256v1", "EC_secp384r1", "EC_secp521r1", "RSA_2048"};
    static const unsigned char serial[] = {0x5e, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    apr_pool_t *p = *state;
    const acmpca_template_t *t;
    fixture_t f;
    csr_spec_t s = {0};
    size_t k;
    int i, n, len, compared = 0;

    fixture(&f, p, NULL);
    s.cn = "lean";
    s.exts = exts;
    for (k = 0; k < COUNT(keys); k++) {
        unsigned char *der;
        X509_REQ *strict, *lean;
        acmpca_err_t err = {0};

        s.key = gen(p, keys[k]);
        der = csr_der(p, &s, &len);
        strict = parse_ok(p, der, (apr_size_t)len, keys[k]);
        assert_int_equal(acmpca_csr_parse_lean(&lean, der, (apr_size_t)len, &err, p), APR_SUCCESS);
        for (i = 0; (t = acmpca_template_nth(i)) != NULL; i++) {
            acmpca_issue_t in = {0};
            acmpca_err_t e1 = {0}, e2 = {0};
            X509 *full = NULL, *quick = NULL;
            unsigned char *tbs1 = NULL, *tbs2 = NULL;
            apr_status_t rv1, rv2;
            int n1, n2;

            if (t->root) {
                continue; /* self-signs the CA's CSR: always the strict intake */
            }
            in.issuer_key = f.ikey;
            in.issuer_cert = f.root;
            in.signing_algorithm = "SHA256WITHECDSA";
            in.tmpl = t;
            in.serial = serial;
            in.serial_len = sizeof(serial);
            in.not_before = apr_time_from_sec(1767225600);
            in.not_after = in.not_before + 30 * DAY;
            in.crl_url = "http://ca.example/crl/lean.crl";
            in.ocsp_url = "http://ca.example/ocsp";
            in.api_passthrough =
                json(p, t->is_ca ? "{\"Extensions\":{\"KeyUsage\":{\"KeyCertSign\":true}}}"
                                 : "{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":true}}}");
            in.csr = strict;
            rv1 = acmpca_cert_issue(&full, &in, &e1, p);
            in.csr = lean;
            rv2 = acmpca_cert_issue_lean(&quick, &in, &e2, p);
            assert_int_equal(rv2, rv1);
            if (rv1 != APR_SUCCESS) {
                assert_string_equal(e2.message, e1.message);
                continue;
            }
            n1 = i2d_re_X509_tbs(full, &tbs1);
            n2 = i2d_re_X509_tbs(quick, &tbs2);
            if (n1 <= 0 || n1 != n2 || memcmp(tbs1, tbs2, (size_t)n1)) {
                fail_msg("%s with %s: the lean certificate differs", t->name, keys[k]);
            }
            OPENSSL_free(tbs2);
            tbs2 = NULL; /* i2d writes into a buffer it is given */
            assert_int_equal(X509_verify(quick, f.ikey), 1);
            /* IssueCertificate's own call: the PEM it hands back (made from the encoding
             * it signed, whichever builder wrote it) holds the same TBSCertificate, and
             * verifies. */
            {
                const char *pem = NULL;
                X509 *back = NULL;
                acmpca_cert_info_t info;
                acmpca_err_t e3 = {0};

                in.csr = lean;
                assert_int_equal(acmpca_cert_issue_pem(&info, &pem, &in, &e3, p), APR_SUCCESS);
                assert_int_equal(
                    acmpca_cert_parse(&back, (const unsigned char *)pem, strlen(pem), &e3, p),
                    APR_SUCCESS);
                assert_string_equal(pem, acmpca_cert_pem(back, p));
                assert_int_equal(X509_verify(back, f.ikey), 1);
                n2 = i2d_re_X509_tbs(back, &tbs2);
                if (n1 != n2 || memcmp(tbs1, tbs2, (size_t)n1)) {
                    fail_msg("%s with %s: the issued PEM differs", t->name, keys[k]);
                }
                OPENSSL_free(tbs2);
            }
            OPENSSL_free(tbs1);
            compared++;
        }
    }
    /* Most templates issue here; the refusals (keyCertSign) were compared too. */
    for (n = 0; acmpca_template_nth(n); n++) {
    }
    assert_true(compared >= (int)COUNT(keys) * (n / 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_framing),
        UNIT_TEST(test_signature_and_key),
        UNIT_TEST(test_ec_points),
        UNIT_TEST(test_lean_key_replaced),
        UNIT_TEST(test_bad_signature),
        UNIT_TEST(test_extensions),
        UNIT_TEST(test_subject_text),
        UNIT_TEST(test_hostile_csr),
        UNIT_TEST(test_hostile_api),
        UNIT_TEST(test_san_criticality),
        UNIT_TEST(test_lean_same_certificate),
    };

    return cmocka_run_group_tests_name("intake", tests, unit_group_setup, unit_group_teardown);
}
