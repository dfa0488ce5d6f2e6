/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Unit tests of the certificate validity rules (src/ops/validity.c): PCA-API.md §5.5.1
 * and AWS API_Validity. Every case runs at a fixed "now", so NotAfter is exact. */
#include <string.h>

#include <apr_strings.h>

#include "unit.h"

#include "acmpca/err.h"
#include "acmpca/json.h"
#include "../../src/ops/ops_int.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define SEC(s)   apr_time_from_sec((apr_time_t)(s))
#define DAYS(n)  SEC((n)*86400LL)

/* 2026-11-30T14:53:07.25Z: a fraction of a second, the last day of a 30-day month. */
#define NOW (SEC(1796050387LL) + 250000)

typedef struct {
    const char *what;       /* where the expectation comes from */
    const char *validity;   /* JSON of Validity */
    const char *not_before; /* JSON of ValidityNotBefore, or NULL */
    apr_time_t ca_not_after;
    int short_lived;
    apr_time_t want_not_before; /* 0: NOW - 1 hour */
    apr_time_t want_not_after;  /* when want_err is NONE */
    acmpca_errtype_t want_err;
} case_t;

static void run(apr_pool_t *p, const case_t *c)
{
    acmpca_err_t err = {0};
    apr_time_t nb = 0, na = 0;
    cJSON *v = acmpca_json_parse(c->validity, strlen(c->validity), p);
    cJSON *n = c->not_before ? acmpca_json_parse(c->not_before, strlen(c->not_before), p) : NULL;
    apr_status_t rv;

    assert_non_null(v);
    rv = acmpca_validity_compute(&nb, &na, v, n, NOW, c->ca_not_after, c->short_lived, &err, p);
    if (c->want_err != ACMPCA_ERR_NONE) {
        if (rv != ACMPCA_EAWS || err.type != c->want_err) {
            fail_msg("%s: expected %s, got rv=%d %s (%s)", c->what, acmpca_err_name(c->want_err),
                     rv, acmpca_err_name(err.type), err.message ? err.message : "");
        }
        return;
    }
    if (rv != APR_SUCCESS) {
        fail_msg("%s: refused: %s", c->what, err.message);
    }
    if (na != c->want_not_after) {
        fail_msg("%s: NotAfter %" APR_TIME_T_FMT " != %" APR_TIME_T_FMT, c->what, na,
                 c->want_not_after);
    }
    if (nb != (c->want_not_before ? c->want_not_before : NOW - SEC(3600))) {
        fail_msg("%s: NotBefore %" APR_TIME_T_FMT, c->what, nb);
    }
}

static void run_all(apr_pool_t *p, const case_t *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        run(p, &cases[i]);
    }
}

/* Each Type lands on the exact NotAfter (API_Validity). */
static void test_types(void **state)
{
    static const case_t cases[] = {
        {"END_DATE 14 digits (GeneralizedTime form)",
         "{\"Type\":\"END_DATE\",\"Value\":20301231235959}", NULL, 0, 0, 0, SEC(1924991999LL),
         ACMPCA_ERR_NONE},
        {"END_DATE 12 digits, YY < 50 -> 20YY (API_Validity sample 491231235959)",
         "{\"Type\":\"END_DATE\",\"Value\":491231235959}", NULL, 0, 0, 0, SEC(2524607999LL),
         ACMPCA_ERR_NONE},
        {"END_DATE 12 digits with a leading zero lost in JSON (050101000000 -> 2005)",
         "{\"Type\":\"END_DATE\",\"Value\":50101000000}", NULL, 0, 0, 0, 0, ACMPCA_ERR_VALIDATION},
        {"END_DATE 12 digits, YY >= 50 -> 19YY: in the past",
         "{\"Type\":\"END_DATE\",\"Value\":991231235959}", NULL, 0, 0, 0, 0, ACMPCA_ERR_VALIDATION},
        {"END_DATE 13 digits", "{\"Type\":\"END_DATE\",\"Value\":2030123123595}", NULL, 0, 0, 0, 0,
         ACMPCA_ERR_VALIDATION},
        {"END_DATE February 30", "{\"Type\":\"END_DATE\",\"Value\":20300230000000}", NULL, 0, 0, 0,
         0, ACMPCA_ERR_VALIDATION},
        {"END_DATE hour 24", "{\"Type\":\"END_DATE\",\"Value\":20301231240000}", NULL, 0, 0, 0, 0,
         ACMPCA_ERR_VALIDATION},
        {"ABSOLUTE (API_Validity sample 2524608000 = 2050-01-01)",
         "{\"Type\":\"ABSOLUTE\",\"Value\":2524608000}", NULL, 0, 0, 0, SEC(2524608000LL),
         ACMPCA_ERR_NONE},
        {"DAYS from issuance, fraction of a second kept", "{\"Type\":\"DAYS\",\"Value\":90}", NULL,
         0, 0, 0, NOW + DAYS(90), ACMPCA_ERR_NONE},
        {"DAYS 1 (the minimum)", "{\"Type\":\"DAYS\",\"Value\":1}", NULL, 0, 0, 0, NOW + DAYS(1),
         ACMPCA_ERR_NONE},
        /* 2026-11-30 + 3 months: 2027-02-30 does not exist -> Feb 28 [DECISION clamp]. */
        {"MONTHS 3 clamps Nov 30 to Feb 28", "{\"Type\":\"MONTHS\",\"Value\":3}", NULL, 0, 0, 0,
         SEC(1803826387LL) + 250000, ACMPCA_ERR_NONE},
        /* + 15 months: 2028-02-29, a leap year. */
        {"MONTHS 15 clamps to Feb 29 in a leap year", "{\"Type\":\"MONTHS\",\"Value\":15}", NULL, 0,
         0, 0, SEC(1835448787LL) + 250000, ACMPCA_ERR_NONE},
        {"MONTHS 1: Nov 30 -> Dec 30", "{\"Type\":\"MONTHS\",\"Value\":1}", NULL, 0, 0, 0,
         NOW + DAYS(30), ACMPCA_ERR_NONE},
        {"YEARS 2 (calendar years)", "{\"Type\":\"YEARS\",\"Value\":2}", NULL, 0, 0, 0,
         SEC(1859208787LL) + 250000, ACMPCA_ERR_NONE},
        {"DAYS far too long", "{\"Type\":\"DAYS\",\"Value\":400000}", NULL, 0, 0, 0, 0,
         ACMPCA_ERR_VALIDATION},
        {"ABSOLUTE beyond 9999", "{\"Type\":\"ABSOLUTE\",\"Value\":253402300800}", NULL, 0, 0, 0, 0,
         ACMPCA_ERR_VALIDATION},
        {"ABSOLUTE 9999-12-31T23:59:59Z is the last instant",
         "{\"Type\":\"ABSOLUTE\",\"Value\":253402300799}", NULL, 0, 0, 0, SEC(253402300799LL),
         ACMPCA_ERR_NONE},
        {"a Value no long can hold", "{\"Type\":\"ABSOLUTE\",\"Value\":1e300}", NULL, 0, 0, 0, 0,
         ACMPCA_ERR_VALIDATION},
        {"ABSOLUTE in the past", "{\"Type\":\"ABSOLUTE\",\"Value\":1700000000}", NULL, 0, 0, 0, 0,
         ACMPCA_ERR_VALIDATION},
    };

    run_all(*state, cases, COUNT(cases));
}

/* NotBefore: issuance minus 60 minutes, or ValidityNotBefore; Validity does not move. */
static void test_not_before(void **state)
{
    static const case_t cases[] = {
        {"ValidityNotBefore ABSOLUTE is exact, DAYS still from issuance",
         "{\"Type\":\"DAYS\",\"Value\":10}", "{\"Type\":\"ABSOLUTE\",\"Value\":1796100000}", 0, 0,
         SEC(1796100000LL), NOW + DAYS(10), ACMPCA_ERR_NONE},
        {"ValidityNotBefore END_DATE tolerated", "{\"Type\":\"DAYS\",\"Value\":10}",
         "{\"Type\":\"END_DATE\",\"Value\":20261201000000}", 0, 0, SEC(1796083200LL),
         NOW + DAYS(10), ACMPCA_ERR_NONE},
        {"ValidityNotBefore in the past is allowed", "{\"Type\":\"DAYS\",\"Value\":10}",
         "{\"Type\":\"ABSOLUTE\",\"Value\":1700000000}", 0, 0, SEC(1700000000LL), NOW + DAYS(10),
         ACMPCA_ERR_NONE},
        {"ValidityNotBefore of Type DAYS", "{\"Type\":\"DAYS\",\"Value\":10}",
         "{\"Type\":\"DAYS\",\"Value\":1}", 0, 0, 0, 0, ACMPCA_ERR_INVALID_ARGS},
        {"ValidityNotBefore after NotAfter", "{\"Type\":\"DAYS\",\"Value\":10}",
         "{\"Type\":\"ABSOLUTE\",\"Value\":1900000000}", 0, 0, 0, 0, ACMPCA_ERR_VALIDATION},
        {"ValidityNotBefore before 1950", "{\"Type\":\"DAYS\",\"Value\":10}",
         "{\"Type\":\"END_DATE\",\"Value\":19491231235959}", 0, 0, 0, 0, ACMPCA_ERR_VALIDATION},
    };

    run_all(*state, cases, COUNT(cases));
}

/* The issuing CA's NotAfter and the SHORT_LIVED_CERTIFICATE mode (PCA-API.md §5.5). */
static void test_caps(void **state)
{
    static const case_t cases[] = {
        {"up to the CA's NotAfter", "{\"Type\":\"DAYS\",\"Value\":30}", NULL, NOW + DAYS(30), 0, 0,
         NOW + DAYS(30), ACMPCA_ERR_NONE},
        {"one second beyond the CA's NotAfter", "{\"Type\":\"DAYS\",\"Value\":30}", NULL,
         NOW + DAYS(30) - SEC(1), 0, 0, 0, ACMPCA_ERR_VALIDATION},
        {"END_DATE beyond the CA's NotAfter", "{\"Type\":\"END_DATE\",\"Value\":20301231235959}",
         NULL, SEC(1924991998LL), 0, 0, 0, ACMPCA_ERR_VALIDATION},
        {"no cap when the root signs itself (ca_not_after 0)", "{\"Type\":\"YEARS\",\"Value\":30}",
         NULL, 0, 0, 0, SEC(2742821587LL) + 250000, ACMPCA_ERR_NONE},
        {"short-lived: 7 days", "{\"Type\":\"DAYS\",\"Value\":7}", NULL, 0, 1, 0, NOW + DAYS(7),
         ACMPCA_ERR_NONE},
        {"short-lived: 8 days", "{\"Type\":\"DAYS\",\"Value\":8}", NULL, 0, 1, 0, 0,
         ACMPCA_ERR_VALIDATION},
        {"short-lived: 1 month", "{\"Type\":\"MONTHS\",\"Value\":1}", NULL, 0, 1, 0, 0,
         ACMPCA_ERR_VALIDATION},
        {"short-lived: ABSOLUTE 7 days minus a second",
         "{\"Type\":\"ABSOLUTE\",\"Value\":1796655186}", NULL, 0, 1, 0, SEC(1796655186LL),
         ACMPCA_ERR_NONE},
        {"short-lived: ABSOLUTE exactly 7 days after the second of issuance",
         "{\"Type\":\"ABSOLUTE\",\"Value\":1796655187}", NULL, 0, 1, 0, SEC(1796655187LL),
         ACMPCA_ERR_NONE},
        {"short-lived: ABSOLUTE 7 days plus a second",
         "{\"Type\":\"ABSOLUTE\",\"Value\":1796655188}", NULL, 0, 1, 0, 0, ACMPCA_ERR_VALIDATION},
    };

    run_all(*state, cases, COUNT(cases));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_types),
        UNIT_TEST(test_not_before),
        UNIT_TEST(test_caps),
    };

    return cmocka_run_group_tests_name("validity", tests, unit_group_setup, unit_group_teardown);
}
