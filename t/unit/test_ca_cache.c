/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The per-process cache of CA keys and certificates (src/ops/ca_cache.c): hits, misses
 * once the CA's certificate changes, LRU eviction past ACMPCA_CA_CACHE_MAX CAs, and
 * several threads signing with shared keys while entries come and go. Each test gets a
 * fresh sqlite store in a temporary directory and an empty cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acmpca/json.h"
#include "acmpca/store.h"
#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "../../src/ops/ops_int.h"

#define ACCOUNT "123456789012"

typedef struct world_t {
    apr_pool_t *p;
    acmpca_store_t *store;
    acmpca_env_t env;
    acmpca_op_ctx_t ctx;
    unsigned char kek[ACMPCA_KEK_LEN];
    const char *cert_pem;  /* a certificate to put in CA documents */
    const char *cert_pem2; /* another one (a CA that imported a new certificate) */
    char dir[64];
} world_t;

static int world_setup(void **state)
{
    world_t *w = calloc(1, sizeof(*w));
    acmpca_err_t err = {0};
    acmpca_issue_t in = {0};
    unsigned char serial[16] = {0x41, 1};
    const char *subject = "{\"CommonName\":\"cache root\"}", *csr_pem, *msg;
    EVP_PKEY *key;
    X509_REQ *csr;
    X509 *x;

    if (!w || apr_pool_create(&w->p, NULL) != APR_SUCCESS) {
        return -1;
    }
    snprintf(w->dir, sizeof(w->dir), "/tmp/acmpca-test-cache-XXXXXX");
    if (!mkdtemp(w->dir)) {
        return -1;
    }
    msg = acmpca_store_create(&w->store, apr_psprintf(w->p, "sqlite:%s/acmpca.db", w->dir), w->p);
    if (msg || w->store->provider->open(w->store, -1, -1, w->p) != APR_SUCCESS
        || w->store->provider->attach(w->store, w->p) != APR_SUCCESS
        || acmpca_random(w->kek, sizeof(w->kek)) != APR_SUCCESS) {
        return -1;
    }
    w->env.store = w->store;
    w->env.region = "us-east-1";
    w->env.kek = w->kek;
    w->ctx.env = &w->env;
    w->ctx.store = w->store;
    w->ctx.account = ACCOUNT;
    /* One self-signed certificate serves every CA document: the cache does not care
     * whose it is. */
    if (acmpca_key_generate(&key, "EC_prime256v1", &err, w->p) != APR_SUCCESS
        || acmpca_csr_make(&csr_pem, key, acmpca_json_parse(subject, strlen(subject), w->p), NULL,
                           "SHA256WITHECDSA", &err, w->p)
               != APR_SUCCESS
        || acmpca_csr_parse(&csr, (const unsigned char *)csr_pem, strlen(csr_pem), &err, w->p)
               != APR_SUCCESS) {
        return -1;
    }
    in.csr = csr;
    in.issuer_key = key;
    in.signing_algorithm = "SHA256WITHECDSA";
    in.tmpl = acmpca_template_find(ACMPCA_TEMPLATE_ARN_PREFIX "RootCACertificate/V1");
    in.serial = serial;
    in.serial_len = sizeof(serial);
    in.not_before = apr_time_now();
    in.not_after = in.not_before + apr_time_from_sec(86400);
    if (acmpca_cert_issue(&x, &in, &err, w->p) != APR_SUCCESS
        || !(w->cert_pem = acmpca_cert_pem(x, w->p))) {
        return -1;
    }
    serial[1] = 2;
    if (acmpca_cert_issue(&x, &in, &err, w->p) != APR_SUCCESS
        || !(w->cert_pem2 = acmpca_cert_pem(x, w->p))) {
        return -1;
    }
    acmpca_ca_cache_clear();
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    world_t *w = *state;
    char cmd[128];

    acmpca_ca_cache_clear();
    apr_pool_destroy(w->p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(w);
    return 0;
}

/* A CA in the store with a freshly generated, wrapped key; with_cert puts a certificate
 * in its document. */
static acmpca_ca_t *make_ca(world_t *w, int with_cert)
{
    acmpca_ca_t *ca = apr_pcalloc(w->p, sizeof(*ca));
    acmpca_ca_rec_t *rec = apr_pcalloc(w->p, sizeof(*rec));
    acmpca_err_t err = {0};
    unsigned char *wrapped, id[16];
    apr_size_t len;
    EVP_PKEY *key;
    cJSON *doc = acmpca_json_own(cJSON_CreateObject(), w->p);

    assert_int_equal(acmpca_random(id, sizeof(id)), APR_SUCCESS);
    rec->id = apr_psprintf(w->p, "%.8s-%.4s-%.4s-%.4s-%.12s", acmpca_hex(id, 16, 0, w->p),
                           acmpca_hex(id + 4, 2, 0, w->p), acmpca_hex(id + 6, 2, 0, w->p),
                           acmpca_hex(id + 8, 2, 0, w->p), acmpca_hex(id + 10, 6, 0, w->p));
    rec->account = ACCOUNT;
    if (with_cert) {
        cJSON_AddStringToObject(doc, ACMPCA_D_CERT, w->cert_pem);
    }
    rec->doc = acmpca_json_print(doc, w->p);
    assert_int_equal(acmpca_key_generate(&key, "EC_prime256v1", &err, w->p), APR_SUCCESS);
    assert_int_equal(acmpca_key_wrap(&wrapped, &len, key, w->kek, rec->id, w->p), APR_SUCCESS);
    assert_int_equal(w->store->provider->ca_create(w->store, rec, wrapped, len, NULL, NULL, w->p),
                     APR_SUCCESS);
    ca->rec = rec;
    ca->doc = doc;
    ca->ref.id = rec->id;
    ca->ref.account = ACCOUNT;
    ca->ref.region = "us-east-1";
    return ca;
}

/* Write the document again: the store bumps the version, as every CA change does. */
static void touch(world_t *w, acmpca_ca_t *ca)
{
    apr_int64_t before = ca->rec->version;

    assert_int_equal(w->store->provider->ca_update(w->store, ca->rec, w->p), APR_SUCCESS);
    assert_true(ca->rec->version > before);
}

static void test_hit(void **state)
{
    world_t *w = *state;
    acmpca_ca_t *ca = make_ca(w, 1);
    acmpca_ca_cache_stats_t st;
    acmpca_err_t err = {0};
    EVP_PKEY *k1, *k2, *k3;
    X509 *c1, *c2;
    apr_pool_t *r1, *r2;

    apr_pool_create(&r1, w->p);
    apr_pool_create(&r2, w->p);
    assert_int_equal(acmpca_ca_material(&k1, &c1, &w->ctx, ca, &err, r1), APR_SUCCESS);
    assert_non_null(k1);
    assert_non_null(c1);
    assert_int_equal(acmpca_ca_material(&k2, &c2, &w->ctx, ca, &err, r2), APR_SUCCESS);
    assert_ptr_equal(k1, k2);
    assert_ptr_equal(c1, c2);
    /* acmpca_ca_key goes through the cache too. */
    assert_int_equal(acmpca_ca_key(&k3, &w->ctx, ca, &err, r2), APR_SUCCESS);
    assert_ptr_equal(k1, k3);
    acmpca_ca_cache_stats(&st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.entries, 1);
    /* The caller's references go with its pool; the cache's stay usable. */
    apr_pool_destroy(r1);
    assert_int_equal(EVP_PKEY_get_bits(k2), 256);
    apr_pool_destroy(r2);

    /* A document without a certificate (a CA waiting for one): the key alone. */
    ca = make_ca(w, 0);
    assert_int_equal(acmpca_ca_material(&k1, &c1, &w->ctx, ca, &err, w->p), APR_SUCCESS);
    assert_non_null(k1);
    assert_null(c1);
}

/* A write of the document that leaves its certificate alone (the CRL bookkeeping of a
 * revocation, tags, status) keeps the entry; another certificate (an import) does not. */
static void test_certificate_change_invalidates(void **state)
{
    world_t *w = *state;
    acmpca_ca_t *ca = make_ca(w, 1);
    acmpca_ca_cache_stats_t st;
    acmpca_err_t err = {0};
    acmpca_env_t other_env;
    acmpca_op_ctx_t other_ctx;
    unsigned char other_kek[ACMPCA_KEK_LEN];
    EVP_PKEY *k1, *k2;
    X509 *c1, *c2;

    assert_int_equal(acmpca_ca_material(&k1, &c1, &w->ctx, ca, &err, w->p), APR_SUCCESS);
    touch(w, ca);
    assert_int_equal(acmpca_ca_material(&k2, &c2, &w->ctx, ca, &err, w->p), APR_SUCCESS);
    assert_ptr_equal(k1, k2);
    assert_ptr_equal(c1, c2);
    cJSON_DeleteItemFromObjectCaseSensitive(ca->doc, ACMPCA_D_CERT);
    cJSON_AddStringToObject(ca->doc, ACMPCA_D_CERT, w->cert_pem2);
    ca->rec->doc = acmpca_json_print(ca->doc, w->p);
    touch(w, ca);
    assert_int_equal(acmpca_ca_material(&k2, &c2, &w->ctx, ca, &err, w->p), APR_SUCCESS);
    assert_ptr_not_equal(k1, k2); /* unwrapped again */
    assert_ptr_not_equal(c1, c2);
    assert_int_equal(EVP_PKEY_eq(k1, k2), 1);
    assert_int_not_equal(X509_cmp(c1, c2), 0);
    acmpca_ca_cache_stats(&st);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.invalidations, 1); /* the entry with the old certificate went */
    assert_int_equal(st.entries, 1);

    /* Another KEK (another virtual host) is another key: here one that does not unwrap. */
    memcpy(other_kek, w->kek, sizeof(other_kek));
    other_kek[0] ^= 1;
    other_env = w->env;
    other_env.kek = other_kek;
    other_ctx = w->ctx;
    other_ctx.env = &other_env;
    assert_int_equal(acmpca_ca_material(&k1, &c1, &other_ctx, ca, &err, w->p), ACMPCA_EAWS);
    assert_int_equal(err.type, ACMPCA_ERR_INTERNAL);
}

static void test_eviction(void **state)
{
    world_t *w = *state;
    acmpca_ca_t *cas[ACMPCA_CA_CACHE_MAX + 1];
    acmpca_ca_cache_stats_t st;
    acmpca_err_t err = {0};
    EVP_PKEY *k;
    int i;

    for (i = 0; i <= ACMPCA_CA_CACHE_MAX; i++) {
        cas[i] = make_ca(w, 0);
        assert_int_equal(acmpca_ca_material(&k, NULL, &w->ctx, cas[i], &err, w->p), APR_SUCCESS);
        if (i == 0) {
            continue;
        }
        /* Keep the first one recently used: the second is the least recent. */
        assert_int_equal(acmpca_ca_material(&k, NULL, &w->ctx, cas[0], &err, w->p), APR_SUCCESS);
    }
    acmpca_ca_cache_stats(&st);
    assert_int_equal(st.entries, ACMPCA_CA_CACHE_MAX);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.misses, ACMPCA_CA_CACHE_MAX + 1);
    /* The first is still there, the second was evicted. */
    assert_int_equal(acmpca_ca_material(&k, NULL, &w->ctx, cas[0], &err, w->p), APR_SUCCESS);
    acmpca_ca_cache_stats(&st);
    assert_int_equal(st.misses, ACMPCA_CA_CACHE_MAX + 1);
    assert_int_equal(acmpca_ca_material(&k, NULL, &w->ctx, cas[1], &err, w->p), APR_SUCCESS);
    acmpca_ca_cache_stats(&st);
    assert_int_equal(st.misses, ACMPCA_CA_CACHE_MAX + 2);
    assert_int_equal(st.entries, ACMPCA_CA_CACHE_MAX);
}

/* ---- thread safety smoke: sign with shared keys while versions change ---- */

#define THREADS   4
#define ROUNDS    200
#define SMOKE_CAS 3

typedef struct smoke_t {
    world_t *w;
    acmpca_ca_t *cas[SMOKE_CAS];
    cJSON *imported[SMOKE_CAS];      /* the same CA's document once it has another certificate */
    apr_int64_t versions[SMOKE_CAS]; /* a version each may ask for: rec copies per thread */
    int failures;
} smoke_t;

static void *APR_THREAD_FUNC smoke_thread(apr_thread_t *t, void *data)
{
    smoke_t *s = data;
    apr_pool_t *p;
    int i, bad = 0;

    apr_pool_create(&p, NULL);
    for (i = 0; i < ROUNDS; i++) {
        acmpca_ca_t ca = *s->cas[i % SMOKE_CAS];
        acmpca_ca_rec_t rec = *ca.rec;
        acmpca_err_t err = {0};
        unsigned char sig[128], msg[32] = {(unsigned char)i};
        size_t siglen = sizeof(sig);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY *k;
        X509 *c;

        /* Every 7th round asks for a later version with another certificate: misses and
         * invalidations race the hits of the other threads. */
        if (i % 7 == 0) {
            rec.version += i;
            ca.doc = s->imported[i % SMOKE_CAS];
        }
        ca.rec = &rec;
        if (acmpca_ca_material(&k, &c, &s->w->ctx, &ca, &err, p) != APR_SUCCESS || !k || !c || !md
            || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1
            || EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) != 1
            || X509_get_subject_name(c) == NULL) {
            bad++;
        }
        EVP_MD_CTX_free(md);
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    __atomic_add_fetch(&s->failures, bad, __ATOMIC_SEQ_CST);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_threads(void **state)
{
    world_t *w = *state;
    apr_thread_t *threads[THREADS];
    acmpca_ca_cache_stats_t st;
    smoke_t s = {0};
    apr_status_t trv;
    int i;

    s.w = w;
    for (i = 0; i < SMOKE_CAS; i++) {
        s.cas[i] = make_ca(w, 1);
        s.imported[i] = acmpca_json_own(cJSON_CreateObject(), w->p);
        cJSON_AddStringToObject(s.imported[i], ACMPCA_D_CERT, w->cert_pem2);
    }
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, smoke_thread, &s, w->p), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_join(&trv, threads[i]), APR_SUCCESS);
    }
    assert_int_equal(s.failures, 0);
    acmpca_ca_cache_stats(&st);
    assert_int_equal(st.hits + st.misses, THREADS * ROUNDS);
    assert_true(st.hits > 0);
    assert_true(st.entries <= ACMPCA_CA_CACHE_MAX);
}

/* A child process never uses its parent's entries: it unwraps for itself. */
static void test_fork(void **state)
{
    world_t *w = *state;
    acmpca_ca_t *ca = make_ca(w, 1);
    acmpca_err_t err = {0};
    EVP_PKEY *k;
    X509 *c;
    pid_t pid;
    int status = 0;

    assert_int_equal(acmpca_ca_material(&k, &c, &w->ctx, ca, &err, w->p), APR_SUCCESS);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        acmpca_ca_cache_stats_t st;
        EVP_PKEY *k2;
        X509 *c2;

        acmpca_ca_cache_stats(&st);
        if (st.entries != 0 || st.hits != 0
            || acmpca_ca_material(&k2, &c2, &w->ctx, ca, &err, w->p) != APR_SUCCESS) {
            _exit(1);
        }
        acmpca_ca_cache_stats(&st);
        _exit(st.misses == 1 && st.entries == 1 ? 0 : 2);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the lean builder IssueCertificate uses issues the same bytes ---- */

static const unsigned char *der_of(X509 *x, int *plen, apr_pool_t *p)
{
    unsigned char *der = NULL;
    const unsigned char *copy;

    *plen = i2d_X509(x, &der);
    assert_true(*plen > 0);
    copy = apr_pmemdup(p, der, (apr_size_t)*plen);
    OPENSSL_free(der);
    return copy;
}

/* RSA PKCS #1 v1.5 signatures are deterministic, so the whole certificates compare:
 * EC subject keys on each curve, uncompressed and compressed, and an RSA one (which
 * takes the long way in both). */
static void test_lean_issue_same_bytes(void **state)
{
    world_t *w = *state;
    static const char *const subject_keys[] = {"EC_prime256v1", "EC_secp384r1", "EC_secp521r1",
                                               "RSA_2048"};
    const char *subject = "{\"CommonName\":\"lean.example.com\"}", *root_pem, *csr_pem;
    unsigned char serial[16] = {0x42, 7};
    acmpca_err_t err = {0};
    acmpca_issue_t in = {0};
    EVP_PKEY *ca_key, *key;
    X509_REQ *csr;
    X509 *root, *a, *b;
    size_t i;
    int form, alen, blen;

    assert_int_equal(acmpca_key_generate(&ca_key, "RSA_2048", &err, w->p), APR_SUCCESS);
    assert_int_equal(acmpca_csr_make(&root_pem, ca_key,
                                     acmpca_json_parse(subject, strlen(subject), w->p), NULL,
                                     "SHA256WITHRSA", &err, w->p),
                     APR_SUCCESS);
    assert_int_equal(
        acmpca_csr_parse(&csr, (const unsigned char *)root_pem, strlen(root_pem), &err, w->p),
        APR_SUCCESS);
    in.csr = csr;
    in.issuer_key = ca_key;
    in.signing_algorithm = "SHA256WITHRSA";
    in.tmpl = acmpca_template_find(ACMPCA_TEMPLATE_ARN_PREFIX "RootCACertificate/V1");
    in.serial = serial;
    in.serial_len = sizeof(serial);
    in.not_before = apr_time_now();
    in.not_after = in.not_before + apr_time_from_sec(86400);
    assert_int_equal(acmpca_cert_issue(&root, &in, &err, w->p), APR_SUCCESS);

    in.issuer_cert = root;
    in.tmpl = acmpca_template_find(ACMPCA_TEMPLATE_ARN_PREFIX "EndEntityCertificate/V1");
    in.crl_url = "http://crl.example.com/crl/x.crl";
    in.ocsp_url = "http://ocsp.example.com";
    for (i = 0; i < sizeof(subject_keys) / sizeof(subject_keys[0]); i++) {
        int ec = !strncmp(subject_keys[i], "EC_", 3);

        for (form = 0; form < (ec ? 2 : 1); form++) {
            assert_int_equal(acmpca_key_generate(&key, subject_keys[i], &err, w->p), APR_SUCCESS);
            if (form) {
                assert_int_equal(EVP_PKEY_set_utf8_string_param(
                                     key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
                                 1);
            }
            assert_int_equal(
                acmpca_csr_make(&csr_pem, key, acmpca_json_parse(subject, strlen(subject), w->p),
                                NULL, form || ec ? "SHA256WITHECDSA" : "SHA256WITHRSA", &err, w->p),
                APR_SUCCESS);
            assert_int_equal(acmpca_csr_parse(&in.csr, (const unsigned char *)csr_pem,
                                              strlen(csr_pem), &err, w->p),
                             APR_SUCCESS);
            assert_int_equal(acmpca_cert_issue(&a, &in, &err, w->p), APR_SUCCESS);
            assert_int_equal(acmpca_cert_issue_lean(&b, &in, &err, w->p), APR_SUCCESS);
            der_of(a, &alen, w->p);
            der_of(b, &blen, w->p);
            assert_int_equal(alen, blen);
            assert_memory_equal(der_of(a, &alen, w->p), der_of(b, &blen, w->p), (size_t)alen);
            assert_string_equal(acmpca_cert_pem(a, w->p), acmpca_cert_pem(b, w->p));
            /* ... and it verifies with the CA key. */
            assert_int_equal(X509_verify(b, ca_key), 1);
        }
    }
}

#define CACHE_TEST(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

/* The cache lives for the process; free it before APR goes, as the module does when
 * a child exits, so that leak checkers see every byte returned. */
static int cache_group_teardown(void **state)
{
    acmpca_ca_cache_destroy();
    return unit_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        CACHE_TEST(test_hit),      CACHE_TEST(test_certificate_change_invalidates),
        CACHE_TEST(test_eviction), CACHE_TEST(test_threads),
        CACHE_TEST(test_fork),     CACHE_TEST(test_lean_issue_same_bytes),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, cache_group_teardown);
}
