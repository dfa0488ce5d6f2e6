/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The public PKI repository (src/ops/pki.c) and its x509 helpers (src/x509/info.c):
 * which CAs are listed, what the feed says and never says, the downloads, and CRL facts.
 * Each test gets a fresh pool and a fresh sqlite store in a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include <apr_file_io.h>
#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "acmpca/json.h"
#include "acmpca/pki.h"
#include "acmpca/store.h"
#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "acmpca/x509_info.h"

#define ACCOUNT   "123456789012"
#define OTHER     "210987654321"
#define DAY       (apr_time_from_sec(86400))
#define TPL(name) ACMPCA_TEMPLATE_ARN_PREFIX name
#define BUCKET    "repo-crls"
#define PUBLIC    "http://pki.example.test"

/**************************************************************************************
 * Fixture: a store, and CAs made with the x509 layer
 */

typedef struct world_t {
    apr_pool_t *p;
    acmpca_store_t *store;
    char dir[64];
} world_t;

static int world_setup(void **state)
{
    world_t *w = calloc(1, sizeof(*w));
    const char *msg;

    if (!w || apr_pool_create(&w->p, NULL) != APR_SUCCESS) {
        return -1;
    }
    snprintf(w->dir, sizeof(w->dir), "/tmp/acmpca-test-pki-XXXXXX");
    if (!mkdtemp(w->dir)) {
        return -1;
    }
    msg = acmpca_store_create(&w->store, apr_psprintf(w->p, "sqlite:%s/acmpca.db", w->dir), w->p);
    if (msg || w->store->provider->open(w->store, -1, -1, w->p) != APR_SUCCESS
        || w->store->provider->attach(w->store, w->p) != APR_SUCCESS) {
        return -1;
    }
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    world_t *w = *state;
    char cmd[128];

    apr_pool_destroy(w->p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(w);
    return 0;
}

static EVP_PKEY *gen(apr_pool_t *p)
{
    acmpca_err_t err = {0};
    EVP_PKEY *key = NULL;
    assert_int_equal(acmpca_key_generate(&key, "EC_prime256v1", &err, p), APR_SUCCESS);
    return key;
}

static X509 *issue(apr_pool_t *p, EVP_PKEY *key, const char *cn, EVP_PKEY *ikey, X509 *icert,
                   apr_time_t not_after)
{
    static unsigned char counter;
    unsigned char serial[16] = {0x5b, 0x02};
    const char *subject = apr_psprintf(p, "{\"Organization\":\"Repo\",\"CommonName\":\"%s\"}", cn);
    acmpca_err_t err = {0};
    acmpca_issue_t in = {0};
    const char *pem;
    X509_REQ *csr;
    X509 *x = NULL;
    cJSON *subj = acmpca_json_parse(subject, strlen(subject), p);

    assert_int_equal(acmpca_csr_make(&pem, key, subj, NULL, "SHA256WITHECDSA", &err, p),
                     APR_SUCCESS);
    assert_int_equal(acmpca_csr_parse(&csr, (const unsigned char *)pem, strlen(pem), &err, p),
                     APR_SUCCESS);
    serial[15] = ++counter;
    in.csr = csr;
    in.issuer_key = ikey;
    in.issuer_cert = icert;
    in.signing_algorithm = "SHA256WITHECDSA";
    in.tmpl = acmpca_template_find(icert ? TPL("SubordinateCACertificate_PathLen0/V1")
                                         : TPL("RootCACertificate/V1"));
    in.serial = serial;
    in.serial_len = sizeof(serial);
    in.not_before = apr_time_now() - DAY;
    in.not_after = not_after ? not_after : apr_time_now() + 365 * DAY;
    assert_int_equal(acmpca_cert_issue(&x, &in, &err, p), APR_SUCCESS);
    return x;
}

typedef struct ca_spec_t {
    const char *account;
    const char *type;   /* ROOT | SUBORDINATE */
    const char *status; /* stored status */
    const char *cert;   /* PEM or NULL */
    const char *chain;  /* PEM or NULL */
    const char *tag;    /* "key=value" or NULL */
    int crl;            /* CRL enabled (bucket BUCKET) */
    int ocsp;
    apr_time_t not_after;
} ca_spec_t;

/* Store a CA document as src/ops/ca.c writes it; returns its id. */
static const char *put_ca(world_t *w, const ca_spec_t *c)
{
    static const unsigned char wrapped[] = "not a real wrapped key";
    const char *id = acmpca_uuid(w->p);
    acmpca_ca_rec_t rec = {0};
    cJSON *doc = acmpca_json_own(cJSON_CreateObject(), w->p);
    cJSON *config = cJSON_AddObjectToObject(doc, ACMPCA_K_CA_CONFIG);
    cJSON *rc = cJSON_AddObjectToObject(doc, ACMPCA_K_REVOCATION_CONFIG);
    cJSON *tags = cJSON_AddArrayToObject(doc, "_Tags");

    cJSON_AddStringToObject(doc, ACMPCA_K_ARN,
                            apr_psprintf(w->p,
                                         "arn:aws:acm-pca:us-east-1:%s:certificate-authority/%s",
                                         c->account, id));
    cJSON_AddStringToObject(doc, ACMPCA_K_OWNER_ACCOUNT, c->account);
    cJSON_AddStringToObject(doc, ACMPCA_K_TYPE, c->type);
    cJSON_AddStringToObject(doc, ACMPCA_K_STATUS, c->status);
    cJSON_AddStringToObject(doc, ACMPCA_K_USAGE_MODE, "GENERAL_PURPOSE");
    cJSON_AddStringToObject(config, ACMPCA_K_KEY_ALGORITHM, "EC_prime256v1");
    cJSON_AddStringToObject(config, ACMPCA_K_SIGNING_ALGORITHM, "SHA256WITHECDSA");
    if (c->crl) {
        cJSON *crl = cJSON_AddObjectToObject(rc, ACMPCA_K_CRL_CONFIG);
        cJSON_AddBoolToObject(crl, ACMPCA_K_ENABLED, 1);
        cJSON_AddStringToObject(crl, "S3BucketName", BUCKET);
    }
    if (c->ocsp) {
        cJSON_AddBoolToObject(cJSON_AddObjectToObject(rc, ACMPCA_K_OCSP_CONFIG), ACMPCA_K_ENABLED,
                              1);
    }
    if (c->cert) {
        cJSON_AddStringToObject(doc, "_Certificate", c->cert);
        cJSON_AddNumberToObject(
            doc, ACMPCA_K_NOT_AFTER,
            acmpca_time_epoch(c->not_after ? c->not_after : apr_time_now() + 365 * DAY));
    }
    if (c->chain) {
        cJSON_AddStringToObject(doc, "_CertificateChain", c->chain);
    }
    if (c->tag) {
        const char *eq = strchr(c->tag, '=');
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, ACMPCA_K_KEY, apr_pstrndup(w->p, c->tag, eq - c->tag));
        cJSON_AddStringToObject(t, ACMPCA_K_VALUE, eq + 1);
        cJSON_AddItemToArray(tags, t);
    }
    rec.id = id;
    rec.account = c->account;
    rec.doc = acmpca_json_print(doc, w->p);
    assert_int_equal(
        w->store->provider->ca_create(w->store, &rec, wrapped, sizeof(wrapped), NULL, NULL, w->p),
        APR_SUCCESS);
    return id;
}

/* A CRL of the issuer with n entries, cRLNumber number (0: none), DER. */
static const unsigned char *make_crl(apr_size_t *plen, apr_pool_t *p, X509 *issuer, EVP_PKEY *key,
                                     int n, long number, time_t this_update, time_t next_update)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    unsigned char *der = NULL, *copy;
    int i, len;

    assert_non_null(crl);
    X509_CRL_set_version(crl, X509_CRL_VERSION_2);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    ASN1_TIME_set(t, this_update);
    X509_CRL_set1_lastUpdate(crl, t);
    if (next_update) {
        ASN1_TIME_set(t, next_update);
        X509_CRL_set1_nextUpdate(crl, t);
    }
    for (i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ASN1_INTEGER_set(serial, 1000 + i);
        X509_REVOKED_set_serialNumber(r, serial);
        ASN1_TIME_set(t, this_update - 60);
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(serial);
    }
    if (number) {
        ASN1_INTEGER *num = ASN1_INTEGER_new();
        ASN1_INTEGER_set(num, number);
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
        ASN1_INTEGER_free(num);
    }
    X509_CRL_sort(crl);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    len = i2d_X509_CRL(crl, &der);
    assert_true(len > 0);
    copy = apr_pmemdup(p, der, (apr_size_t)len);
    OPENSSL_free(der);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
    *plen = (apr_size_t)len;
    return copy;
}

static void put_crl(world_t *w, const char *ca_id, const unsigned char *der, apr_size_t len)
{
    acmpca_object_t obj = {0};
    obj.bucket = BUCKET;
    obj.key = apr_pstrcat(w->p, "crl/", ca_id, ".crl", NULL);
    obj.content_type = "application/pkix-crl";
    obj.data = der;
    obj.len = len;
    obj.modified = apr_time_now();
    assert_int_equal(w->store->provider->object_put(w->store, &obj, w->p), APR_SUCCESS);
}

static cJSON *feed(world_t *w, const acmpca_pki_filter_t *f, const char **ptext)
{
    acmpca_pki_env_t env = {w->store, f, PUBLIC, 0};
    const char *json;
    apr_size_t len;
    cJSON *root;

    assert_int_equal(acmpca_pki_feed(&json, &len, &env, apr_time_now(), w->p), APR_SUCCESS);
    assert_int_equal(len, strlen(json));
    root = acmpca_json_parse(json, len, w->p);
    assert_non_null(root);
    if (ptext) {
        *ptext = json;
    }
    return root;
}

static const cJSON *entry(const cJSON *root, const char *id)
{
    const cJSON *ca;
    cJSON_ArrayForEach(ca, cJSON_GetObjectItem(root, "certificateAuthorities"))
    {
        if (!strcmp(acmpca_json_str(ca, "id"), id)) {
            return ca;
        }
    }
    return NULL;
}

static int count(const cJSON *root)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(root, "certificateAuthorities"));
}

static const acmpca_pki_filter_t ALL = {1, NULL, NULL, NULL};

/**************************************************************************************
 * ACMPCAPublicRepository arguments
 */

/* Parse the arguments (a NULL-terminated list) as httpd hands them over. */
static const char *parse(acmpca_pki_filter_t *f, apr_pool_t *p, const char *a, const char *b)
{
    char *argv[2];
    argv[0] = apr_pstrdup(p, a);
    argv[1] = b ? apr_pstrdup(p, b) : NULL;
    return acmpca_pki_filter_parse(f, b ? 2 : 1, argv, p);
}

static void test_filter_parse(void **state)
{
    apr_pool_t *p = *state;
    acmpca_pki_filter_t f;
    static const char *const bad[][2] = {
        {"account:12345", NULL}, {"account:12345678901x", NULL}, {"tag:=v", NULL},
        {"tag:novalue", NULL},   {"everything", NULL},           {"all", "tag:a=b"},
        {"off", "all"},          {"tag:a=b", "tag:c=d"},
    };
    size_t i;

    assert_null(parse(&f, p, "Off", NULL));
    assert_false(f.enabled);
    assert_null(parse(&f, p, "all", NULL));
    assert_true(f.enabled);
    assert_null(f.account);
    assert_null(f.tag_key);
    assert_null(parse(&f, p, "account:" ACCOUNT, NULL));
    assert_true(f.enabled);
    assert_string_equal(f.account, ACCOUNT);
    assert_null(parse(&f, p, "tag:pki=public", NULL));
    assert_string_equal(f.tag_key, "pki");
    assert_string_equal(f.tag_value, "public");
    assert_null(parse(&f, p, "tag:team=", "account:" ACCOUNT));
    assert_string_equal(f.tag_key, "team");
    assert_string_equal(f.tag_value, "");
    assert_string_equal(f.account, ACCOUNT);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = parse(&f, p, bad[i][0], bad[i][1]);
        if (!msg) {
            fail_msg("'%s %s' was accepted", bad[i][0], bad[i][1] ? bad[i][1] : "");
        }
        assert_non_null(strstr(msg, "expected off, all"));
    }
}

/**************************************************************************************
 * The feed
 */

static void test_feed_lists_public_states_only(void **state)
{
    world_t *w = *state;
    apr_pool_t *p = w->p;
    EVP_PKEY *rkey = gen(p), *skey = gen(p), *dkey = gen(p), *ekey = gen(p);
    X509 *root = issue(p, rkey, "Repo Root", rkey, NULL, 0);
    X509 *sub = issue(p, skey, "Repo Issuing", rkey, root, 0);
    X509 *dis = issue(p, dkey, "Repo Disabled", dkey, NULL, 0);
    X509 *old = issue(p, ekey, "Repo Expired", ekey, NULL, apr_time_now() + DAY);
    const char *root_pem = acmpca_cert_pem(root, p), *text;
    ca_spec_t c = {ACCOUNT, "ROOT", "ACTIVE", root_pem, NULL, "secret=classified", 1, 1, 0};
    const char *id_root, *id_sub, *id_dis, *id_exp, *id_pending, *id_deleted, *id_failed;
    const cJSON *e, *crl, *links;
    cJSON *root_json;
    apr_size_t len;
    const unsigned char *der;
    time_t now = time(NULL);

    id_root = put_ca(w, &c);
    c = (ca_spec_t){ACCOUNT, "SUBORDINATE", "ACTIVE", acmpca_cert_pem(sub, p), root_pem, NULL, 1, 0,
                    0};
    id_sub = put_ca(w, &c);
    c = (ca_spec_t){OTHER, "ROOT", "DISABLED", acmpca_cert_pem(dis, p), NULL, NULL, 0, 0, 0};
    id_dis = put_ca(w, &c);
    /* ACTIVE as stored, EXPIRED as clients see it (NotAfter passed). */
    c = (ca_spec_t){ACCOUNT, "ROOT", "ACTIVE", acmpca_cert_pem(old, p), NULL,
                    NULL,    0,      0,        apr_time_now() - DAY};
    id_exp = put_ca(w, &c);
    c = (ca_spec_t){ACCOUNT, "ROOT", "PENDING_CERTIFICATE", NULL, NULL, "secret=classified", 1,
                    1,       0};
    id_pending = put_ca(w, &c);
    c = (ca_spec_t){ACCOUNT, "ROOT", "DELETED", root_pem, NULL, "secret=classified", 1, 1, 0};
    id_deleted = put_ca(w, &c);
    c = (ca_spec_t){ACCOUNT, "ROOT", "FAILED", NULL, NULL, NULL, 0, 0, 0};
    id_failed = put_ca(w, &c);

    der = make_crl(&len, p, root, rkey, 3, 42, now - 120, now + 7 * 86400);
    put_crl(w, id_root, der, len);

    root_json = feed(w, &ALL, &text);
    assert_int_equal(count(root_json), 4);
    assert_null(entry(root_json, id_pending));
    assert_null(entry(root_json, id_deleted));
    assert_null(entry(root_json, id_failed));
    assert_string_equal(acmpca_json_str(entry(root_json, id_dis), "status"), "DISABLED");
    assert_string_equal(acmpca_json_str(entry(root_json, id_exp), "status"), "EXPIRED");
    assert_false(acmpca_json_bool(root_json, "truncated", 1));

    /* The root: its certificate's facts, published CRL and OCSP. */
    e = entry(root_json, id_root);
    assert_non_null(e);
    assert_string_equal(acmpca_json_str(e, "status"), "ACTIVE");
    assert_string_equal(acmpca_json_str(e, "type"), "ROOT");
    assert_string_equal(acmpca_json_str(e, "commonName"), "Repo Root");
    assert_string_equal(acmpca_json_str(e, "subject"), "CN=Repo Root,O=Repo");
    assert_string_equal(acmpca_json_str(e, "issuer"), "CN=Repo Root,O=Repo");
    assert_string_equal(acmpca_json_str(e, "keyAlgorithm"), "EC_prime256v1");
    assert_string_equal(acmpca_json_str(e, "signingAlgorithm"), "SHA256WITHECDSA");
    assert_string_equal(acmpca_json_str(e, "fingerprintSha256"),
                        acmpca_x509_fingerprint_sha256(root, p));
    assert_int_equal(strlen(acmpca_json_str(e, "notAfter")), 20); /* 2026-01-02T03:04:05Z */
    links = acmpca_json_obj(e, "certificate");
    assert_string_equal(acmpca_json_str(links, "pem"),
                        apr_pstrcat(p, "ca/", id_root, ".pem", NULL));
    assert_string_equal(acmpca_json_str(links, "der"),
                        apr_pstrcat(p, "ca/", id_root, ".der", NULL));
    links = acmpca_json_obj(e, "chain");
    assert_string_equal(acmpca_json_str(links, "der"),
                        apr_pstrcat(p, "ca/", id_root, "-chain.p7c", NULL));
    assert_int_equal((int)acmpca_json_num(links, "length", 0), 1);
    crl = acmpca_json_obj(e, "crl");
    assert_true(acmpca_json_bool(crl, "published", 0));
    assert_string_equal(acmpca_json_str(crl, "number"), "42");
    assert_int_equal((int)acmpca_json_num(crl, "entries", -1), 3);
    assert_non_null(acmpca_json_str(crl, "thisUpdate"));
    assert_non_null(acmpca_json_str(crl, "nextUpdate"));
    assert_string_equal(acmpca_json_str(crl, "url"),
                        apr_pstrcat(p, PUBLIC "/" BUCKET "/crl/", id_root, ".crl", NULL));
    assert_string_equal(acmpca_json_str(crl, "download"),
                        apr_pstrcat(p, "/" BUCKET "/crl/", id_root, ".crl", NULL));
    assert_string_equal(acmpca_json_str(acmpca_json_obj(e, "ocsp"), "url"), PUBLIC "/ocsp");
    {
        apr_time_exp_t x;
        apr_time_exp_gmt(&x, apr_time_from_sec(now - 120));
        assert_string_equal(acmpca_json_str(crl, "thisUpdate"),
                            apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900,
                                         x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec));
    }

    /* The subordinate: a chain of two, a CRL enabled but not built yet, no OCSP. */
    e = entry(root_json, id_sub);
    assert_string_equal(acmpca_json_str(e, "issuer"), "CN=Repo Root,O=Repo");
    assert_int_equal((int)acmpca_json_num(acmpca_json_obj(e, "chain"), "length", 0), 2);
    crl = acmpca_json_obj(e, "crl");
    assert_false(acmpca_json_bool(crl, "published", 1));
    assert_null(acmpca_json_str(crl, "number"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "ocsp")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(entry(root_json, id_dis), "crl")));

    /* Nothing private: no ARN, no account, no tag, no configuration internals. */
    assert_null(strstr(text, "arn:aws"));
    assert_null(strstr(text, ACCOUNT));
    assert_null(strstr(text, OTHER));
    assert_null(strstr(text, "secret"));
    assert_null(strstr(text, "classified"));
    assert_null(strstr(text, "Tags"));
    assert_null(strstr(text, "_Certificate"));
    assert_null(strstr(text, "BEGIN"));
    assert_null(strstr(text, "S3BucketName"));
}

static void test_feed_filters(void **state)
{
    world_t *w = *state;
    apr_pool_t *p = w->p;
    EVP_PKEY *k = gen(p);
    const char *pem = acmpca_cert_pem(issue(p, k, "Filter Root", k, NULL, 0), p);
    ca_spec_t c = {ACCOUNT, "ROOT", "ACTIVE", pem, NULL, "pki=public", 0, 0, 0};
    acmpca_pki_filter_t f = {1, NULL, "pki", "public"};
    acmpca_pki_filter_t off = {0, NULL, NULL, NULL};
    const char *tagged, *other_value, *untagged, *other_account;
    cJSON *r;

    tagged = put_ca(w, &c);
    c.tag = "pki=private";
    other_value = put_ca(w, &c);
    c.tag = NULL;
    untagged = put_ca(w, &c);
    c.account = OTHER;
    c.tag = "pki=public";
    other_account = put_ca(w, &c);

    r = feed(w, &f, NULL);
    assert_int_equal(count(r), 2);
    assert_non_null(entry(r, tagged));
    assert_non_null(entry(r, other_account));
    assert_null(entry(r, other_value));
    assert_null(entry(r, untagged));

    f.account = ACCOUNT;
    r = feed(w, &f, NULL);
    assert_int_equal(count(r), 1);
    assert_non_null(entry(r, tagged));

    f.tag_key = NULL;
    r = feed(w, &f, NULL);
    assert_int_equal(count(r), 3);
    assert_null(entry(r, other_account));

    r = feed(w, &off, NULL);
    assert_int_equal(count(r), 0);
}

/* More CAs than one store page (100), in creation order, and the max_cas cap. */
static void test_feed_pages_and_cap(void **state)
{
    world_t *w = *state;
    apr_pool_t *p = w->p;
    EVP_PKEY *k = gen(p);
    const char *pem = acmpca_cert_pem(issue(p, k, "Many", k, NULL, 0), p);
    ca_spec_t c = {ACCOUNT, "ROOT", "ACTIVE", pem, NULL, NULL, 0, 0, 0};
    acmpca_pki_env_t env = {w->store, &ALL, PUBLIC, 0};
    const char *ids[130], *json;
    apr_size_t len;
    const cJSON *list;
    cJSON *r;
    int i;

    for (i = 0; i < 130; i++) {
        ids[i] = put_ca(w, &c);
    }
    r = feed(w, &ALL, NULL);
    assert_int_equal(count(r), 130);
    list = cJSON_GetObjectItem(r, "certificateAuthorities");
    for (i = 0; i < 130; i++) {
        assert_string_equal(acmpca_json_str(cJSON_GetArrayItem(list, i), "id"), ids[i]);
    }
    env.max_cas = 7;
    assert_int_equal(acmpca_pki_feed(&json, &len, &env, apr_time_now(), p), APR_SUCCESS);
    r = acmpca_json_parse(json, len, p);
    assert_int_equal(count(r), 7);
    assert_true(acmpca_json_bool(r, "truncated", 0));
}

/**************************************************************************************
 * Downloads
 */

static void test_files(void **state)
{
    world_t *w = *state;
    apr_pool_t *p = w->p;
    EVP_PKEY *rkey = gen(p), *skey = gen(p);
    X509 *root = issue(p, rkey, "File Root", rkey, NULL, 0);
    X509 *sub = issue(p, skey, "File Issuing", rkey, root, 0);
    const char *root_pem = acmpca_cert_pem(root, p), *sub_pem = acmpca_cert_pem(sub, p);
    ca_spec_t c = {ACCOUNT, "SUBORDINATE", "ACTIVE", sub_pem, root_pem, NULL, 0, 0, 0};
    acmpca_pki_filter_t tagged = {1, NULL, "pki", "public"};
    acmpca_pki_env_t env = {w->store, &ALL, PUBLIC, 0};
    const unsigned char *data, *q;
    unsigned char *der = NULL;
    const char *type, *id, *pending;
    apr_size_t len;
    PKCS7 *p7;
    int dlen;
    static const char *const bad[] = {
        "", ".pem", "x.pem", "../etc/passwd", "00000000-0000-4000-8000-000000000000.pem",
    };
    size_t i;

    id = put_ca(w, &c);
    c = (ca_spec_t){ACCOUNT, "ROOT", "PENDING_CERTIFICATE", NULL, NULL, NULL, 0, 0, 0};
    pending = put_ca(w, &c);

    assert_int_equal(acmpca_pki_file(&data, &len, &type, &env, apr_pstrcat(p, id, ".pem", NULL),
                                     apr_time_now(), p),
                     APR_SUCCESS);
    assert_string_equal(type, "application/x-pem-file");
    assert_int_equal(len, strlen(sub_pem));
    assert_memory_equal(data, sub_pem, len);

    assert_int_equal(acmpca_pki_file(&data, &len, &type, &env, apr_pstrcat(p, id, ".der", NULL),
                                     apr_time_now(), p),
                     APR_SUCCESS);
    assert_string_equal(type, "application/pkix-cert");
    dlen = i2d_X509(sub, &der);
    assert_int_equal(len, (apr_size_t)dlen);
    assert_memory_equal(data, der, len);
    OPENSSL_free(der);

    assert_int_equal(acmpca_pki_file(&data, &len, &type, &env,
                                     apr_pstrcat(p, id, "-chain.pem", NULL), apr_time_now(), p),
                     APR_SUCCESS);
    assert_string_equal(type, "application/pem-certificate-chain");
    assert_string_equal(apr_pstrndup(p, (const char *)data, len),
                        apr_pstrcat(p, sub_pem, root_pem, NULL));

    assert_int_equal(acmpca_pki_file(&data, &len, &type, &env,
                                     apr_pstrcat(p, id, "-chain.p7c", NULL), apr_time_now(), p),
                     APR_SUCCESS);
    assert_string_equal(type, "application/pkcs7-mime");
    q = data;
    p7 = d2i_PKCS7(NULL, &q, (long)len);
    assert_non_null(p7);
    assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_signed);
    assert_int_equal(sk_X509_num(p7->d.sign->cert), 2);
    assert_int_equal(X509_cmp(sk_X509_value(p7->d.sign->cert, 0), sub), 0);
    assert_int_equal(X509_cmp(sk_X509_value(p7->d.sign->cert, 1), root), 0);
    assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
    PKCS7_free(p7);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(acmpca_pki_file(&data, &len, &type, &env, bad[i], apr_time_now(), p),
                         APR_NOTFOUND);
    }
    /* A CA without a certificate, and a CA the filter does not list. */
    assert_int_equal(acmpca_pki_file(&data, &len, &type, &env,
                                     apr_pstrcat(p, pending, ".pem", NULL), apr_time_now(), p),
                     APR_NOTFOUND);
    env.filter = &tagged;
    assert_int_equal(acmpca_pki_file(&data, &len, &type, &env, apr_pstrcat(p, id, ".pem", NULL),
                                     apr_time_now(), p),
                     APR_NOTFOUND);
}

/**************************************************************************************
 * x509 helpers
 */

static void test_fingerprint_and_der(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *k = gen(p);
    X509 *x = issue(p, k, "FP", k, NULL, 0);
    const char *pem = acmpca_cert_pem(x, p);
    const char *fp = acmpca_x509_fingerprint_sha256(x, p);
    unsigned char md[32];
    unsigned int n = 0;
    const unsigned char *der;
    apr_size_t len;
    int i;

    /* 32 bytes as "AB:CD:...": 95 characters, uppercase, as openssl -fingerprint. */
    assert_int_equal(strlen(fp), 95);
    X509_digest(x, EVP_sha256(), md, &n);
    for (i = 0; i < 32; i++) {
        assert_string_equal(apr_pstrndup(p, fp + 3 * i, 2), apr_psprintf(p, "%02X", md[i]));
        assert_true(i == 31 || fp[3 * i + 2] == ':');
    }
    assert_int_equal(acmpca_x509_pem_to_der(&der, &len, pem, p), APR_SUCCESS);
    {
        const unsigned char *q = der;
        X509 *back = d2i_X509(NULL, &q, (long)len);
        assert_non_null(back);
        assert_int_equal(X509_cmp(back, x), 0);
        X509_free(back);
    }
    assert_int_equal(acmpca_x509_pem_to_der(&der, &len, "not a certificate", p), APR_EINVAL);
    assert_int_equal(acmpca_x509_chain_p7(&der, &len, "nothing here", p), APR_EINVAL);
}

static void test_crl_info(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *k = gen(p);
    X509 *ca = issue(p, k, "CRL Root", k, NULL, 0);
    time_t this_update = 1767225600; /* 2026-01-01T00:00:00Z */
    acmpca_crl_info_t info;
    const unsigned char *der;
    apr_size_t len;
    char *pem;
    BIO *bio;
    X509_CRL *crl;
    const unsigned char *q;
    long plen;
    unsigned char *trunc;

    /* 2500 entries, number 7 and both dates. */
    der = make_crl(&len, p, ca, k, 2500, 7, this_update, this_update + 86400);
    assert_int_equal(acmpca_crl_info(&info, der, len, p), APR_SUCCESS);
    assert_int_equal(info.entries, 2500);
    assert_string_equal(info.number, "7");
    assert_true(info.this_update == apr_time_from_sec(this_update));
    assert_true(info.next_update == apr_time_from_sec(this_update + 86400));

    /* The same CRL as PEM. */
    q = der;
    crl = d2i_X509_CRL(NULL, &q, (long)len);
    assert_non_null(crl);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(bio, crl);
    plen = BIO_get_mem_data(bio, &pem);
    memset(&info, 0, sizeof(info));
    assert_int_equal(acmpca_crl_info(&info, (const unsigned char *)pem, (apr_size_t)plen, p),
                     APR_SUCCESS);
    assert_int_equal(info.entries, 2500);
    assert_string_equal(info.number, "7");
    BIO_free(bio);
    X509_CRL_free(crl);

    /* No entries, no number, no nextUpdate. */
    der = make_crl(&len, p, ca, k, 0, 0, this_update, 0);
    assert_int_equal(acmpca_crl_info(&info, der, len, p), APR_SUCCESS);
    assert_int_equal(info.entries, 0);
    assert_null(info.number);
    assert_true(info.next_update == 0);

    /* A number beyond 64 bits stays exact (cRLNumber is up to 20 octets, RFC 5280 5.2.3). */
    {
        X509_CRL *big = X509_CRL_new();
        ASN1_TIME *t = ASN1_TIME_new();
        BIGNUM *bn = NULL;
        ASN1_INTEGER *num;
        unsigned char *out = NULL;
        int olen;

        BN_dec2bn(&bn, "123456789012345678901234567890");
        num = BN_to_ASN1_INTEGER(bn, NULL);
        X509_CRL_set_version(big, X509_CRL_VERSION_2);
        X509_CRL_set_issuer_name(big, X509_get_subject_name(ca));
        ASN1_TIME_set(t, this_update);
        X509_CRL_set1_lastUpdate(big, t);
        X509_CRL_add1_ext_i2d(big, NID_crl_number, num, 0, 0);
        X509_CRL_sign(big, k, EVP_sha256());
        olen = i2d_X509_CRL(big, &out);
        assert_int_equal(acmpca_crl_info(&info, out, (apr_size_t)olen, p), APR_SUCCESS);
        assert_string_equal(info.number, "123456789012345678901234567890");
        OPENSSL_free(out);
        ASN1_INTEGER_free(num);
        BN_free(bn);
        ASN1_TIME_free(t);
        X509_CRL_free(big);
    }

    /* Not CRLs: garbage, a certificate, a truncated CRL. */
    assert_int_equal(acmpca_crl_info(&info, (const unsigned char *)"hello", 5, p), APR_EINVAL);
    assert_int_equal(acmpca_crl_info(&info, NULL, 0, p), APR_EINVAL);
    {
        const unsigned char *cder;
        apr_size_t clen;
        assert_int_equal(acmpca_x509_pem_to_der(&cder, &clen, acmpca_cert_pem(ca, p), p),
                         APR_SUCCESS);
        assert_int_equal(acmpca_crl_info(&info, cder, clen, p), APR_EINVAL);
    }
    der = make_crl(&len, p, ca, k, 10, 1, this_update, this_update + 60);
    trunc = apr_pmemdup(p, der, len / 2);
    assert_int_equal(acmpca_crl_info(&info, trunc, len / 2, p), APR_EINVAL);
}

typedef struct crl_seen {
    int n;
    const char *id;
    apr_int64_t entries;
} crl_seen;

static int on_crl(void *baton, const char *ca_id, const acmpca_crl_info_t *info,
                  apr_time_t modified)
{
    crl_seen *s = baton;
    s->n++;
    s->id = strdup(ca_id);
    s->entries = info->entries;
    assert_true(modified > 0);
    return 0;
}

static void test_crl_each(void **state)
{
    world_t *w = *state;
    apr_pool_t *p = w->p;
    EVP_PKEY *k = gen(p);
    X509 *x = issue(p, k, "Each Root", k, NULL, 0);
    const char *pem = acmpca_cert_pem(x, p);
    ca_spec_t c = {OTHER, "ROOT", "ACTIVE", pem, NULL, NULL, 1, 0, 0};
    const char *published, *unpublished;
    const unsigned char *der;
    apr_size_t len;
    crl_seen seen = {0, NULL, 0};

    published = put_ca(w, &c);
    unpublished = put_ca(w, &c);
    c.crl = 0;
    put_ca(w, &c);
    der = make_crl(&len, p, x, k, 5, 2, time(NULL) - 30, time(NULL) + 3600);
    put_crl(w, published, der, len);

    assert_int_equal(acmpca_pki_crl_each(w->store, on_crl, &seen, apr_time_now(), p), APR_SUCCESS);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.id, published);
    assert_int_equal(seen.entries, 5);
    assert_string_not_equal(seen.id, unpublished);
    free((void *)seen.id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_filter_parse),
        cmocka_unit_test_setup_teardown(test_feed_lists_public_states_only, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_feed_filters, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_feed_pages_and_cap, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_files, world_setup, world_teardown),
        UNIT_TEST(test_fingerprint_and_der),
        UNIT_TEST(test_crl_info),
        cmocka_unit_test_setup_teardown(test_crl_each, world_setup, world_teardown),
    };
    return cmocka_run_group_tests_name("pki", tests, unit_group_setup, unit_group_teardown);
}
