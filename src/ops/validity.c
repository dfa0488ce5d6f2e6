/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Certificate validity from the Validity and ValidityNotBefore members (API_Validity). */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/util.h"
#include "ops_int.h"

#define BACKDATE        apr_time_from_sec(60 * 60) /* AWS backdates NotBefore an hour */
#define SHORT_LIVED_MAX apr_time_from_sec(7 * 86400)

/* The instants an X.509 Time can name (RFC 5280 §4.1.2.5): UTCTime from 1950, and
 * GeneralizedTime up to 9999-12-31T23:59:59Z (the "no well-defined expiration" value). */
#define TIME_MIN apr_time_from_sec(-631152000LL)   /* 1950-01-01T00:00:00Z */
#define TIME_MAX apr_time_from_sec(253402300799LL) /* 9999-12-31T23:59:59Z */

static apr_status_t invalid(acmpca_err_t *err, apr_pool_t *p, const char *msg)
{
    return acmpca_err_set(err, ACMPCA_ERR_VALIDATION, p, "%s", msg);
}

/* Value as an integer. The model says long (min 1) and cJSON hands over a double: past
 * 2^53 it is neither exact nor safe to convert, and no valid value is that large. */
static apr_status_t value_of(long long *pv, const cJSON *obj, acmpca_err_t *err, apr_pool_t *p)
{
    double d = acmpca_json_num(obj, ACMPCA_K_VALUE, 0);

    if (!(d >= 0 && d <= 9007199254740992.0)) {
        return invalid(err, p, "The validity value is out of range.");
    }
    *pv = (long long)d;
    return APR_SUCCESS;
}

/* The instant a Validity names, for types that name one. */
static apr_status_t instant(apr_time_t *pt, const char *type, long long value, acmpca_err_t *err,
                            apr_pool_t *p)
{
    if (!strcmp(type, "END_DATE")) {
        if (acmpca_time_parse_end_date(pt, value) != APR_SUCCESS) {
            return invalid(err, p,
                           "The validity END_DATE value is not a valid date in "
                           "YYYYMMDDHHMMSS or YYMMDDHHMMSS form.");
        }
        return APR_SUCCESS;
    }
    *pt = acmpca_time_from_epoch((double)value); /* ABSOLUTE */
    return APR_SUCCESS;
}

static apr_status_t not_after_of(apr_time_t *pt, const cJSON *validity, apr_time_t now,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    const char *type = acmpca_json_str(validity, ACMPCA_K_TYPE);
    long long value = 0;
    apr_status_t rv;

    if ((rv = value_of(&value, validity, err, p)) != APR_SUCCESS) {
        return rv;
    }
    /* DAYS, MONTHS and YEARS count from the time of issue, not from NotBefore (AWS). */
    if (!strcmp(type, "DAYS")) {
        if (value > 365LL * 1000) {
            return invalid(err, p, "The validity period is too long.");
        }
        *pt = now + apr_time_from_sec((apr_time_t)value * 86400);
        return APR_SUCCESS;
    }
    if (!strcmp(type, "MONTHS") || !strcmp(type, "YEARS")) {
        long long months = !strcmp(type, "YEARS") ? value * 12 : value;
        if (value > 12 * 1000) {
            return invalid(err, p, "The validity period is too long.");
        }
        *pt = acmpca_time_add_months(now, months);
        return APR_SUCCESS;
    }
    return instant(pt, type, value, err, p);
}

apr_status_t acmpca_validity_compute(apr_time_t *pnot_before, apr_time_t *pnot_after,
                                     const cJSON *validity, const cJSON *not_before, apr_time_t now,
                                     apr_time_t ca_not_after, int short_lived, acmpca_err_t *err,
                                     apr_pool_t *p)
{
    apr_status_t rv;
    long long value = 0;

    *pnot_before = now - BACKDATE;
    if (not_before) {
        const char *type = acmpca_json_str(not_before, ACMPCA_K_TYPE);
        if (strcmp(type, "ABSOLUTE") && strcmp(type, "END_DATE")) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                                  "ValidityNotBefore must be of type ABSOLUTE, not %s.", type);
        }
        if ((rv = value_of(&value, not_before, err, p)) != APR_SUCCESS
            || (rv = instant(pnot_before, type, value, err, p)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((rv = not_after_of(pnot_after, validity, now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (*pnot_before < TIME_MIN || *pnot_before > TIME_MAX || *pnot_after > TIME_MAX) {
        return invalid(err, p,
                       "The certificate validity must lie between the years 1950 and "
                       "9999.");
    }
    if (*pnot_after <= now) {
        return invalid(err, p, "The certificate validity must end in the future.");
    }
    if (*pnot_after <= *pnot_before) {
        return invalid(err, p, "The certificate validity must end after it begins.");
    }
    if (ca_not_after && *pnot_after > ca_not_after) {
        return invalid(err, p,
                       "The certificate validity cannot extend beyond the validity of "
                       "the issuing certificate authority.");
    }
    if (short_lived && *pnot_after - now > SHORT_LIVED_MAX) {
        return invalid(err, p,
                       "A certificate authority in SHORT_LIVED_CERTIFICATE mode can "
                       "issue certificates valid for at most 7 days.");
    }
    return APR_SUCCESS;
}
