/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of the util layer: base64, hex, time and identifiers. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "acmpca/json.h"
#include "acmpca/util.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ******************************************************************************** */
/* base64                                                                           */
/* ******************************************************************************** */

/* RFC 4648 section 10, "Test Vectors" (BASE64). */
static const struct {
    const char *plain;
    const char *encoded;
} rfc4648_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_b64_rfc4648_encode(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(rfc4648_vectors); i++) {
        const char *in = rfc4648_vectors[i].plain;
        assert_string_equal(acmpca_b64_encode((const unsigned char *)in, strlen(in), p),
                            rfc4648_vectors[i].encoded);
    }
}

static void test_b64_rfc4648_decode(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(rfc4648_vectors); i++) {
        const char *in = rfc4648_vectors[i].encoded;
        unsigned char *out = NULL;
        apr_size_t outlen = 99;

        assert_int_equal(acmpca_b64_decode(&out, &outlen, in, strlen(in), p), APR_SUCCESS);
        assert_int_equal(outlen, strlen(rfc4648_vectors[i].plain));
        assert_memory_equal(out, rfc4648_vectors[i].plain, outlen);
        assert_int_equal(out[outlen], '\0'); /* the contract: NUL-terminated too */
    }
}

/* Every byte value, at every length up to 3 * 86 + 2, survives a round trip; the encoding
 * only ever uses the RFC 4648 section 4 alphabet and '='. */
static void test_b64_roundtrip_binary(void **state)
{
    apr_pool_t *p = *state;
    unsigned char buf[260];
    apr_size_t len, i;

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(255 - i);
    }
    for (len = 0; len <= sizeof(buf); len++) {
        const char *enc = acmpca_b64_encode(buf, len, p);
        unsigned char *out;
        apr_size_t outlen;

        assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
        assert_int_equal(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789+/="),
                         strlen(enc));
        assert_int_equal(acmpca_b64_decode(&out, &outlen, enc, strlen(enc), p), APR_SUCCESS);
        assert_int_equal(outlen, len);
        assert_memory_equal(out, buf, len);
    }
}

/* High bit set, and the two characters beyond the alphanumerics (RFC 4648 section 4,
 * values 62 and 63). */
static void test_b64_alphabet_edges(void **state)
{
    apr_pool_t *p = *state;
    static const unsigned char ff[] = {0xfb, 0xff, 0xbf};
    unsigned char *out;
    apr_size_t outlen;

    assert_string_equal(acmpca_b64_encode(ff, sizeof(ff), p), "+/+/");
    assert_int_equal(acmpca_b64_decode(&out, &outlen, "+/+/", 4, p), APR_SUCCESS);
    assert_int_equal(outlen, 3);
    assert_memory_equal(out, ff, 3);
}

/* The length argument, not a NUL, bounds the input (request bodies are not terminated). */
static void test_b64_decode_uses_len(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *out;
    apr_size_t outlen;

    assert_int_equal(acmpca_b64_decode(&out, &outlen, "Zm9vYmFy", 4, p), APR_SUCCESS);
    assert_int_equal(outlen, 3);
    assert_string_equal((const char *)out, "foo");
}

/* Every 4-character string over the alphabet plus '=': exactly the canonical encodings
 * decode (64^4 unpadded, 64^2 * 16 with one '=', 64 * 4 with two; RFC 4648 section 3.5),
 * and each re-encodes to itself. */
static void test_b64_exhaustive_quantum(void **state)
{
    apr_pool_t *p = *state;
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    unsigned long ok = 0;
    int a, b, c, d;

    for (a = 0; a < 65; a++) {
        for (b = 0; b < 65; b++) {
            for (c = 0; c < 65; c++) {
                for (d = 0; d < 65; d++) {
                    char in[5] = {chars[a], chars[b], chars[c], chars[d], '\0'};
                    unsigned char *out;
                    apr_size_t outlen;

                    if (acmpca_b64_decode(&out, &outlen, in, 4, p) == APR_SUCCESS) {
                        ok++;
                        assert_string_equal(acmpca_b64_encode(out, outlen, p), in);
                    }
                }
            }
            apr_pool_clear(p);
        }
    }
    assert_int_equal(ok, 64UL * 64 * 64 * 64 + 64 * 64 * 16 + 64 * 4);
}

static const struct {
    const char *why;
    const char *in;
    apr_size_t len; /* 0: strlen(in) */
} b64_invalid[] = {
    /* truncated: not a whole number of 4-character quanta (RFC 4648 section 4) */
    {"1 char", "Z", 0},
    {"2 chars, padding dropped", "Zg", 0},
    {"3 chars, one '=' dropped", "Zg=", 0},
    {"5 chars", "Zm9vY", 0},
    {"last quantum cut", "Zm9vYmE", 0},
    /* bad padding */
    {"padding only", "====", 0},
    {"three '='", "Z===", 0},
    {"'=' in the middle", "Zg==Zm9v", 0},
    {"'=' inside a quantum", "Zm=v", 0},
    {"'=' first", "=Zm9", 0},
    {"padded twice", "Zm8=Zm8=", 0},
    {"extra quantum of padding", "Zm8=====", 0},
    /* non-canonical: bits under the padding set (RFC 4648 section 3.5) */
    {"'Zh==' has pad bits", "Zh==", 0},
    {"'Zm9=' has pad bits", "Zm9=", 0},
    /* characters outside the standard alphabet */
    {"URL-safe alphabet", "Zm-_", 0},
    {"asterisk", "Zm9*", 0},
    {"dot", "Zm9.", 0},
    {"non-ASCII byte", "Zm9\xc3", 0},
    {"embedded NUL", "Zm\0v", 4},
    /* whitespace, which lenient decoders skip */
    {"trailing newline", "Zm9v\nZm9", 0},
    {"CRLF line break", "Zm\r\n", 0},
    {"space", "Zm 9", 0},
    {"tab", "\tZm9", 0},
};

static void test_b64_decode_invalid(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(b64_invalid); i++) {
        const char *in = b64_invalid[i].in;
        apr_size_t len = b64_invalid[i].len ? b64_invalid[i].len : strlen(in);
        unsigned char *out = (unsigned char *)"x";
        apr_size_t outlen = 7;

        print_message("invalid base64: %s\n", b64_invalid[i].why);
        assert_int_equal(acmpca_b64_decode(&out, &outlen, in, len, p), APR_EINVAL);
        assert_null(out);
        assert_int_equal(outlen, 0);
    }
}

/* ******************************************************************************** */
/* hex                                                                              */
/* ******************************************************************************** */

static void test_hex(void **state)
{
    apr_pool_t *p = *state;
    /* PCA-API section 3: RevokeCertificate example serial, as Describe's Serial prints. */
    static const unsigned char serial[] = {0x67, 0x07, 0x44, 0x76, 0x83, 0xa9, 0xb7, 0xf4,
                                           0x05, 0x56, 0x27, 0xff, 0xd5, 0x5c, 0xeb, 0xcc};
    static const unsigned char e8[] = {0xe8, 0xcb, 0xd2};
    static const unsigned char zero[] = {0x00};

    assert_string_equal(acmpca_hex(e8, sizeof(e8), 0, p), "e8cbd2");
    assert_string_equal(acmpca_hex(e8, sizeof(e8), 1, p), "e8:cb:d2");
    assert_string_equal(acmpca_hex(serial, sizeof(serial), 1, p),
                        "67:07:44:76:83:a9:b7:f4:05:56:27:ff:d5:5c:eb:cc");
    assert_string_equal(acmpca_hex(serial, sizeof(serial), 0, p),
                        "6707447683a9b7f4055627ffd55cebcc");
    assert_string_equal(acmpca_hex(zero, 1, 0, p), "00");
    assert_string_equal(acmpca_hex(zero, 1, 1, p), "00");
    assert_string_equal(acmpca_hex(zero, 0, 0, p), "");
    assert_string_equal(acmpca_hex(zero, 0, 1, p), "");
}

/* ******************************************************************************** */
/* time                                                                             */
/* ******************************************************************************** */

#define SEC(s) ((apr_time_t)(s)*APR_USEC_PER_SEC)

static void test_time_epoch(void **state)
{
    (void)state;
    /* API_Validity ABSOLUTE sample: 2524608000 -> 01/01/2050 00:00:00. */
    assert_true(acmpca_time_epoch(SEC(2524608000LL)) == 2524608000.0);
    assert_true(acmpca_time_epoch(0) == 0.0);
    assert_true(acmpca_time_epoch(1500000) == 1.5);
    assert_true(acmpca_time_epoch(-1500000) == -1.5);

    assert_int_equal(acmpca_time_from_epoch(2524608000.0), SEC(2524608000LL));
    assert_int_equal(acmpca_time_from_epoch(0.0), 0);
    assert_int_equal(acmpca_time_from_epoch(0.1), 100000); /* not 99999 */
    assert_int_equal(acmpca_time_from_epoch(1571774812.721), 1571774812721000LL);
    assert_int_equal(acmpca_time_from_epoch(-1.5), -1500000);
    /* Out of range and not a number: defined, saturated results. */
    assert_int_equal(acmpca_time_from_epoch(1e300), APR_INT64_MAX);
    assert_int_equal(acmpca_time_from_epoch(-1e300), APR_INT64_MIN);
    assert_int_equal(acmpca_time_from_epoch(INFINITY), APR_INT64_MAX);
    assert_int_equal(acmpca_time_from_epoch(NAN), 0);
}

static const struct {
    const char *source;
    long long value;
    long long epoch;
    const char *audit;
} end_date_valid[] = {
    {"PCA-API 5.5.1, GeneralizedTime", 20300101000000LL, 1893456000LL, "2030-01-01T00:00:00+0000"},
    {"PCA-API 5.5.1, UTCTime YY<50 -> 20YY", 300101000000LL, 1893456000LL,
     "2030-01-01T00:00:00+0000"},
    {"API_Validity END_DATE sample 491231235959", 491231235959LL, 2524607999LL,
     "2049-12-31T23:59:59+0000"},
    {"API_Validity ABSOLUTE sample output as GeneralizedTime", 20500101000000LL, 2524608000LL,
     "2050-01-01T00:00:00+0000"},
    {"API_Validity: YY>=50 -> 19YY", 500101000000LL, -631152000LL, "1950-01-01T00:00:00+0000"},
    {"UTCTime 991231235959 -> 1999", 991231235959LL, 946684799LL, "1999-12-31T23:59:59+0000"},
    {"UTCTime 000101000000 arrives as 101000000", 101000000LL, 946684800LL,
     "2000-01-01T00:00:00+0000"},
    {"UTCTime 050101000000 arrives as 50101000000", 50101000000LL, 1104537600LL,
     "2005-01-01T00:00:00+0000"},
    {"leap day 2024", 20240229120000LL, 1709208000LL, "2024-02-29T12:00:00+0000"},
    {"leap day 2000 (400-year rule)", 20000229000000LL, 951782400LL, "2000-02-29T00:00:00+0000"},
    {"last GeneralizedTime second", 99991231235959LL, 253402300799LL, "9999-12-31T23:59:59+0000"},
    {"first 14-digit year", 10000101000000LL, -30610224000LL, "1000-01-01T00:00:00+0000"},
};

static void test_time_end_date_valid(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(end_date_valid); i++) {
        apr_time_t t = 1;

        print_message("END_DATE %lld (%s)\n", end_date_valid[i].value, end_date_valid[i].source);
        assert_int_equal(acmpca_time_parse_end_date(&t, end_date_valid[i].value), APR_SUCCESS);
        assert_int_equal(t, SEC(end_date_valid[i].epoch));
        assert_string_equal(acmpca_time_audit(t, p), end_date_valid[i].audit);
    }
}

static const struct {
    const char *why;
    long long value;
} end_date_invalid[] = {
    {"month 13", 20301301000000LL},
    {"month 0", 20300001000000LL},
    {"day 0", 20300100000000LL},
    {"Feb 30", 20300230000000LL},
    {"Feb 29 in a common year", 20230229000000LL},
    {"Feb 29 in 2100 (century rule)", 21000229000000LL},
    {"Apr 31", 20300431000000LL},
    {"Jan 32", 20300132000000LL},
    {"hour 24", 20300101240000LL},
    {"minute 60", 20300101006000LL},
    {"second 60 (no leap seconds in X.509)", 20300101000060LL},
    {"UTCTime month 13", 301301000000LL},
    {"UTCTime Feb 30", 300230000000LL},
    {"UTCTime hour 24", 300101240000LL},
    {"zero", 0},
    {"negative", -20300101000000LL},
    {"13 digits (digit dropped from a 14-digit date)", 2030010100000LL},
    {"13 digits (digit added to a 12-digit date)", 3001010000000LL},
    {"15 digits", 203001010000000LL},
    {"epoch seconds given as END_DATE", 1893456000LL},
    {"LLONG_MAX", LLONG_MAX},
    {"LLONG_MIN", LLONG_MIN},
};

static void test_time_end_date_invalid(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < ARRAY_LEN(end_date_invalid); i++) {
        apr_time_t t = 1;

        print_message("END_DATE %lld (%s)\n", end_date_invalid[i].value, end_date_invalid[i].why);
        assert_int_equal(acmpca_time_parse_end_date(&t, end_date_invalid[i].value), APR_EINVAL);
    }
}

static const struct {
    const char *why;
    apr_time_t from;
    long long months;
    apr_time_t to;
} add_months_cases[] = {
    {"PCA-API 5.5.1: Jan 31 + 1 -> Feb 28", SEC(1675160430LL), 1, SEC(1677579630LL)},
    {"Jan 31 + 1 in a leap year -> Feb 29", SEC(1706659200LL), 1, SEC(1709164800LL)},
    {"Mar 31 + 1 -> Apr 30", SEC(1711843200LL), 1, SEC(1714435200LL)},
    {"Feb 29 + 12 -> Feb 28", SEC(1709164800LL), 12, SEC(1740700800LL)},
    {"Dec 15 + 1 crosses the year", SEC(1702598400LL), 1, SEC(1705276800LL)},
    {"Mar 31 - 1 -> Feb 29", SEC(1711843200LL), -1, SEC(1709164800LL)},
    {"Jan 31 + 120 (10 YEARS)", SEC(1706659200LL), 120, SEC(2022278400LL)},
    {"zero months", SEC(1706659200LL) + 123456, 0, SEC(1706659200LL) + 123456},
    {"before the epoch, microseconds kept", SEC(-1) + 500000, 1, SEC(2678399LL) + 500000},
    {"saturates far in the future", 0, LLONG_MAX, APR_INT64_MAX},
    {"saturates far in the past", 0, LLONG_MIN, APR_INT64_MIN},
    {"stays saturated at the end of apr_time_t", APR_INT64_MAX, 1, APR_INT64_MAX},
    {"stays saturated at the start of apr_time_t", APR_INT64_MIN, -1, APR_INT64_MIN},
};

static void test_time_add_months(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(add_months_cases); i++) {
        apr_time_t got =
            acmpca_time_add_months(add_months_cases[i].from, add_months_cases[i].months);

        print_message("add_months: %s -> %s\n", add_months_cases[i].why, acmpca_time_audit(got, p));
        assert_int_equal(got, add_months_cases[i].to);
    }
}

static void test_time_audit(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(acmpca_time_audit(0, p), "1970-01-01T00:00:00+0000");
    /* Fractions are dropped, not rounded up into the next second. */
    assert_string_equal(acmpca_time_audit(SEC(2524607999LL) + 999999, p),
                        "2049-12-31T23:59:59+0000");
    assert_string_equal(acmpca_time_audit(-1, p), "1969-12-31T23:59:59+0000");
    /* Describe example of the knowledge-center page: NotAfter 2029-10-22T19:29:30. */
    assert_string_equal(acmpca_time_audit(SEC(1887391770LL), p), "2029-10-22T19:29:30+0000");
}

/* Our calendar against APR's (gmtime-based) one, one instant per day for 1900..2200 and
 * a spread of times of day: both directions must agree. */
static void test_time_against_apr(void **state)
{
    apr_pool_t *p = *state;
    long long day;

    for (day = -25567; day < 84006; day++) {
        apr_time_t t = SEC(day * 86400 + (day * 7919) % 86400);
        apr_time_exp_t xt;
        apr_time_t back;
        long long value;

        assert_int_equal(apr_time_exp_gmt(&xt, t), APR_SUCCESS);
        assert_string_equal(acmpca_time_audit(t, p),
                            apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d+0000", xt.tm_year + 1900,
                                         xt.tm_mon + 1, xt.tm_mday, xt.tm_hour, xt.tm_min,
                                         xt.tm_sec));
        value =
            (((((xt.tm_year + 1900LL) * 100 + xt.tm_mon + 1) * 100 + xt.tm_mday) * 100 + xt.tm_hour)
                 * 100
             + xt.tm_min)
                * 100
            + xt.tm_sec;
        assert_int_equal(acmpca_time_parse_end_date(&back, value), APR_SUCCESS);
        assert_int_equal(back, t);
        if ((day & 1023) == 0) {
            apr_pool_clear(p);
        }
    }
}

/* The module runs inside httpd with whatever TZ the host has: UTC results must not move. */
static void test_time_ignores_tz(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t t;

    setenv("TZ", "America/St_Johns", 1); /* UTC-3:30, with summer time */
    tzset();
    assert_int_equal(acmpca_time_parse_end_date(&t, 20300701123000LL), APR_SUCCESS);
    assert_string_equal(acmpca_time_audit(t, p), "2030-07-01T12:30:00+0000");
    assert_string_equal(acmpca_time_audit(acmpca_time_add_months(t, 1), p),
                        "2030-08-01T12:30:00+0000");
    unsetenv("TZ");
    tzset();
}

/* ******************************************************************************** */
/* identifiers                                                                      */
/* ******************************************************************************** */

static void test_random(void **state)
{
    unsigned char a[32], b[32], zero[32] = {0};
    (void)state;

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    assert_int_equal(acmpca_random(a, sizeof(a)), APR_SUCCESS);
    assert_int_equal(acmpca_random(b, sizeof(b)), APR_SUCCESS);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_int_equal(acmpca_random(a, 0), APR_SUCCESS);
}

/* RFC 9562 section 5.4 layout: version nibble 4, variant 10xx; lowercase; all distinct. */
static void test_uuid(void **state)
{
    apr_pool_t *p = *state;
    apr_hash_t *seen = apr_hash_make(p);
    int i;

    for (i = 0; i < 1000; i++) {
        const char *u = acmpca_uuid(p);

        assert_non_null(u);
        assert_int_equal(strlen(u), 36);
        assert_true(acmpca_is_uuid(u));
        assert_int_equal(u[14], '4');
        assert_non_null(strchr("89ab", u[19]));
        assert_null(apr_hash_get(seen, u, APR_HASH_KEY_STRING));
        apr_hash_set(seen, u, APR_HASH_KEY_STRING, u);
    }
}

static const struct {
    const char *s;
    int ok;
    const char *source;
} uuid_cases[] = {
    {"12345678-1234-1234-1234-123456789012", 1, "API reference CA ARN placeholder"},
    {"11223344-1234-1122-2233-112233445566", 1, "user guide CloudTrail example"},
    {"f47ac10b-58cc-4372-a567-0e02b2c3d479", 1, "RFC 9562-style v4"},
    {"F47AC10B-58CC-4372-A567-0E02B2C3D479", 0, "uppercase"},
    {"f47ac10b-58cc-4372-a567-0e02b2c3d47A", 0, "one uppercase digit"},
    {"f47ac10b58cc4372a5670e02b2c3d479", 0, "no hyphens"},
    {"f47ac10b-58cc-4372-a567-0e02b2c3d47", 0, "short"},
    {"f47ac10b-58cc-4372-a567-0e02b2c3d4790", 0, "long"},
    {"{f47ac10b-58cc-4372-a567-0e02b2c3d479}", 0, "braces"},
    {"f47ac10b-58cc-4372-a567-0e02b2c3d47g", 0, "non-hex letter"},
    {"f47ac10b5-8cc-4372-a567-0e02b2c3d479", 0, "hyphen moved"},
    {"f47ac10b-58cc-4372-a567_0e02b2c3d479", 0, "underscore"},
    {"", 0, "empty"},
};

static void test_is_uuid(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < ARRAY_LEN(uuid_cases); i++) {
        print_message("uuid \"%s\" (%s)\n", uuid_cases[i].s, uuid_cases[i].source);
        assert_int_equal(!!acmpca_is_uuid(uuid_cases[i].s), uuid_cases[i].ok);
    }
    assert_false(acmpca_is_uuid(NULL));
}

/* ******************************************************************************** */
/* JSON strings rendered without cJSON, and request ids                             */
/* ******************************************************************************** */

static void assert_quoted_as_cjson(const char *s, apr_pool_t *p)
{
    cJSON *j = cJSON_CreateString(s);
    char *want = cJSON_PrintUnformatted(j);

    assert_string_equal(acmpca_json_quote(s, p), want);
    cJSON_free(want);
    cJSON_Delete(j);
}

static void test_json_quote(void **state)
{
    apr_pool_t *p = *state;
    char every[256];
    int i;

    for (i = 1; i < 256; i++) { /* every byte but NUL, UTF-8 or not */
        every[i - 1] = (char)i;
    }
    every[255] = '\0';
    assert_quoted_as_cjson(every, p);
    assert_quoted_as_cjson("", p);
    assert_quoted_as_cjson("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", p);
    assert_quoted_as_cjson("\"\\\"\u00e9\x01\x1f", p);
    assert_string_equal(acmpca_json_quote("a\nb", p), "\"a\\nb\"");
}

static void test_request_id(void **state)
{
    apr_pool_t *p = *state;
    apr_hash_t *seen = apr_hash_make(p);
    int i;

    for (i = 0; i < 1000; i++) { /* past several batches */
        const char *u = acmpca_request_id(p);

        assert_non_null(u);
        assert_true(acmpca_is_uuid(u));
        assert_int_equal(u[14], '4');
        assert_non_null(strchr("89ab", u[19]));
        assert_null(apr_hash_get(seen, u, APR_HASH_KEY_STRING));
        apr_hash_set(seen, u, APR_HASH_KEY_STRING, u);
    }
}

/* A child forked while its parent's thread holds a part-used batch of random bytes must
 * not hand out the ids the parent hands out next (the fork handler in src/util/ids.c). */
static void test_request_id_fork(void **state)
{
    apr_pool_t *p = *state;
    char child[37] = {0};
    int fds[2], i, status;
    pid_t pid;

    assert_non_null(acmpca_request_id(p)); /* the batch is filled, one id used */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *u = acmpca_request_id(p);
        ssize_t n = u ? write(fds[1], u, 36) : -1;
        _exit(n == 36 ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], child, 36), 36);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(acmpca_is_uuid(child));
    for (i = 0; i < 300; i++) { /* the rest of the parent's batch, into the next one */
        assert_string_not_equal(acmpca_request_id(p), child);
    }
}

/* Small draws come from the thread's batch, across its refills, each byte once: no two
 * 10-byte draws (a serial's random part) alike, whatever sizes come between them; a
 * draw above the small limit goes to the CSPRNG directly. */
static void test_random_small(void **state)
{
    apr_pool_t *p = *state;
    apr_hash_t *seen = apr_hash_make(p);
    unsigned char big[ACMPCA_RANDOM_SMALL_MAX + 1], zero[sizeof(big)] = {0};
    int i;

    for (i = 0; i < 2000; i++) { /* 2000 x (10 + up to 63) bytes: dozens of batches */
        unsigned char *b = apr_palloc(p, 10), filler[63];

        assert_int_equal(acmpca_random_small(b, 10), APR_SUCCESS);
        assert_null(apr_hash_get(seen, b, 10));
        apr_hash_set(seen, b, 10, b);
        assert_int_equal(acmpca_random_small(filler, (apr_size_t)(i % 64)), APR_SUCCESS);
    }
    assert_int_equal(acmpca_random_small(big, sizeof(big)), APR_SUCCESS);
    assert_memory_not_equal(big, zero, sizeof(big));
}

/* Per-thread objects: made on a thread's first use with make, the same one after, none
 * without make; another thread has its own, destroyed when that thread exits. */
static int thread_objs_made, thread_objs_destroyed;

static void *thread_obj_make(void)
{
    __atomic_add_fetch(&thread_objs_made, 1, __ATOMIC_SEQ_CST);
    return calloc(1, 16);
}

static void thread_obj_destroy(void *obj)
{
    __atomic_add_fetch(&thread_objs_destroyed, 1, __ATOMIC_SEQ_CST);
    free(obj);
}

static acmpca_thread_slot_t test_slot = ACMPCA_THREAD_SLOT(thread_obj_make, thread_obj_destroy);

static void *other_thread(void *mine)
{
    void *obj = acmpca_thread_obj(&test_slot, 1);

    return obj && obj != mine && acmpca_thread_obj(&test_slot, 0) == obj ? obj : NULL;
}

static void test_thread_obj(void **state)
{
    pthread_t t;
    void *mine, *theirs = NULL;

    (void)state;
    assert_null(acmpca_thread_obj(&test_slot, 0));
    assert_non_null(mine = acmpca_thread_obj(&test_slot, 1));
    assert_ptr_equal(acmpca_thread_obj(&test_slot, 1), mine);
    assert_ptr_equal(acmpca_thread_obj(&test_slot, 0), mine);
    assert_int_equal(pthread_create(&t, NULL, other_thread, mine), 0);
    assert_int_equal(pthread_join(t, &theirs), 0);
    assert_non_null(theirs);
    assert_int_equal(thread_objs_made, 2);
    assert_int_equal(thread_objs_destroyed, 1); /* the other thread's, at its exit */
    assert_ptr_equal(acmpca_thread_obj(&test_slot, 0), mine);
}

/* One RevocationReason table: the CRL's codes and the sqlite entry table's indexes. */
static void test_revocation_reasons(void **state)
{
    int i;

    (void)state;
    assert_int_equal(acmpca_revocation_reason_index("UNSPECIFIED"), 0);
    assert_int_equal(acmpca_revocation_reason_code("UNSPECIFIED"), -1);
    assert_int_equal(acmpca_revocation_reason_code("KEY_COMPROMISE"), 1);
    assert_int_equal(acmpca_revocation_reason_code("PRIVILEGE_WITHDRAWN"), 9);
    assert_int_equal(acmpca_revocation_reason_code("A_A_COMPROMISE"), 10);
    assert_int_equal(acmpca_revocation_reason_code("REMOVE_FROM_CRL"), -1);
    assert_int_equal(acmpca_revocation_reason_index(NULL), -1);
    assert_null(acmpca_revocation_reason_name(-1));
    assert_null(acmpca_revocation_reason_name(ACMPCA_REVOCATION_REASONS));
    for (i = 0; i < ACMPCA_REVOCATION_REASONS; i++) {
        assert_int_equal(acmpca_revocation_reason_index(acmpca_revocation_reason_name(i)), i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_b64_rfc4648_encode),
        UNIT_TEST(test_b64_rfc4648_decode),
        UNIT_TEST(test_b64_roundtrip_binary),
        UNIT_TEST(test_b64_alphabet_edges),
        UNIT_TEST(test_b64_decode_uses_len),
        UNIT_TEST(test_b64_exhaustive_quantum),
        UNIT_TEST(test_b64_decode_invalid),
        UNIT_TEST(test_revocation_reasons),
        UNIT_TEST(test_hex),
        UNIT_TEST(test_time_epoch),
        UNIT_TEST(test_time_end_date_valid),
        UNIT_TEST(test_time_end_date_invalid),
        UNIT_TEST(test_time_add_months),
        UNIT_TEST(test_time_audit),
        UNIT_TEST(test_time_against_apr),
        UNIT_TEST(test_time_ignores_tz),
        UNIT_TEST(test_random),
        UNIT_TEST(test_uuid),
        UNIT_TEST(test_is_uuid),
        UNIT_TEST(test_json_quote),
        UNIT_TEST(test_request_id),
        UNIT_TEST(test_request_id_fork),
        UNIT_TEST(test_random_small),
        UNIT_TEST(test_thread_obj),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
