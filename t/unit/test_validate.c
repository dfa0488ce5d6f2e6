/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of the model tables, the pattern matchers and the shape validator. The
 * messages follow what AWS's front end sends (CommonErrors, field reports). */
#include <string.h>

#include "unit.h"

#include "acmpca/err.h"
#include "acmpca/json.h"
#include "acmpca/model.h"
#include "../../src/ops/ops_int.h"

static int op_input(const char *name)
{
    int i;
    for (i = 0; i < acmpca_model_n_ops; i++) {
        if (!strcmp(acmpca_model_ops[i].name, name)) {
            return acmpca_model_ops[i].input;
        }
    }
    fail_msg("no operation %s", name);
    return -1;
}

/* Every pattern of the generated model has a matcher. */
static void test_every_pattern_known(void **state)
{
    int i, known;

    for (i = 0; i < acmpca_model_n_shapes; i++) {
        if (acmpca_model_shapes[i].pattern) {
            acmpca_pattern_match(acmpca_model_shapes[i].pattern, "x", &known, *state);
            if (!known) {
                fail_msg("no matcher for %s: %s", acmpca_model_shapes[i].name,
                         acmpca_model_shapes[i].pattern);
            }
        }
    }
}

/* The 23 operations of the 2017-08-22 API are in the model. */
static void test_model_operations(void **state)
{
    (void)state;
    assert_int_equal(acmpca_model_n_ops, 23);
    assert_true(op_input("IssueCertificate") >= 0);
}

/* Every exception shape of the model has its entry in err.c's table. */
static void test_error_table_matches_model(void **state)
{
    const char *const *e;
    int t, found;
    (void)state;

    for (e = acmpca_model_errors; *e; e++) {
        found = 0;
        for (t = ACMPCA_ERR_NONE + 1; t < ACMPCA_ERR_COUNT; t++) {
            found |= !strcmp(acmpca_err_name((acmpca_errtype_t)t), *e);
        }
        if (!found) {
            fail_msg("exception %s of the model has no error type", *e);
        }
    }
    assert_int_equal(acmpca_err_http_status(ACMPCA_ERR_STORE_UNAVAILABLE), 503);
    assert_int_equal(acmpca_err_http_status(ACMPCA_ERR_INTERNAL), 500);
}

typedef struct pattern_case {
    const char *shape;
    const char *value;
    int match;
} pattern_case;

static int shape_index(const char *name)
{
    int i;
    for (i = 0; i < acmpca_model_n_shapes; i++) {
        if (!strcmp(acmpca_model_shapes[i].name, name)) {
            return i;
        }
    }
    fail_msg("no shape %s", name);
    return -1;
}

static void test_patterns(void **state)
{
    static const pattern_case cases[] = {
        /* Arn: the model's regex; CA and certificate ARNs of the user guide */
        {"Arn",
         "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
         "12345678-1234-1234-1234-123456789012",
         1},
        {"Arn", "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/1/certificate/e8", 1},
        {"Arn", "arn:aws:acm-pca:::template/EndEntityCertificate/V1", 1},
        {"Arn", "arn:aws:acm-pca:us-east-1:12345678901a:certificate-authority/x", 0},
        {"Arn", "arn:aws:acm-pca:us-east-1:1:certificate-authority//x", 0},
        {"Arn", "arn:aws:acm-pca:us-east-1:1:", 0},
        {"Arn", "not-an-arn", 0},
        {"Arn", "arn::acm-pca:r:1:x", 0},
        {"CountryCodeString", "US", 1},
        {"CountryCodeString", "U1", 0},
        {"CountryCodeString", "USA", 0},
        {"ASN1PrintableString64", "Acme (test) +-.,?:/= '", 1},
        {"ASN1PrintableString64", "under_score", 0},
        {"AccountId", "123456789012", 1},
        {"AccountId", "12345678901x", 0},
        {"AuditReportId", "11223344-1234-1122-2233-112233445566", 1},
        {"AuditReportId", "11223344-1234-1122-2233-11223344556G", 0},
        {"CustomObjectIdentifier", "1.3.6.1.4.1.311.20.2", 1},
        {"CustomObjectIdentifier", "2.39", 1},
        {"CustomObjectIdentifier", "2.40", 0},
        {"CustomObjectIdentifier", "3.1", 0},
        {"CustomObjectIdentifier", "1.2.", 0},
        {"IdempotencyToken", "token-\xc3\xa9", 1}, /* U+00E9 is in \u0020-\u00FF */
        {"IdempotencyToken", "\xe2\x82\xac", 0},   /* U+20AC is not */
        {"Principal", "acm.amazonaws.com", 1},
        {"Principal", "*", 0},
        {"Base64String1To4096", "AAEC", 1},
        {"Base64String1To4096", "AAE", 0},
        {"CnameString", "crl.example.com:8080/path", 1},
        {"CnameString", "crl example", 0},
    };
    size_t i;
    int known;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const acmpca_shape_t *sh = &acmpca_model_shapes[shape_index(cases[i].shape)];
        int got = acmpca_pattern_match(sh->pattern, cases[i].value, &known, *state);
        if (got != cases[i].match) {
            fail_msg("%s '%s': expected %d", cases[i].shape, cases[i].value, cases[i].match);
        }
    }
}

typedef struct validate_case {
    const char *op;
    const char *body;
    acmpca_errtype_t type; /* ACMPCA_ERR_NONE: valid */
    const char *message;   /* exact message, or NULL */
} validate_case;

static void test_validate(void **state)
{
    static const validate_case cases[] = {
        {"ListCertificateAuthorities", "{}", ACMPCA_ERR_NONE, NULL},
        {"ListCertificateAuthorities", "{\"MaxResults\":0}", ACMPCA_ERR_VALIDATION,
         "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
         "Member must have value greater than or equal to 1"},
        {"ListCertificateAuthorities", "{\"MaxResults\":1001}", ACMPCA_ERR_VALIDATION,
         "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: "
         "Member must have value less than or equal to 1000"},
        {"ListCertificateAuthorities", "{\"MaxResults\":\"5\"}", ACMPCA_ERR_SERIALIZATION, NULL},
        {"ListCertificateAuthorities", "{\"MaxResults\":1.5}", ACMPCA_ERR_SERIALIZATION, NULL},
        {"ListCertificateAuthorities", "{\"ResourceOwner\":\"ME\"}", ACMPCA_ERR_VALIDATION,
         "1 validation error detected: Value 'ME' at 'resourceOwner' failed to satisfy "
         "constraint: Member must satisfy enum value set: [SELF, OTHER_ACCOUNTS]"},
        {"DescribeCertificateAuthority", "{}", ACMPCA_ERR_VALIDATION,
         "1 validation error detected: Value null at 'certificateAuthorityArn' failed to "
         "satisfy constraint: Member must not be null"},
        {"DescribeCertificateAuthority", "{\"CertificateAuthorityArn\":\"arn\"}",
         ACMPCA_ERR_VALIDATION, NULL},
        {"CreateCertificateAuthority",
         "{\"CertificateAuthorityType\":\"ROOT\",\"CertificateAuthorityConfiguration\":{"
         "\"KeyAlgorithm\":\"EC_prime256v1\",\"SigningAlgorithm\":\"SHA256WITHECDSA\","
         "\"Subject\":{\"CommonName\":\"x\"}}}",
         ACMPCA_ERR_NONE, NULL},
        {"CreateCertificateAuthority",
         "{\"CertificateAuthorityType\":\"ROOT\",\"CertificateAuthorityConfiguration\":{"
         "\"KeyAlgorithm\":\"EC_prime256v2\",\"SigningAlgorithm\":\"SHA256WITHECDSA\","
         "\"Subject\":{\"Country\":\"USA\"}}}",
         ACMPCA_ERR_VALIDATION,
         "3 validation errors detected: Value 'EC_prime256v2' at "
         "'certificateAuthorityConfiguration.keyAlgorithm' failed to satisfy constraint: Member "
         "must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, "
         "EC_secp384r1, EC_secp521r1, ML_DSA_44, ML_DSA_65, ML_DSA_87, SM2]; Value 'USA' at "
         "'certificateAuthorityConfiguration.subject.country' failed to satisfy constraint: "
         "Member must have length less than or equal to 2; Value 'USA' at "
         "'certificateAuthorityConfiguration.subject.country' failed to satisfy constraint: "
         "Member must satisfy regular expression pattern: [A-Za-z]{2}"},
        {"TagCertificateAuthority",
         "{\"CertificateAuthorityArn\":\"arn:aws:acm-pca:r:1:certificate-authority/x\","
         "\"Tags\":[{\"Value\":\"v\"}]}",
         ACMPCA_ERR_VALIDATION,
         "1 validation error detected: Value null at 'tags.1.member.key' failed to satisfy "
         "constraint: Member must not be null"},
        {"IssueCertificate",
         "{\"CertificateAuthorityArn\":\"arn:aws:acm-pca:r:1:certificate-authority/x\","
         "\"Csr\":\"not base64!\",\"SigningAlgorithm\":\"SHA256WITHRSA\","
         "\"Validity\":{\"Type\":\"DAYS\",\"Value\":1}}",
         ACMPCA_ERR_SERIALIZATION, NULL},
        {"IssueCertificate",
         "{\"CertificateAuthorityArn\":\"arn:aws:acm-pca:r:1:certificate-authority/x\","
         "\"Csr\":\"QUJD\",\"SigningAlgorithm\":\"SHA256WITHRSA\","
         "\"Validity\":{\"Type\":\"DAYS\",\"Value\":0}}",
         ACMPCA_ERR_VALIDATION, NULL},
        {"UpdateCertificateAuthority",
         "{\"CertificateAuthorityArn\":\"arn:aws:acm-pca:r:1:certificate-authority/x\","
         "\"RevocationConfiguration\":{\"CrlConfiguration\":{\"Enabled\":\"yes\"}}}",
         ACMPCA_ERR_SERIALIZATION, NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        acmpca_err_t err = {0};
        cJSON *in = acmpca_json_parse(cases[i].body, strlen(cases[i].body), *state);
        apr_status_t rv;

        assert_non_null(in);
        rv = acmpca_validate(in, op_input(cases[i].op), &err, *state);
        if (cases[i].type == ACMPCA_ERR_NONE) {
            if (rv != APR_SUCCESS) {
                fail_msg("case %zu: unexpected %s: %s", i, acmpca_err_name(err.type), err.message);
            }
            continue;
        }
        if (rv == APR_SUCCESS || err.type != cases[i].type) {
            fail_msg("case %zu: expected %s, got %s", i, acmpca_err_name(cases[i].type),
                     rv == APR_SUCCESS ? "success" : acmpca_err_name(err.type));
        }
        if (cases[i].message && strcmp(cases[i].message, err.message)) {
            fail_msg("case %zu: message\n  %s\nexpected\n  %s", i, err.message, cases[i].message);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_model_operations),
        UNIT_TEST(test_every_pattern_known),
        UNIT_TEST(test_error_table_matches_model),
        UNIT_TEST(test_patterns),
        UNIT_TEST(test_validate),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
