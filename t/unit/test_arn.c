/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of ARN splitting, parsing and formatting. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/arn.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* User guide, CT-IssueCertificate.html (CloudTrail example). */
#define UG_CA_ARN                                                                                  \
    "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"                                \
    "11223344-1234-1122-2233-112233445566"
/* User guide certificate serial (PCA-API section 3). */
#define UG_SERIAL "e8cbd2bedb122329f97706bcfec990f8"

/* ******************************************************************************** */
/* split                                                                            */
/* ******************************************************************************** */

static void test_split(void **state)
{
    apr_pool_t *p = *state;
    acmpca_arn_t a;

    assert_int_equal(acmpca_arn_split(&a, UG_CA_ARN, p), APR_SUCCESS);
    assert_string_equal(a.partition, "aws");
    assert_string_equal(a.service, "acm-pca");
    assert_string_equal(a.region, "us-east-1");
    assert_string_equal(a.account, "111122223333");
    assert_string_equal(a.resource, "certificate-authority/11223344-1234-1122-2233-112233445566");

    /* PCA-API section 7.3: template ARNs have no region and no account. */
    assert_int_equal(acmpca_arn_split(&a, "arn:aws:acm-pca:::template/EndEntityCertificate/V1", p),
                     APR_SUCCESS);
    assert_string_equal(a.region, "");
    assert_string_equal(a.account, "");
    assert_string_equal(a.resource, "template/EndEntityCertificate/V1");

    /* The resource keeps colons after the fifth. */
    assert_int_equal(acmpca_arn_split(&a, "arn:aws:logs:us-east-1:111122223333:log-group:g:*", p),
                     APR_SUCCESS);
    assert_string_equal(a.service, "logs");
    assert_string_equal(a.resource, "log-group:g:*");

    /* Five colons and nothing after: an empty resource, still split. */
    assert_int_equal(acmpca_arn_split(&a, "arn:aws:acm-pca:r:a:", p), APR_SUCCESS);
    assert_string_equal(a.resource, "");
}

static void test_split_invalid(void **state)
{
    apr_pool_t *p = *state;
    static const char *const bad[] = {
        "",
        "arn",
        "arn:aws:acm-pca:us-east-1:111122223333",   /* four colons */
        "arn:aws:acm-pca:us-east-1/111122223333/x", /* slashes are not colons */
        "urn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
        "ARN:aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
        ":aws:acm-pca:us-east-1:111122223333:certificate-authority/x",
    };
    acmpca_arn_t a;
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        print_message("split \"%s\"\n", bad[i]);
        assert_int_equal(acmpca_arn_split(&a, bad[i], p), APR_EINVAL);
    }
    assert_int_equal(acmpca_arn_split(&a, NULL, p), APR_EINVAL);
}

/* ******************************************************************************** */
/* CA ARNs                                                                          */
/* ******************************************************************************** */

static const struct {
    const char *source;
    const char *arn;
    const char *region, *account, *id;
} ca_valid[] = {
    {"user guide CT-IssueCertificate", UG_CA_ARN, "us-east-1", "111122223333",
     "11223344-1234-1122-2233-112233445566"},
    {"API reference placeholder id, PCA-API default account",
     "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/"
     "12345678-1234-1234-1234-123456789012",
     "eu-west-1", "123456789012", "12345678-1234-1234-1234-123456789012"},
    {"a v4 id as acmpca_uuid makes them",
     "arn:aws:acm-pca:us-west-2:000000000000:certificate-authority/"
     "f47ac10b-58cc-4372-a567-0e02b2c3d479",
     "us-west-2", "000000000000", "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
    {"GovCloud partition",
     "arn:aws-us-gov:acm-pca:us-gov-west-1:111122223333:certificate-authority/"
     "11223344-1234-1122-2233-112233445566",
     "us-gov-west-1", "111122223333", "11223344-1234-1122-2233-112233445566"},
    {"China partition",
     "arn:aws-cn:acm-pca:cn-north-1:111122223333:certificate-authority/"
     "11223344-1234-1122-2233-112233445566",
     "cn-north-1", "111122223333", "11223344-1234-1122-2233-112233445566"},
};

static void test_parse_ca_valid(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(ca_valid); i++) {
        acmpca_ca_ref_t ref;

        print_message("CA ARN (%s)\n", ca_valid[i].source);
        assert_int_equal(acmpca_arn_parse_ca(&ref, ca_valid[i].arn, p), APR_SUCCESS);
        assert_string_equal(ref.arn, ca_valid[i].arn);
        assert_string_equal(ref.region, ca_valid[i].region);
        assert_string_equal(ref.account, ca_valid[i].account);
        assert_string_equal(ref.id, ca_valid[i].id);
    }
}

#define UUID "11223344-1234-1122-2233-112233445566"

static const struct {
    const char *why;
    const char *arn;
} ca_invalid[] = {
    {"empty string", ""},
    {"not an ARN", "11223344-1234-1122-2233-112233445566"},
    /* other services and resources */
    {"ACM certificate ARN", "arn:aws:acm:us-east-1:111122223333:certificate/" UUID},
    {"ACM service with a CA resource",
     "arn:aws:acm:us-east-1:111122223333:certificate-authority/" UUID},
    {"IAM role", "arn:aws:iam::111122223333:role/" UUID},
    {"service in uppercase", "arn:aws:ACM-PCA:us-east-1:111122223333:certificate-authority/" UUID},
    {"template ARN", "arn:aws:acm-pca:::template/EndEntityCertificate/V1"},
    {"certificate ARN given as CA ARN", UG_CA_ARN "/certificate/" UG_SERIAL},
    /* resource shape */
    {"extra path segment", UG_CA_ARN "/extra"},
    {"trailing slash", UG_CA_ARN "/"},
    {"trailing colon", UG_CA_ARN ":"},
    {"trailing space", UG_CA_ARN " "},
    {"leading space", " " UG_CA_ARN},
    {"trailing newline", UG_CA_ARN "\n"},
    {"uppercase uuid", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                       "11223344-1234-1122-2233-1122334455AA"},
    {"uuid without hyphens", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                             "11223344123411222233112233445566"},
    {"uuid one digit short", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                             "11223344-1234-1122-2233-11223344556"},
    {"uuid one digit long", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                            "11223344-1234-1122-2233-1122334455667"},
    {"uuid in braces", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                       "{11223344-1234-1122-2233-112233445566}"},
    {"no uuid", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"},
    {"no slash", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority" UUID},
    {"resource type misspelt",
     "arn:aws:acm-pca:us-east-1:111122223333:certificate-authorities/" UUID},
    {"resource type capitalised",
     "arn:aws:acm-pca:us-east-1:111122223333:Certificate-Authority/" UUID},
    {"colon instead of slash",
     "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority:" UUID},
    /* empty parts */
    {"empty partition", "arn::acm-pca:us-east-1:111122223333:certificate-authority/" UUID},
    {"empty service", "arn:aws::us-east-1:111122223333:certificate-authority/" UUID},
    {"empty region", "arn:aws:acm-pca::111122223333:certificate-authority/" UUID},
    {"empty account", "arn:aws:acm-pca:us-east-1::certificate-authority/" UUID},
    {"empty resource", "arn:aws:acm-pca:us-east-1:111122223333:"},
    /* account and region shape */
    {"11-digit account", "arn:aws:acm-pca:us-east-1:11112222333:certificate-authority/" UUID},
    {"13-digit account", "arn:aws:acm-pca:us-east-1:1111222233334:certificate-authority/" UUID},
    {"placeholder account", "arn:aws:acm-pca:region:account:certificate-authority/" UUID},
    {"uppercase region", "arn:aws:acm-pca:US-EAST-1:111122223333:certificate-authority/" UUID},
    {"region with a space", "arn:aws:acm-pca:us east 1:111122223333:certificate-authority/" UUID},
    {"partition with a slash",
     "arn:aws/x:acm-pca:us-east-1:111122223333:certificate-authority/" UUID},
    {"too few colons", "arn:aws:acm-pca:us-east-1/111122223333/certificate-authority/" UUID},
};

static void test_parse_ca_invalid(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(ca_invalid); i++) {
        acmpca_ca_ref_t ref;

        print_message("not a CA ARN: %s\n", ca_invalid[i].why);
        assert_int_equal(acmpca_arn_parse_ca(&ref, ca_invalid[i].arn, p), APR_EINVAL);
        assert_null(ref.arn);
        assert_null(ref.id);
    }
}

/* ******************************************************************************** */
/* certificate ARNs                                                                 */
/* ******************************************************************************** */

static const struct {
    const char *source;
    const char *arn;
    const char *serial;
} cert_valid[] = {
    {"user guide serial", UG_CA_ARN "/certificate/" UG_SERIAL, UG_SERIAL},
    {"uppercase serial returned lowercase",
     UG_CA_ARN "/certificate/E8CBD2BEDB122329F97706BCFEC990F8", UG_SERIAL},
    {"mixed case", UG_CA_ARN "/certificate/E8cbD2", "e8cbd2"},
    {"one digit", UG_CA_ARN "/certificate/0", "0"},
    {"40 digits (20 octets, RFC 5280 4.1.2.2)",
     UG_CA_ARN "/certificate/00112233445566778899aabbccddeeff00112233",
     "00112233445566778899aabbccddeeff00112233"},
    /* API reference GetCertificate example shows a decimal number; its digits are hex
     * digits too, so it parses (PCA-API 11.2: read as hex, then simply not found). */
    {"API reference decimal example",
     UG_CA_ARN "/certificate/286535153982981100925020015808220737245",
     "286535153982981100925020015808220737245"},
};

static void test_parse_cert_valid(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cert_valid); i++) {
        acmpca_ca_ref_t ca;
        const char *serial = NULL;

        print_message("certificate ARN (%s)\n", cert_valid[i].source);
        assert_int_equal(acmpca_arn_parse_cert(&ca, &serial, cert_valid[i].arn, p), APR_SUCCESS);
        assert_string_equal(serial, cert_valid[i].serial);
        assert_string_equal(ca.arn, UG_CA_ARN);
        assert_string_equal(ca.region, "us-east-1");
        assert_string_equal(ca.account, "111122223333");
        assert_string_equal(ca.id, UUID);
    }
}

static const struct {
    const char *why;
    const char *arn;
} cert_invalid[] = {
    {"CA ARN given as certificate ARN", UG_CA_ARN},
    {"empty string", ""},
    {"no serial", UG_CA_ARN "/certificate/"},
    {"no serial, no slash", UG_CA_ARN "/certificate"},
    {"41 digits", UG_CA_ARN "/certificate/00112233445566778899aabbccddeeff001122334"},
    {"0x prefix", UG_CA_ARN "/certificate/0xe8cbd2"},
    {"colon-separated serial", UG_CA_ARN "/certificate/e8:cb:d2"},
    {"non-hex letter", UG_CA_ARN "/certificate/e8cbd2g"},
    {"negative", UG_CA_ARN "/certificate/-e8cbd2"},
    {"space in the serial", UG_CA_ARN "/certificate/e8cb d2"},
    {"extra path segment", UG_CA_ARN "/certificate/" UG_SERIAL "/extra"},
    {"trailing slash", UG_CA_ARN "/certificate/" UG_SERIAL "/"},
    {"two certificate parts", UG_CA_ARN "/certificate/ab/certificate/cd"},
    {"plural resource", UG_CA_ARN "/certificates/" UG_SERIAL},
    {"capitalised resource", UG_CA_ARN "/Certificate/" UG_SERIAL},
    {"missing slash before certificate", UG_CA_ARN "certificate/" UG_SERIAL},
    {"segment between CA and certificate", UG_CA_ARN "/x/certificate/" UG_SERIAL},
    {"uppercase CA uuid", "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                          "11223344-1234-1122-2233-1122334455AA/certificate/" UG_SERIAL},
    {"ACM certificate ARN", "arn:aws:acm:us-east-1:111122223333:certificate/" UUID},
    {"other service with the PCA shape",
     "arn:aws:acm:us-east-1:111122223333:certificate-authority/" UUID "/certificate/" UG_SERIAL},
    {"empty region",
     "arn:aws:acm-pca::111122223333:certificate-authority/" UUID "/certificate/" UG_SERIAL},
    {"empty account",
     "arn:aws:acm-pca:us-east-1::certificate-authority/" UUID "/certificate/" UG_SERIAL},
    {"template ARN", "arn:aws:acm-pca:::template/EndEntityCertificate/V1"},
};

static void test_parse_cert_invalid(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cert_invalid); i++) {
        acmpca_ca_ref_t ca;
        const char *serial = "x";

        print_message("not a certificate ARN: %s\n", cert_invalid[i].why);
        assert_int_equal(acmpca_arn_parse_cert(&ca, &serial, cert_invalid[i].arn, p), APR_EINVAL);
        assert_null(serial);
        assert_null(ca.arn);
    }
}

/* ******************************************************************************** */
/* formatting                                                                       */
/* ******************************************************************************** */

static void test_format(void **state)
{
    apr_pool_t *p = *state;
    const char *ca_arn = acmpca_arn_ca("us-east-1", "111122223333", UUID, p);
    const char *cert_arn = acmpca_arn_cert(ca_arn, UG_SERIAL, p);
    acmpca_ca_ref_t ref;
    const char *serial;

    assert_string_equal(ca_arn, UG_CA_ARN);
    assert_string_equal(cert_arn, UG_CA_ARN "/certificate/" UG_SERIAL);

    /* What we format, we parse back to the same parts. */
    assert_int_equal(acmpca_arn_parse_ca(&ref, ca_arn, p), APR_SUCCESS);
    assert_string_equal(ref.id, UUID);
    assert_int_equal(acmpca_arn_parse_cert(&ref, &serial, cert_arn, p), APR_SUCCESS);
    assert_string_equal(ref.arn, ca_arn);
    assert_string_equal(serial, UG_SERIAL);
    /* The two kinds never pass for each other. */
    assert_int_equal(acmpca_arn_parse_ca(&ref, cert_arn, p), APR_EINVAL);
    assert_int_equal(acmpca_arn_parse_cert(&ref, &serial, ca_arn, p), APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_split),
        UNIT_TEST(test_split_invalid),
        UNIT_TEST(test_parse_ca_valid),
        UNIT_TEST(test_parse_ca_invalid),
        UNIT_TEST(test_parse_cert_valid),
        UNIT_TEST(test_parse_cert_invalid),
        UNIT_TEST(test_format),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
