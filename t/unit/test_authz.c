/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of IAM policy parsing and evaluation (src/auth/authz.c) and of the token
 * buckets (src/auth/throttle.c). Policy semantics follow the IAM User Guide, "Policy
 * evaluation logic" and "IAM JSON policy elements reference"; the resource policies are
 * shaped like the examples of the Private CA User Guide, pca-rbp.html. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "acmpca/auth.h"
#include "acmpca/json.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define CA_A                                                                                       \
    "arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/"                                \
    "0b2e7a7e-0d5c-4b8e-9b1a-0d3f6a2c9e11"
#define CA_B                                                                                       \
    "arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/"                                \
    "77777777-0d5c-4b8e-9b1a-0d3f6a2c9e11"
#define USER_A        "arn:aws:iam::111111111111:user/alice"
#define USER_B        "arn:aws:iam::222222222222:user/bob"
#define EE_TEMPLATE   "arn:aws:acm-pca:::template/EndEntityCertificate/V1"
#define ROOT_TEMPLATE "arn:aws:acm-pca:::template/RootCACertificate/V1"

static acmpca_policy_t *parse_ok(const char *text, acmpca_policy_kind_t kind, apr_pool_t *p)
{
    acmpca_policy_t *pol = NULL;
    const char *why = NULL;

    if (acmpca_policy_parse(&pol, text, strlen(text), kind, &why, p) != APR_SUCCESS) {
        print_error("policy refused: %s\n%s\n", why, text);
        fail();
    }
    return pol;
}

static acmpca_authz_t eval(const acmpca_policy_t *pol, const char *op, const char *body,
                           const char *account, const char *principal, apr_pool_t *p)
{
    acmpca_authz_req_t req;
    acmpca_authz_request_body(&req, op, body, body ? strlen(body) : 0, account, principal, p);
    return acmpca_policy_eval(pol, &req);
}

/* ************************************************************************************
 * Matching
 */

static void test_glob(void **state)
{
    static const struct {
        const char *pattern, *s;
        int ci, match;
    } cases[] = {
        {"acm-pca:Issue*", "acm-pca:IssueCertificate", 1, 1},
        {"acm-pca:issue*", "acm-pca:IssueCertificate", 1, 1}, /* actions: case-insensitive */
        {"acm-pca:issue*", "acm-pca:IssueCertificate", 0, 0}, /* resources: exact */
        {"acm-pca:Get*Certificate", "acm-pca:GetCertificateAuthorityCertificate", 1, 1},
        {"acm-pca:Get*Certificate", "acm-pca:GetCertificateAuthorityCsr", 1, 0},
        {"acm-pca:List*", "acm-pca:ListTags", 1, 1},
        {"*", "anything:At all", 0, 1},
        {"acm-pca:*", "acm-pca:IssueCertificate", 1, 1},
        {"acm-pca:*", "acm:ListCertificates", 1, 0},
        {"arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/*", CA_A, 0, 1},
        {"arn:aws:acm-pca:*:111111111111:*", CA_A, 0, 1},
        {"arn:aws:acm-pca:*:222222222222:*", CA_A, 0, 0},
        {"acm-pca:?ssueCertificate", "acm-pca:IssueCertificate", 1, 1},
        {"acm-pca:??ssueCertificate", "acm-pca:IssueCertificate", 1, 0},
        {"a*b*c", "aXXbYYc", 0, 1},
        {"a*b*c", "aXXbYY", 0, 0},
        {"", "", 0, 1},
        {"**", "", 0, 1},
    };
    size_t i;
    (void)state;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        if (acmpca_authz_glob(cases[i].pattern, cases[i].s, cases[i].ci) != cases[i].match) {
            print_error("glob '%s' ~ '%s' (ci %d) should be %d\n", cases[i].pattern, cases[i].s,
                        cases[i].ci, cases[i].match);
            fail();
        }
    }
}

/* ************************************************************************************
 * Parsing
 */

static void test_parse_rejects(void **state)
{
    static const struct {
        const char *text;
        acmpca_policy_kind_t kind;
        const char *why; /* a part of the reason */
    } cases[] = {
        {"not json", ACMPCA_POLICY_IDENTITY, "not a JSON object"},
        {"[]", ACMPCA_POLICY_IDENTITY, "not a JSON object"},
        {"{\"Version\":\"2012-10-17\"}", ACMPCA_POLICY_IDENTITY, "Statement"},
        {"{\"Version\":\"2012-10-17\",\"Statement\":[]}", ACMPCA_POLICY_IDENTITY, "Statement"},
        {"{\"Version\":\"2013-01-01\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
         "\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "Version"},
        /* a resource policy must say its Version (PCA-API.md §5.18) */
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"acm-pca:*\","
         "\"Resource\":\"*\"}}",
         ACMPCA_POLICY_RESOURCE, "Version"},
        {"{\"Statement\":{\"Effect\":\"allow\",\"Action\":\"*\",\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "Effect"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\"}}", ACMPCA_POLICY_IDENTITY,
         "Action"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"*\","
         "\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "exactly one of Action and NotAction"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "non-empty list"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[1],\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "list of strings"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"IssueCertificate\","
         "\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "service:Action"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"acm-pca:IssueCertificates\","
         "\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "not an action of acm-pca"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"acm-pca:*\"}}", ACMPCA_POLICY_IDENTITY,
         "Resource"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"acm-pca:*\","
         "\"Resource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "Principal"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"acm-pca:*\",\"Resource\":\"*\","
         "\"Condition\":{\"NumericEquals\":{\"a\":\"1\"}}}}",
         ACMPCA_POLICY_IDENTITY, "NumericEquals"},
        {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"acm-pca:*\",\"Resource\":\"*\","
         "\"NotResource\":\"*\"}}",
         ACMPCA_POLICY_IDENTITY, "NotResource"},
        {"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
         "\"Action\":\"acm-pca:IssueCertificate\",\"Resource\":\"*\"}}",
         ACMPCA_POLICY_RESOURCE, "Principal"},
        {"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
         "{\"AWS\":\"2222\"},\"Action\":\"acm-pca:IssueCertificate\",\"Resource\":\"*\"}}",
         ACMPCA_POLICY_RESOURCE, "Invalid principal"},
        {"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
         "{\"Federated\":\"x\"},\"Action\":\"acm-pca:IssueCertificate\",\"Resource\":\"*\"}}",
         ACMPCA_POLICY_RESOURCE, "Federated"},
        {"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
         "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}",
         ACMPCA_POLICY_RESOURCE, "not an acm-pca action"},
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        acmpca_policy_t *pol = NULL;
        const char *why = NULL;
        apr_status_t rv =
            acmpca_policy_parse(&pol, cases[i].text, strlen(cases[i].text), cases[i].kind, &why, p);
        if (rv == APR_SUCCESS || !why || !strstr(why, cases[i].why)) {
            print_error("case %d: %s -> %s (want '%s')\n", (int)i, cases[i].text,
                        rv == APR_SUCCESS ? "accepted" : why, cases[i].why);
            fail();
        }
    }
}

/* ************************************************************************************
 * Identity policies
 */

static void test_identity_no_policy(void **state)
{
    /* No statement applies: the caller decides what that means (glue: allow all). */
    assert_int_equal(eval(NULL, "IssueCertificate", NULL, "111111111111", USER_A, *state),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
}

static void test_identity_read_only(void **state)
{
    apr_pool_t *p = *state;
    acmpca_policy_t *pol =
        parse_ok("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
                 "[\"acm-pca:Describe*\",\"acm-pca:Get*\",\"acm-pca:List*\"],\"Resource\":\"*\"}]}",
                 ACMPCA_POLICY_IDENTITY, p);
    const char *body = "{\"CertificateAuthorityArn\":\"" CA_A "\"}";

    assert_int_equal(eval(pol, "DescribeCertificateAuthority", body, "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(pol, "ListCertificateAuthorities", "{}", "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(pol, "IssueCertificate", body, "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
}

static void test_identity_deny_wins(void **state)
{
    apr_pool_t *p = *state;
    acmpca_policy_t *pol =
        parse_ok("{\"Version\":\"2012-10-17\",\"Statement\":["
                 "{\"Effect\":\"Allow\",\"Action\":\"acm-pca:*\",\"Resource\":\"*\"},"
                 "{\"Effect\":\"Deny\",\"Action\":\"acm-pca:Issue*\",\"Resource\":\"" CA_A "\"}]}",
                 ACMPCA_POLICY_IDENTITY, p);

    assert_int_equal(eval(pol, "IssueCertificate", "{\"CertificateAuthorityArn\":\"" CA_A "\"}",
                          "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_DENY);
    /* the Deny names one CA: another stays allowed */
    assert_int_equal(eval(pol, "IssueCertificate", "{\"CertificateAuthorityArn\":\"" CA_B "\"}",
                          "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(pol, "RevokeCertificate", "{\"CertificateAuthorityArn\":\"" CA_A "\"}",
                          "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_ALLOW);
}

static void test_identity_not_action_and_resource(void **state)
{
    apr_pool_t *p = *state;
    acmpca_policy_t *pol =
        parse_ok("{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":[\"acm-pca:Delete*\","
                 "\"acm-pca:PutPolicy\"],\"Resource\":[\"" CA_A "\",\"*\"]}}",
                 ACMPCA_POLICY_IDENTITY, p);
    acmpca_policy_t *scoped =
        parse_ok("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"acm-pca:*\",\"Resource\":"
                 "\"arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/0b2e*\"}}",
                 ACMPCA_POLICY_IDENTITY, p);

    assert_int_equal(eval(pol, "DeleteCertificateAuthority", "{}", "1", NULL, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
    assert_int_equal(eval(pol, "PutPolicy", "{}", "1", NULL, p), ACMPCA_AUTHZ_IMPLICIT_DENY);
    assert_int_equal(eval(pol, "TagCertificateAuthority", "{}", "1", NULL, p), ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(scoped, "GetPolicy", "{\"ResourceArn\":\"" CA_A "\"}", "1", NULL, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(scoped, "GetPolicy", "{\"ResourceArn\":\"" CA_B "\"}", "1", NULL, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
    /* an action without a resource is "*", which an ARN pattern does not cover */
    assert_int_equal(eval(scoped, "ListCertificateAuthorities", "{}", "1", NULL, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
    /* a body that is not JSON names no resource */
    assert_int_equal(eval(pol, "TagCertificateAuthority", "{oops", "1", NULL, p),
                     ACMPCA_AUTHZ_ALLOW);
}

static void test_identity_conditions(void **state)
{
    apr_pool_t *p = *state;
    acmpca_policy_t *pol =
        parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"acm-pca:IssueCertificate\","
                 "\"Resource\":\"*\",\"Condition\":{\"StringLike\":{\"acm-pca:TemplateArn\":"
                 "\"arn:aws:acm-pca:::template/EndEntity*\"}}},"
                 "{\"Effect\":\"Deny\",\"Action\":\"acm-pca:*\",\"Resource\":\"*\",\"Condition\":"
                 "{\"StringNotEqualsIfExists\":{\"aws:PrincipalAccount\":\"111111111111\"}}}]}",
                 ACMPCA_POLICY_IDENTITY, p);

    /* no TemplateArn: the default EndEntityCertificate/V1 is what the condition sees */
    assert_int_equal(eval(pol, "IssueCertificate", "{}", "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(pol, "IssueCertificate",
                          "{\"TemplateArn\":\"arn:aws:acm-pca:::template/"
                          "EndEntityServerAuthCertificate/V1\"}",
                          "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(pol, "IssueCertificate", "{\"TemplateArn\":\"" ROOT_TEMPLATE "\"}",
                          "111111111111", USER_A, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
    assert_int_equal(eval(pol, "IssueCertificate", "{}", "222222222222", USER_B, p),
                     ACMPCA_AUTHZ_DENY);
}

/* ************************************************************************************
 * Resource policies (PutPolicy)
 */

/* pca-rbp.html, "Example 2": another account may read the CA and issue end-entity
 * certificates. */
static const char *const shared_policy =
    "{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Sid\":\"ExampleStatementID\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
    "\"222222222222\"},\"Action\":[\"acm-pca:DescribeCertificateAuthority\","
    "\"acm-pca:GetCertificate\",\"acm-pca:GetCertificateAuthorityCertificate\","
    "\"acm-pca:ListPermissions\",\"acm-pca:ListTags\"],\"Resource\":\"" CA_A "\"},"
    "{\"Sid\":\"ExampleStatementID2\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
    "\"arn:aws:iam::222222222222:root\"},\"Action\":\"acm-pca:IssueCertificate\","
    "\"Resource\":\"" CA_A "\",\"Condition\":{\"StringEquals\":{\"acm-pca:TemplateArn\":"
    "\"" EE_TEMPLATE "\"}}}]}";

static void test_resource_policy(void **state)
{
    apr_pool_t *p = *state;
    acmpca_policy_t *pol = parse_ok(shared_policy, ACMPCA_POLICY_RESOURCE, p);
    const char *ca = "{\"CertificateAuthorityArn\":\"" CA_A "\"}";

    assert_int_equal(acmpca_policy_statements(pol), 2);
    assert_int_equal(eval(pol, "DescribeCertificateAuthority", ca, "222222222222", USER_B, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(pol, "IssueCertificate", ca, "222222222222", USER_B, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(pol, "IssueCertificate",
                          "{\"CertificateAuthorityArn\":\"" CA_A
                          "\",\"TemplateArn\":\"" ROOT_TEMPLATE "\"}",
                          "222222222222", USER_B, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
    /* a third account, and actions nobody granted */
    assert_int_equal(eval(pol, "DescribeCertificateAuthority", ca, "333333333333", NULL, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
    assert_int_equal(eval(pol, "DeleteCertificateAuthority", ca, "222222222222", USER_B, p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
}

static void test_resource_principals(void **state)
{
    apr_pool_t *p = *state;
    acmpca_policy_t *one_user = parse_ok(
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
        "[\"" USER_B "\"]},\"Action\":\"acm-pca:ListTags\",\"Resource\":\"*\"}}",
        ACMPCA_POLICY_RESOURCE, p);
    acmpca_policy_t *anyone = parse_ok(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
        "\"Action\":\"acm-pca:ListTags\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Principal\":"
        "{\"AWS\":\"111111111111\"},\"Action\":\"acm-pca:PutPolicy\",\"Resource\":\"*\"}]}",
        ACMPCA_POLICY_RESOURCE, p);
    acmpca_policy_t *service =
        parse_ok("{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                 "{\"Service\":\"acm.amazonaws.com\"},\"Action\":\"acm-pca:GetCertificate\","
                 "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"aws:PrincipalAccount\":"
                 "\"222222222222\"}}}}",
                 ACMPCA_POLICY_RESOURCE, p);

    assert_int_equal(eval(one_user, "ListTags", "{}", "222222222222", USER_B, p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(
        eval(one_user, "ListTags", "{}", "222222222222", "arn:aws:iam::222222222222:user/carol", p),
        ACMPCA_AUTHZ_IMPLICIT_DENY);
    assert_int_equal(eval(anyone, "ListTags", "{}", "999999999999", NULL, p), ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(anyone, "PutPolicy", "{}", "111111111111", USER_A, p), ACMPCA_AUTHZ_DENY);
    assert_int_equal(eval(service, "GetCertificate", "{}", "222222222222", "acm.amazonaws.com", p),
                     ACMPCA_AUTHZ_ALLOW);
    assert_int_equal(eval(service, "GetCertificate", "{}", "333333333333", "acm.amazonaws.com", p),
                     ACMPCA_AUTHZ_IMPLICIT_DENY);
}

static void test_request_and_message(void **state)
{
    apr_pool_t *p = *state;
    acmpca_authz_req_t req;
    const char *msg;

    acmpca_authz_request_body(&req, "PutPolicy", "{\"ResourceArn\":\"" CA_A "\"}",
                              strlen("{\"ResourceArn\":\"" CA_A "\"}"), "111111111111", USER_A, p);
    assert_string_equal(req.resource, CA_A);
    acmpca_authz_request_body(
        &req, "IssueCertificate", "{\"CertificateAuthorityArn\":\"" CA_A "\"}",
        strlen("{\"CertificateAuthorityArn\":\"" CA_A "\"}"), "111111111111", USER_A, p);
    assert_string_equal(req.action, "acm-pca:IssueCertificate");
    assert_string_equal(req.resource, CA_A);
    assert_string_equal(apr_table_get(req.context, "acm-pca:TemplateArn"), EE_TEMPLATE);
    assert_string_equal(apr_table_get(req.context, "aws:PrincipalAccount"), "111111111111");
    msg = acmpca_authz_denied_message(&req, ACMPCA_AUTHZ_IMPLICIT_DENY, "identity-based", p);
    assert_string_equal(msg, "User: " USER_A " is not authorized to perform: "
                             "acm-pca:IssueCertificate on resource: " CA_A
                             " because no identity-based policy allows the "
                             "acm-pca:IssueCertificate action");
    msg = acmpca_authz_denied_message(&req, ACMPCA_AUTHZ_DENY, "identity-based", p);
    assert_string_equal(msg, "User: " USER_A " is not authorized to perform: "
                             "acm-pca:IssueCertificate on resource: " CA_A
                             " with an explicit deny in an identity-based policy");
    acmpca_authz_request_body(&req, "ListCertificateAuthorities", "", 0, "111111111111", NULL, p);
    assert_string_equal(req.resource, "*");
    assert_null(apr_table_get(req.context, "acm-pca:TemplateArn"));
    msg = acmpca_authz_denied_message(&req, ACMPCA_AUTHZ_DENY, "resource-based", p);
    assert_string_equal(msg, "User: arn:aws:iam::111111111111:root is not authorized to "
                             "perform: acm-pca:ListCertificateAuthorities on resource: * with an "
                             "explicit deny in a resource-based policy");
}

/* ************************************************************************************
 * Token buckets
 */

static void test_throttle(void **state)
{
    apr_size_t size = acmpca_throttle_size(4);
    void *base = calloc(1, size);
    apr_time_t t = apr_time_from_sec(1000000);
    int i;
    (void)state;

    assert_non_null(base);
    acmpca_throttle_init(base, size);
    /* rate 1/s, burst 2: two at once, then one a second */
    assert_true(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2, t));
    assert_true(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2, t));
    assert_false(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2, t));
    assert_false(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2,
                                      t + apr_time_from_msec(500)));
    assert_true(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2,
                                     t + apr_time_from_msec(1000)));
    /* other accounts and operations have buckets of their own */
    assert_true(acmpca_throttle_take(base, "222222222222:IssueCertificate", 1, 2, t));
    assert_true(acmpca_throttle_take(base, "111111111111:ListTags", 1, 2, t));
    /* a long pause refills to the burst, not beyond */
    t += apr_time_from_sec(3600);
    assert_true(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2, t));
    assert_true(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2, t));
    assert_false(acmpca_throttle_take(base, "111111111111:IssueCertificate", 1, 2, t));
    /* a full table (4 slots) reuses the least recently used slot */
    for (i = 0; i < 10; i++) {
        char key[32];
        snprintf(key, sizeof(key), "33333333333%d:ListTags", i);
        assert_true(acmpca_throttle_take(base, key, 1, 1, t + i));
    }
    /* no table at all: nothing is throttled */
    assert_true(acmpca_throttle_take(NULL, "x", 1, 1, t));
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_glob),
        UNIT_TEST(test_parse_rejects),
        UNIT_TEST(test_identity_no_policy),
        UNIT_TEST(test_identity_read_only),
        UNIT_TEST(test_identity_deny_wins),
        UNIT_TEST(test_identity_not_action_and_resource),
        UNIT_TEST(test_identity_conditions),
        UNIT_TEST(test_resource_policy),
        UNIT_TEST(test_resource_principals),
        UNIT_TEST(test_request_and_message),
        UNIT_TEST(test_throttle),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
