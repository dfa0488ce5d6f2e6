/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * SigV4 verification: find the signature (Authorization header or presigned query),
 * check its scope, date and key, recompute it over the request received and compare in
 * constant time. Errors carry the types and texts AWS JSON services send. */
#include <stdlib.h>
#include <string.h>

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acmpca/auth.h"
#include "acmpca/util.h"

#define ALGORITHM        "AWS4-HMAC-SHA256"
#define TERMINATOR       "aws4_request"
#define DEFAULT_SKEW     apr_time_from_sec(5 * 60)
#define MAX_EXPIRES      604800 /* seven days, as S3 allows */
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIG_HEX_LEN      64

#define MSG_MISMATCH                                                                               \
    "The request signature we calculated does not match the signature you provided. Check "        \
    "your AWS Secret Access Key and signing method. Consult the service documentation for "        \
    "details."
#define MSG_BAD_TOKEN "The security token included in the request is invalid."

/* The parts of a signature, from the header or the query. */
typedef struct sig_parts {
    const char *credential;
    const char *signed_headers;
    const char *signature;
    const char *amz_date;
    const char *token;
    const char *expires; /* presigned only */
    int presigned;
    /* the credential's five elements */
    const char *access_key, *date, *region, *service, *terminator;
} sig_parts;

static apr_status_t incomplete(acmpca_err_t *err, apr_pool_t *p, const char *msg)
{
    return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p, "%s", msg);
}

/* ************************************************************************************
 * Finding and parsing the signature
 */

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* AWS never echoes a malformed header; it names it by its hash. */
static const char *hashed(const char *s, apr_pool_t *p)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    return acmpca_b64_encode(md, n, p);
}

/* "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/acm-pca/aws4_request,
 *  SignedHeaders=host;x-amz-date, Signature=<64 hex>" */
static apr_status_t parse_header(sig_parts *sp, const char *auth, acmpca_err_t *err, apr_pool_t *p)
{
    const char *s = auth, *e;
    const char *missing = "";
    size_t alen = strlen(ALGORITHM);

    if (strncmp(s, ALGORITHM, alen) || !is_space(s[alen])) {
        for (e = s; *e && !is_space(*e); e++)
            ;
        return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                              "Unsupported AWS 'algorithm': '%s'.",
                              e - s > 32 ? "(too long)" : apr_pstrndup(p, s, (apr_size_t)(e - s)));
    }
    s += alen;
    while (*s) {
        const char *eq, *k, *v;
        while (is_space(*s) || *s == ',') {
            s++;
        }
        if (!*s) {
            break;
        }
        for (e = s; *e && *e != ','; e++)
            ;
        for (eq = s; eq < e && *eq != '='; eq++)
            ;
        if (eq == e) {
            return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                                  "Invalid key=value pair (missing equal-sign) in Authorization "
                                  "header (hashed with SHA-256 and encoded with Base64): '%s'.",
                                  hashed(auth, p));
        }
        k = apr_pstrndup(p, s, (apr_size_t)(eq - s));
        while (e > eq + 1 && is_space(e[-1])) {
            e--;
        }
        v = apr_pstrndup(p, eq + 1, (apr_size_t)(e - eq - 1));
        if (!strcmp(k, "Credential")) {
            sp->credential = v;
        }
        else if (!strcmp(k, "SignedHeaders")) {
            sp->signed_headers = v;
        }
        else if (!strcmp(k, "Signature")) {
            sp->signature = v;
        }
        s = *e ? e + 1 : e;
    }
    if (!sp->credential || !*sp->credential) {
        missing = "Authorization header requires 'Credential' parameter. ";
    }
    if (!sp->signature || !*sp->signature) {
        missing =
            apr_pstrcat(p, missing, "Authorization header requires 'Signature' parameter. ", NULL);
    }
    if (!sp->signed_headers || !*sp->signed_headers) {
        missing = apr_pstrcat(p, missing,
                              "Authorization header requires 'SignedHeaders' parameter. ", NULL);
    }
    if (!sp->amz_date) {
        missing = apr_pstrcat(p, missing,
                              "Authorization header requires existence of either a "
                              "'X-Amz-Date' or a 'Date' header. ",
                              NULL);
    }
    if (*missing) {
        return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p, "%s",
                              apr_pstrndup(p, missing, strlen(missing) - 1));
    }
    return APR_SUCCESS;
}

/* The value of one query parameter, decoded (presigned requests). */
static const char *query_param(const char *query, const char *name, apr_pool_t *p)
{
    size_t n = strlen(name);
    const char *s = query, *e;

    while (s && *s) {
        for (e = s; *e && *e != '&'; e++)
            ;
        if ((size_t)(e - s) > n && !strncmp(s, name, n) && s[n] == '=') {
            char *v = apr_pstrndup(p, s + n + 1, (apr_size_t)(e - s - (apr_ssize_t)n - 1));
            char *o = v, *i = v;
            for (; *i; i++) { /* %XX only: values here never carry spaces */
                if (i[0] == '%' && apr_isxdigit(i[1]) && apr_isxdigit(i[2])) {
                    char hex[3] = {i[1], i[2], 0};
                    *o++ = (char)strtol(hex, NULL, 16);
                    i += 2;
                }
                else {
                    *o++ = *i;
                }
            }
            *o = '\0';
            return v;
        }
        s = *e ? e + 1 : e;
    }
    return NULL;
}

static apr_status_t parse_query(sig_parts *sp, const char *query, acmpca_err_t *err, apr_pool_t *p)
{
    const char *alg = query_param(query, "X-Amz-Algorithm", p);
    const char *missing = "";

    if (!alg || strcmp(alg, ALGORITHM)) {
        return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                              "X-Amz-Algorithm only supports \"%s\".", ALGORITHM);
    }
    sp->presigned = 1;
    sp->credential = query_param(query, "X-Amz-Credential", p);
    sp->signed_headers = query_param(query, "X-Amz-SignedHeaders", p);
    sp->signature = query_param(query, "X-Amz-Signature", p);
    sp->amz_date = query_param(query, "X-Amz-Date", p);
    sp->expires = query_param(query, "X-Amz-Expires", p);
    sp->token = query_param(query, "X-Amz-Security-Token", p);
    if (!sp->credential) {
        missing = "X-Amz-Credential";
    }
    else if (!sp->signed_headers) {
        missing = "X-Amz-SignedHeaders";
    }
    else if (!sp->signature) {
        missing = "X-Amz-Signature";
    }
    else if (!sp->amz_date) {
        missing = "X-Amz-Date";
    }
    else if (!sp->expires) {
        missing = "X-Amz-Expires";
    }
    if (*missing) {
        return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                              "Query-string authentication requires the %s parameter.", missing);
    }
    return APR_SUCCESS;
}

/* keyid/date/region/service/aws4_request */
static apr_status_t parse_credential(sig_parts *sp, acmpca_err_t *err, apr_pool_t *p)
{
    char *c = apr_pstrdup(p, sp->credential), *last;
    const char *parts[6] = {NULL};
    const char *s;
    int n = 0;

    for (s = sp->credential; *s; s++) {
        n += *s == '/';
    }
    if (n != 4) {
        return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                              "Credential must have exactly 5 slash-delimited elements, e.g. "
                              "keyid/date/region/service/term, got '%s'",
                              sp->credential);
    }
    n = 0;
    for (parts[0] = apr_strtok(c, "/", &last); parts[n] && n < 5;) {
        parts[++n] = apr_strtok(NULL, "/", &last);
    }
    if (n != 5) { /* an empty element */
        return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                              "Credential must have exactly 5 slash-delimited elements, e.g. "
                              "keyid/date/region/service/term, got '%s'",
                              sp->credential);
    }
    sp->access_key = parts[0];
    sp->date = parts[1];
    sp->region = parts[2];
    sp->service = parts[3];
    sp->terminator = parts[4];
    if (strcmp(sp->terminator, TERMINATOR)) {
        return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                              "Credential should be scoped with a valid terminator: '%s', not "
                              "'%s'.",
                              TERMINATOR, sp->terminator);
    }
    return APR_SUCCESS;
}

/* ************************************************************************************
 * Dates
 */

static int digits(const char *s, int n)
{
    int v = 0;
    while (n--) {
        v = v * 10 + (*s++ - '0');
    }
    return v;
}

/* "YYYYMMDDTHHMMSSZ" -> time; APR_EINVAL when it is not such a date. */
static apr_status_t parse_amz_date(apr_time_t *pt, const char *s)
{
    apr_time_exp_t tm = {0};
    int i;

    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') {
        return APR_EINVAL;
    }
    for (i = 0; i < 15; i++) {
        if (i != 8 && !apr_isdigit(s[i])) {
            return APR_EINVAL;
        }
    }
    tm.tm_year = digits(s, 4) - 1900;
    tm.tm_mon = digits(s + 4, 2) - 1;
    tm.tm_mday = digits(s + 6, 2);
    tm.tm_hour = digits(s + 9, 2);
    tm.tm_min = digits(s + 11, 2);
    tm.tm_sec = digits(s + 13, 2);
    if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31
        || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
        return APR_EINVAL;
    }
    return apr_time_exp_gmt_get(pt, &tm) == APR_SUCCESS ? APR_SUCCESS : APR_EINVAL;
}

static const char *amz_date_of(apr_time_t t, apr_pool_t *p)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The five-minute window, with the messages AWS sends outside it. */
static apr_status_t check_time(const sig_parts *sp, apr_time_t t, const acmpca_sigv4_req_t *req,
                               apr_interval_time_t skew, acmpca_err_t *err, apr_pool_t *p)
{
    if (sp->presigned) {
        char *end;
        apr_int64_t secs = apr_strtoi64(sp->expires, &end, 10);
        if (*end || end == sp->expires || secs < 1 || secs > MAX_EXPIRES) {
            return acmpca_err_set(err, ACMPCA_ERR_INCOMPLETE_SIGNATURE, p,
                                  "X-Amz-Expires must be a number of seconds from 1 to %d.",
                                  MAX_EXPIRES);
        }
        if (req->now > t + apr_time_from_sec(secs)) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p, "Request has expired.");
        }
    }
    else if (t < req->now - skew) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p,
                              "Signature expired: %s is now earlier than %s (%s - %d min.)",
                              sp->amz_date, amz_date_of(req->now - skew, p),
                              amz_date_of(req->now, p), (int)apr_time_sec(skew) / 60);
    }
    if (t > req->now + skew) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p,
                              "Signature not yet current: %s is still later than %s (%s + %d "
                              "min.)",
                              sp->amz_date, amz_date_of(req->now + skew, p),
                              amz_date_of(req->now, p), (int)apr_time_sec(skew) / 60);
    }
    return APR_SUCCESS;
}

/* ************************************************************************************
 * Scope, payload, signature
 */

static apr_status_t check_scope(const sig_parts *sp, const acmpca_sigv4_opts_t *opts,
                                acmpca_err_t *err, apr_pool_t *p)
{
    const char *const *svc;

    for (svc = opts->services; svc && *svc; svc++) {
        if (!strcmp(*svc, sp->service)) {
            break;
        }
    }
    if (!svc || !*svc) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p,
                              "Credential should be scoped to correct service: '%s'.",
                              opts->services && opts->services[0] ? opts->services[0] : "");
    }
    if (opts->region && strcmp(opts->region, sp->region)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p,
                              "Credential should be scoped to a valid region, not '%s'.",
                              sp->region);
    }
    return APR_SUCCESS;
}

static int lists_host(const char *signed_headers)
{
    const char *s = signed_headers;

    while (s) {
        if (!strncasecmp(s, "host", 4) && (s[4] == ';' || s[4] == '\0')) {
            return 1;
        }
        s = strchr(s, ';');
        s = s ? s + 1 : NULL;
    }
    return 0;
}

/* The hash the client signed: always computed over the body received; a declared
 * x-amz-content-sha256 must agree with it (S3 may declare UNSIGNED-PAYLOAD). */
static apr_status_t payload_hash(const char **phash, const sig_parts *sp,
                                 const acmpca_sigv4_req_t *req, int s3, acmpca_err_t *err,
                                 apr_pool_t *p)
{
    const char *declared = apr_table_get(req->headers, "X-Amz-Content-SHA256");
    const char *actual = acmpca_sha256_hex(req->body ? req->body : "", req->body_len, p);

    if (!actual) {
        return acmpca_err_internal(err, APR_EGENERAL, "SHA-256 failed");
    }
    if (declared) {
        if (s3 && !strcmp(declared, UNSIGNED_PAYLOAD)) {
            *phash = declared;
            return APR_SUCCESS;
        }
        if (strcmp(declared, actual)) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p,
                                  "The provided 'x-amz-content-sha256' header does not match "
                                  "what was computed.");
        }
    }
    *phash = sp->presigned && s3 && !declared ? UNSIGNED_PAYLOAD : actual;
    return APR_SUCCESS;
}

/* signature = hex(HMAC(kSigning, string to sign)), kSigning from hmac.c's memo. Every
 * key and intermediate is wiped. */
static int signature_of(char *hex, const char *secret, const sig_parts *sp, const char *sts)
{
    unsigned char k[32], sig[32];
    int ok;

    ok = acmpca_sigv4_signing_key(k, secret, sp->date, sp->region, sp->service)
         && acmpca_hmac_sha256(sig, k, 32, sts, strlen(sts));
    OPENSSL_cleanse(k, sizeof(k));
    if (ok) {
        static const char digits[] = "0123456789abcdef";
        int i;
        for (i = 0; i < 32; i++) {
            hex[2 * i] = digits[sig[i] >> 4];
            hex[2 * i + 1] = digits[sig[i] & 15];
        }
        hex[SIG_HEX_LEN] = '\0';
    }
    OPENSSL_cleanse(sig, sizeof(sig));
    return ok;
}

void acmpca_auth_wipe(void *secret, apr_size_t len)
{
    OPENSSL_cleanse(secret, len);
}

static apr_status_t find_signature(sig_parts *sp, const acmpca_sigv4_req_t *req, acmpca_err_t *err,
                                   apr_pool_t *p)
{
    const char *auth = apr_table_get(req->headers, "Authorization");
    int in_query = req->query && query_param(req->query, "X-Amz-Algorithm", p);
    const char *date;
    apr_time_t t;

    if (auth && in_query) {
        return incomplete(err, p,
                          "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                          "parameter or the Authorization header should be specified.");
    }
    if (!auth && !in_query) {
        return acmpca_err_set(err, ACMPCA_ERR_MISSING_AUTH_TOKEN, p,
                              "Missing Authentication Token");
    }
    if (in_query) {
        return parse_query(sp, req->query, err, p);
    }
    sp->token = apr_table_get(req->headers, "X-Amz-Security-Token");
    sp->amz_date = apr_table_get(req->headers, "X-Amz-Date");
    if (!sp->amz_date && (date = apr_table_get(req->headers, "Date")) != NULL
        && (t = apr_date_parse_http(date)) != APR_DATE_BAD) {
        sp->amz_date = amz_date_of(t, p); /* the signer turned Date into this form */
    }
    return parse_header(sp, auth, err, p);
}

apr_status_t acmpca_sigv4_verify(acmpca_sigv4_result_t *res, const acmpca_sigv4_req_t *req,
                                 const acmpca_sigv4_opts_t *opts, acmpca_sigv4_lookup_fn *lookup,
                                 void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    sig_parts sp = {0};
    acmpca_sigv4_key_t key = {0};
    apr_interval_time_t skew = opts->skew > 0 ? opts->skew : DEFAULT_SKEW;
    const char *hash = NULL, *creq, *sts;
    char expected[SIG_HEX_LEN + 1];
    apr_time_t t;
    apr_status_t rv;
    int s3;

    if ((rv = find_signature(&sp, req, err, p)) != APR_SUCCESS
        || (rv = parse_credential(&sp, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (parse_amz_date(&t, sp.amz_date) != APR_SUCCESS) {
        return incomplete(err, p,
                          "X-Amz-Date must be in the ISO8601 Long Format "
                          "\"yyyyMMdd'T'HHmmss'Z'\".");
    }
    if (!lists_host(sp.signed_headers)) {
        return incomplete(err, p,
                          "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                          "Authorization.");
    }
    if ((rv = check_scope(&sp, opts, err, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = lookup(&key, sp.access_key, baton);
    if (rv == APR_NOTFOUND || (rv == APR_SUCCESS && !key.secret)) {
        return acmpca_err_set(err, ACMPCA_ERR_UNRECOGNIZED_CLIENT, p, MSG_BAD_TOKEN);
    }
    if (rv != APR_SUCCESS) {
        return acmpca_err_internal(err, rv, "looking up an access key");
    }
    /* A key issued with a session token must present it; others may send any. */
    if (key.session_token
        && (!sp.token || strlen(sp.token) != strlen(key.session_token)
            || CRYPTO_memcmp(sp.token, key.session_token, strlen(sp.token)))) {
        return acmpca_err_set(err, ACMPCA_ERR_UNRECOGNIZED_CLIENT, p, MSG_BAD_TOKEN);
    }
    if (strncmp(sp.date, sp.amz_date, 8) || strlen(sp.date) != 8) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p,
                              "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                              "version of date from HTTP: '%s' != '%.8s', from '%s'.",
                              sp.date, sp.amz_date, sp.amz_date);
    }
    s3 = !strcmp(sp.service, "s3");
    if ((rv = check_time(&sp, t, req, skew, err, p)) != APR_SUCCESS
        || (rv = payload_hash(&hash, &sp, req, s3, err, p)) != APR_SUCCESS) {
        return rv;
    }
    creq = acmpca_sigv4_canonical_request(req, sp.signed_headers, hash, s3, sp.presigned, p);
    sts =
        apr_pstrcat(p, ALGORITHM, "\n", sp.amz_date, "\n", sp.date, "/", sp.region, "/", sp.service,
                    "/", TERMINATOR, "\n", acmpca_sha256_hex(creq, strlen(creq), p), NULL);
    if (!signature_of(expected, key.secret, &sp, sts)) {
        return acmpca_err_internal(err, APR_EGENERAL, "HMAC-SHA256 failed");
    }
    /* Constant time: the length is public, the contents are not. */
    if (strlen(sp.signature) != SIG_HEX_LEN || CRYPTO_memcmp(expected, sp.signature, SIG_HEX_LEN)) {
        OPENSSL_cleanse(expected, sizeof(expected));
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_SIGNATURE, p, MSG_MISMATCH);
    }
    OPENSSL_cleanse(expected, sizeof(expected));
    res->access_key = sp.access_key;
    res->region = sp.region;
    res->service = sp.service;
    res->amz_date = sp.amz_date;
    res->presigned = sp.presigned;
    res->data = key.data;
    return APR_SUCCESS;
}
