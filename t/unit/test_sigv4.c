/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of SigV4 verification (src/auth/sigv4.c, src/auth/canon.c): the AWS SigV4
 * test suite, requests as real clients sign them, and every way a request can fail. */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acmpca/auth.h"
#include "acmpca/util.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The AWS SigV4 test suite's credentials (aws-sig-v4-test-suite, 2015 edition). */
#define SUITE_AK     "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE   "20150830T123600Z"
#define SUITE_SCOPE  "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
#define SUITE_TOKEN                                                                                \
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmx"     \
    "fpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0K"     \
    "PkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZb"     \
    "qBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

/* Credentials of the requests captured from botocore (see "Real clients" below). */
#define CAP_AK     "AKIAMODACMPCATEST001"
#define CAP_SECRET "mod/acmpca+unit+test+secret+key+0123456"
#define CAP_DATE   "20261129T154707Z"
#define CAP_SCOPE  "AKIAMODACMPCATEST001/20261129/us-east-1/acm-pca/aws4_request"
#define CAP_TOKEN  "FwoGZXIvYXdzEMODACMPCA//////////sessiontoken="
#define CAP_ARN                                                                                    \
    "arn:aws:acm-pca:us-east-1:111111111111:certificate-authority/"                                \
    "0b2e7a7e-0d5c-4b8e-9b1a-0d3f6a2c9e11"

#define AUTH(scope, signed, sig)                                                                   \
    "AWS4-HMAC-SHA256 Credential=" scope ", SignedHeaders=" signed ", Signature=" sig

typedef struct hdr {
    const char *name;
    const char *value;
} hdr;

typedef struct vector {
    const char *name; /* the case and its source */
    const char *service;
    const char *method;
    const char *path;
    const char *query;
    hdr headers[12];
    const char *body;
    const char *now;           /* the verifier's clock (ISO 8601 basic) */
    const char *session_token; /* the key's registered token, if any */
    acmpca_errtype_t expect;
    const char *message; /* the error message begins with this */
} vector;

/* ************************************************************************************
 * The AWS SigV4 test suite. Requests and signatures of the 2015 suite
 * (https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html), as
 * carried in aws/aws-sdk-js-v3 packages/signature-v4/src/suite.fixture.ts; the
 * normalize-path cases from the suite's normalize-path/ directory. Each signature was
 * also recomputed with botocore's SigV4Auth, which agrees.
 */

#define SUITE_HOST                                                                                 \
    {"Host", "example.amazonaws.com"},                                                             \
    {                                                                                              \
        "X-Amz-Date", SUITE_DATE                                                                   \
    }
#define SUITE(name, method, path, query, sig)                                                      \
    {                                                                                              \
        "suite " name, "service", method, path, query,                                             \
            {SUITE_HOST, {"Authorization", AUTH(SUITE_SCOPE, "host;x-amz-date", sig)}}, "",        \
            SUITE_DATE, NULL, ACMPCA_ERR_NONE, NULL                                                \
    }

static const vector suite[] = {
    SUITE("get-vanilla", "GET", "/", NULL,
          "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    SUITE("get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1",
          "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    SUITE("get-vanilla-query-unreserved", "GET", "/",
          "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
          "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
          "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    /* The suite's request line carries the raw UTF-8 "ሴ". */
    SUITE("get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar",
          "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    SUITE("get-unreserved", "GET",
          "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", NULL,
          "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    SUITE("get-utf8", "GET", "/\xe1\x88\xb4", NULL,
          "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    SUITE("post-vanilla", "POST", "/", NULL,
          "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    SUITE("post-vanilla-query", "POST", "/", "Param1=value1",
          "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
    SUITE("post-vanilla-query-nonunreserved", "POST", "/",
          "%40%23%24%25%5E&%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D",
          "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e"),
    /* normalize-path/: every spelling of the root is "/" */
    SUITE("normalize-path/get-slash", "GET", "//", NULL,
          "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    SUITE("normalize-path/get-slash-dot-slash", "GET", "/./", NULL,
          "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    SUITE("normalize-path/get-relative", "GET", "/example/..", NULL,
          "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    SUITE("normalize-path/get-relative-relative", "GET", "/example1/example2/../..", NULL,
          "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    SUITE("normalize-path/get-slashes", "GET", "//example//", NULL,
          "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    SUITE("normalize-path/get-space", "GET", "/example space/", NULL,
          "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
    {"suite get-header-key-duplicate (three header lines)",
     "service",
     "GET",
     "/",
     NULL,
     {SUITE_HOST,
      {"My-Header1", "value2"},
      {"My-Header1", "value2"},
      {"My-Header1", "value1"},
      {"Authorization", AUTH(SUITE_SCOPE, "host;my-header1;x-amz-date",
                             "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea")}},
     "",
     SUITE_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"suite get-header-value-order (four header lines, order kept)",
     "service",
     "GET",
     "/",
     NULL,
     {SUITE_HOST,
      {"My-Header1", "value4"},
      {"My-Header1", "value1"},
      {"My-Header1", "value3"},
      {"My-Header1", "value2"},
      {"Authorization", AUTH(SUITE_SCOPE, "host;my-header1;x-amz-date",
                             "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01")}},
     "",
     SUITE_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"suite get-header-value-trim",
     "service",
     "GET",
     "/",
     NULL,
     {SUITE_HOST,
      {"My-Header1", " value1"},
      {"My-Header2", " \"a   b   c\""},
      {"Authorization", AUTH(SUITE_SCOPE, "host;my-header1;my-header2;x-amz-date",
                             "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")}},
     "",
     SUITE_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"suite post-header-key-sort",
     "service",
     "POST",
     "/",
     NULL,
     {SUITE_HOST,
      {"My-Header1", "value1"},
      {"Authorization", AUTH(SUITE_SCOPE, "host;my-header1;x-amz-date",
                             "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c")}},
     "",
     SUITE_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"suite post-header-value-case",
     "service",
     "POST",
     "/",
     NULL,
     {SUITE_HOST,
      {"My-Header1", "VALUE1"},
      {"Authorization", AUTH(SUITE_SCOPE, "host;my-header1;x-amz-date",
                             "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d")}},
     "",
     SUITE_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"suite post-x-www-form-urlencoded (body hashed)",
     "service",
     "POST",
     "/",
     NULL,
     {SUITE_HOST,
      {"Content-Type", "application/x-www-form-urlencoded"},
      {"Authorization", AUTH(SUITE_SCOPE, "content-type;host;x-amz-date",
                             "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")}},
     "Param1=value1",
     SUITE_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"suite post-x-www-form-urlencoded-parameters",
     "service",
     "POST",
     "/",
     NULL,
     {SUITE_HOST,
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf8"},
      {"Authorization", AUTH(SUITE_SCOPE, "content-type;host;x-amz-date",
                             "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe")}},
     "Param1=value1",
     SUITE_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    /* post-sts-token/post-sts-header-before: the token is signed. */
    {"suite post-sts-header-before (session token signed)",
     "service",
     "POST",
     "/",
     NULL,
     {SUITE_HOST,
      {"X-Amz-Security-Token", SUITE_TOKEN},
      {"Authorization", AUTH(SUITE_SCOPE, "host;x-amz-date;x-amz-security-token",
                             "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")}},
     "",
     SUITE_DATE,
     SUITE_TOKEN,
     ACMPCA_ERR_NONE,
     NULL},
    /* post-sts-token/post-sts-header-after: added after signing, so not signed. */
    {"suite post-sts-header-after (session token sent, not signed)",
     "service",
     "POST",
     "/",
     NULL,
     {SUITE_HOST,
      {"X-Amz-Security-Token", SUITE_TOKEN},
      {"Authorization", AUTH(SUITE_SCOPE, "host;x-amz-date",
                             "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")}},
     "",
     SUITE_DATE,
     SUITE_TOKEN,
     ACMPCA_ERR_NONE,
     NULL},
    /* The 2011 suite's get-vanilla (botocore tests/unit/auth/aws4_testsuite): Date header
     * instead of X-Amz-Date, service "host". */
    {"suite (2011) get-vanilla with a Date header",
     "host",
     "GET",
     "/",
     NULL,
     {{"Host", "host.foo.com"},
      {"Date", "Mon, 09 Sep 2011 23:36:00 GMT"},
      {"Authorization", AUTH("AKIDEXAMPLE/20110909/us-east-1/host/aws4_request", "date;host",
                             "b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470")}},
     "",
     "20110909T233600Z",
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
};

/* ************************************************************************************
 * Real clients. Captured once with Debian bookworm's python3-botocore 1.29.27 (run as
 * /usr/bin/python3): the request a boto3 acm-pca client sends to
 * http://127.0.0.1:8529, taken from its "before-send" event; the Go SDK v2 header set
 * (which also signs amz-sdk-invocation-id, amz-sdk-request and content-length) and the
 * S3 requests signed by botocore's SigV4Auth, S3SigV4Auth and S3SigV4QueryAuth with the
 * clock at 2026-11-29T15:47:07Z.
 */

#define BOTO_LIST_SIG  "7ed25ea3daf1a3cf483d182da60c093538f310e8282b64a9552d504004977564"
#define BOTO_LIST_AUTH AUTH(CAP_SCOPE, "content-type;host;x-amz-date;x-amz-target", BOTO_LIST_SIG)
#define BOTO_LIST_HEADERS(auth, target)                                                            \
    {"X-Amz-Target", target}, {"Content-Type", "application/x-amz-json-1.1"},                      \
        {"User-Agent", "Botocore/1.29.27 Python/3.11.2 Linux/6.18.44-fc-v669"},                    \
        {"host", "127.0.0.1:8529"}, {"X-Amz-Date", CAP_DATE}, {"Authorization", auth},             \
        {"amz-sdk-invocation-id", "79701cf7-1366-417a-8a3e-4961dd1381db"},                         \
        {"amz-sdk-request", "attempt=1"},                                                          \
    {                                                                                              \
        "Content-Length", "18"                                                                     \
    }
#define BOTO_LIST_BODY "{\"MaxResults\": 10}"
#define LIST_TARGET    "ACMPrivateCA.ListCertificateAuthorities"

#define BOTO_LIST(name, auth, body, now, expect, msg)                                              \
    {                                                                                              \
        name, "acm-pca", "POST", "/", NULL, {BOTO_LIST_HEADERS(auth, LIST_TARGET)}, body, now,     \
            NULL, expect, msg                                                                      \
    }

#define GO_AUTH(sig)                                                                               \
    AUTH(CAP_SCOPE,                                                                                \
         "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;"      \
         "x-amz-target",                                                                           \
         sig)
#define GO_SIG "08a76c721ebf029818410c82f0c13f199b74e59632dba941adeedfe814f9021f"
#define GO_HEADERS(auth, invocation)                                                               \
    {"Amz-Sdk-Invocation-Id", invocation}, {"Amz-Sdk-Request", "attempt=1; max=3"},                \
        {"Content-Length", "17"}, {"Content-Type", "application/x-amz-json-1.1"},                  \
        {"Host", "127.0.0.1:8529"}, {"X-Amz-Target", LIST_TARGET}, {"X-Amz-Date", CAP_DATE},       \
    {                                                                                              \
        "Authorization", auth                                                                      \
    }

#define S3_PATH                                                                                    \
    "/my-bucket/audit-report/0b2e7a7e-0d5c-4b8e-9b1a-0d3f6a2c9e11/"                                \
    "5e1f1a52-3b0e-4f3e-8f6a-1b2c3d4e5f60.json"
#define S3_AUTH                                                                                    \
    AUTH("AKIAMODACMPCATEST001/20261129/us-east-1/s3/aws4_request",                                \
         "host;x-amz-content-sha256;x-amz-date",                                                   \
         "aac1ee00f925b58fb0e908d3ca34f52a05f59ab28192cbc097d9f95785d1f0c3")
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define PRESIGNED_PATH "/my-bucket/crl/0b2e7a7e-0d5c-4b8e-9b1a-0d3f6a2c9e11.crl"
#define PRESIGNED_QUERY(sig)                                                                       \
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAMODACMPCATEST001%2F20261129%2Fus-"      \
    "east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T154707Z&X-Amz-Expires=900&X-Amz-"              \
    "SignedHeaders=host&X-Amz-Signature=" sig
#define PRESIGNED_SIG "55ef238353947c4fbf9edec3e41a987852e922cc407324213474a74550594761"

static const vector clients[] = {
    BOTO_LIST("boto3 ListCertificateAuthorities", BOTO_LIST_AUTH, BOTO_LIST_BODY, CAP_DATE,
              ACMPCA_ERR_NONE, NULL),
    BOTO_LIST("boto3, verified 4 min 59 s later (inside the window)", BOTO_LIST_AUTH,
              BOTO_LIST_BODY, "20261129T155206Z", ACMPCA_ERR_NONE, NULL),
    {"boto3 DescribeCertificateAuthority with a session token",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {{"X-Amz-Target", "ACMPrivateCA.DescribeCertificateAuthority"},
      {"Content-Type", "application/x-amz-json-1.1"},
      {"host", "127.0.0.1:8529"},
      {"X-Amz-Security-Token", CAP_TOKEN},
      {"X-Amz-Date", CAP_DATE},
      {"Authorization",
       AUTH(CAP_SCOPE, "content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
            "7ddd4400d001b138001485e4343bdb8fd7c8e199023e3de5396c33887832b6e9")},
      {"Content-Length", "128"}},
     "{\"CertificateAuthorityArn\": \"" CAP_ARN "\"}",
     CAP_DATE,
     CAP_TOKEN,
     ACMPCA_ERR_NONE,
     NULL},
    {"Go SDK v2 header set (content-length, amz-sdk-* signed)",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {GO_HEADERS(GO_AUTH(GO_SIG), "3a7e5b0c-7f0e-4d3e-9a55-2f1f6c1d9b01")},
     "{\"MaxResults\":10}",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"S3 GET with header auth and x-amz-content-sha256 (aws s3 cp)",
     "s3",
     "GET",
     S3_PATH,
     NULL,
     {{"Host", "127.0.0.1:8529"},
      {"X-Amz-Date", CAP_DATE},
      {"X-Amz-Content-SHA256", EMPTY_SHA256},
      {"Authorization", S3_AUTH}},
     "",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
    {"S3 presigned GET (query auth, UNSIGNED-PAYLOAD)",
     "s3",
     "GET",
     PRESIGNED_PATH,
     PRESIGNED_QUERY(PRESIGNED_SIG),
     {{"Host", "127.0.0.1:8529"}},
     "",
     "20261129T160000Z",
     NULL,
     ACMPCA_ERR_NONE,
     NULL},
};

/* ************************************************************************************
 * Failures: each a change to one of the requests above.
 */

static const vector failures[] = {
    {"no Authorization at all",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {{"Host", "127.0.0.1:8529"}, {"X-Amz-Date", CAP_DATE}},
     "{}",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_MISSING_AUTH_TOKEN,
     "Missing Authentication Token"},
    BOTO_LIST("an unknown access key",
              AUTH("AKIANOSUCHKEY0000000/20261129/us-east-1/acm-pca/aws4_request",
                   "content-type;host;x-amz-date;x-amz-target", BOTO_LIST_SIG),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_UNRECOGNIZED_CLIENT,
              "The security token included in the request is invalid."),
    BOTO_LIST("a signature made with another secret",
              AUTH(CAP_SCOPE, "content-type;host;x-amz-date;x-amz-target",
                   "7ed25ea3daf1a3cf483d182da60c093538f310e8282b64a9552d504004977565"),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INVALID_SIGNATURE,
              "The request signature we calculated does not match"),
    BOTO_LIST("the body changed after signing", BOTO_LIST_AUTH, "{\"MaxResults\": 11}", CAP_DATE,
              ACMPCA_ERR_INVALID_SIGNATURE, "The request signature we calculated does not match"),
    BOTO_LIST("6 minutes after signing", BOTO_LIST_AUTH, BOTO_LIST_BODY, "20261129T155307Z",
              ACMPCA_ERR_INVALID_SIGNATURE,
              "Signature expired: 20261129T154707Z is now earlier than 20261129T154807Z "
              "(20261129T155307Z - 5 min.)"),
    BOTO_LIST("6 minutes before the signing date", BOTO_LIST_AUTH, BOTO_LIST_BODY,
              "20261129T154107Z", ACMPCA_ERR_INVALID_SIGNATURE,
              "Signature not yet current: 20261129T154707Z is still later than "
              "20261129T154607Z (20261129T154107Z + 5 min.)"),
    BOTO_LIST("no Signature in the header",
              "AWS4-HMAC-SHA256 Credential=" CAP_SCOPE
              ", SignedHeaders=content-type;host;x-amz-date;x-amz-target",
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INCOMPLETE_SIGNATURE,
              "Authorization header requires 'Signature' parameter."),
    BOTO_LIST("a header of garbage after the algorithm", "AWS4-HMAC-SHA256 garbage", BOTO_LIST_BODY,
              CAP_DATE, ACMPCA_ERR_INCOMPLETE_SIGNATURE,
              "Invalid key=value pair (missing equal-sign) in Authorization header"),
    BOTO_LIST("another scheme (Basic)", "Basic dXNlcjpwYXNz", BOTO_LIST_BODY, CAP_DATE,
              ACMPCA_ERR_INCOMPLETE_SIGNATURE, "Unsupported AWS 'algorithm': 'Basic'."),
    BOTO_LIST("a credential of four elements",
              AUTH("AKIAMODACMPCATEST001/20261129/us-east-1/acm-pca",
                   "content-type;host;x-amz-date;x-amz-target", BOTO_LIST_SIG),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INCOMPLETE_SIGNATURE,
              "Credential must have exactly 5 slash-delimited elements"),
    BOTO_LIST("a scope of another region",
              AUTH("AKIAMODACMPCATEST001/20261129/eu-west-1/acm-pca/aws4_request",
                   "content-type;host;x-amz-date;x-amz-target", BOTO_LIST_SIG),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INVALID_SIGNATURE,
              "Credential should be scoped to a valid region, not 'eu-west-1'."),
    BOTO_LIST("a scope of another service",
              AUTH("AKIAMODACMPCATEST001/20261129/us-east-1/acm/aws4_request",
                   "content-type;host;x-amz-date;x-amz-target", BOTO_LIST_SIG),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INVALID_SIGNATURE,
              "Credential should be scoped to correct service: 'acm-pca'."),
    BOTO_LIST("a scope dated another day",
              AUTH("AKIAMODACMPCATEST001/20261128/us-east-1/acm-pca/aws4_request",
                   "content-type;host;x-amz-date;x-amz-target", BOTO_LIST_SIG),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INVALID_SIGNATURE,
              "Date in Credential scope does not match YYYYMMDD"),
    BOTO_LIST("host not among the signed headers",
              AUTH(CAP_SCOPE, "content-type;x-amz-date;x-amz-target", BOTO_LIST_SIG),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INCOMPLETE_SIGNATURE,
              "'Host' or ':authority' must be a 'SignedHeader'"),
    BOTO_LIST("a terminator other than aws4_request",
              AUTH("AKIAMODACMPCATEST001/20261129/us-east-1/acm-pca/aws4_requestx",
                   "content-type;host;x-amz-date;x-amz-target", BOTO_LIST_SIG),
              BOTO_LIST_BODY, CAP_DATE, ACMPCA_ERR_INCOMPLETE_SIGNATURE,
              "Credential should be scoped with a valid terminator"),
    {"a signed header changed after signing (x-amz-target)",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {BOTO_LIST_HEADERS(BOTO_LIST_AUTH, "ACMPrivateCA.ListTags")},
     BOTO_LIST_BODY,
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INVALID_SIGNATURE,
     "The request signature we calculated does not match"},
    {"Go SDK: the signed invocation id changed",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {GO_HEADERS(GO_AUTH(GO_SIG), "3a7e5b0c-7f0e-4d3e-9a55-2f1f6c1d9b02")},
     "{\"MaxResults\":10}",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INVALID_SIGNATURE,
     "The request signature we calculated does not match"},
    {"no X-Amz-Date and no Date",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {{"Host", "127.0.0.1:8529"}, {"Authorization", BOTO_LIST_AUTH}},
     BOTO_LIST_BODY,
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INCOMPLETE_SIGNATURE,
     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
    {"an X-Amz-Date that is not a date",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {{"Host", "127.0.0.1:8529"},
      {"X-Amz-Date", "2026-11-29T15:47:07Z"},
      {"Authorization", BOTO_LIST_AUTH}},
     BOTO_LIST_BODY,
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INCOMPLETE_SIGNATURE,
     "X-Amz-Date must be in the ISO8601 Long Format"},
    {"a key with a session token, request without it",
     "acm-pca",
     "POST",
     "/",
     NULL,
     {BOTO_LIST_HEADERS(BOTO_LIST_AUTH, LIST_TARGET)},
     BOTO_LIST_BODY,
     CAP_DATE,
     CAP_TOKEN,
     ACMPCA_ERR_UNRECOGNIZED_CLIENT,
     "The security token included in the request is invalid."},
    {"a session token that is not the key's",
     "service",
     "POST",
     "/",
     NULL,
     {SUITE_HOST,
      {"X-Amz-Security-Token", SUITE_TOKEN},
      {"Authorization", AUTH(SUITE_SCOPE, "host;x-amz-date;x-amz-security-token",
                             "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")}},
     "",
     SUITE_DATE,
     "AQoDYXdzEPT//////////wEXAMPLEother",
     ACMPCA_ERR_UNRECOGNIZED_CLIENT,
     "The security token included in the request is invalid."},
    {"x-amz-content-sha256 that is not the body's hash",
     "s3",
     "GET",
     S3_PATH,
     NULL,
     {{"Host", "127.0.0.1:8529"},
      {"X-Amz-Date", CAP_DATE},
      {"X-Amz-Content-SHA256", EMPTY_SHA256},
      {"Authorization", S3_AUTH}},
     "x",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INVALID_SIGNATURE,
     "The provided 'x-amz-content-sha256' header does not match what was computed."},
    {"presigned, 15 minutes and 1 second later",
     "s3",
     "GET",
     PRESIGNED_PATH,
     PRESIGNED_QUERY(PRESIGNED_SIG),
     {{"Host", "127.0.0.1:8529"}},
     "",
     "20261129T160208Z",
     NULL,
     ACMPCA_ERR_INVALID_SIGNATURE,
     "Request has expired."},
    {"presigned, another object",
     "s3",
     "GET",
     "/my-bucket/crl/0b2e7a7e-0d5c-4b8e-9b1a-0d3f6a2c9e12.crl",
     PRESIGNED_QUERY(PRESIGNED_SIG),
     {{"Host", "127.0.0.1:8529"}},
     "",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INVALID_SIGNATURE,
     "The request signature we calculated does not match"},
    {"presigned and an Authorization header",
     "s3",
     "GET",
     PRESIGNED_PATH,
     PRESIGNED_QUERY(PRESIGNED_SIG),
     {{"Host", "127.0.0.1:8529"}, {"Authorization", S3_AUTH}},
     "",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INCOMPLETE_SIGNATURE,
     "Only one auth mechanism allowed"},
    {"presigned without X-Amz-Expires",
     "s3",
     "GET",
     PRESIGNED_PATH,
     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAMODACMPCATEST001%2F20261129%2Fus-"
     "east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T154707Z&X-Amz-SignedHeaders=host&X-Amz-"
     "Signature=" PRESIGNED_SIG,
     {{"Host", "127.0.0.1:8529"}},
     "",
     CAP_DATE,
     NULL,
     ACMPCA_ERR_INCOMPLETE_SIGNATURE,
     "Query-string authentication requires the X-Amz-Expires parameter."},
};

/* ************************************************************************************
 * The runner
 */

static apr_status_t lookup(acmpca_sigv4_key_t *key, const char *access_key, void *baton)
{
    const vector *v = baton;

    if (!strcmp(access_key, SUITE_AK)) {
        key->secret = SUITE_SECRET;
    }
    else if (!strcmp(access_key, CAP_AK)) {
        key->secret = CAP_SECRET;
    }
    else {
        return APR_NOTFOUND;
    }
    key->session_token = v->session_token;
    key->data = v;
    return APR_SUCCESS;
}

static apr_time_t at(const char *iso)
{
    apr_time_exp_t tm = {0};
    apr_time_t t;

    assert_int_equal(sscanf(iso, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    assert_int_equal(apr_time_exp_gmt_get(&t, &tm), APR_SUCCESS);
    return t;
}

static void run_vector(const vector *v, apr_pool_t *p)
{
    const char *services[] = {v->service, NULL};
    acmpca_sigv4_opts_t opts = {services, "us-east-1", 0};
    acmpca_sigv4_req_t req;
    acmpca_sigv4_result_t res = {0};
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    apr_table_t *h = apr_table_make(p, 12);
    apr_status_t rv;
    size_t i;

    for (i = 0; i < ARRAY_LEN(v->headers) && v->headers[i].name; i++) {
        apr_table_add(h, v->headers[i].name, v->headers[i].value);
    }
    req.method = v->method;
    req.path = v->path;
    req.query = v->query;
    req.headers = h;
    req.body = v->body;
    req.body_len = strlen(v->body);
    req.now = at(v->now);
    rv = acmpca_sigv4_verify(&res, &req, &opts, lookup, (void *)v, &err, p);
    if (v->expect == ACMPCA_ERR_NONE) {
        if (rv != APR_SUCCESS) {
            print_error("%s: %s: %s\n", v->name, acmpca_err_name(err.type), err.message);
        }
        assert_int_equal(rv, APR_SUCCESS);
        assert_ptr_equal(res.data, v);
        assert_string_equal(res.service, v->service);
        return;
    }
    if (rv == APR_SUCCESS || err.type != v->expect
        || (v->message && strncmp(err.message, v->message, strlen(v->message)))) {
        print_error("%s: got %s: %s\n", v->name,
                    rv == APR_SUCCESS ? "success" : acmpca_err_name(err.type),
                    rv == APR_SUCCESS ? "" : err.message);
    }
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_string_equal(acmpca_err_name(err.type), acmpca_err_name(v->expect));
    if (v->message) {
        assert_memory_equal(err.message, v->message, strlen(v->message));
    }
}

static void test_suite(void **state)
{
    size_t i;
    for (i = 0; i < ARRAY_LEN(suite); i++) {
        run_vector(&suite[i], *state);
    }
}

static void test_clients(void **state)
{
    size_t i;
    for (i = 0; i < ARRAY_LEN(clients); i++) {
        run_vector(&clients[i], *state);
    }
}

static void test_failures(void **state)
{
    size_t i;
    for (i = 0; i < ARRAY_LEN(failures); i++) {
        run_vector(&failures[i], *state);
    }
}

/* The suite's .creq files: the canonical requests themselves. */
static void test_canonical_requests(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *h = apr_table_make(p, 4);
    acmpca_sigv4_req_t req = {"GET", "/", "Param2=value2&Param1=value1", h, "", 0, 0};

    apr_table_add(h, "Host", "example.amazonaws.com");
    apr_table_add(h, "X-Amz-Date", SUITE_DATE);
    /* get-vanilla-query-order-key-case.creq */
    assert_string_equal(
        acmpca_sigv4_canonical_request(&req, "host;x-amz-date", EMPTY_SHA256, 0, 0, p),
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256);
    /* normalize-path/get-space.creq: one encoding of the raw path */
    req.path = "/example space/";
    req.query = NULL;
    assert_string_equal(
        acmpca_sigv4_canonical_request(&req, "host;x-amz-date", EMPTY_SHA256, 0, 0, p),
        "GET\n/example%20space/\n\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256);
    /* Non-S3 services encode the wire's percent signs once more (botocore, AWS docs:
     * "each path segment must be URI-encoded twice"); S3 does not. */
    req.path = "/example%20space/";
    assert_string_equal(
        acmpca_sigv4_canonical_request(&req, "host", EMPTY_SHA256, 0, 0, p),
        "GET\n/example%2520space/\n\nhost:example.amazonaws.com\n\nhost\n" EMPTY_SHA256);
    assert_string_equal(
        acmpca_sigv4_canonical_request(&req, "host", EMPTY_SHA256, 1, 0, p),
        "GET\n/example%20space/\n\nhost:example.amazonaws.com\n\nhost\n" EMPTY_SHA256);
    /* S3 keeps dot segments and repeated slashes. */
    req.path = "//a/./b";
    assert_string_equal(acmpca_sigv4_canonical_request(&req, "host", EMPTY_SHA256, 1, 0, p),
                        "GET\n//a/./b\n\nhost:example.amazonaws.com\n\nhost\n" EMPTY_SHA256);
    /* Presigned: X-Amz-Signature signs everything but itself. */
    req.path = "/";
    req.query = "b=2&X-Amz-Signature=abc&a=1";
    assert_string_equal(acmpca_sigv4_canonical_request(&req, "host", "UNSIGNED-PAYLOAD", 1, 1, p),
                        "GET\n/\na=1&b=2\nhost:example.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
}

/* SHA-256 test vectors of FIPS 180-2, appendix B.1 ("abc") and the empty string. */
static void test_sha256(void **state)
{
    apr_pool_t *p = *state;
    assert_string_equal(acmpca_sha256_hex("abc", 3, p),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(acmpca_sha256_hex("", 0, p), EMPTY_SHA256);
}

/* HMAC-SHA256 of RFC 4231 §4.2 (test case 1) and §4.7 (test case 6, a key longer than a
 * block), and the signing key of AWS's "Examples of how to derive a signing key for
 * Signature Version 4" page: derived, then the same from the per-process memo. */
static void test_hmac_and_signing_key(void **state)
{
    apr_pool_t *p = *state;
    unsigned char key[131], out[32];
    int i;

    memset(key, 0x0b, 20);
    assert_true(acmpca_hmac_sha256(out, key, 20, "Hi There", 8));
    assert_string_equal(acmpca_hex(out, 32, 0, p),
                        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    memset(key, 0xaa, sizeof(key));
    assert_true(acmpca_hmac_sha256(out, key, sizeof(key),
                                   "Test Using Larger Than Block-Size Key - Hash Key First", 54));
    assert_string_equal(acmpca_hex(out, 32, 0, p),
                        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    for (i = 0; i < 2; i++) {
        memset(out, 0, sizeof(out));
        assert_true(acmpca_sigv4_signing_key(out, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                             "20120215", "us-east-1", "iam"));
        assert_string_equal(acmpca_hex(out, 32, 0, p),
                            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    }
    /* another day is another key */
    assert_true(acmpca_sigv4_signing_key(out, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                         "20120216", "us-east-1", "iam"));
    assert_string_not_equal(acmpca_hex(out, 32, 0, p),
                            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    acmpca_sigv4_keys_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_sha256),   UNIT_TEST(test_canonical_requests),
        UNIT_TEST(test_suite),    UNIT_TEST(test_clients),
        UNIT_TEST(test_failures), UNIT_TEST(test_hmac_and_signing_key),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
