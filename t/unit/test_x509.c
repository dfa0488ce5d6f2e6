/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of src/x509: keys, names, CSRs, templates, issuance, parsing, import checks. */
#include <string.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit.h"

#include "acmpca/err.h"
#include "acmpca/json.h"
#include "acmpca/x509.h"
#include "../../src/x509/cert_int.h"
#include "../../src/x509/sign_int.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define TPL(n)   ACMPCA_TEMPLATE_ARN_PREFIX n
#define DAY      (apr_time_from_sec(86400))

/* ******************************************************************************** */
/* Helpers                                                                           */
/* ******************************************************************************** */

static cJSON *json(apr_pool_t *p, const char *text)
{
    cJSON *j = text ? acmpca_json_parse(text, strlen(text), p) : NULL;

    if (text && !j) {
        fail_msg("bad JSON in test: %s", text);
    }
    return j;
}

static EVP_PKEY *gen(apr_pool_t *p, const char *alg)
{
    acmpca_err_t err = {0};
    EVP_PKEY *key = NULL;

    assert_int_equal(acmpca_key_generate(&key, alg, &err, p), APR_SUCCESS);
    return key;
}

static void assert_err(apr_status_t rv, const acmpca_err_t *err, acmpca_errtype_t type)
{
    if (rv != ACMPCA_EAWS || err->type != type) {
        fail_msg("expected %s, got rv=%d %s: %s", acmpca_err_name(type), rv,
                 acmpca_err_name(err->type), err->message ? err->message : "");
    }
}

static X509_REQ *parse_csr(apr_pool_t *p, const char *pem)
{
    acmpca_err_t err = {0};
    X509_REQ *req = NULL;
    apr_status_t rv = acmpca_csr_parse(&req, (const unsigned char *)pem, strlen(pem), &err, p);

    if (rv != APR_SUCCESS) {
        fail_msg("CSR refused: %s", err.message);
    }
    return req;
}

static X509_REQ *make_csr(apr_pool_t *p, EVP_PKEY *key, const char *subject, const char *exts,
                          const char *sigalg)
{
    acmpca_err_t err = {0};
    const char *pem = NULL;

    if (acmpca_csr_make(&pem, key, json(p, subject), json(p, exts), sigalg, &err, p)
        != APR_SUCCESS) {
        fail_msg("CSR not made: %s", err.message);
    }
    return parse_csr(p, pem);
}

/* A CSR with extensions in openssl.cnf syntax ({nid, "critical,..."} pairs), built with
 * OpenSSL directly: acmpca_csr_make only knows the CA's CsrExtensions. */
typedef struct {
    int nid;
    const char *value;
} ext_conf_t;

static X509_REQ *ext_csr(apr_pool_t *p, EVP_PKEY *key, const char *cn, const ext_conf_t *conf,
                         size_t n)
{
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_NAME *name = X509_REQ_get_subject_name(req);
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    size_t i;

    if (cn) {
        X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn,
                                   -1, -1, 0);
    }
    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, conf[i].nid, conf[i].value);

        assert_non_null(ext);
        sk_X509_EXTENSION_push(exts, ext);
    }
    if (n) {
        assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
    }
    assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
    assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
    len = BIO_get_mem_data(bio, &data);
    data = apr_pstrmemdup(p, data, (apr_size_t)len);
    BIO_free(bio);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    return parse_csr(p, data);
}

typedef struct {
    X509_REQ *csr;
    EVP_PKEY *issuer_key;
    X509 *issuer_cert;
    const char *tmpl;
    const char *sigalg;
    apr_time_t not_before, not_after;
    const char *crl_url, *ocsp_url;
    const cJSON *api;
} issue_args_t;

static apr_status_t issue_rv(X509 **px, const issue_args_t *a, acmpca_err_t *err, apr_pool_t *p)
{
    static unsigned char counter;
    unsigned char serial[16] = {0x5a, 0x01};
    apr_time_t now = apr_time_now();
    acmpca_issue_t in = {0};

    serial[15] = ++counter;
    in.csr = a->csr;
    in.issuer_key = a->issuer_key;
    in.issuer_cert = a->issuer_cert;
    in.signing_algorithm = a->sigalg ? a->sigalg : "SHA256WITHECDSA";
    in.tmpl = acmpca_template_find(a->tmpl);
    in.serial = serial;
    in.serial_len = sizeof(serial);
    in.not_before = a->not_before ? a->not_before : now - apr_time_from_sec(3600);
    in.not_after = a->not_after ? a->not_after : now + 365 * DAY;
    in.crl_url = a->crl_url;
    in.ocsp_url = a->ocsp_url;
    in.api_passthrough = a->api;
    assert_non_null(in.tmpl);
    return acmpca_cert_issue(px, &in, err, p);
}

static X509 *issue(apr_pool_t *p, const issue_args_t *a)
{
    acmpca_err_t err = {0};
    X509 *x = NULL;

    if (issue_rv(&x, a, &err, p) != APR_SUCCESS) {
        fail_msg("issue with %s failed: %s", a->tmpl, err.message);
    }
    assert_non_null(x);
    return x;
}

/* A self-signed root on RootCACertificate/V1 (PCA-API.md §5.5, §7.3). */
static X509 *make_root(apr_pool_t *p, EVP_PKEY *key, const char *cn)
{
    const char *subject = apr_psprintf(p, "{\"Country\":\"US\",\"CommonName\":\"%s\"}", cn);
    issue_args_t a = {0};

    a.csr = make_csr(p, key, subject, NULL, "SHA256WITHECDSA");
    a.issuer_key = key;
    a.tmpl = TPL("RootCACertificate/V1");
    return issue(p, &a);
}

static X509 *make_sub(apr_pool_t *p, EVP_PKEY *key, const char *cn, EVP_PKEY *ikey, X509 *icert,
                      const char *tmpl)
{
    const char *subject = apr_psprintf(p, "{\"Country\":\"US\",\"CommonName\":\"%s\"}", cn);
    issue_args_t a = {0};

    a.csr =
        make_csr(p, key, subject, NULL,
                 EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "SHA256WITHRSA" : "SHA256WITHECDSA");
    a.issuer_key = ikey;
    a.issuer_cert = icert;
    a.tmpl = tmpl;
    return issue(p, &a);
}

static X509_EXTENSION *get_ext(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);

    return i >= 0 ? X509_get_ext(x, i) : NULL;
}

static int ext_critical(X509 *x, int nid)
{
    X509_EXTENSION *ext = get_ext(x, nid);

    assert_non_null(ext);
    return X509_EXTENSION_get_critical(ext);
}

/* The URI of a one-URI CDP or OCSP AIA, in p; NULL when absent. */
static const char *uri_of(GENERAL_NAME *gn, apr_pool_t *p)
{
    assert_int_equal(gn->type, GEN_URI);
    return apr_pstrmemdup(p, (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                          (apr_size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier));
}

static const char *cdp_uri(X509 *x, apr_pool_t *p)
{
    CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    const char *uri = NULL;

    if (cdp) {
        DIST_POINT *dp = sk_DIST_POINT_value(cdp, 0);

        assert_int_equal(sk_DIST_POINT_num(cdp), 1);
        assert_int_equal(dp->distpoint->type, 0);
        assert_int_equal(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
        uri = uri_of(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0), p);
        CRL_DIST_POINTS_free(cdp);
    }
    return uri;
}

static const char *ocsp_uri(X509 *x, apr_pool_t *p)
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
    const char *uri = NULL;

    if (aia) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, 0);

        assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 1);
        assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_OCSP);
        uri = uri_of(ad->location, p);
        AUTHORITY_INFO_ACCESS_free(aia);
    }
    return uri;
}

static void assert_names_identical(const X509_NAME *a, const X509_NAME *b)
{
    const unsigned char *da, *db;
    size_t la, lb;

    assert_int_equal(X509_NAME_get0_der(a, &da, &la), 1);
    assert_int_equal(X509_NAME_get0_der(b, &db, &lb), 1);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
}

static void assert_bc(X509 *x, int ca, int pathlen, int critical)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);

    assert_non_null(bc);
    assert_int_equal(crit, critical);
    assert_int_equal(!!bc->ca, ca);
    if (pathlen < 0) {
        assert_null(bc->pathlen);
    }
    else {
        assert_non_null(bc->pathlen);
        assert_int_equal(ASN1_INTEGER_get(bc->pathlen), pathlen);
    }
    BASIC_CONSTRAINTS_free(bc);
}

/* SKI is SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1). */
static void assert_ski_method1(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n;
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);

    assert_non_null(ski);
    assert_int_equal(X509_pubkey_digest(x, EVP_sha1(), md, &n), 1);
    assert_int_equal(ASN1_STRING_length(ski), n);
    assert_memory_equal(ASN1_STRING_get0_data(ski), md, n);
}

static void assert_aki_is(X509 *x, X509 *issuer)
{
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);

    assert_non_null(aki);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(issuer)), 0);
    assert_int_equal(ext_critical(x, NID_authority_key_identifier), 0);
}

/* ******************************************************************************** */
/* Keys (PCA-API.md §5.1, §7.1)                                                      */
/* ******************************************************************************** */

static void test_key_generate(void **state)
{
    static const struct {
        const char *alg;
        const char *type;
        int bits;
    } cases[] = {
        {"RSA_2048", "RSA", 2048},    {"RSA_3072", "RSA", 3072},   {"RSA_4096", "RSA", 4096},
        {"EC_prime256v1", "EC", 256}, {"EC_secp384r1", "EC", 384}, {"EC_secp521r1", "EC", 521},
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        EVP_PKEY *key = gen(p, cases[i].alg);
        char buf[64];

        assert_true(EVP_PKEY_is_a(key, cases[i].type));
        assert_int_equal(EVP_PKEY_get_bits(key), cases[i].bits);
        assert_string_equal(acmpca_key_algorithm_of(key), cases[i].alg);
        if (!strcmp(cases[i].type, "RSA")) {
            BIGNUM *e = NULL;

            /* e = 65537 (PCA-API.md §7.1). */
            assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e), 1);
            assert_true(BN_is_word(e, 65537));
            BN_free(e);
        }
        else {
            assert_int_equal(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, buf,
                                                            sizeof(buf), NULL),
                             1);
            assert_string_equal(buf, "named_curve");
            assert_int_equal(
                EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, buf,
                                               sizeof(buf), NULL),
                1);
            assert_string_equal(buf, "uncompressed");
        }
    }
}

static void test_key_unsupported(void **state)
{
    /* Enum values of KeyAlgorithm the module does not implement (PCA-API.md §5.1
     * [DECISION]), and values that are not KeyAlgorithms at all. */
    static const char *const cases[] = {"ML_DSA_44", "ML_DSA_65",    "ML_DSA_87", "SM2",
                                        "RSA_1024",  "EC_secp256k1", "",          NULL};
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        EVP_PKEY *key = (EVP_PKEY *)1;

        assert_err(acmpca_key_generate(&key, cases[i], &err, p), &err, ACMPCA_ERR_INVALID_ARGS);
        assert_null(key);
        assert_non_null(strstr(err.message, "is not supported"));
    }
    assert_null(acmpca_key_algorithm_of(NULL));
}

static void test_sigalg_check(void **state)
{
    static const struct {
        const char *sigalg, *keyalg;
        const char *message; /* NULL: accepted */
    } cases[] = {
        {"SHA256WITHRSA", "RSA_2048", NULL},
        {"SHA384WITHRSA", "RSA_3072", NULL},
        {"SHA512WITHRSA", "RSA_4096", NULL},
        {"SHA256WITHECDSA", "EC_prime256v1", NULL},
        {"SHA384WITHECDSA", "EC_secp384r1", NULL},
        {"SHA512WITHECDSA", "EC_secp521r1", NULL},
        /* Verbatim from AWS, cert-manager/aws-privateca-issuer#22. */
        {"SHA384WITHECDSA", "RSA_2048",
         "Signing algorithm SHA384WITHECDSA cannot be used with key type RSA_2048. Valid signing "
         "algorithms are: SHA256WITHRSA, SHA384WITHRSA, SHA512WITHRSA."},
        /* The same form for the other families (PCA-API.md §5.1). */
        {"SHA256WITHRSA", "EC_prime256v1",
         "Signing algorithm SHA256WITHRSA cannot be used with key type EC_prime256v1. Valid "
         "signing algorithms are: SHA256WITHECDSA, SHA384WITHECDSA, SHA512WITHECDSA."},
        {"SM3WITHSM2", "RSA_4096",
         "Signing algorithm SM3WITHSM2 cannot be used with key type RSA_4096. Valid signing "
         "algorithms are: SHA256WITHRSA, SHA384WITHRSA, SHA512WITHRSA."},
        {"ML_DSA_65", "EC_secp384r1",
         "Signing algorithm ML_DSA_65 cannot be used with key type EC_secp384r1. Valid signing "
         "algorithms are: SHA256WITHECDSA, SHA384WITHECDSA, SHA512WITHECDSA."},
        {"SHA256WITHRSA", "ML_DSA_44",
         "Signing algorithm SHA256WITHRSA cannot be used with key type ML_DSA_44. Valid signing "
         "algorithms are: ML_DSA_44."},
        /* Right family, but the module cannot sign with it [DECISION]. */
        {"SM3WITHSM2", "SM2", "Signing algorithm SM3WITHSM2 is not supported."},
        {"ML_DSA_87", "ML_DSA_87", "Signing algorithm ML_DSA_87 is not supported."},
        {"SHA256WITHRSA", "DSA_1024", "Key algorithm DSA_1024 is not supported."},
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        apr_status_t rv = acmpca_sigalg_check(cases[i].sigalg, cases[i].keyalg, &err, p);

        if (!cases[i].message) {
            assert_int_equal(rv, APR_SUCCESS);
            assert_non_null(acmpca_sigalg_md(cases[i].sigalg));
            continue;
        }
        assert_err(rv, &err, ACMPCA_ERR_INVALID_ARGS);
        assert_string_equal(err.message, cases[i].message);
    }
    assert_ptr_equal(acmpca_sigalg_md("SHA384WITHECDSA"), EVP_sha384());
    assert_null(acmpca_sigalg_md("SM3WITHSM2"));
    assert_null(acmpca_sigalg_md("MD5WITHRSA"));
}

static void test_key_same_public(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *a = gen(p, "EC_prime256v1"), *b = gen(p, "EC_prime256v1");
    EVP_PKEY *r = gen(p, "RSA_2048");
    X509 *root = make_root(p, a, "same public");

    assert_true(acmpca_key_same_public(a, a));
    assert_true(acmpca_key_same_public(a, X509_get0_pubkey(root)));
    assert_false(acmpca_key_same_public(a, b));
    assert_false(acmpca_key_same_public(a, r));
    assert_false(acmpca_key_same_public(a, NULL));
}

/* ******************************************************************************** */
/* Names (PCA-API.md §7.1, §8)                                                       */
/* ******************************************************************************** */

static void test_name_from_json(void **state)
{
    /* RDN order C, O, OU, DNQ, ST, CN, serialNumber, L, title, SN, GN, initials,
     * pseudonym, generationQualifier (PCA-API.md §7.1); RFC 2253 prints them last to first,
     * and as Java does, only RFC 2253 §2.3 keywords by name (PCA-API.md §8). DER of the
     * values: PrintableString 0x13, UTF8String 0x0c (X.690 §8.23). */
    static const struct {
        const char *subject;
        const char *rfc2253;
    } cases[] = {
        {"{\"CommonName\":\"Example Root\",\"Country\":\"US\",\"Organization\":\"Example Corp\"}",
         "CN=Example Root,O=Example Corp,C=US"},
        {"{\"Locality\":\"Seattle\",\"CommonName\":\"ca\",\"State\":\"WA\",\"OrganizationalUnit\":"
         "\"PKI\",\"Country\":\"US\",\"Organization\":\"Example Corp\"}",
         "L=Seattle,CN=ca,ST=WA,OU=PKI,O=Example Corp,C=US"},
        {"{\"SerialNumber\":\"42\",\"CommonName\":\"x\"}", "2.5.4.5=#13023432,CN=x"},
        {"{\"DistinguishedNameQualifier\":\"q\",\"Title\":\"Dr\"}",
         "2.5.4.12=#0c024472,2.5.4.46=#1301"
         "71"},
        {"{\"GenerationQualifier\":\"III\",\"Pseudonym\":\"ps\",\"Initials\":\"AB\","
         "\"GivenName\":\"Ada\",\"Surname\":\"L\"}",
         "2.5.4.44=#0c03494949,2.5.4.65=#0c027073,2.5.4.43=#0c024142,2.5.4.42=#0c03416461,"
         "2.5.4.4=#0c014c"},
        /* RFC 2253 §2.4 escaping, with Java's choice of what to escape. */
        {"{\"CommonName\":\"a,b+c=d\"}", "CN=a\\,b\\+c\\=d"},
        {"{\"CommonName\":\" #lead; \"}", "CN=\\ \\#lead\\;\\ "},
        {"{\"CommonName\":\"caf\xc3\xa9\"}", "CN=caf\xc3\xa9"},
        /* An empty value adds no attribute. */
        {"{\"CommonName\":\"x\",\"Organization\":\"\"}", "CN=x"},
        /* CustomAttributes keep their order [AWS API_ASN1Subject]. */
        {"{\"CustomAttributes\":[{\"ObjectIdentifier\":\"2.5.4.3\",\"Value\":\"custom\"},"
         "{\"ObjectIdentifier\":\"1.2.3.4\",\"Value\":\"x\"},"
         "{\"ObjectIdentifier\":\"2.5.4.6\",\"Value\":\"DE\"}]}",
         "C=DE,1.2.3.4=#0c0178,CN=custom"},
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        X509_NAME *name = NULL;

        if (acmpca_name_from_json(&name, json(p, cases[i].subject), &err, p) != APR_SUCCESS) {
            fail_msg("%s refused: %s", cases[i].subject, err.message);
        }
        assert_string_equal(acmpca_name_rfc2253(name, p), cases[i].rfc2253);
    }
}

static void test_name_string_types(void **state)
{
    static const char *subject = "{\"Country\":\"US\",\"DistinguishedNameQualifier\":\"q\","
                                 "\"SerialNumber\":\"7\",\"CommonName\":\"c\",\"Title\":\"t\"}";
    static const int types[] = {V_ASN1_PRINTABLESTRING, V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING,
                                V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING};
    apr_pool_t *p = *state;
    acmpca_err_t err = {0};
    X509_NAME *name;
    size_t i;

    assert_int_equal(acmpca_name_from_json(&name, json(p, subject), &err, p), APR_SUCCESS);
    assert_int_equal(X509_NAME_entry_count(name), COUNT(types));
    for (i = 0; i < COUNT(types); i++) {
        const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, (int)i);

        assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(ne)), types[i]);
        assert_int_equal(X509_NAME_ENTRY_set(ne), (int)i); /* one attribute per RDN */
    }
}

static void test_name_errors(void **state)
{
    static const char *const cases[] = {
        "{}",                    /* empty subject [AWS] */
        "{\"CommonName\":\"\"}", /* nothing left */
        "[]",                    /* not an object */
        "{\"CommonName\":\"x\",\"CustomAttributes\":[{\"ObjectIdentifier\":\"2.5.4.3\","
        "\"Value\":\"y\"}]}", /* mixed [AWS API_ASN1Subject] */
        "{\"CustomAttributes\":[{\"ObjectIdentifier\":\"1.2.x\",\"Value\":\"y\"}]}",
        "{\"CustomAttributes\":[{\"ObjectIdentifier\":\"1.2.3\"}]}",
        "{\"CustomAttributes\":[]}",
        "{\"Country\":\"U$\"}", /* not a PrintableString (X.680 §41.4) */
        "{\"SerialNumber\":\"caf\xc3\xa9\"}",
        "{\"CommonName\":\"bad \xc3\x28 utf8\"}", /* invalid UTF-8 */
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        X509_NAME *name = (X509_NAME *)1;

        assert_err(acmpca_name_from_json(&name, json(p, cases[i]), &err, p), &err,
                   ACMPCA_ERR_INVALID_ARGS);
        assert_null(name);
    }
}

static void test_general_name(void **state)
{
    static const struct {
        const char *json;
        int type; /* -1: InvalidArgsException */
    } cases[] = {
        {"{\"DnsName\":\"www.example.com\"}", GEN_DNS},
        {"{\"Rfc822Name\":\"pki@example.com\"}", GEN_EMAIL},
        {"{\"UniformResourceIdentifier\":\"http://example.com/ca\"}", GEN_URI},
        {"{\"IpAddress\":\"192.0.2.1\"}", GEN_IPADD},   /* RFC 5737 documentation address */
        {"{\"IpAddress\":\"2001:db8::1\"}", GEN_IPADD}, /* RFC 3849 */
        {"{\"RegisteredId\":\"1.3.6.1.4.1.99999.1\"}", GEN_RID},
        {"{\"DirectoryName\":{\"CommonName\":\"dir\"}}", GEN_DIRNAME},
        {"{\"OtherName\":{\"TypeId\":\"1.3.6.1.4.1.311.20.2.3\",\"Value\":\"u@example.com\"}}",
         GEN_OTHERNAME},
        {"{\"EdiPartyName\":{\"PartyName\":\"party\",\"NameAssigner\":\"assigner\"}}",
         GEN_EDIPARTY},
        {"{}", -1},
        {"{\"DnsName\":\"a\",\"Rfc822Name\":\"b\"}", -1},
        {"{\"DnsName\":\"caf\xc3\xa9.example\"}", -1},
        /* RFC 5280 §4.2.1.6 syntax ('_' tolerated, a leftmost wildcard allowed) */
        {"{\"DnsName\":\"*.example.com\"}", GEN_DNS},
        {"{\"DnsName\":\"_srv.internal-1.example\"}", GEN_DNS},
        {"{\"DnsName\":\"bad name!\"}", -1},
        {"{\"DnsName\":\"a..example\"}", -1},
        {"{\"DnsName\":\"-lead.example\"}", -1},
        {"{\"DnsName\":\"\"}", -1},
        {"{\"Rfc822Name\":\"no-at-sign\"}", -1},
        {"{\"Rfc822Name\":\"a b@example.com\"}", -1},
        {"{\"UniformResourceIdentifier\":\"no scheme\"}", -1},
        {"{\"UniformResourceIdentifier\":\"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66\"}",
         GEN_URI},
        {"{\"IpAddress\":\"192.0.2.300\"}", -1},
        {"{\"RegisteredId\":\"not.an.oid\"}", -1},
        {"{\"DirectoryName\":{}}", -1},
        {"{\"OtherName\":{\"TypeId\":\"1.2.3\"}}", -1},
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        GENERAL_NAME *gn = NULL;
        apr_status_t rv = acmpca_general_name_from_json(&gn, json(p, cases[i].json), &err, p);

        if (cases[i].type < 0) {
            assert_err(rv, &err, ACMPCA_ERR_INVALID_ARGS);
            assert_null(gn);
            continue;
        }
        if (rv != APR_SUCCESS) {
            fail_msg("%s refused: %s", cases[i].json, err.message);
        }
        assert_int_equal(gn->type, cases[i].type);
        /* It encodes: every member was filled in. */
        assert_true(i2d_GENERAL_NAME(gn, NULL) > 0);
    }
}

/* ******************************************************************************** */
/* CSRs (PCA-API.md §5.5, §7.1)                                                      */
/* ******************************************************************************** */

static void test_csr_make_parse(void **state)
{
    static const char *exts =
        "{\"KeyUsage\":{\"KeyCertSign\":true,\"CRLSign\":true,\"DigitalSignature\":true},"
        "\"SubjectInformationAccess\":[{\"AccessMethod\":{\"AccessMethodType\":\"CA_REPOSITORY\"},"
        "\"AccessLocation\":{\"UniformResourceIdentifier\":\"rsync://repo.example.com/ca/\"}},"
        "{\"AccessMethod\":{\"CustomObjectIdentifier\":\"1.3.6.1.5.5.7.48.11\"},"
        "\"AccessLocation\":{\"UniformResourceIdentifier\":\"https://repo.example.com/\"}}]}";
    static const struct {
        const char *keyalg, *sigalg;
        int signid;
    } cases[] = {
        {"EC_secp384r1", "SHA384WITHECDSA", NID_ecdsa_with_SHA384},
        {"EC_prime256v1", "SHA512WITHECDSA", NID_ecdsa_with_SHA512},
        {"RSA_2048", "SHA256WITHRSA", NID_sha256WithRSAEncryption},
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        EVP_PKEY *key = gen(p, cases[i].keyalg);
        X509_REQ *req = make_csr(p, key, "{\"Country\":\"US\",\"CommonName\":\"My CA\"}", exts,
                                 cases[i].sigalg);
        STACK_OF(X509_EXTENSION) *x = X509_REQ_get_extensions(req);
        X509_EXTENSION *ku, *sia;
        AUTHORITY_INFO_ACCESS *ads;
        ASN1_BIT_STRING *bits;

        assert_int_equal(X509_REQ_get_version(req), X509_REQ_VERSION_1);
        assert_int_equal(X509_REQ_get_signature_nid(req), cases[i].signid);
        assert_true(acmpca_key_same_public(key, X509_REQ_get0_pubkey(req)));
        assert_string_equal(acmpca_name_rfc2253(X509_REQ_get_subject_name(req), p),
                            "CN=My CA,C=US");
        assert_int_equal(sk_X509_EXTENSION_num(x), 2);
        /* KeyUsage critical [DECISION PCA-API.md §7.1], SIA non-critical (RFC 5280
         * §4.2.2.2). */
        ku = sk_X509_EXTENSION_value(x, X509v3_get_ext_by_NID(x, NID_key_usage, -1));
        assert_int_equal(X509_EXTENSION_get_critical(ku), 1);
        bits = X509V3_EXT_d2i(ku);
        assert_true(ASN1_BIT_STRING_get_bit(bits, 0)); /* digitalSignature */
        assert_false(ASN1_BIT_STRING_get_bit(bits, 2));
        assert_true(ASN1_BIT_STRING_get_bit(bits, 5)); /* keyCertSign */
        assert_true(ASN1_BIT_STRING_get_bit(bits, 6)); /* cRLSign */
        ASN1_BIT_STRING_free(bits);
        sia = sk_X509_EXTENSION_value(x, X509v3_get_ext_by_NID(x, NID_sinfo_access, -1));
        assert_int_equal(X509_EXTENSION_get_critical(sia), 0);
        ads = X509V3_EXT_d2i(sia);
        assert_int_equal(sk_ACCESS_DESCRIPTION_num(ads), 2);
        assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(ads, 0)->method),
                         NID_caRepository);
        AUTHORITY_INFO_ACCESS_free(ads);
        sk_X509_EXTENSION_pop_free(x, X509_EXTENSION_free);
    }
}

static void test_csr_make_errors(void **state)
{
    static const struct {
        const char *subject, *exts, *sigalg;
    } cases[] = {
        {"{\"CommonName\":\"x\"}", NULL, "SHA256WITHRSA"}, /* EC key, RSA algorithm */
        {"{}", NULL, "SHA256WITHECDSA"},
        {"{\"CommonName\":\"x\"}",
         "{\"SubjectInformationAccess\":[{\"AccessMethod\":{},\"AccessLocation\":{\"DnsName\":"
         "\"x\"}}]}",
         "SHA256WITHECDSA"},
        {"{\"CommonName\":\"x\"}",
         "{\"SubjectInformationAccess\":[{\"AccessMethod\":{\"AccessMethodType\":\"CA_REPOSITORY\","
         "\"CustomObjectIdentifier\":\"1.2.3\"},\"AccessLocation\":{\"DnsName\":\"x\"}}]}",
         "SHA256WITHECDSA"},
    };
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        const char *pem = "unset";

        assert_err(acmpca_csr_make(&pem, key, json(p, cases[i].subject), json(p, cases[i].exts),
                                   cases[i].sigalg, &err, p),
                   &err, ACMPCA_ERR_INVALID_ARGS);
        assert_null(pem);
    }
}

/* Anything that is not a well-signed PKCS#10 request is MalformedCSRException
 * (PCA-API.md §5.5, §11.5). */
static void test_csr_malformed(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509_REQ *good = make_csr(p, key, "{\"CommonName\":\"x\"}", NULL, "SHA256WITHECDSA");
    X509 *root = make_root(p, key, "not a csr");
    unsigned char *der = NULL, *badsig, *trailing;
    int len = i2d_X509_REQ(good, &der);
    const char *cert_pem = acmpca_cert_pem(root, p);
    const char *sigless_pem;
    struct {
        const char *what;
        const unsigned char *buf;
        apr_size_t len;
    } cases[7];
    size_t i, n = 0;

    assert_true(len > 0);
    badsig = apr_pmemdup(p, der, (apr_size_t)len);
    badsig[len - 5] ^= 0x01; /* inside the ECDSA signature, the last field */
    trailing = apr_palloc(p, (apr_size_t)len + 1);
    memcpy(trailing, der, (apr_size_t)len);
    trailing[len] = 0;
    sigless_pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";

    cases[n].what = "garbage";
    cases[n].buf = (const unsigned char *)"this is not a CSR";
    cases[n++].len = 17;
    cases[n].what = "empty";
    cases[n].buf = (const unsigned char *)"";
    cases[n++].len = 0;
    cases[n].what = "bad signature";
    cases[n].buf = badsig;
    cases[n++].len = (apr_size_t)len;
    cases[n].what = "DER with trailing data";
    cases[n].buf = trailing;
    cases[n++].len = (apr_size_t)len + 1;
    cases[n].what = "truncated DER";
    cases[n].buf = der;
    cases[n++].len = (apr_size_t)len - 10;
    cases[n].what = "a certificate";
    cases[n].buf = (const unsigned char *)cert_pem;
    cases[n++].len = strlen(cert_pem);
    cases[n].what = "broken PEM";
    cases[n].buf = (const unsigned char *)sigless_pem;
    cases[n++].len = strlen(sigless_pem);

    for (i = 0; i < n; i++) {
        acmpca_err_t err = {0};
        X509_REQ *req = (X509_REQ *)1;

        if (acmpca_csr_parse(&req, cases[i].buf, cases[i].len, &err, p) != ACMPCA_EAWS
            || err.type != ACMPCA_ERR_MALFORMED_CSR) {
            fail_msg("%s: not refused as MalformedCSRException", cases[i].what);
        }
        assert_null(req);
    }
    /* DER is tolerated (x509.h). */
    {
        acmpca_err_t err = {0};
        X509_REQ *req;

        assert_int_equal(acmpca_csr_parse(&req, der, (apr_size_t)len, &err, p), APR_SUCCESS);
    }
    OPENSSL_free(der);
}

/* [AWS] a CSR needs a subject or a SAN (PCA-API.md §5.5). */
static void test_csr_subject_or_san(void **state)
{
    /* RFC 5280 §4.2.1.6: with an empty subject the SAN is critical. */
    static const ext_conf_t san[] = {{NID_subject_alt_name, "critical,DNS:only-san.example.com"}};
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509_REQ *req = X509_REQ_new();
    unsigned char *der = NULL;
    acmpca_err_t err = {0};
    X509_REQ *out;
    int len;

    assert_non_null(ext_csr(p, key, NULL, san, COUNT(san)));
    X509_REQ_set_pubkey(req, key);
    X509_REQ_sign(req, key, EVP_sha256());
    len = i2d_X509_REQ(req, &der);
    assert_err(acmpca_csr_parse(&out, der, (apr_size_t)len, &err, p), &err,
               ACMPCA_ERR_MALFORMED_CSR);
    OPENSSL_free(der);
    X509_REQ_free(req);
}

/* ******************************************************************************** */
/* Templates (PCA-API.md §7.3)                                                       */
/* ******************************************************************************** */

static void test_template_find(void **state)
{
    /* Names from AWS's template-definitions.html; flags from the same page. */
    static const struct {
        const char *name;
        int is_ca, path_len, root, csr, api, blank, bc_critical;
        unsigned int ku;
    } cases[] = {
        {"EndEntityCertificate/V1", 0, -1, 0, 0, 0, 0, 0, 0xa0},
        {"EndEntityCertificate_CSRPassthrough/V1", 0, -1, 0, 1, 0, 0, 0, 0xa0},
        {"EndEntityCertificate_APIPassthrough/V1", 0, -1, 0, 0, 1, 0, 0, 0xa0},
        {"EndEntityCertificate_APICSRPassthrough/V1", 0, -1, 0, 1, 1, 0, 0, 0xa0},
        {"EndEntityClientAuthCertificate/V1", 0, -1, 0, 0, 0, 0, 0, 0xa0},
        {"EndEntityClientAuthCertificate_APICSRPassthrough/V1", 0, -1, 0, 1, 1, 0, 0, 0xa0},
        {"EndEntityServerAuthCertificate/V1", 0, -1, 0, 0, 0, 0, 0, 0xa0},
        {"EndEntityServerAuthCertificate_CSRPassthrough/V1", 0, -1, 0, 1, 0, 0, 0, 0xa0},
        {"CodeSigningCertificate/V1", 0, -1, 0, 0, 0, 0, 0, 0x80},
        {"CodeSigningCertificate_APIPassthrough/V1", 0, -1, 0, 0, 1, 0, 0, 0x80},
        {"OCSPSigningCertificate/V1", 0, -1, 0, 0, 0, 0, 0, 0x80},
        {"OCSPSigningCertificate_APICSRPassthrough/V1", 0, -1, 0, 1, 1, 0, 0, 0x80},
        {"RootCACertificate/V1", 1, -1, 1, 0, 0, 0, 1, 0x86},
        {"RootCACertificate_APIPassthrough/V1", 1, -1, 1, 0, 1, 0, 1, 0x86},
        {"SubordinateCACertificate_PathLen0/V1", 1, 0, 0, 0, 0, 0, 1, 0x86},
        {"SubordinateCACertificate_PathLen1_CSRPassthrough/V1", 1, 1, 0, 1, 0, 0, 1, 0x86},
        {"SubordinateCACertificate_PathLen2_APIPassthrough/V1", 1, 2, 0, 0, 1, 0, 1, 0x86},
        {"SubordinateCACertificate_PathLen3_APICSRPassthrough/V1", 1, 3, 0, 1, 1, 0, 1, 0x86},
        {"BlankEndEntityCertificate_APIPassthrough/V1", 0, -1, 0, 0, 1, 1, 0, 0},
        {"BlankEndEntityCertificate_APICSRPassthrough/V1", 0, -1, 0, 1, 1, 1, 0, 0},
        {"BlankEndEntityCertificate_CriticalBasicConstraints_APIPassthrough/V1", 0, -1, 0, 0, 1, 1,
         1, 0},
        {"BlankEndEntityCertificate_CriticalBasicConstraints_APICSRPassthrough/V1", 0, -1, 0, 1, 1,
         1, 1, 0},
        {"BlankRootCACertificate_APIPassthrough/V1", 1, -1, 1, 0, 1, 1, 1, 0},
        {"BlankRootCACertificate_PathLen0_APIPassthrough/V1", 1, 0, 1, 0, 1, 1, 1, 0},
        {"BlankRootCACertificate_PathLen3_APICSRPassthrough/V1", 1, 3, 1, 1, 1, 1, 1, 0},
        {"BlankSubordinateCACertificate_PathLen0_APIPassthrough/V1", 1, 0, 0, 0, 1, 1, 1, 0},
        {"BlankSubordinateCACertificate_PathLen2_APICSRPassthrough/V1", 1, 2, 0, 1, 1, 1, 1, 0},
    };
    static const char *const unknown[] = {
        "arn:aws:acm-pca:::template/EndEntityCertificate/V2",
        "arn:aws:acm-pca:::template/RootCACertificate_CSRPassthrough/V1",
        "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen4/V1",
        "arn:aws:acm-pca:::template/endentitycertificate/V1",
        "arn:aws:acm-pca:us-east-1::template/EndEntityCertificate/V1",
        "EndEntityCertificate/V1",
        "",
        NULL,
    };
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        const acmpca_template_t *t = acmpca_template_find(
            apr_pstrcat(*state, ACMPCA_TEMPLATE_ARN_PREFIX, cases[i].name, NULL));

        if (!t) {
            fail_msg("template %s unknown", cases[i].name);
        }
        assert_string_equal(t->name, cases[i].name);
        assert_int_equal(t->is_ca, cases[i].is_ca);
        assert_int_equal(t->path_len, cases[i].path_len);
        assert_int_equal(t->root, cases[i].root);
        assert_int_equal(t->csr_passthrough, cases[i].csr);
        assert_int_equal(t->api_passthrough, cases[i].api);
        assert_int_equal(t->blank, cases[i].blank);
        assert_int_equal(t->bc_critical, cases[i].bc_critical);
        assert_int_equal(t->key_usage, cases[i].ku);
    }
    for (i = 0; i < COUNT(unknown); i++) {
        assert_null(acmpca_template_find(unknown[i]));
    }
    assert_non_null(acmpca_template_find(TPL(ACMPCA_TEMPLATE_DEFAULT)));
}

/* ******************************************************************************** */
/* Issuance (PCA-API.md §7.2, §7.3)                                                  */
/* ******************************************************************************** */

static void test_issue_root(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_secp384r1");
    issue_args_t a = {0};
    acmpca_cert_info_t info;
    X509 *root;

    a.csr = make_csr(p, key,
                     "{\"Country\":\"US\",\"Organization\":\"Example\",\"CommonName\":"
                     "\"Example Root\"}",
                     NULL, "SHA384WITHECDSA");
    a.issuer_key = key;
    a.tmpl = TPL("RootCACertificate/V1");
    a.sigalg = "SHA384WITHECDSA";
    a.crl_url = "http://pki.example.com/bucket/crl/x.crl"; /* must not appear [AWS] */
    a.ocsp_url = "http://pki.example.com/ocsp";
    root = issue(p, &a);

    assert_int_equal(X509_get_version(root), X509_VERSION_3);
    assert_int_equal(X509_get_signature_nid(root), NID_ecdsa_with_SHA384);
    assert_names_identical(X509_get_issuer_name(root), X509_get_subject_name(root));
    assert_int_equal(X509_verify(root, key), 1);
    assert_bc(root, 1, -1, 1);
    assert_int_equal(ext_critical(root, NID_key_usage), 1);
    assert_int_equal(X509_get_key_usage(root),
                     X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_CERT_SIGN | X509v3_KU_CRL_SIGN);
    assert_null(get_ext(root, NID_ext_key_usage));
    assert_ski_method1(root);
    assert_aki_is(root, root);
    assert_null(get_ext(root, NID_crl_distribution_points));
    assert_null(get_ext(root, NID_info_access));
    assert_int_equal(X509_get_ext_count(root), 4);

    acmpca_cert_info(&info, root, p);
    assert_true(info.is_ca);
    assert_int_equal(info.path_len, -1);
    assert_true(info.self_signed);
    assert_string_equal(info.subject, "CN=Example Root,O=Example,C=US");
    /* The read paths' shortcut agrees (src/x509/peek.c). */
    assert_true(acmpca_cert_pem_self_signed(acmpca_cert_pem(root, p), p));
}

static void test_issue_subordinate(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *rkey = gen(p, "RSA_2048"), *skey = gen(p, "EC_prime256v1");
    X509 *root, *sub;
    issue_args_t a = {0};
    acmpca_cert_info_t info;

    a.csr = make_csr(p, rkey, "{\"CommonName\":\"RSA Root\"}", NULL, "SHA256WITHRSA");
    a.issuer_key = rkey;
    a.tmpl = TPL("RootCACertificate/V1");
    a.sigalg = "SHA256WITHRSA";
    root = issue(p, &a);

    memset(&a, 0, sizeof(a));
    a.csr = make_csr(p, skey, "{\"CommonName\":\"Issuing CA\"}", NULL, "SHA256WITHECDSA");
    a.issuer_key = rkey;
    a.issuer_cert = root;
    a.tmpl = TPL("SubordinateCACertificate_PathLen0/V1");
    a.sigalg = "SHA512WITHRSA";
    a.crl_url = "http://pki.example.com/bucket/crl/root.crl";
    a.ocsp_url = "http://pki.example.com/ocsp";
    sub = issue(p, &a);

    assert_int_equal(X509_verify(sub, rkey), 1);
    assert_int_equal(X509_get_signature_nid(sub), NID_sha512WithRSAEncryption);
    assert_names_identical(X509_get_issuer_name(sub), X509_get_subject_name(root));
    assert_true(acmpca_key_same_public(skey, X509_get0_pubkey(sub)));
    assert_bc(sub, 1, 0, 1);
    assert_int_equal(ext_critical(sub, NID_key_usage), 1);
    assert_int_equal(X509_get_key_usage(sub),
                     X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_CERT_SIGN | X509v3_KU_CRL_SIGN);
    assert_ski_method1(sub);
    assert_aki_is(sub, root);
    assert_string_equal(cdp_uri(sub, p), a.crl_url);
    assert_int_equal(ext_critical(sub, NID_crl_distribution_points), 0);
    assert_string_equal(ocsp_uri(sub, p), a.ocsp_url);
    assert_int_equal(ext_critical(sub, NID_info_access), 0);

    acmpca_cert_info(&info, sub, p);
    assert_true(info.is_ca);
    assert_int_equal(info.path_len, 0);
    assert_false(info.self_signed);
    assert_false(acmpca_cert_pem_self_signed(acmpca_cert_pem(sub, p), p));
    assert_true(acmpca_cert_pem_self_signed(acmpca_cert_pem(root, p), p));
    assert_false(acmpca_cert_pem_self_signed("-----BEGIN CERTIFICATE-----\nMAA=\n"
                                             "-----END CERTIFICATE-----\n",
                                             p));
    assert_false(acmpca_cert_pem_self_signed("not a certificate", p));
}

/* AKI falls back to the method-1 id of the issuer's key when the issuer certificate has
 * no SKI [AWS] (PCA-API.md §7.2). */
static void test_issue_aki_fallback(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *ikey = gen(p, "EC_prime256v1"), *key = gen(p, "EC_prime256v1");
    X509 *issuer = X509_new(), *x;
    issue_args_t a = {0};
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n;
    const ASN1_OCTET_STRING *aki;

    X509_set_version(issuer, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(issuer), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(issuer), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"no ski", -1, -1, 0);
    X509_set_issuer_name(issuer, X509_get_subject_name(issuer));
    X509_gmtime_adj(X509_getm_notBefore(issuer), -3600);
    X509_gmtime_adj(X509_getm_notAfter(issuer), 86400);
    X509_set_pubkey(issuer, ikey);
    bc->ca = 1;
    X509_add1_ext_i2d(issuer, NID_basic_constraints, bc, 1, 0);
    BASIC_CONSTRAINTS_free(bc);
    assert_true(X509_sign(issuer, ikey, EVP_sha256()) > 0);
    assert_null(X509_get0_subject_key_id(issuer));

    a.csr = make_csr(p, key, "{\"CommonName\":\"leaf\"}", NULL, "SHA256WITHECDSA");
    a.issuer_key = ikey;
    a.issuer_cert = issuer;
    a.tmpl = TPL("EndEntityCertificate/V1");
    x = issue(p, &a);
    aki = X509_get0_authority_key_id(x);
    assert_int_equal(X509_pubkey_digest(issuer, EVP_sha1(), md, &n), 1);
    assert_non_null(aki);
    assert_memory_equal(ASN1_STRING_get0_data(aki), md, n);
    X509_free(issuer);
}

static void test_issue_end_entity(void **state)
{
    /* PCA-API.md §7.3 from AWS template-definitions.html. */
    static const struct {
        const char *tmpl;
        unsigned int ku;
        unsigned int xku;
        int eku_critical;
    } cases[] = {
        {"EndEntityCertificate/V1", KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
         XKU_SSL_SERVER | XKU_SSL_CLIENT, 0},
        {"EndEntityClientAuthCertificate/V1", KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
         XKU_SSL_CLIENT, 0},
        {"EndEntityServerAuthCertificate/V1", KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
         XKU_SSL_SERVER, 0},
        /* PCA-API.md §7.3: signing keys get digitalSignature alone. */
        {"CodeSigningCertificate/V1", KU_DIGITAL_SIGNATURE, XKU_CODE_SIGN, 1},
        {"OCSPSigningCertificate/V1", KU_DIGITAL_SIGNATURE, XKU_OCSP_SIGN, 1},
    };
    static const ext_conf_t conf[] = {
        {NID_subject_alt_name, "DNS:www.example.com,IP:192.0.2.7"},
        {NID_key_usage, "critical,keyCertSign"}, /* not copied: no passthrough */
        {NID_basic_constraints, "critical,CA:TRUE"},
    };
    apr_pool_t *p = *state;
    EVP_PKEY *rkey = gen(p, "EC_prime256v1"), *skey = gen(p, "EC_prime256v1");
    EVP_PKEY *key = gen(p, "RSA_2048");
    X509 *root = make_root(p, rkey, "EE Root");
    X509 *sub =
        make_sub(p, skey, "EE Issuing", rkey, root, TPL("SubordinateCACertificate_PathLen0/V1"));
    X509_REQ *csr = ext_csr(p, key, "www.example.com", conf, COUNT(conf));
    X509_EXTENSION *want_san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, conf[0].value);
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        issue_args_t a = {0};
        X509_STORE *store = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        STACK_OF(X509) *untrusted = sk_X509_new_null();
        X509_EXTENSION *san;
        X509 *x;

        a.csr = csr;
        a.issuer_key = skey;
        a.issuer_cert = sub;
        a.tmpl = apr_pstrcat(p, ACMPCA_TEMPLATE_ARN_PREFIX, cases[i].tmpl, NULL);
        a.crl_url = "http://pki.example.com/bucket/crl/sub.crl";
        x = issue(p, &a);

        assert_int_equal(X509_verify(x, skey), 1);
        assert_bc(x, 0, -1, 0);
        assert_int_equal(ext_critical(x, NID_key_usage), 1);
        assert_int_equal(X509_get_key_usage(x), cases[i].ku);
        assert_int_equal(X509_get_extended_key_usage(x), cases[i].xku);
        assert_int_equal(ext_critical(x, NID_ext_key_usage), cases[i].eku_critical);
        assert_ski_method1(x);
        assert_aki_is(x, sub);
        assert_string_equal(cdp_uri(x, p), a.crl_url);
        assert_null(get_ext(x, NID_info_access));
        /* SAN copied from the CSR as it was [AWS] (PCA-API.md §7.2). */
        san = get_ext(x, NID_subject_alt_name);
        assert_non_null(san);
        assert_int_equal(
            ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(san), X509_EXTENSION_get_data(want_san)),
            0);
        assert_int_equal(X509_get_ext_count(x), 7);

        /* The whole chain verifies the way TLS clients check it. */
        X509_STORE_add_cert(store, root);
        sk_X509_push(untrusted, sub);
        assert_int_equal(X509_STORE_CTX_init(ctx, store, x, untrusted), 1);
        if (X509_verify_cert(ctx) != 1) {
            fail_msg("%s: chain does not verify: %s", cases[i].tmpl,
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        }
        X509_STORE_CTX_free(ctx);
        sk_X509_free(untrusted);
        X509_STORE_free(store);
    }
    X509_EXTENSION_free(want_san);
}

/* The first element of a DER SEQUENCE (a Certificate's TBSCertificate), as its bytes. */
static const unsigned char *first_of(const unsigned char *der, long len, long *pn)
{
    const unsigned char *q = der;
    long n;
    int tag, cls;

    assert_int_equal(ASN1_get_object(&q, &n, &tag, &cls, len) & 0x80, 0);
    der = q;
    assert_int_equal(ASN1_get_object(&q, &n, &tag, &cls, len - (q - der)) & 0x80, 0);
    *pn = (long)(q - der) + n;
    return der;
}

/* One request through both builders: the lean one (cert_der.c) must either decline it
 * (want 0) or issue what the general one issues, byte for byte (the whole certificate
 * when the CA key is RSA, whose PKCS #1 v1.5 signature is deterministic; else the
 * TBSCertificate and a signature that verifies), with the same summary; and
 * acmpca_cert_issue_pem hands the same out either way. */
static void same_issue(apr_pool_t *p, const acmpca_issue_t *in, int want, const char *what)
{
    acmpca_err_t err = {0}, err2 = {0};
    acmpca_cert_info_t fast, slow, out;
    const unsigned char *der = NULL, *q;
    unsigned char *sder = NULL;
    apr_size_t len = 0;
    const char *pem;
    X509 *x = NULL, *y;
    long tn, sn;
    int rc = acmpca_cert_der_issue(&der, &len, &fast, in, p), slen;
    apr_status_t rv = acmpca_cert_issue_lean(&x, in, &err, p);

    if (rc != want) {
        fail_msg("%s: the lean builder answered %d, not %d", what, rc, want);
    }
    assert_int_equal(acmpca_cert_issue_pem(&out, &pem, in, &err2, p), rv);
    if (rv != APR_SUCCESS) {
        assert_int_equal(rc, 0); /* a refusal is the general builder's */
        assert_string_equal(err.message, err2.message);
        return;
    }
    acmpca_cert_info(&slow, x, p);
    assert_string_equal(out.serial_hex, slow.serial_hex);
    assert_string_equal(out.subject, slow.subject);
    if (rc != 1) {
        return;
    }
    slen = i2d_X509(x, &sder);
    assert_true(slen > 0);
    if (EVP_PKEY_get_base_id(in->issuer_key) == EVP_PKEY_RSA) {
        if ((apr_size_t)slen != len || memcmp(sder, der, len)) {
            fail_msg("%s: the certificates differ", what);
        }
    }
    else {
        const unsigned char *a = first_of(der, (long)len, &tn), *b = first_of(sder, slen, &sn);

        if (tn != sn || memcmp(a, b, (size_t)tn)) {
            fail_msg("%s: the TBSCertificates differ", what);
        }
    }
    q = der;
    assert_non_null(y = d2i_X509(NULL, &q, (long)len));
    assert_int_equal(X509_verify(y, in->issuer_key), 1);
    X509_free(y);
    OPENSSL_free(sder);
    assert_string_equal(fast.serial_hex, slow.serial_hex);
    assert_string_equal(fast.serial_colons, slow.serial_colons);
    assert_string_equal(fast.subject, slow.subject);
    assert_true(fast.not_before == slow.not_before && fast.not_after == slow.not_after);
    assert_int_equal(fast.is_ca, slow.is_ca);
    assert_int_equal(fast.path_len, slow.path_len);
    assert_int_equal(fast.self_signed, slow.self_signed);
}

/* The lean builder against the general one: every template, CSRs with and without a
 * SubjectAltName or a subject, RSA and EC issuers, CRL and OCSP pointers or none,
 * serials with leading zeros or the high bit, times on both sides of 2050. */
static void test_issue_der_same(void **state)
{
    static const ext_conf_t san[] = {{NID_subject_alt_name, "DNS:www.example.com,IP:192.0.2.7"}};
    static const ext_conf_t more[] = {
        {NID_subject_alt_name, "critical,DNS:a.example.com"},
        {NID_key_usage, "critical,keyCertSign"},
        {NID_ext_key_usage, "codeSigning"},
    };
    static const unsigned char serial_high[] = {0x00, 0x00, 0x93, 0x01, 0x02};
    static const unsigned char serial_plain[] = {0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                                 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    apr_pool_t *p = *state;
    EVP_PKEY *rkey = gen(p, "EC_prime256v1"), *ekey = gen(p, "EC_secp384r1");
    EVP_PKEY *rsa = gen(p, "RSA_2048"), *leaf = gen(p, "EC_prime256v1");
    EVP_PKEY *leaf384 = gen(p, "EC_secp384r1"), *leaf_rsa = gen(p, "RSA_2048");
    X509 *root = make_root(p, rkey, "DER Root");
    X509 *esub = make_sub(p, ekey, "DER EC Issuing", rkey, root,
                          TPL("SubordinateCACertificate_PathLen1/V1"));
    X509 *rsub = make_sub(p, rsa, "DER RSA Issuing", rkey, root,
                          TPL("SubordinateCACertificate_PathLen1/V1"));
    struct {
        X509_REQ *csr;
        int lean; /* an EC key the lean builder takes */
    } csrs[] = {
        {ext_csr(p, leaf, "www.example.com", san, COUNT(san)), 1},
        {ext_csr(p, leaf384, "plain.example.com", NULL, 0), 1},
        {ext_csr(p, leaf, NULL, more, COUNT(more)), 1},
        {ext_csr(p, leaf_rsa, "rsa.example.com", san, COUNT(san)), 0},
    };
    const char *urls[][2] = {
        {NULL, NULL},
        {"http://pki.example.com/bucket/crl/x.crl", NULL},
        {"http://pki.example.com/bucket/crl/x.crl", "http://ocsp.example.com"},
    };
    cJSON *api = json(p, "{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":true}}}");
    apr_time_t now = apr_time_now();
    const acmpca_template_t *t;
    int i, c, u, k;

    for (i = 0; (t = acmpca_template_nth(i)) != NULL; i++) {
        for (c = 0; c < (int)COUNT(csrs); c++) {
            for (u = 0; u < (int)COUNT(urls); u++) {
                for (k = 0; k < 2; k++) {
                    acmpca_issue_t in = {0};
                    int want;

                    in.csr = csrs[c].csr;
                    in.issuer_key = k ? rsa : ekey;
                    in.issuer_cert = k ? rsub : esub;
                    in.signing_algorithm = k ? "SHA256WITHRSA" : "SHA384WITHECDSA";
                    in.tmpl = t;
                    in.serial = (u + k) % 2 ? serial_high : serial_plain;
                    in.serial_len = (u + k) % 2 ? sizeof(serial_high) : sizeof(serial_plain);
                    in.not_before = now - apr_time_from_sec(60);
                    in.not_after = now + (c == 1 ? 40 * 365 * DAY : 30 * DAY);
                    in.crl_url = urls[u][0];
                    in.ocsp_url = urls[u][1];
                    in.api_passthrough = u == 2 && t->api_passthrough ? api : NULL;
                    want = csrs[c].lean && !t->root && !t->csr_passthrough && !in.api_passthrough;
                    if (want && t->blank && t->is_ca) {
                        want = 0; /* no keyCertSign without ApiPassthrough: a refusal */
                    }
                    if (t->root) {
                        continue; /* a root self-signs the CA's own CSR: not these */
                    }
                    same_issue(p, &in, want,
                               apr_psprintf(p, "%s, CSR %d, URLs %d, %s issuer", t->name, c, u,
                                            k ? "RSA" : "EC"));
                    /* A signing algorithm of another key family: both refuse. */
                    in.signing_algorithm = k ? "SHA256WITHECDSA" : "SHA256WITHRSA";
                    same_issue(p, &in, 0, apr_psprintf(p, "%s, wrong algorithm", t->name));
                }
            }
        }
    }
}

/* UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5). */
static void test_issue_validity_encoding(void **state)
{
    static const struct {
        apr_time_t not_after; /* seconds */
        int type;
    } cases[] = {
        {2524607999LL, V_ASN1_UTCTIME},         /* 2049-12-31T23:59:59Z */
        {2524608000LL, V_ASN1_GENERALIZEDTIME}, /* 2050-01-01T00:00:00Z */
        {4102444800LL, V_ASN1_GENERALIZEDTIME}, /* 2100-01-01T00:00:00Z */
    };
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        issue_args_t a = {0};
        acmpca_cert_info_t info;
        X509 *x;

        a.csr = make_csr(p, key, "{\"CommonName\":\"validity\"}", NULL, "SHA256WITHECDSA");
        a.issuer_key = key;
        a.tmpl = TPL("RootCACertificate/V1");
        a.not_before = apr_time_from_sec(1700000000);
        a.not_after = apr_time_from_sec(cases[i].not_after);
        x = issue(p, &a);
        assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_UTCTIME);
        assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), cases[i].type);
        acmpca_cert_info(&info, x, p);
        assert_true(info.not_before == a.not_before);
        assert_true(info.not_after == a.not_after);
    }
}

static void test_issue_errors(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1"), *other = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, key, "errors");
    acmpca_err_t err = {0};
    issue_args_t a = {0};
    X509 *x = NULL;

    /* A root template self-signs: only the CA's own CSR fits (PCA-API.md §11.4). */
    a.csr = make_csr(p, other, "{\"CommonName\":\"foreign\"}", NULL, "SHA256WITHECDSA");
    a.issuer_key = key;
    a.tmpl = TPL("RootCACertificate/V1");
    assert_err(issue_rv(&x, &a, &err, p), &err, ACMPCA_ERR_INVALID_ARGS);
    assert_null(x);

    /* Signing algorithm of the wrong family (PCA-API.md §5.5). */
    a.issuer_cert = root;
    a.tmpl = TPL("EndEntityCertificate/V1");
    a.sigalg = "SHA256WITHRSA";
    assert_err(issue_rv(&x, &a, &err, p), &err, ACMPCA_ERR_INVALID_ARGS);
    assert_string_equal(err.message, "Signing algorithm SHA256WITHRSA cannot be used with key type "
                                     "EC_prime256v1. Valid signing algorithms are: "
                                     "SHA256WITHECDSA, SHA384WITHECDSA, SHA512WITHECDSA.");

    /* A non-root template without an issuing certificate is our own bug. */
    a.issuer_cert = NULL;
    a.sigalg = NULL;
    assert_err(issue_rv(&x, &a, &err, p), &err, ACMPCA_ERR_INTERNAL);
}

/* ******************************************************************************** */
/* Passthrough (PCA-API.md §7.3; AWS template-varieties, template-order-of-operations) */
/* ******************************************************************************** */

static const char *api_full =
    "{\"Subject\":{\"Country\":\"DE\",\"CommonName\":\"api subject\"},"
    "\"Extensions\":{"
    "\"KeyUsage\":{\"DigitalSignature\":true,\"NonRepudiation\":true},"
    "\"ExtendedKeyUsage\":[{\"ExtendedKeyUsageType\":\"CLIENT_AUTH\"},"
    "{\"ExtendedKeyUsageType\":\"SMART_CARD_LOGIN\"},"
    "{\"ExtendedKeyUsageObjectIdentifier\":\"1.3.6.1.4.1.99999.7\"}],"
    "\"CertificatePolicies\":[{\"CertPolicyId\":\"2.23.140.1.2.1\",\"PolicyQualifiers\":"
    "[{\"PolicyQualifierId\":\"CPS\",\"Qualifier\":{\"CpsUri\":\"https://example.com/cps\"}}]}],"
    "\"SubjectAlternativeNames\":[{\"Rfc822Name\":\"user@example.com\"}],"
    /* 1.3.6.1.4.1.99999.9 = UTF8String "hi"; 2.5.29.19 = BasicConstraints CA:TRUE */
    "\"CustomExtensions\":[{\"ObjectIdentifier\":\"1.3.6.1.4.1.99999.9\",\"Value\":\"DAJoaQ==\","
    "\"Critical\":true},{\"ObjectIdentifier\":\"2.5.29.19\",\"Value\":\"MAMBAf8=\"}]}}";

static void test_passthrough_blank(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *ikey = gen(p, "EC_prime256v1"), *key = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, ikey, "Blank Root");
    issue_args_t a = {0};
    CERTIFICATEPOLICIES *pols;
    POLICYINFO *pi;
    X509_EXTENSION *ext;
    ASN1_OBJECT *custom;
    X509 *x;
    char oid[64];

    a.csr = make_csr(p, key, "{\"CommonName\":\"csr subject\"}", NULL, "SHA256WITHECDSA");
    a.issuer_key = ikey;
    a.issuer_cert = root;
    a.tmpl = TPL("BlankEndEntityCertificate_APIPassthrough/V1");
    a.api = json(p, api_full);
    x = issue(p, &a);

    assert_int_equal(X509_verify(x, ikey), 1);
    assert_string_equal(acmpca_name_rfc2253(X509_get_subject_name(x), p), "CN=api subject,C=DE");
    /* Template wins over the API's custom BasicConstraints. */
    assert_bc(x, 0, -1, 0);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
    assert_int_equal(ext_critical(x, NID_key_usage), 1);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
    assert_int_equal(ext_critical(x, NID_ext_key_usage), 0);
    pols = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
    assert_non_null(pols);
    pi = sk_POLICYINFO_value(pols, 0);
    OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1);
    assert_string_equal(oid, "2.23.140.1.2.1");
    assert_int_equal(OBJ_obj2nid(sk_POLICYQUALINFO_value(pi->qualifiers, 0)->pqualid),
                     NID_id_qt_cps);
    CERTIFICATEPOLICIES_free(pols);
    assert_non_null(get_ext(x, NID_subject_alt_name));
    custom = OBJ_txt2obj("1.3.6.1.4.1.99999.9", 1);
    ext = X509_get_ext(x, X509_get_ext_by_OBJ(x, custom, -1));
    ASN1_OBJECT_free(custom);
    assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
    assert_int_equal(ASN1_STRING_length(X509_EXTENSION_get_data(ext)), 4);
    assert_memory_equal(ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)), "\x0c\x02hi", 4);
}

static void test_passthrough_ignored(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *ikey = gen(p, "EC_prime256v1"), *key = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, ikey, "Ignore Root");
    issue_args_t a = {0};
    X509 *x;

    /* [AWS] ApiPassthrough is ignored unless the template is an API passthrough one. */
    a.csr = make_csr(p, key, "{\"CommonName\":\"csr subject\"}", NULL, "SHA256WITHECDSA");
    a.issuer_key = ikey;
    a.issuer_cert = root;
    a.tmpl = TPL("EndEntityCertificate/V1");
    a.api = json(p, api_full);
    x = issue(p, &a);
    assert_string_equal(acmpca_name_rfc2253(X509_get_subject_name(x), p), "CN=csr subject");
    assert_null(get_ext(x, NID_certificate_policies));
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);

    /* An API passthrough variant: template KU and EKU win, the rest comes in. */
    a.tmpl = TPL("EndEntityCertificate_APIPassthrough/V1");
    x = issue(p, &a);
    assert_string_equal(acmpca_name_rfc2253(X509_get_subject_name(x), p), "CN=api subject,C=DE");
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
    assert_non_null(get_ext(x, NID_certificate_policies));
}

static void test_passthrough_csr(void **state)
{
    static const ext_conf_t conf[] = {
        {NID_subject_alt_name, "DNS:csr.example.com"},
        {NID_key_usage, "critical,keyAgreement"},
        {NID_netscape_comment, "from the CSR"},
    };
    apr_pool_t *p = *state;
    EVP_PKEY *ikey = gen(p, "EC_prime256v1"), *key = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, ikey, "CSR Root");
    issue_args_t a = {0};
    X509 *x;

    a.csr = ext_csr(p, key, "csr", conf, COUNT(conf));
    a.issuer_key = ikey;
    a.issuer_cert = root;
    a.tmpl = TPL("EndEntityCertificate/V1");
    x = issue(p, &a);
    assert_null(get_ext(x, NID_netscape_comment));

    a.tmpl = TPL("EndEntityCertificate_CSRPassthrough/V1");
    x = issue(p, &a);
    assert_non_null(get_ext(x, NID_netscape_comment));
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);

    /* Blank + APICSR: precedence API > CSR; the CSR fills what the API left out. */
    a.tmpl = TPL("BlankEndEntityCertificate_APICSRPassthrough/V1");
    a.api = json(
        p, "{\"Extensions\":{\"SubjectAlternativeNames\":[{\"DnsName\":\"api.example.com\"}]}}");
    x = issue(p, &a);
    assert_int_equal(X509_get_key_usage(x), KU_KEY_AGREEMENT);
    assert_non_null(get_ext(x, NID_netscape_comment));
    {
        GENERAL_NAMES *gns = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

        assert_int_equal(sk_GENERAL_NAME_num(gns), 1);
        assert_string_equal(ASN1_STRING_get0_data(sk_GENERAL_NAME_value(gns, 0)->d.dNSName),
                            "api.example.com");
        GENERAL_NAMES_free(gns);
    }
}

static void test_passthrough_errors(void **state)
{
    static const char *const cases[] = {
        "{\"Subject\":{}}",
        "{\"Extensions\":{\"ExtendedKeyUsage\":[{}]}}",
        "{\"Extensions\":{\"ExtendedKeyUsage\":[{\"ExtendedKeyUsageType\":\"NOPE\"}]}}",
        "{\"Extensions\":{\"CertificatePolicies\":[{\"CertPolicyId\":\"x\"}]}}",
        "{\"Extensions\":{\"CertificatePolicies\":[{\"CertPolicyId\":\"1.2.3\","
        "\"PolicyQualifiers\":"
        "[{\"PolicyQualifierId\":\"UNOTICE\",\"Qualifier\":{\"CpsUri\":\"x\"}}]}]}}",
        "{\"Extensions\":{\"SubjectAlternativeNames\":[{\"IpAddress\":\"nope\"}]}}",
        "{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":\"1.2.3\",\"Value\":\"!!\"}]}"
        "}",
        /* The API gives one extension twice. */
        "{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":true},\"CustomExtensions\":"
        "[{\"ObjectIdentifier\":\"2.5.29.15\",\"Value\":\"AwIHgA==\"}]}}",
        "{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":\"1.2.3\",\"Value\":\"BQA=\"}"
        ","
        "{\"ObjectIdentifier\":\"1.2.3\",\"Value\":\"BQA=\"}]}}",
    };
    apr_pool_t *p = *state;
    EVP_PKEY *ikey = gen(p, "EC_prime256v1"), *key = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, ikey, "Errors Root");
    X509_REQ *csr = make_csr(p, key, "{\"CommonName\":\"c\"}", NULL, "SHA256WITHECDSA");
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        issue_args_t a = {0};
        X509 *x = NULL;

        a.csr = csr;
        a.issuer_key = ikey;
        a.issuer_cert = root;
        a.tmpl = TPL("BlankEndEntityCertificate_APIPassthrough/V1");
        a.api = json(p, cases[i]);
        if (issue_rv(&x, &a, &err, p) != ACMPCA_EAWS || err.type != ACMPCA_ERR_INVALID_ARGS) {
            fail_msg("ApiPassthrough %s not refused", cases[i]);
        }
        assert_null(x);
    }
}

/* ******************************************************************************** */
/* PEM, parsing, summaries                                                           */
/* ******************************************************************************** */

static void test_cert_parse(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, key, "parse"), *x;
    const char *pem = acmpca_cert_pem(root, p);
    const char *two = apr_pstrcat(p, pem, pem, NULL);
    const char *csr_pem;
    unsigned char *der = NULL;
    acmpca_err_t err = {0};
    int len = i2d_X509(root, &der);
    const char *bad[4];
    size_t i;

    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----\n"));
    assert_int_equal(acmpca_cert_parse(&x, (const unsigned char *)pem, strlen(pem), &err, p),
                     APR_SUCCESS);
    assert_int_equal(X509_cmp(x, root), 0);
    assert_int_equal(acmpca_cert_parse(&x, der, (apr_size_t)len, &err, p), APR_SUCCESS);
    assert_int_equal(X509_cmp(x, root), 0);
    OPENSSL_free(der);

    assert_int_equal(acmpca_csr_make(&csr_pem, key, json(p, "{\"CommonName\":\"c\"}"), NULL,
                                     "SHA256WITHECDSA", &err, p),
                     APR_SUCCESS);
    bad[0] = two;     /* [DECISION] exactly one certificate */
    bad[1] = csr_pem; /* not a certificate */
    bad[2] = "garbage";
    bad[3] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    for (i = 0; i < COUNT(bad); i++) {
        x = (X509 *)1;
        assert_err(acmpca_cert_parse(&x, (const unsigned char *)bad[i], strlen(bad[i]), &err, p),
                   &err, ACMPCA_ERR_MALFORMED_CERTIFICATE);
        assert_null(x);
    }
}

/* acmpca_cert_pem writes what PEM_write_bio_X509 writes, for certificates of 48
 * consecutive sizes: every way the last line of base64 can end. */
static void test_cert_pem(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    char cn[64];
    int i;

    for (i = 1; i <= 48; i++) {
        X509 *x;
        BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long n;

        memset(cn, 'c', (size_t)i);
        cn[i] = '\0';
        x = make_root(p, key, cn);
        assert_int_equal(PEM_write_bio_X509(bio, x), 1);
        n = BIO_get_mem_data(bio, &data);
        assert_string_equal(acmpca_cert_pem(x, p), apr_pstrmemdup(p, data, (apr_size_t)n));
        BIO_free(bio);
    }
}

static void test_chain_parse(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *rkey = gen(p, "EC_prime256v1"), *skey = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, rkey, "chain root");
    X509 *sub =
        make_sub(p, skey, "chain sub", rkey, root, TPL("SubordinateCACertificate_PathLen0/V1"));
    const char *rpem = acmpca_cert_pem(root, p), *spem = acmpca_cert_pem(sub, p);
    const char *csr_pem;
    acmpca_err_t err = {0};
    apr_array_header_t *chain;
    const char *good = apr_pstrcat(p, "Issuing CA\n", spem, "\nRoot CA\n", rpem, "\n", NULL);
    const char *bad[4];
    size_t i;

    assert_int_equal(acmpca_chain_parse(&chain, (const unsigned char *)good, strlen(good), &err, p),
                     APR_SUCCESS);
    assert_int_equal(chain->nelts, 2);
    assert_int_equal(X509_cmp(APR_ARRAY_IDX(chain, 0, X509 *), sub), 0);
    assert_int_equal(X509_cmp(APR_ARRAY_IDX(chain, 1, X509 *), root), 0);

    assert_int_equal(acmpca_csr_make(&csr_pem, rkey, json(p, "{\"CommonName\":\"c\"}"), NULL,
                                     "SHA256WITHECDSA", &err, p),
                     APR_SUCCESS);
    bad[0] = "";
    bad[1] = "no pem here";
    bad[2] = apr_pstrcat(p, spem, csr_pem, NULL);
    bad[3] = apr_pstrcat(p, spem, "-----BEGIN CERTIFICATE-----\nAAAA\n", NULL);
    for (i = 0; i < COUNT(bad); i++) {
        chain = (apr_array_header_t *)1;
        assert_err(
            acmpca_chain_parse(&chain, (const unsigned char *)bad[i], strlen(bad[i]), &err, p),
            &err, ACMPCA_ERR_MALFORMED_CERTIFICATE);
        assert_null(chain);
    }
}

static void test_cert_info_serial(void **state)
{
    /* Serials as ARNs and Describe show them (PCA-API.md §3, §5.2). */
    static const struct {
        unsigned char serial[4];
        apr_size_t len;
        const char *hex, *colons;
    } cases[] = {
        {{0xe8, 0xcb, 0xd2}, 3, "e8cbd2", "e8:cb:d2"},
        {{0x00, 0x0e, 0x8c}, 3, "0e8c", "0e:8c"},
        {{0x00, 0x00, 0x01}, 3, "01", "01"},
        {{0x7f, 0xff, 0xff, 0xff}, 4, "7fffffff", "7f:ff:ff:ff"},
    };
    apr_pool_t *p = *state;
    EVP_PKEY *key = gen(p, "EC_prime256v1");
    X509_REQ *csr = make_csr(p, key, "{\"CommonName\":\"serial\"}", NULL, "SHA256WITHECDSA");
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_issue_t in = {0};
        acmpca_err_t err = {0};
        acmpca_cert_info_t info;
        X509 *x;

        in.csr = csr;
        in.issuer_key = key;
        in.signing_algorithm = "SHA256WITHECDSA";
        in.tmpl = acmpca_template_find(TPL("RootCACertificate/V1"));
        in.serial = cases[i].serial;
        in.serial_len = cases[i].len;
        in.not_before = apr_time_now();
        in.not_after = in.not_before + DAY;
        assert_int_equal(acmpca_cert_issue(&x, &in, &err, p), APR_SUCCESS);
        acmpca_cert_info(&info, x, p);
        assert_string_equal(info.serial_hex, cases[i].hex);
        assert_string_equal(info.serial_colons, cases[i].colons);
    }
}

/* ******************************************************************************** */
/* ImportCertificateAuthorityCertificate (PCA-API.md §5.7, §11.7)                    */
/* ******************************************************************************** */

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

/* A self-signed CA certificate with extra extensions in openssl.cnf syntax. */
static X509 *custom_root(apr_pool_t *p, EVP_PKEY *key, const char *cn, const ext_conf_t *conf,
                         size_t n, long from, long to)
{
    X509 *x = X509_new();
    size_t i;

    apr_pool_cleanup_register(p, x, x509_cleanup, apr_pool_cleanup_null);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), from);
    X509_gmtime_adj(X509_getm_notAfter(x), to);
    X509_set_pubkey(x, key);
    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, conf[i].nid, conf[i].value);

        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

/* acmpca_x509_sign_der signs with the thread's contexts for the key and digest (sign.c):
 * an RSA signature (PKCS #1 v1.5, deterministic) is byte for byte X509_sign's, the first
 * time and from the kept contexts; ECDSA signatures verify; and with more keys than a
 * thread keeps contexts for, each signature is still its own key's. */
static X509 *signed_copy(apr_pool_t *p, X509 *x, EVP_PKEY *key, const EVP_MD *md,
                         const unsigned char **pder, apr_size_t *plen)
{
    X509 *copy = X509_dup(x);
    const unsigned char *d;

    assert_non_null(copy);
    apr_pool_cleanup_register(p, copy, x509_cleanup, apr_pool_cleanup_null);
    assert_true(acmpca_x509_sign_der(copy, key, md, pder, plen, p));
    d = *pder;
    x = d2i_X509(NULL, &d, (long)*plen);
    assert_non_null(x);
    assert_int_equal(X509_verify(x, key), 1);
    X509_free(x);
    return copy;
}

static void test_sign_der_kept_contexts(void **state)
{
    apr_pool_t *p = *state;
    EVP_PKEY *rsa = gen(p, "RSA_2048"), *ec[6];
    X509 *x = custom_root(p, rsa, "sign", NULL, 0, 0, 86400);
    unsigned char *ref = NULL;
    const unsigned char *der;
    apr_size_t len;
    int ref_len = i2d_X509(x, &ref), round, i;

    assert_true(ref_len > 0);
    for (round = 0; round < 2; round++) {
        X509 *copy = signed_copy(p, x, rsa, EVP_sha256(), &der, &len);
        unsigned char *again = NULL;

        assert_int_equal(len, ref_len);
        assert_memory_equal(der, ref, len);
        assert_int_equal(i2d_X509(copy, &again), ref_len); /* x holds what X509_sign sets */
        assert_memory_equal(again, ref, len);
        OPENSSL_free(again);
    }
    OPENSSL_free(ref);
    signed_copy(p, x, gen(p, "EC_secp384r1"), EVP_sha384(), &der, &len);
    for (i = 0; i < 6; i++) {
        ec[i] = gen(p, "EC_prime256v1");
    }
    for (round = 0; round < 2; round++) {
        for (i = 0; i < 6; i++) {
            signed_copy(p, x, ec[i], EVP_sha256(), &der, &len);
        }
    }
}

static apr_array_header_t *chain_of(apr_pool_t *p, X509 *a, X509 *b)
{
    apr_array_header_t *chain = apr_array_make(p, 2, sizeof(X509 *));

    if (a) {
        APR_ARRAY_PUSH(chain, X509 *) = a;
    }
    if (b) {
        APR_ARRAY_PUSH(chain, X509 *) = b;
    }
    return chain;
}

static void test_import_check(void **state)
{
    static const ext_conf_t ca_bc[] = {{NID_basic_constraints, "critical,CA:TRUE"}};
    static const ext_conf_t crit_cdp[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_crl_distribution_points, "critical,URI:http://example.com/x.crl"},
    };
    static const ext_conf_t crit_ok[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_name_constraints, "critical,permitted;DNS:example.com"},
    };
    static const ext_conf_t bc_noncrit[] = {{NID_basic_constraints, "CA:TRUE"}};
    apr_pool_t *p = *state;
    apr_time_t now = apr_time_now();
    EVP_PKEY *rkey = gen(p, "EC_prime256v1"), *skey = gen(p, "EC_prime256v1");
    EVP_PKEY *s1key = gen(p, "EC_prime256v1"), *s2key = gen(p, "EC_prime256v1");
    EVP_PKEY *eekey = gen(p, "EC_prime256v1"), *okey = gen(p, "EC_prime256v1");
    EVP_PKEY *xkey = gen(p, "EC_prime256v1"), *ckey = gen(p, "EC_prime256v1");
    X509 *root = make_root(p, rkey, "Import Root");
    X509 *other = make_root(p, okey, "Other Root");
    X509 *impostor = make_root(p, okey, "Import Root"); /* same name, other key */
    X509 *sub = make_sub(p, skey, "Sub", rkey, root, TPL("SubordinateCACertificate_PathLen0/V1"));
    X509 *sub1 =
        make_sub(p, s1key, "Sub1", rkey, root, TPL("SubordinateCACertificate_PathLen1/V1"));
    X509 *sub2 =
        make_sub(p, s2key, "Sub2", s1key, sub1, TPL("SubordinateCACertificate_PathLen0/V1"));
    X509 *deep =
        make_sub(p, xkey, "Too deep", skey, sub, TPL("SubordinateCACertificate_PathLen0/V1"));
    X509 *ee = make_sub(p, eekey, "leaf", rkey, root, TPL("EndEntityCertificate/V1"));
    X509 *by_leaf = make_sub(p, xkey, "Signed by a leaf", eekey, ee,
                             TPL("SubordinateCACertificate_PathLen0/V1"));
    X509 *cdp = custom_root(p, ckey, "Critical CDP", crit_cdp, COUNT(crit_cdp), -3600, 86400);
    X509 *okcrit = custom_root(p, ckey, "Critical OK", crit_ok, COUNT(crit_ok), -3600, 86400);
    X509 *weakbc = custom_root(p, ckey, "Weak BC", bc_noncrit, COUNT(bc_noncrit), -3600, 86400);
    X509 *expired = custom_root(p, ckey, "Expired", ca_bc, COUNT(ca_bc), -7200, -3600);
    X509 *old = custom_root(p, okey, "Old Root", ca_bc, COUNT(ca_bc), -7200, -3600);
    X509 *under_old =
        make_sub(p, skey, "Under old", okey, old, TPL("SubordinateCACertificate_PathLen0/V1"));
    const struct {
        const char *what;
        X509 *cert;
        apr_array_header_t *chain;
        EVP_PKEY *key;
        int is_root;
        acmpca_errtype_t expect;
    } cases[] = {
        {"good root", root, NULL, rkey, 1, ACMPCA_ERR_NONE},
        {"good root, empty chain", root, chain_of(p, NULL, NULL), rkey, 1, ACMPCA_ERR_NONE},
        {"good subordinate", sub, chain_of(p, root, NULL), skey, 0, ACMPCA_ERR_NONE},
        {"good 3-level", sub2, chain_of(p, sub1, root), s2key, 0, ACMPCA_ERR_NONE},
        {"allowed critical extensions", okcrit, NULL, ckey, 1, ACMPCA_ERR_NONE},
        {"wrong key", root, NULL, okey, 1, ACMPCA_ERR_CERTIFICATE_MISMATCH},
        {"wrong key, subordinate", sub, chain_of(p, root, NULL), rkey, 0,
         ACMPCA_ERR_CERTIFICATE_MISMATCH},
        {"not a CA", ee, chain_of(p, root, NULL), eekey, 0, ACMPCA_ERR_INVALID_REQUEST},
        {"non-critical CA:TRUE", weakbc, NULL, ckey, 1, ACMPCA_ERR_INVALID_REQUEST},
        {"critical CDP", cdp, NULL, ckey, 1, ACMPCA_ERR_MALFORMED_CERTIFICATE},
        {"self-signed as subordinate", root, chain_of(p, other, NULL), rkey, 0,
         ACMPCA_ERR_INVALID_REQUEST},
        {"root with a chain", root, chain_of(p, other, NULL), rkey, 1, ACMPCA_ERR_INVALID_REQUEST},
        {"subordinate as root", sub, NULL, skey, 1, ACMPCA_ERR_INVALID_REQUEST},
        {"missing chain", sub, NULL, skey, 0, ACMPCA_ERR_INVALID_REQUEST},
        {"empty chain", sub, chain_of(p, NULL, NULL), skey, 0, ACMPCA_ERR_INVALID_REQUEST},
        {"chain out of order", sub2, chain_of(p, root, sub1), s2key, 0, ACMPCA_ERR_INVALID_REQUEST},
        {"chain contains the certificate", sub, chain_of(p, sub, root), skey, 0,
         ACMPCA_ERR_INVALID_REQUEST},
        {"chain without root", sub2, chain_of(p, sub1, NULL), s2key, 0, ACMPCA_ERR_INVALID_REQUEST},
        {"root in the middle", sub, chain_of(p, root, other), skey, 0, ACMPCA_ERR_INVALID_REQUEST},
        {"issuer not in chain", sub, chain_of(p, other, NULL), skey, 0,
         ACMPCA_ERR_CERTIFICATE_MISMATCH},
        {"issuer name but other key", sub, chain_of(p, impostor, NULL), skey, 0,
         ACMPCA_ERR_CERTIFICATE_MISMATCH},
        {"chain starts with a stranger", sub, chain_of(p, ee, root), skey, 0,
         ACMPCA_ERR_INVALID_REQUEST},
        {"issuer is not a CA", by_leaf, chain_of(p, ee, root), xkey, 0,
         ACMPCA_ERR_CERTIFICATE_MISMATCH},
        {"path length exceeded", deep, chain_of(p, sub, root), xkey, 0,
         ACMPCA_ERR_CERTIFICATE_MISMATCH},
        {"expired certificate", expired, NULL, ckey, 1, ACMPCA_ERR_INVALID_REQUEST},
        {"expired issuer", under_old, chain_of(p, old, NULL), skey, 0,
         ACMPCA_ERR_CERTIFICATE_MISMATCH},
    };
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        acmpca_err_t err = {0};
        apr_status_t rv = acmpca_ca_import_check(cases[i].cert, cases[i].chain, cases[i].key,
                                                 cases[i].is_root, now, &err, p);

        if (cases[i].expect == ACMPCA_ERR_NONE && rv != APR_SUCCESS) {
            fail_msg("%s: refused with %s: %s", cases[i].what, acmpca_err_name(err.type),
                     err.message);
        }
        if (cases[i].expect != ACMPCA_ERR_NONE
            && (rv != ACMPCA_EAWS || err.type != cases[i].expect)) {
            fail_msg("%s: expected %s, got rv=%d %s: %s", cases[i].what,
                     acmpca_err_name(cases[i].expect), rv, acmpca_err_name(err.type),
                     err.message ? err.message : "");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_key_generate),
        UNIT_TEST(test_key_unsupported),
        UNIT_TEST(test_sigalg_check),
        UNIT_TEST(test_key_same_public),
        UNIT_TEST(test_name_from_json),
        UNIT_TEST(test_name_string_types),
        UNIT_TEST(test_name_errors),
        UNIT_TEST(test_general_name),
        UNIT_TEST(test_csr_make_parse),
        UNIT_TEST(test_csr_make_errors),
        UNIT_TEST(test_csr_malformed),
        UNIT_TEST(test_csr_subject_or_san),
        UNIT_TEST(test_template_find),
        UNIT_TEST(test_issue_root),
        UNIT_TEST(test_issue_subordinate),
        UNIT_TEST(test_issue_aki_fallback),
        UNIT_TEST(test_issue_end_entity),
        UNIT_TEST(test_issue_der_same),
        UNIT_TEST(test_issue_validity_encoding),
        UNIT_TEST(test_issue_errors),
        UNIT_TEST(test_passthrough_blank),
        UNIT_TEST(test_passthrough_ignored),
        UNIT_TEST(test_passthrough_csr),
        UNIT_TEST(test_passthrough_errors),
        UNIT_TEST(test_cert_parse),
        UNIT_TEST(test_chain_parse),
        UNIT_TEST(test_cert_info_serial),
        UNIT_TEST(test_import_check),
        UNIT_TEST(test_cert_pem),
        UNIT_TEST(test_sign_der_kept_contexts),
    };

    return cmocka_run_group_tests_name("x509", tests, unit_group_setup, unit_group_teardown);
}
