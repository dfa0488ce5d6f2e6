/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of src/x509/ocsp.c: requests as OpenSSL's client makes them, responses
 * checked with OpenSSL's own verifier (RFC 6960); and of the responses src/ops/ocsp_cache.c
 * reuses. */
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit.h"

#include "acmpca/err.h"
#include "acmpca/x509.h"
#include "../../src/ops/ops_int.h"

#define SEC(n) apr_time_from_sec(n)

/* ******************************************************************************** */
/* Helpers                                                                           */
/* ******************************************************************************** */

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static EVP_PKEY *gen(apr_pool_t *p, const char *alg)
{
    acmpca_err_t err = {0};
    EVP_PKEY *key = NULL;

    assert_int_equal(acmpca_key_generate(&key, alg, &err, p), APR_SUCCESS);
    return key;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed CA). */
static X509 *make_cert(apr_pool_t *p, EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
                       EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();

    apr_pool_cleanup_register(p, x, x509_cleanup, apr_pool_cleanup_null);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400L);
    X509_set_pubkey(x, key);
    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    if (!issuer) {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    }
    assert_true(X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

typedef struct pki_t {
    EVP_PKEY *ca_key, *other_key;
    X509 *ca, *other_ca, *leaf1, *leaf2, *leaf3;
} pki_t;

static void make_pki(pki_t *k, apr_pool_t *p)
{
    EVP_PKEY *leaf_key = gen(p, "EC_prime256v1");

    k->ca_key = gen(p, "EC_prime256v1");
    k->other_key = gen(p, "EC_prime256v1");
    k->ca = make_cert(p, k->ca_key, "OCSP Test CA", 1, NULL, NULL);
    /* Same name, other key: the key hash must tell them apart. */
    k->other_ca = make_cert(p, k->other_key, "OCSP Test CA", 1, NULL, NULL);
    k->leaf1 = make_cert(p, leaf_key, "leaf 1", 0x1001, k->ca, k->ca_key);
    k->leaf2 = make_cert(p, leaf_key, "leaf 2", 0x4a3f0011L, k->ca, k->ca_key);
    k->leaf3 = make_cert(p, leaf_key, "leaf 3", 0x80, k->ca, k->ca_key);
}

/* A request as `openssl ocsp` makes it: CertIDs, optionally a nonce; DER in p. */
static const unsigned char *make_request(apr_pool_t *p, apr_size_t *plen, X509 *issuer,
                                         X509 *const *certs, int n, const EVP_MD *md, int nonce)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    unsigned char *der = NULL;
    const unsigned char *out;
    int i, len;

    for (i = 0; i < n; i++) {
        OCSP_CERTID *id = OCSP_cert_to_id(md, certs[i], issuer);
        assert_non_null(OCSP_request_add0_id(req, id));
    }
    if (nonce) {
        assert_int_equal(OCSP_request_add1_nonce(req, NULL, -1), 1);
    }
    len = i2d_OCSP_REQUEST(req, &der);
    assert_true(len > 0);
    out = apr_pmemdup(p, der, (apr_size_t)len);
    OPENSSL_free(der);
    OCSP_REQUEST_free(req);
    *plen = (apr_size_t)len;
    return out;
}

static acmpca_ocsp_req_t *parse_ok(apr_pool_t *p, const unsigned char *der, apr_size_t len)
{
    acmpca_ocsp_req_t *req = NULL;

    assert_int_equal(acmpca_ocsp_parse(&req, der, len, p), APR_SUCCESS);
    assert_non_null(req);
    return req;
}

static OCSP_RESPONSE *decode(const unsigned char *der, apr_size_t len)
{
    const unsigned char *pp = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &pp, (long)len);

    assert_non_null(resp);
    assert_ptr_equal(pp, der + len);
    return resp;
}

/* ******************************************************************************** */
/* Tests                                                                             */
/* ******************************************************************************** */

static void test_ocsp_parse(void **state)
{
    apr_pool_t *p = *state;
    pki_t k;
    X509 *certs[3];
    apr_size_t len;
    const unsigned char *der;
    acmpca_ocsp_req_t *req;

    make_pki(&k, p);
    certs[0] = k.leaf1;
    certs[1] = k.leaf2;
    certs[2] = k.leaf3;
    der = make_request(p, &len, k.ca, certs, 3, NULL, 1);
    req = parse_ok(p, der, len);
    assert_int_equal(acmpca_ocsp_count(req), 3);
    assert_string_equal(acmpca_ocsp_serial(req, 0, p), "1001");
    assert_string_equal(acmpca_ocsp_serial(req, 1, p), "4a3f0011");
    assert_string_equal(acmpca_ocsp_serial(req, 2, p), "80");
    assert_true(acmpca_ocsp_issued_by(req, 0, k.ca));
    assert_false(acmpca_ocsp_issued_by(req, 0, k.other_ca));
    assert_false(acmpca_ocsp_issued_by(req, 0, k.leaf1));
    /* one issuer key, one id; SHA-1 by OID */
    assert_string_equal(acmpca_ocsp_issuer_id(req, 0, p), acmpca_ocsp_issuer_id(req, 2, p));
    assert_int_equal(strncmp(acmpca_ocsp_issuer_id(req, 0, p), "1.3.14.3.2.26:", 14), 0);
    assert_int_equal(strlen(acmpca_ocsp_issuer_id(req, 0, p)), 14 + 40);

    /* CertIDs hashed with SHA-256 (RFC 6960 allows any hash) match as well. */
    der = make_request(p, &len, k.ca, certs, 1, EVP_sha256(), 0);
    req = parse_ok(p, der, len);
    assert_true(acmpca_ocsp_issued_by(req, 0, k.ca));
    assert_false(acmpca_ocsp_issued_by(req, 0, k.other_ca));
    assert_int_equal(strncmp(acmpca_ocsp_issuer_id(req, 0, p), "2.16.840.1.101.3.4.2.1:", 23), 0);
}

/* malformedRequest for anything that is not exactly one OCSPRequest, never a crash. */
static void test_ocsp_malformed(void **state)
{
    apr_pool_t *p = *state;
    pki_t k;
    X509 *certs[1];
    apr_size_t len, i;
    const unsigned char *der;
    unsigned char *bad;
    acmpca_ocsp_req_t *req = NULL;
    unsigned char noise[512];
    OCSP_RESPONSE *resp;

    make_pki(&k, p);
    certs[0] = k.leaf1;
    der = make_request(p, &len, k.ca, certs, 1, NULL, 1);
    assert_int_equal(acmpca_ocsp_parse(&req, (const unsigned char *)"", 0, p), APR_EINVAL);
    assert_int_equal(acmpca_ocsp_parse(&req, (const unsigned char *)"hello", 5, p), APR_EINVAL);
    assert_null(req);
    /* truncated at every length, and with a byte too many */
    for (i = 0; i < len; i++) {
        assert_int_equal(acmpca_ocsp_parse(&req, der, i, p), APR_EINVAL);
    }
    bad = apr_palloc(p, len + 1);
    memcpy(bad, der, len);
    bad[len] = 0;
    assert_int_equal(acmpca_ocsp_parse(&req, bad, len + 1, p), APR_EINVAL);
    /* every single-byte corruption either parses or is refused */
    for (i = 0; i < len; i++) {
        memcpy(bad, der, len);
        bad[i] ^= 0x5a;
        if (acmpca_ocsp_parse(&req, bad, len, p) == APR_SUCCESS) {
            (void)acmpca_ocsp_serial(req, 0, p);
            (void)acmpca_ocsp_issued_by(req, 0, k.ca);
        }
    }
    for (i = 0; i < 200; i++) {
        assert_int_equal(RAND_bytes(noise, sizeof(noise)), 1);
        noise[0] = 0x30;
        (void)acmpca_ocsp_parse(&req, noise, (apr_size_t)(i + 2) % sizeof(noise), p);
    }

    assert_int_equal(acmpca_ocsp_error(&der, &len, ACMPCA_OCSP_MALFORMED_REQUEST, p), APR_SUCCESS);
    resp = decode(der, len);
    assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    assert_null(OCSP_response_get1_basic(resp));
    OCSP_RESPONSE_free(resp);
    assert_int_equal(acmpca_ocsp_error(&der, &len, ACMPCA_OCSP_UNAUTHORIZED, p), APR_SUCCESS);
    resp = decode(der, len);
    assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
    OCSP_RESPONSE_free(resp);
}

static void check_response(pki_t *k, const unsigned char *der, apr_size_t len, X509 *const *certs,
                           const acmpca_ocsp_status_t *want, int n, int nonce, int sig_nid)
{
    OCSP_RESPONSE *resp = decode(der, len);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
    STACK_OF(X509) *trusted = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    const ASN1_OCTET_STRING *keyid = NULL;
    const X509_NAME *byname = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int i;

    assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    assert_non_null(bs);
    assert_int_equal(OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(bs)->algorithm), sig_nid);
    /* signed by the CA: verifies with the CA as the only trusted certificate */
    sk_X509_push(trusted, k->ca);
    X509_STORE_add_cert(store, k->ca);
    assert_int_equal(OCSP_basic_verify(bs, trusted, store, OCSP_TRUSTOTHER), 1);
    /* ... and not with a CA of the same name but another key */
    sk_X509_pop(trusted);
    sk_X509_push(trusted, k->other_ca);
    assert_true(OCSP_basic_verify(bs, trusted, NULL, OCSP_TRUSTOTHER | OCSP_NOVERIFY) <= 0);
    /* ResponderID byKey: SHA-1 of the CA's key */
    assert_int_equal(OCSP_resp_get0_id(bs, &keyid, &byname), 1);
    assert_null(byname);
    assert_true(X509_pubkey_digest(k->ca, EVP_sha1(), md, &mdlen));
    assert_int_equal(ASN1_STRING_length(keyid), (int)mdlen);
    assert_memory_equal(ASN1_STRING_get0_data(keyid), md, mdlen);
    assert_int_equal(OCSP_resp_get0_certs(bs) ? sk_X509_num(OCSP_resp_get0_certs(bs)) : 0, 0);

    for (i = 0; i < n; i++) {
        OCSP_CERTID *id = OCSP_cert_to_id(NULL, certs[i], k->ca);
        ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
        int status = -1, reason = -2;
        struct tm tm;

        assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd),
                         1);
        assert_int_equal(status, want[i].status);
        assert_int_equal(OCSP_check_validity(thisupd, nextupd, 300, -1), 1);
        if (want[i].status == ACMPCA_OCSP_REVOKED) {
            assert_non_null(rev);
            assert_true(ASN1_TIME_to_tm(rev, &tm));
            assert_int_equal((long)timegm(&tm), (long)apr_time_sec(want[i].revoked_at));
            assert_int_equal(reason, want[i].reason >= 1 ? want[i].reason : -1);
        }
        OCSP_CERTID_free(id);
    }
    (void)nonce;
    sk_X509_free(trusted);
    X509_STORE_free(store);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
}

/* good, revoked (time and reason), unknown; the nonce comes back. */
static void test_ocsp_respond(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = SEC((long)time(NULL));
    pki_t k;
    X509 *certs[3];
    acmpca_ocsp_status_t st[3] = {{ACMPCA_OCSP_GOOD, 0, 0},
                                  {ACMPCA_OCSP_REVOKED, SEC(1700000000), 1},
                                  {ACMPCA_OCSP_UNKNOWN, 0, 0}};
    acmpca_ocsp_signer_t signer;
    const unsigned char *der, *rder;
    apr_size_t len, rlen;
    acmpca_ocsp_req_t *req;
    OCSP_REQUEST *oreq;
    OCSP_RESPONSE *resp;
    OCSP_BASICRESP *bs;
    const unsigned char *pp;

    make_pki(&k, p);
    certs[0] = k.leaf1;
    certs[1] = k.leaf2;
    certs[2] = k.leaf3;
    signer.ca_cert = k.ca;
    signer.ca_key = k.ca_key;
    signer.signing_algorithm = "SHA384WITHECDSA";
    signer.this_update = now;
    signer.next_update = now + SEC(3600);

    der = make_request(p, &len, k.ca, certs, 3, NULL, 1);
    req = parse_ok(p, der, len);
    assert_int_equal(acmpca_ocsp_respond(&rder, &rlen, req, st, &signer, p), APR_SUCCESS);
    check_response(&k, rder, rlen, certs, st, 3, 1, NID_ecdsa_with_SHA384);

    /* nonce echoed */
    pp = der;
    oreq = d2i_OCSP_REQUEST(NULL, &pp, (long)len);
    resp = decode(rder, rlen);
    bs = OCSP_response_get1_basic(resp);
    assert_int_equal(OCSP_check_nonce(oreq, bs), 1);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(oreq);

    /* no nonce asked, none sent; revoked without a reason (UNSPECIFIED) */
    st[1].reason = ACMPCA_REASON_NONE;
    der = make_request(p, &len, k.ca, certs, 2, NULL, 0);
    req = parse_ok(p, der, len);
    assert_int_equal(acmpca_ocsp_respond(&rder, &rlen, req, st, &signer, p), APR_SUCCESS);
    check_response(&k, rder, rlen, certs, st, 2, 0, NID_ecdsa_with_SHA384);
    pp = der;
    oreq = d2i_OCSP_REQUEST(NULL, &pp, (long)len);
    resp = decode(rder, rlen);
    bs = OCSP_response_get1_basic(resp);
    assert_int_equal(OCSP_check_nonce(oreq, bs), 2);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(oreq);
}

/* An RSA CA signs with its own SigningAlgorithm. */
static void test_ocsp_rsa(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = SEC((long)time(NULL));
    pki_t k;
    X509 *certs[1];
    acmpca_ocsp_status_t st[1] = {{ACMPCA_OCSP_REVOKED, SEC(1600000000), 4}};
    acmpca_ocsp_signer_t signer;
    const unsigned char *der, *rder;
    apr_size_t len, rlen;
    EVP_PKEY *leaf_key = gen(p, "EC_prime256v1");

    k.ca_key = gen(p, "RSA_2048");
    k.other_key = gen(p, "RSA_2048");
    k.ca = make_cert(p, k.ca_key, "RSA CA", 1, NULL, NULL);
    k.other_ca = make_cert(p, k.other_key, "RSA CA", 1, NULL, NULL);
    certs[0] = make_cert(p, leaf_key, "leaf", 77, k.ca, k.ca_key);
    signer.ca_cert = k.ca;
    signer.ca_key = k.ca_key;
    signer.signing_algorithm = "SHA512WITHRSA";
    signer.this_update = now;
    signer.next_update = now + SEC(600);
    der = make_request(p, &len, k.ca, certs, 1, NULL, 1);
    assert_int_equal(acmpca_ocsp_respond(&rder, &rlen, parse_ok(p, der, len), st, &signer, p),
                     APR_SUCCESS);
    check_response(&k, rder, rlen, certs, st, 1, 1, NID_sha512WithRSAEncryption);
    /* a SigningAlgorithm the module cannot sign with */
    signer.signing_algorithm = "SM3WITHSM2";
    assert_int_not_equal(acmpca_ocsp_respond(&rder, &rlen, parse_ok(p, der, len), st, &signer, p),
                         APR_SUCCESS);
}

/* The responses reused by src/ops/ocsp_cache.c: a hit only for the same request, CA
 * version and status, within ACMPCA_OCSP_REUSE; requests that may not be cached never
 * are. */
static void test_ocsp_cache(void **state)
{
    apr_pool_t *p = *state;
    static const unsigned char req[] = "a DER request, as far as the cache cares";
    static const unsigned char resp[] = "its signed response";
    acmpca_ocsp_reply_t signed_reply = {resp, sizeof(resp), 0, 0}, got;
    acmpca_ocsp_cache_key_t k = {
        req,   sizeof(req), &k, "6f1c3b2e-0000-4000-8000-000000000001", 7, {ACMPCA_OCSP_GOOD, 0, 0},
        "7a5c"};
    acmpca_ocsp_cache_key_t other, seen;
    apr_time_t t0 = SEC(1800000000);

    signed_reply.next_update = t0 + SEC(3600);
    assert_false(acmpca_ocsp_cache_get(&got, &k, t0, p));
    acmpca_ocsp_cache_put(&k, &signed_reply, t0);
    assert_true(acmpca_ocsp_cache_get(&got, &k, t0 + SEC(1), p));
    assert_int_equal(got.len, sizeof(resp));
    assert_memory_equal(got.der, resp, sizeof(resp));
    assert_true(got.next_update == signed_reply.next_update);
    /* peek: by the bytes alone, with what the response was made from (for the caller to
     * check against the store) */
    assert_true(acmpca_ocsp_cache_peek(&seen, &got, &k, req, sizeof(req), t0 + SEC(1), p));
    assert_memory_equal(got.der, resp, sizeof(resp));
    assert_string_equal(seen.ca_id, k.ca_id);
    assert_string_equal(seen.serial, "7a5c");
    assert_true(seen.ca_version == 7 && seen.st.status == ACMPCA_OCSP_GOOD);
    assert_false(acmpca_ocsp_cache_peek(&seen, &got, &other, req, sizeof(req), t0 + SEC(1), p));
    assert_false(acmpca_ocsp_cache_peek(&seen, &got, &k, req, sizeof(req) - 1, t0 + SEC(1), p));
    /* too old to hand out again, or from before it was signed */
    assert_false(acmpca_ocsp_cache_get(&got, &k, t0 + ACMPCA_OCSP_REUSE, p));
    assert_false(acmpca_ocsp_cache_get(&got, &k, t0 - SEC(1), p));
    assert_false(
        acmpca_ocsp_cache_peek(&seen, &got, &k, req, sizeof(req), t0 + ACMPCA_OCSP_REUSE, p));
    /* the certificate was revoked meanwhile: the status read from the store differs */
    other = k;
    other.st.status = ACMPCA_OCSP_REVOKED;
    other.st.revoked_at = t0;
    assert_false(acmpca_ocsp_cache_get(&got, &other, t0 + SEC(1), p));
    /* the CA changed (new version), or another store */
    other = k;
    other.ca_version = 8;
    assert_false(acmpca_ocsp_cache_get(&got, &other, t0 + SEC(1), p));
    other = k;
    other.store = &other;
    assert_false(acmpca_ocsp_cache_get(&got, &other, t0 + SEC(1), p));
    /* a request with a nonce (the responder passes no bytes): never kept, never found */
    other = k;
    other.req_len = 0;
    acmpca_ocsp_cache_put(&other, &signed_reply, t0);
    assert_false(acmpca_ocsp_cache_get(&got, &other, t0 + SEC(1), p));
    /* no serial remembered: found by get (the responder parsed the request), never peeked */
    other = k;
    other.serial = NULL;
    acmpca_ocsp_cache_put(&other, &signed_reply, t0);
    assert_true(acmpca_ocsp_cache_get(&got, &other, t0 + SEC(1), p));
    assert_false(acmpca_ocsp_cache_peek(&seen, &got, &k, req, sizeof(req), t0 + SEC(1), p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_ocsp_parse), UNIT_TEST(test_ocsp_malformed), UNIT_TEST(test_ocsp_respond),
        UNIT_TEST(test_ocsp_rsa),   UNIT_TEST(test_ocsp_cache),
    };

    return cmocka_run_group_tests_name("ocsp", tests, unit_group_setup, unit_group_teardown);
}
