/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * RevocationConfiguration: the rules of PCA-API.md §5.1.1 and the form Describe echoes. */
#include <string.h>

#include <apr_strings.h>

#include "ops_int.h"

#define DEFAULT_CRL_DAYS 7

static apr_status_t bad(acmpca_err_t *err, apr_pool_t *p, const char *msg)
{
    return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "%s", msg);
}

/* S3 bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a letter or digit,
 * no "..", and not shaped like an IPv4 address. */
int acmpca_s3_bucket_ok(const char *b)
{
    size_t n = strlen(b), i;
    int dots = 0, all_digits_dots = 1;

    if (n < 3 || n > 63 || strstr(b, "..") || b[0] == '.' || b[0] == '-' || b[n - 1] == '.'
        || b[n - 1] == '-') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
            return 0;
        }
        dots += c == '.';
        all_digits_dots &= (c >= '0' && c <= '9') || c == '.';
    }
    return !(all_digits_dots && dots == 3);
}

static int has_scheme(const char *cname)
{
    return cname && (!strncasecmp(cname, "http://", 7) || !strncasecmp(cname, "https://", 8));
}

/* Enabled=false must come alone (AWS). */
static apr_status_t disabled_alone(const cJSON *c, const char *what, acmpca_err_t *err,
                                   apr_pool_t *p)
{
    if (!acmpca_json_bool(c, ACMPCA_K_ENABLED, 0) && cJSON_GetArraySize(c) > 1) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "%s cannot have other members when Enabled is false.", what);
    }
    return APR_SUCCESS;
}

static apr_status_t check_crl(const cJSON *crl, acmpca_err_t *err, apr_pool_t *p)
{
    const char *bucket = acmpca_json_str(crl, "S3BucketName");
    const char *cname = acmpca_json_str(crl, "CustomCname");
    const cJSON *cdp = acmpca_json_obj(crl, "CrlDistributionPointExtensionConfiguration");
    apr_status_t rv;

    if ((rv = disabled_alone(crl, "CrlConfiguration", err, p)) != APR_SUCCESS
        || !acmpca_json_bool(crl, ACMPCA_K_ENABLED, 0)) {
        return rv;
    }
    if (!bucket) {
        return bad(err, p, "An S3 bucket name is required when the CRL is enabled.");
    }
    if (!acmpca_s3_bucket_ok(bucket)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "The S3 bucket name %s is not valid.", bucket);
    }
    if (has_scheme(cname)) {
        return bad(err, p,
                   "The CRL custom CNAME must not include a protocol prefix such as "
                   "http:// or https://.");
    }
    if (cname && cdp && acmpca_json_bool(cdp, "OmitExtension", 0)) {
        return bad(err, p,
                   "A CRL custom CNAME cannot be set when the CRL distribution point "
                   "extension is omitted.");
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_revocation_check(const cJSON *conf, acmpca_err_t *err, apr_pool_t *p)
{
    const cJSON *crl = acmpca_json_obj(conf, ACMPCA_K_CRL_CONFIG);
    const cJSON *ocsp = acmpca_json_obj(conf, ACMPCA_K_OCSP_CONFIG);
    apr_status_t rv;

    if (crl && (rv = check_crl(crl, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (ocsp) {
        if ((rv = disabled_alone(ocsp, "OcspConfiguration", err, p)) != APR_SUCCESS) {
            return rv;
        }
        if (has_scheme(acmpca_json_str(ocsp, "OcspCustomCname"))) {
            return bad(err, p,
                       "The OCSP custom CNAME must not include a protocol prefix such "
                       "as http:// or https://.");
        }
    }
    return APR_SUCCESS;
}

static cJSON *pick(const cJSON *conf, const cJSON *previous, const char *key)
{
    const cJSON *c = acmpca_json_obj(conf, key);

    if (!c) {
        c = acmpca_json_obj(previous, key);
    }
    if (!c) {
        cJSON *off = cJSON_CreateObject();
        cJSON_AddFalseToObject(off, ACMPCA_K_ENABLED);
        return off;
    }
    return cJSON_Duplicate(c, 1);
}

cJSON *acmpca_revocation_normalize(const cJSON *conf, const cJSON *previous)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *crl = pick(conf, previous, ACMPCA_K_CRL_CONFIG);

    if (acmpca_json_bool(crl, ACMPCA_K_ENABLED, 0)) {
        if (!cJSON_HasObjectItem(crl, "ExpirationInDays")) {
            cJSON_AddNumberToObject(crl, "ExpirationInDays", DEFAULT_CRL_DAYS);
        }
        if (!cJSON_HasObjectItem(crl, "S3ObjectAcl")) {
            cJSON_AddStringToObject(crl, "S3ObjectAcl", "PUBLIC_READ");
        }
        if (!cJSON_HasObjectItem(crl, "CrlType")) {
            cJSON_AddStringToObject(crl, "CrlType", "COMPLETE");
        }
    }
    cJSON_AddItemToObject(out, ACMPCA_K_CRL_CONFIG, crl);
    cJSON_AddItemToObject(out, ACMPCA_K_OCSP_CONFIG, pick(conf, previous, ACMPCA_K_OCSP_CONFIG));
    return out;
}
