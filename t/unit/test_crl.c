/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of src/x509/crl.c: CRLs as RFC 5280 §5 and PCA-API.md §7.4 describe them,
 * read back with OpenSSL's own decoder. */
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit.h"

#include "acmpca/err.h"
#include "acmpca/x509.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SEC(n)   apr_time_from_sec(n)

/* ******************************************************************************** */
/* Helpers                                                                           */
/* ******************************************************************************** */

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t crl_cleanup(void *data)
{
    X509_CRL_free(data);
    return APR_SUCCESS;
}

static EVP_PKEY *gen(apr_pool_t *p, const char *alg)
{
    acmpca_err_t err = {0};
    EVP_PKEY *key = NULL;

    assert_int_equal(acmpca_key_generate(&key, alg, &err, p), APR_SUCCESS);
    return key;
}

/* A self-signed CA certificate; with_ski = 0 leaves the SKI out (an imported CA may
 * lack one). The subject mixes string types so that a re-encoded issuer would differ. */
static X509 *ca_cert(apr_pool_t *p, EVP_PKEY *key, int with_ski)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_get_subject_name(x);
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    apr_pool_cleanup_register(p, x, x509_cleanup, apr_pool_cleanup_null);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Ex\xc3\xa4mple",
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_PRINTABLESTRING,
                               (const unsigned char *)"CRL Test CA", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 365 * 86400L);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (with_ski) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

typedef struct entry_t {
    const char *serial;
    long revoked; /* seconds since the epoch */
    int reason;
} entry_t;

typedef struct entries_t {
    const entry_t *list;
    size_t n;
    long generated; /* > 0: that many generated entries instead of list */
    apr_status_t fail_with;
} entries_t;

static apr_status_t entries_cb(void *baton, acmpca_crl_emit_fn *emit, void *emit_baton)
{
    entries_t *e = baton;
    char serial[40];
    apr_status_t rv;
    size_t i;

    for (i = 0; i < e->n; i++) {
        if ((rv = emit(emit_baton, e->list[i].serial, SEC(e->list[i].revoked), e->list[i].reason))
            != APR_SUCCESS) {
            return rv;
        }
    }
    for (i = 0; i < (size_t)e->generated; i++) {
        snprintf(serial, sizeof(serial), "%02x%030zx", 0x40 | (unsigned)(i % 64), i);
        if ((rv = emit(emit_baton, serial, SEC(1700000000 + (long)i), (int)(i % 6)))
            != APR_SUCCESS) {
            return rv;
        }
    }
    return e->fail_with;
}

static X509_CRL *build(apr_pool_t *p, X509 *ca, EVP_PKEY *key, const char *sigalg,
                       apr_int64_t number, entries_t *e, const unsigned char **pder,
                       apr_size_t *plen)
{
    acmpca_crl_params_t in = {
        ca, key, sigalg, number, SEC(1750000000), SEC(1750000000 + 7 * 86400)};
    const unsigned char *der = NULL, *pp;
    apr_size_t len = 0, count = 0;
    X509_CRL *crl;

    assert_int_equal(acmpca_crl_build(&der, &len, &count, &in, entries_cb, e, p), APR_SUCCESS);
    assert_non_null(der);
    assert_int_equal(count, e->n + (size_t)e->generated);
    pp = der;
    crl = d2i_X509_CRL(NULL, &pp, (long)len);
    assert_non_null(crl);
    apr_pool_cleanup_register(p, crl, crl_cleanup, apr_pool_cleanup_null);
    assert_ptr_equal(pp, der + len); /* exactly one CRL, nothing after */
    if (pder) {
        *pder = der;
        *plen = len;
    }
    return crl;
}

static long as_epoch(const ASN1_TIME *t)
{
    struct tm tm;

    assert_true(ASN1_TIME_to_tm(t, &tm));
    return (long)timegm(&tm);
}

static void assert_bytes_equal(const unsigned char *a, int alen, const unsigned char *b, int blen)
{
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, (size_t)alen);
}

static void assert_issuer_identical(X509_CRL *crl, X509 *ca)
{
    unsigned char *a = NULL, *b = NULL;
    int alen = i2d_X509_NAME(X509_CRL_get_issuer(crl), &a);
    int blen = i2d_X509_NAME(X509_get_subject_name(ca), &b);

    assert_bytes_equal(a, alen, b, blen);
    OPENSSL_free(a);
    OPENSSL_free(b);
}

static int entry_reason(X509_REVOKED *r)
{
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
    int reason = e ? (int)ASN1_ENUMERATED_get(e) : ACMPCA_REASON_NONE;

    ASN1_ENUMERATED_free(e);
    return reason;
}

static const char *entry_serial(X509_REVOKED *r, apr_pool_t *p)
{
    const ASN1_INTEGER *s = X509_REVOKED_get0_serialNumber(r);
    BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
    char *hex = BN_bn2hex(bn);
    const char *out = apr_pstrdup(p, hex);
    char *c;

    for (c = (char *)out; *c; c++) {
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

/* ******************************************************************************** */
/* Tests                                                                             */
/* ******************************************************************************** */

/* RFC 5280 §5.1: v2, issuer, times, AKI = the CA's SKI, cRLNumber; no list when empty. */
static void test_crl_empty(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *ca = ca_cert(p, key, 1);
    entries_t e = {NULL, 0, 0, APR_SUCCESS};
    X509_CRL *crl = build(p, ca, key, "SHA256WITHECDSA", 42, &e, NULL, NULL);
    ASN1_INTEGER *num;
    AUTHORITY_KEYID *akid;
    int crit = -1;

    assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    assert_int_equal(X509_CRL_verify(crl, key), 1);
    assert_int_equal(X509_CRL_get_signature_nid(crl), NID_ecdsa_with_SHA256);
    assert_issuer_identical(crl, ca);
    assert_int_equal(as_epoch(X509_CRL_get0_lastUpdate(crl)), 1750000000);
    assert_int_equal(as_epoch(X509_CRL_get0_nextUpdate(crl)), 1750000000 + 7 * 86400);
    assert_null(X509_CRL_get_REVOKED(crl) ? sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0)
                                          : NULL);
    num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
    assert_non_null(num);
    assert_int_equal(crit, 0);
    assert_int_equal(ASN1_INTEGER_get(num), 42);
    ASN1_INTEGER_free(num);
    akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
    assert_non_null(akid);
    assert_int_equal(crit, 0);
    assert_int_equal(ASN1_STRING_cmp(akid->keyid, X509_get0_subject_key_id(ca)), 0);
    AUTHORITY_KEYID_free(akid);
    assert_int_equal(X509_CRL_get_ext_count(crl), 2);
}

/* Entries: serials as written, times, reasonCode only when a reason is given (UNSPECIFIED
 * leaves it out, PCA-API.md §7.4), never critical; GeneralizedTime from 2050. */
static void test_crl_entries(void **state)
{
    static const entry_t list[] = {
        {"4a3f00112233445566778899aabbccdd", 1700000000, 1}, /* keyCompromise */
        {"ff", 1700000001, 2},                               /* high bit: 00 ff */
        {"abc", 1700000002, 3},                              /* odd length */
        {"00000102", 1700000003, 4},                         /* leading zero octets */
        {"0102", 1700000004, 5},
        {"7e", 1700000005, 9},
        {"7d", 1700000006, 10},
        {"7c", 1700000007, ACMPCA_REASON_NONE},
        {"7b", 2600000000L, 1}, /* 2052: GeneralizedTime */
    };
    static const char *const want_serial[] = {
        "4a3f00112233445566778899aabbccdd", "ff", "0abc", "0102", "0102", "7e", "7d", "7c", "7b"};
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_secp384r1");
    X509 *ca = ca_cert(p, key, 1);
    entries_t e = {list, COUNT(list), 0, APR_SUCCESS};
    X509_CRL *crl = build(p, ca, key, "SHA384WITHECDSA", 1, &e, NULL, NULL);
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    size_t i;

    assert_int_equal(X509_CRL_verify(crl, key), 1);
    assert_int_equal(X509_CRL_get_signature_nid(crl), NID_ecdsa_with_SHA384);
    assert_int_equal(sk_X509_REVOKED_num(revoked), (int)COUNT(list));
    for (i = 0; i < COUNT(list); i++) {
        X509_REVOKED *r = sk_X509_REVOKED_value(revoked, (int)i);
        const ASN1_TIME *t = X509_REVOKED_get0_revocationDate(r);
        int crit = -1;
        ASN1_ENUMERATED *re = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);

        assert_string_equal(entry_serial(r, p), want_serial[i]);
        assert_int_equal(as_epoch(t), list[i].revoked);
        assert_int_equal(ASN1_STRING_type(t),
                         list[i].revoked < 2524608000L ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME);
        assert_int_equal(entry_reason(r), list[i].reason);
        if (re) {
            assert_int_equal(crit, 0);
        }
        ASN1_ENUMERATED_free(re);
    }
}

/* revocationDate for times around the edges of the calendar arithmetic (before 1970,
 * the UTCTime/GeneralizedTime switches of 1950 and 2050, leap days, 2100 which is not a
 * leap year, the last second of 9999): the same text and type as OpenSSL's own
 * ASN1_TIME_set, which picks the form RFC 5280 wants. */
static void test_crl_times(void **state)
{
    static const long times[] = {
        -631152001L, -631152000L, -473385600L, -1L,         0L,          951782400L,    951868799L,
        1709251199L, 2524607999L, 2524608000L, 4107542400L, 4107628799L, 253402300799L,
    };
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *ca = ca_cert(p, key, 1);
    entry_t list[COUNT(times)];
    entries_t e = {list, COUNT(list), 0, APR_SUCCESS};
    STACK_OF(X509_REVOKED) * revoked;
    X509_CRL *crl;
    size_t i;

    for (i = 0; i < COUNT(times); i++) {
        list[i].serial = apr_psprintf(p, "%02x", (unsigned)(i + 1));
        list[i].revoked = times[i];
        list[i].reason = 1;
    }
    crl = build(p, ca, key, "SHA256WITHECDSA", 1, &e, NULL, NULL);
    revoked = X509_CRL_get_REVOKED(crl);
    for (i = 0; i < COUNT(times); i++) {
        const ASN1_TIME *got =
            X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(revoked, (int)i));
        ASN1_TIME *want = ASN1_TIME_set(NULL, (time_t)times[i]);

        assert_non_null(want);
        assert_int_equal(ASN1_STRING_type(got), ASN1_STRING_type(want));
        assert_string_equal(apr_pstrmemdup(p, (const char *)ASN1_STRING_get0_data(got),
                                           (apr_size_t)ASN1_STRING_length(got)),
                            apr_pstrmemdup(p, (const char *)ASN1_STRING_get0_data(want),
                                           (apr_size_t)ASN1_STRING_length(want)));
        ASN1_TIME_free(want);
    }
}

/* The signature algorithm follows the CA's SigningAlgorithm (RSA variants). */
static void test_crl_rsa(void **state)
{
    static const struct {
        const char *alg;
        int nid;
    } algs[] = {{"SHA256WITHRSA", NID_sha256WithRSAEncryption},
                {"SHA384WITHRSA", NID_sha384WithRSAEncryption},
                {"SHA512WITHRSA", NID_sha512WithRSAEncryption}};
    static const entry_t one[] = {{"01", 1700000000, 4}};
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "RSA_2048");
    X509 *ca = ca_cert(p, key, 1);
    size_t i;

    for (i = 0; i < COUNT(algs); i++) {
        entries_t e = {one, 1, 0, APR_SUCCESS};
        X509_CRL *crl = build(p, ca, key, algs[i].alg, (apr_int64_t)i + 1, &e, NULL, NULL);

        assert_int_equal(X509_CRL_get_signature_nid(crl), algs[i].nid);
        assert_int_equal(X509_CRL_verify(crl, key), 1);
        assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
    }
}

/* A CA certificate without SKI: AKI is the method-1 id of its key. */
static void test_crl_aki_without_ski(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *ca = ca_cert(p, key, 0);
    entries_t e = {NULL, 0, 0, APR_SUCCESS};
    X509_CRL *crl = build(p, ca, key, "SHA256WITHECDSA", 7, &e, NULL, NULL);
    AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    assert_null(X509_get0_subject_key_id(ca));
    assert_true(X509_pubkey_digest(ca, EVP_sha1(), md, &n));
    assert_non_null(akid);
    assert_bytes_equal(ASN1_STRING_get0_data(akid->keyid), ASN1_STRING_length(akid->keyid), md,
                       (int)n);
    AUTHORITY_KEYID_free(akid);
}

/* Big CRL numbers (AWS uses epoch milliseconds) encode as INTEGERs beyond 32 bits. */
static void test_crl_big_number(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *ca = ca_cert(p, key, 1);
    entries_t e = {NULL, 0, 0, APR_SUCCESS};
    X509_CRL *crl = build(p, ca, key, "SHA512WITHECDSA", 1764427980123LL, &e, NULL, NULL);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    int64_t v = 0;

    assert_true(ASN1_INTEGER_get_int64(&v, num));
    assert_true(v == 1764427980123LL);
    ASN1_INTEGER_free(num);
}

/* Bounded memory: 200,000 entries cost their DER bytes (no more than ~45 each), and the
 * result still decodes and verifies. */
static void test_crl_many(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *ca = ca_cert(p, key, 1);
    entries_t e = {NULL, 0, 200000, APR_SUCCESS};
    const unsigned char *der = NULL;
    apr_size_t len = 0;
    X509_CRL *crl = build(p, ca, key, "SHA256WITHECDSA", 9, &e, &der, &len);
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);

    assert_int_equal(sk_X509_REVOKED_num(revoked), 200000);
    assert_true(len < 200000 * 50 + 1024);
    assert_int_equal(X509_CRL_verify(crl, key), 1);
    assert_string_equal(entry_serial(sk_X509_REVOKED_value(revoked, 199999), p),
                        apr_psprintf(p, "%02x%030x", 0x40 | (199999 % 64), 199999));
    assert_int_equal(entry_reason(sk_X509_REVOKED_value(revoked, 6)), ACMPCA_REASON_NONE);
    assert_int_equal(entry_reason(sk_X509_REVOKED_value(revoked, 7)), 1);
}

static void test_crl_errors(void **state)
{
    static const entry_t bad_hex[] = {{"12zz", 1700000000, 1}};
    static const entry_t empty[] = {{"", 1700000000, 1}};
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *ca = ca_cert(p, key, 1);
    acmpca_crl_params_t in = {ca, key, "SHA256WITHECDSA", 1, SEC(1750000000), SEC(1750086400)};
    const unsigned char *der = (const unsigned char *)"x";
    apr_size_t len = 1;
    entries_t e1 = {bad_hex, 1, 0, APR_SUCCESS}, e2 = {empty, 1, 0, APR_SUCCESS};
    entries_t e3 = {NULL, 0, 5, APR_EOF};

    assert_int_equal(acmpca_crl_build(&der, &len, NULL, &in, entries_cb, &e1, p), APR_EINVAL);
    assert_null(der);
    assert_int_equal(len, 0);
    assert_int_equal(acmpca_crl_build(&der, &len, NULL, &in, entries_cb, &e2, p), APR_EINVAL);
    /* the stream's own failure comes back as it is */
    assert_int_equal(acmpca_crl_build(&der, &len, NULL, &in, entries_cb, &e3, p), APR_EOF);
    /* algorithms the module cannot sign with */
    in.signing_algorithm = "SM3WITHSM2";
    assert_int_equal(acmpca_crl_build(&der, &len, NULL, &in, NULL, NULL, p), APR_EINVAL);
    in.signing_algorithm = "NOPE";
    assert_int_equal(acmpca_crl_build(&der, &len, NULL, &in, NULL, NULL, p), APR_EINVAL);
}

static void test_crl_next_update(void **state)
{
    static const entry_t one[] = {{"01", 1700000000, 1}};
    static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *ca = ca_cert(p, key, 1);
    entries_t e = {one, 1, 0, APR_SUCCESS};
    const unsigned char *der = NULL;
    apr_size_t len = 0;

    build(p, ca, key, "SHA256WITHECDSA", 3, &e, &der, &len);
    assert_true(acmpca_crl_next_update(der, len) == SEC(1750000000 + 7 * 86400));
    assert_true(acmpca_crl_next_update(der, len / 2) == 0);
    assert_true(acmpca_crl_next_update(junk, sizeof(junk)) == 0);
    assert_true(acmpca_crl_next_update((const unsigned char *)"", 0) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_crl_empty),      UNIT_TEST(test_crl_entries),
        UNIT_TEST(test_crl_rsa),        UNIT_TEST(test_crl_aki_without_ski),
        UNIT_TEST(test_crl_big_number), UNIT_TEST(test_crl_many),
        UNIT_TEST(test_crl_errors),     UNIT_TEST(test_crl_next_update),
        UNIT_TEST(test_crl_times),
    };

    return cmocka_run_group_tests_name("crl", tests, unit_group_setup, unit_group_teardown);
}
