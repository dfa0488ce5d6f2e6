/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * UTC calendar arithmetic for validity periods and report timestamps, independent of TZ. */
#include <math.h>

#include <apr_strings.h>

#include "acmpca/util.h"

/* ******************************************************************************** */
/* proleptic Gregorian calendar                                                     */
/* ******************************************************************************** */

/* Howard Hinnant's days_from_civil / civil_from_days ("chrono-Compatible Low-Level Date
 * Algorithms"): exact over the few million years used here, with no dependence on
 * timegm(), the TZ variable or the width of time_t. */

static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
static long long days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = y - era * 400;                                   /* [0, 399] */
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, long long *py, int *pm, int *pd)
{
    long long era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;                                      /* [0, 146096] */
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *pd = (int)(doy - (153 * mp + 2) / 5 + 1);
    *pm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *py = yoe + era * 400 + (*pm <= 2);
}

static int is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(long long y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : mdays[m - 1];
}

/* Seconds that apr_time_t (microseconds in an int64) can still carry. */
#define MAX_SECONDS (APR_INT64_MAX / APR_USEC_PER_SEC - 1)
#define MIN_SECONDS (APR_INT64_MIN / APR_USEC_PER_SEC + 1)

/* Split t into whole days since the epoch, second of the day and microseconds, rounding
 * towards minus infinity so instants before 1970 land on the right day. */
static void split_time(apr_time_t t, long long *pdays, long long *psod, long long *pusec)
{
    /* Remainder first: secs * 10^6 would overflow for t near APR_INT64_MIN. */
    long long secs = t / APR_USEC_PER_SEC, usec = t % APR_USEC_PER_SEC;

    if (usec < 0) {
        usec += APR_USEC_PER_SEC;
        secs--;
    }
    *pusec = usec;
    *pdays = floor_div(secs, 86400);
    *psod = secs - *pdays * 86400;
}

/* Inverse of split_time, saturating at the ends of apr_time_t (days stays far from
 * overflowing a long long: callers bound the year to about a million). */
static apr_time_t join_time(long long days, long long sod, long long usec)
{
    long long secs = days * 86400 + sod;

    if (secs > MAX_SECONDS) {
        return APR_INT64_MAX;
    }
    if (secs < MIN_SECONDS) {
        return APR_INT64_MIN;
    }
    return (apr_time_t)secs * APR_USEC_PER_SEC + usec;
}

/* ******************************************************************************** */
/* wire timestamps                                                                  */
/* ******************************************************************************** */

double acmpca_time_epoch(apr_time_t t)
{
    /* Exact: microsecond counts of any plausible date stay below 2^53. */
    return (double)t / APR_USEC_PER_SEC;
}

apr_time_t acmpca_time_from_epoch(double seconds)
{
    double usec;

    /* cJSON hands us whatever number the client sent; keep the conversion defined. */
    if (isnan(seconds)) {
        return 0;
    }
    usec = seconds * (double)APR_USEC_PER_SEC;
    if (usec >= 9.2e18) {
        return APR_INT64_MAX;
    }
    if (usec <= -9.2e18) {
        return APR_INT64_MIN;
    }
    /* Round to the nearest microsecond: 0.1 s is 99999.99... after the multiply. */
    return (apr_time_t)(usec + (usec >= 0 ? 0.5 : -0.5));
}

/* ******************************************************************************** */
/* Validity END_DATE [AWS API_Validity]                                             */
/* ******************************************************************************** */

apr_status_t acmpca_time_parse_end_date(apr_time_t *pt, long long value)
{
    long long y;
    int mo, d, h, mi, s;

    *pt = 0;
    /* Value is a JSON number, so a UTCTime's leading zeros are gone: 050101000000
     * (2005-01-01) arrives as 50101000000. Anything below 10^12 is therefore a
     * zero-padded YYMMDDHHMMSS; 14 digits are YYYYMMDDHHMMSS. Thirteen digits would be a
     * GeneralizedTime year below 1000, which no certificate can use. */
    if (value < 0) {
        return APR_EINVAL;
    }
    s = (int)(value % 100);
    mi = (int)(value / 100 % 100);
    h = (int)(value / 10000 % 100);
    d = (int)(value / 1000000 % 100);
    mo = (int)(value / 100000000 % 100);
    if (value < 1000000000000LL) {
        y = value / 10000000000LL;    /* YY */
        y += (y >= 50) ? 1900 : 2000; /* RFC 5280 section 4.1.2.5.1, as API_Validity says */
    }
    else if (value >= 10000000000000LL && value < 100000000000000LL) {
        y = value / 10000000000LL; /* YYYY, 1000..9999 */
    }
    else {
        return APR_EINVAL;
    }
    /* A real instant only: no month 13, no February 30, no hour 24, no leap second
     * (X.509 times have none). */
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59) {
        return APR_EINVAL;
    }
    *pt = join_time(days_from_civil(y, mo, d), h * 3600LL + mi * 60LL + s, 0);
    return APR_SUCCESS;
}

/* ******************************************************************************** */
/* calendar months                                                                  */
/* ******************************************************************************** */

/* Far beyond what apr_time_t spans (~292,000 years), small enough not to overflow. */
#define MAX_MONTHS (12LL * 1000000)

apr_time_t acmpca_time_add_months(apr_time_t t, long long months)
{
    long long days, sod, usec, y, total;
    int m, d, dim;

    split_time(t, &days, &sod, &usec);
    civil_from_days(days, &y, &m, &d);
    if (months > MAX_MONTHS) {
        months = MAX_MONTHS;
    }
    else if (months < -MAX_MONTHS) {
        months = -MAX_MONTHS;
    }
    total = y * 12 + (m - 1) + months;
    y = floor_div(total, 12);
    m = (int)(total - y * 12) + 1;
    /* [DECISION] PCA-API 5.5.1: a day the target month lacks becomes its last day, so
     * Jan 31 + 1 month is Feb 28 (29 in a leap year), never an overflow into March. */
    dim = days_in_month(y, m);
    if (d > dim) {
        d = dim;
    }
    return join_time(days_from_civil(y, m, d), sod, usec);
}

/* ******************************************************************************** */
/* audit report timestamps                                                          */
/* ******************************************************************************** */

const char *acmpca_time_audit(apr_time_t t, apr_pool_t *p)
{
    long long days, sod, usec, y;
    int m, d;

    split_time(t, &days, &sod, &usec);
    civil_from_days(days, &y, &m, &d);
    /* PcaAuditReport.html: whole seconds, numeric zone "+0000". APR's formatter knows
     * no "ll", hence APR_INT64_T_FMT. */
    return apr_psprintf(p, "%04" APR_INT64_T_FMT "-%02d-%02dT%02d:%02d:%02d+0000", (apr_int64_t)y,
                        m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}
