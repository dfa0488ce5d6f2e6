/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Parsing and building the ARNs of CAs and the certificates they issue. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/arn.h"
#include "acmpca/util.h"

#define CA_PREFIX  "certificate-authority/"
#define CERT_INFIX "/certificate/"
#define UUID_LEN   36
#define SERIAL_MAX 40 /* hex digits: 20 octets, RFC 5280 section 4.1.2.2 */

apr_status_t acmpca_arn_split(acmpca_arn_t *arn, const char *s, apr_pool_t *p)
{
    const char *parts[5];
    const char *start = s;
    int i;

    memset(arn, 0, sizeof(*arn));
    if (!s) {
        return APR_EINVAL;
    }
    for (i = 0; i < 5; i++) {
        const char *colon = strchr(start, ':');

        if (!colon) {
            return APR_EINVAL;
        }
        parts[i] = apr_pstrndup(p, start, (apr_size_t)(colon - start));
        start = colon + 1;
    }
    /* The first field is the literal "arn"; the resource keeps any further colons. */
    if (strcmp(parts[0], "arn") != 0) {
        return APR_EINVAL;
    }
    arn->partition = parts[1];
    arn->service = parts[2];
    arn->region = parts[3];
    arn->account = parts[4];
    arn->resource = apr_pstrdup(p, start);
    return APR_SUCCESS;
}

/* Partition and region names: "aws", "aws-us-gov", "eu-west-1"; never empty. */
static int is_name(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-')) {
            return 0;
        }
    }
    return 1;
}

/* An AWS account id is exactly 12 digits (PCA-API section 3). */
static int is_account(const char *s)
{
    int i;

    for (i = 0; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return s[12] == '\0';
}

/* Parse the CA ARN that s begins with; *prest points into s just past the uuid. */
static apr_status_t parse_ca_prefix(acmpca_ca_ref_t *ref, const char **prest, const char *s,
                                    apr_pool_t *p)
{
    acmpca_arn_t a;
    const char *id, *rest;
    apr_size_t arn_len;

    memset(ref, 0, sizeof(*ref));
    if (acmpca_arn_split(&a, s, p) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (!is_name(a.partition) || strcmp(a.service, "acm-pca") != 0 || !is_name(a.region)
        || !is_account(a.account) || strncmp(a.resource, CA_PREFIX, strlen(CA_PREFIX)) != 0) {
        return APR_EINVAL;
    }
    id = a.resource + strlen(CA_PREFIX);
    if (strlen(id) < UUID_LEN) {
        return APR_EINVAL;
    }
    rest = id + UUID_LEN;
    id = apr_pstrndup(p, id, UUID_LEN);
    /* The service names CAs in lowercase; an uppercase id is another string, and AWS
     * answers it with InvalidArnException rather than folding case. */
    if (!acmpca_is_uuid(id)) {
        return APR_EINVAL;
    }
    arn_len = strlen(s) - strlen(rest);
    ref->arn = apr_pstrndup(p, s, arn_len);
    ref->region = a.region;
    ref->account = a.account;
    ref->id = id;
    *prest = s + arn_len;
    return APR_SUCCESS;
}

apr_status_t acmpca_arn_parse_ca(acmpca_ca_ref_t *ref, const char *s, apr_pool_t *p)
{
    const char *rest;

    if (parse_ca_prefix(ref, &rest, s, p) != APR_SUCCESS || *rest != '\0') {
        memset(ref, 0, sizeof(*ref));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_arn_parse_cert(acmpca_ca_ref_t *ca, const char **pserial, const char *s,
                                   apr_pool_t *p)
{
    const char *rest;
    char *serial;
    apr_size_t i, n;

    *pserial = NULL;
    if (parse_ca_prefix(ca, &rest, s, p) != APR_SUCCESS
        || strncmp(rest, CERT_INFIX, strlen(CERT_INFIX)) != 0) {
        goto invalid;
    }
    rest += strlen(CERT_INFIX);
    n = strlen(rest);
    if (n < 1 || n > SERIAL_MAX) {
        goto invalid;
    }
    /* PCA-API section 11.2: the serial is hex. Clients that retype an ARN may change its
     * case, so accept either and hand back the canonical lowercase form. */
    serial = apr_palloc(p, n + 1);
    for (i = 0; i < n; i++) {
        int v = acmpca_hex_digit(rest[i]);

        if (v < 0) {
            goto invalid;
        }
        serial[i] = "0123456789abcdef"[v];
    }
    serial[n] = '\0';
    *pserial = serial;
    return APR_SUCCESS;

invalid:
    memset(ca, 0, sizeof(*ca));
    return APR_EINVAL;
}

const char *acmpca_arn_ca(const char *region, const char *account, const char *ca_id, apr_pool_t *p)
{
    /* The module serves the commercial partition only (PCA-API section 3). */
    return apr_pstrcat(p, "arn:aws:acm-pca:", region, ":", account, ":", CA_PREFIX, ca_id, NULL);
}

const char *acmpca_arn_cert(const char *ca_arn, const char *serial_hex, apr_pool_t *p)
{
    return apr_pstrcat(p, ca_arn, CERT_INFIX, serial_hex, NULL);
}
