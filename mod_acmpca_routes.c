/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The GET routes of servers with SetHandler acmpca (PCA-API.md §9): CRLs at
 * /crl/<ca-id>.crl, the emulated S3 namespace at /<bucket>/<key> (public CRLs, private
 * audit reports for SigV4-signed callers), the OCSP responder at /ocsp (GET and POST),
 * and the periodic CRL job, run once per host by a mod_watchdog singleton. */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_watchdog.h>

#include <apr_hash.h>
#include <apr_optional.h>
#include <apr_strings.h>

#include "acmpca/arn.h"
#include "acmpca/auth.h"
#include "acmpca/revoke.h"
#include "acmpca/util.h"
#include "mod_acmpca.h"

APLOG_USE_MODULE(acmpca);

#define HANDLER_NAME         "acmpca"
#define OCSP_PATH            "/ocsp"
#define OCSP_REQUEST_TYPE    "application/ocsp-request"
#define OCSP_RESPONSE_TYPE   "application/ocsp-response"
#define OCSP_MAX_REQUEST     (64 * 1024)
#define NOTE_OCSP_GET        "acmpca-ocsp-get"
#define MAX_PATH             (ACMPCA_OBJECT_KEY_MAX + 128)
#define REPORT_PREFIX        "audit-report/"
#define WATCHDOG_NAME        "acmpca-crl"
#define DEFAULT_CRL_INTERVAL 60   /* seconds between two runs of the CRL job */
#define DEFAULT_AUDIT_GAP    1800 /* [AWS] one audit report per CA per 30 minutes */
/* Caches may keep a CRL this long (never past its nextUpdate): revocations reach the
 * CRL within seconds, so a long max-age would only hide them. */
#define CRL_MAX_AGE 300

/* ************************************************************************************
 * Directives. ACMPCACrlRefreshInterval is server-wide (there is one job per host);
 * ACMPCAAuditReportInterval is per virtual host, kept beside the module's server
 * configuration and handed to the core in post_config.
 */

static apr_interval_time_t crl_interval = apr_time_from_sec(DEFAULT_CRL_INTERVAL);
static apr_int64_t crl_sync_entries; /* 0: the core's default */
static apr_hash_t *audit_gaps;       /* server_rec * -> apr_interval_time_t *, in pconf */

/* A global directive's whole number from 1 to max into *pv; NULL or the message, which
 * names what is expected ("seconds") and what else is allowed (", or unlimited"). */
static const char *global_number(cmd_parms *cmd, const char *arg, apr_int64_t max, const char *what,
                                 const char *or_else, apr_int64_t *pv)
{
    const char *msg = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (msg) {
        return msg;
    }
    if (*end || end == arg || v < 1 || v > max) {
        return apr_psprintf(cmd->pool, "%s '%s': expected %s from 1 to %" APR_INT64_T_FMT "%s",
                            cmd->cmd->name, arg, what, max, or_else);
    }
    *pv = v;
    return NULL;
}

const char *acmpca_cmd_crl_refresh_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_int64_t v = 0;
    const char *msg = global_number(cmd, arg, 86400, "seconds", "", &v);
    (void)dc;

    if (!msg) {
        crl_interval = apr_time_from_sec(v);
    }
    return msg;
}

/* How big a CRL a revocation still rebuilds before it answers; a bigger one is left
 * to the CRL job (src/ops/crl.c acmpca_crl_deferred). */
const char *acmpca_cmd_crl_sync_entries(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!strcasecmp(arg, "unlimited") && !ap_check_cmd_context(cmd, GLOBAL_ONLY)) {
        crl_sync_entries = -1;
        return NULL;
    }
    return global_number(cmd, arg, 100000000, "a number of entries", ", or unlimited",
                         &crl_sync_entries);
}

const char *acmpca_cmd_audit_report_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_interval_time_t *gap = apr_palloc(cmd->pool, sizeof(*gap));
    server_rec **key = apr_palloc(cmd->pool, sizeof(*key)); /* the hash keeps the pointer */
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    (void)dc;

    if (*end || end == arg || v < 0 || v > 7 * 86400) {
        return apr_psprintf(cmd->pool, "%s '%s': expected seconds from 0 (no limit) to 604800",
                            cmd->cmd->name, arg);
    }
    *gap = v ? apr_time_from_sec(v) : -1; /* the core: negative means no limit */
    if (!audit_gaps) {
        audit_gaps = apr_hash_make(cmd->pool);
    }
    *key = cmd->server;
    apr_hash_set(audit_gaps, key, sizeof(*key), gap);
    return NULL;
}

static int routes_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    /* A restart reads the configuration afresh: forget the last one's settings. */
    crl_interval = apr_time_from_sec(DEFAULT_CRL_INTERVAL);
    crl_sync_entries = 0;
    audit_gaps = NULL;
    return OK;
}

static apr_interval_time_t audit_gap_of(server_rec *s, server_rec *base)
{
    apr_interval_time_t *gap = NULL;

    if (audit_gaps) {
        gap = apr_hash_get(audit_gaps, &s, sizeof(s));
        if (!gap) {
            gap = apr_hash_get(audit_gaps, &base, sizeof(base));
        }
    }
    return gap ? *gap : apr_time_from_sec(DEFAULT_AUDIT_GAP);
}

/* ************************************************************************************
 * Responses
 */

static void common_headers(request_rec *r, const char *request_id)
{
    apr_table_setn(r->headers_out, "x-amzn-RequestId", request_id);
    apr_table_setn(r->headers_out, "x-amz-request-id", request_id);
}

/* data lives in r->pool, as every answer of these routes does (a CRL copied out of the
 * cache or read from the store, an OCSP response): a pool bucket hands it to the
 * network without a copy, where the core output filter would copy a large CRL to set
 * a transient bucket aside. */
static int send_bytes(request_rec *r, const unsigned char *data, apr_size_t len)
{
    return acmpca_send_body(
        r, apr_bucket_pool_create((const char *)data, len, r->pool, r->connection->bucket_alloc),
        len);
}

/* S3's error document (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). */
static int s3_error(request_rec *r, int status, const char *code, const char *message,
                    const char *request_id)
{
    const char *body = apr_psprintf(r->pool,
                                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                    "<Error><Code>%s</Code><Message>%s</Message>"
                                    "<RequestId>%s</RequestId></Error>\n",
                                    code, message, request_id);
    apr_size_t len = strlen(body);

    r->status = status;
    common_headers(r, request_id);
    ap_set_content_type(r, "application/xml");
    return send_bytes(r, (const unsigned char *)body, len);
}

static int no_such_key(request_rec *r, const char *request_id)
{
    return s3_error(r, HTTP_NOT_FOUND, "NoSuchKey", "The specified key does not exist.",
                    request_id);
}

static int send_object(request_rec *r, const acmpca_served_t *o, const char *request_id)
{
    const acmpca_object_t *obj = o->obj;
    apr_time_t now = apr_time_now();
    int rc;

    common_headers(r, request_id);
    if (o->is_public) {
        apr_int64_t age = o->next_update > now ? apr_time_sec(o->next_update - now) : 0;
        apr_table_setn(r->headers_out, "Cache-Control",
                       apr_psprintf(r->pool, "public, max-age=%" APR_INT64_T_FMT,
                                    age < CRL_MAX_AGE ? age : CRL_MAX_AGE));
    }
    else {
        apr_table_setn(r->headers_out, "Cache-Control", "private, no-cache");
    }
    if (obj->etag) {
        apr_table_setn(r->headers_out, "ETag", obj->etag);
    }
    apr_table_setn(r->headers_out, "Accept-Ranges", "bytes");
    ap_update_mtime(r, obj->modified);
    ap_set_last_modified(r);
    /* If-None-Match / If-Modified-Since: 304 with the validators above. */
    if ((rc = ap_meets_conditions(r)) != OK) {
        return rc;
    }
    ap_set_content_type(r, obj->content_type ? obj->content_type : "application/octet-stream");
    return send_bytes(r, obj->data, obj->len);
}

/* ************************************************************************************
 * Paths: checked on the bytes the client sent, before httpd's normalisation could
 * turn "/bucket/../other" into something else (issue 4, item 5).
 */

/* The path of the request line, still encoded, without the query. */
static const char *raw_path(request_rec *r)
{
    const char *u = r->unparsed_uri, *q;

    if (!u) {
        return NULL;
    }
    if (*u != '/') { /* absolute form: skip scheme and authority */
        const char *s = strstr(u, "://");
        if (!s || !(u = strchr(s + 3, '/'))) {
            return NULL;
        }
    }
    q = strchr(u, '?');
    return q ? apr_pstrmemdup(r->pool, u, (apr_size_t)(q - u)) : u;
}

/* The path of the public base URL ("" for http://host:port), routes live below it. */
static const char *url_prefix(const acmpca_srv_conf_t *conf)
{
    const char *url = conf->env.public_url, *s, *slash;

    if (!url || !(s = strstr(url, "://")) || !(slash = strchr(s + 3, '/'))) {
        return "";
    }
    return slash;
}

static const char *strip_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    if (n && !strncmp(path, prefix, n) && (path[n] == '/' || path[n] == '\0')) {
        return path + n;
    }
    return path;
}

/* No escapes, no dot segments, no empty segments, no controls, bounded. */
static int path_clean(const char *path)
{
    const char *c;
    size_t n = strlen(path);

    if (n == 0 || n > MAX_PATH || path[0] != '/' || strstr(path, "//") || strstr(path, "/./")
        || strstr(path, "/../") || (n >= 2 && !strcmp(path + n - 2, "/."))
        || (n >= 3 && !strcmp(path + n - 3, "/.."))) {
        return 0;
    }
    for (c = path; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '%' || *c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* ************************************************************************************
 * Who reads a private object: the same identities as the API (SigV4 with service s3,
 * as `aws s3 cp --endpoint-url` signs, or acm-pca; or httpd's user; or nobody).
 */

static apr_status_t key_lookup(acmpca_sigv4_key_t *key, const char *access_key, void *baton)
{
    const acmpca_srv_conf_t *conf = baton;
    const credential_t *cred =
        conf->credentials ? apr_hash_get(conf->credentials, access_key, APR_HASH_KEY_STRING) : NULL;

    if (!cred || !cred->secret) {
        return APR_NOTFOUND;
    }
    key->secret = cred->secret;
    key->session_token = cred->session_token;
    key->data = cred;
    return APR_SUCCESS;
}

static const char *s3_auth_code(acmpca_errtype_t type, int *pstatus)
{
    *pstatus = HTTP_FORBIDDEN;
    switch (type) {
    case ACMPCA_ERR_UNRECOGNIZED_CLIENT:
        return "InvalidAccessKeyId";
    case ACMPCA_ERR_INVALID_SIGNATURE:
        return "SignatureDoesNotMatch";
    case ACMPCA_ERR_INCOMPLETE_SIGNATURE:
        *pstatus = HTTP_BAD_REQUEST;
        return "AuthorizationHeaderMalformed";
    default:
        return "AccessDenied";
    }
}

/* The value of each query parameter named in secret[] replaced by "REDACTED", in s. */
static const char *redact_query(const char *s, apr_pool_t *p)
{
    static const char *const secret[] = {"X-Amz-Signature=", "X-Amz-Security-Token=", NULL};
    const char *const *name;
    char *out = apr_pstrdup(p, s), *at, *end;

    for (name = secret; *name; name++) {
        for (at = out; (at = strstr(at, *name)) != NULL; at = end) {
            at += strlen(*name);
            for (end = at; *end && *end != '&' && *end != ' ' && *end != '#'; end++)
                ;
            out = apr_pstrcat(p, apr_pstrmemdup(p, out, (apr_size_t)(at - out)), "REDACTED", end,
                              NULL);
            end = out + (at - out) + strlen("REDACTED");
        }
    }
    return out;
}

/* A presigned URL carries its signature (and maybe a session token) in the query: once
 * checked, keep them out of the access log (%r, %U%q) like any other credential. */
static void redact_presigned(request_rec *r)
{
    if (!r->args
        || (!strstr(r->args, "X-Amz-Signature=") && !strstr(r->args, "X-Amz-Security-Token="))) {
        return;
    }
    r->args = (char *)redact_query(r->args, r->pool);
    r->the_request = (char *)redact_query(r->the_request, r->pool);
    r->unparsed_uri = (char *)redact_query(r->unparsed_uri, r->pool);
}

/* APR_SUCCESS and *caller, or an S3 error already sent (*prc). */
static apr_status_t identify(acmpca_caller_t *caller, const credential_t **pcred, int *prc,
                             request_rec *r, const acmpca_srv_conf_t *conf, const char *path,
                             const char *request_id)
{
    static const char *const services[] = {"s3", "acm-pca", NULL};
    acmpca_sigv4_opts_t opts = {services, NULL, 0};
    acmpca_sigv4_req_t req = {0};
    acmpca_sigv4_result_t res;
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    const credential_t *cred;
    const char *code;
    apr_status_t rv;
    int status;

    memset(caller, 0, sizeof(*caller));
    *pcred = NULL;
    if (conf->authn == ACMPCA_AUTHN_NONE
        || (conf->authn == ACMPCA_AUTHN_UNSET && !conf->credentials)) {
        caller->account = conf->env.account;
        return APR_SUCCESS;
    }
    if (conf->authn == ACMPCA_AUTHN_HTTPD) {
        cred =
            r->user && conf->users ? apr_hash_get(conf->users, r->user, APR_HASH_KEY_STRING) : NULL;
        if (!cred && r->user && conf->users) {
            cred = apr_hash_get(conf->users, "*", APR_HASH_KEY_STRING);
        }
        if (!cred) {
            *prc = s3_error(r, HTTP_FORBIDDEN, "AccessDenied", "Access Denied", request_id);
            return APR_EACCES;
        }
        *caller = cred->caller;
        *pcred = cred;
        return APR_SUCCESS;
    }
    opts.region = conf->env.region;
    req.method = r->method;
    req.path = path;
    req.query = r->args;
    req.headers = r->headers_in;
    req.body = "";
    req.now = apr_time_now();
    rv = acmpca_sigv4_verify(&res, &req, &opts, key_lookup, (void *)conf, &err, r->pool);
    if (rv != APR_SUCCESS) {
        code = s3_auth_code(err.type, &status);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ACMPCA0750: object request refused: %s (%s)",
                      code, err.message ? err.message : "no signature");
        *prc = s3_error(r, status, code,
                        status == HTTP_BAD_REQUEST ? "The authorization header is malformed."
                                                   : "Access Denied",
                        request_id);
        return APR_EACCES;
    }
    cred = res.data;
    *caller = cred->caller;
    *pcred = cred;
    return APR_SUCCESS;
}

/* A principal with an identity policy (credentials file "Policy") needs it to allow
 * reading the CA's reports; without one the account decides alone (as for the API). */
static int identity_allows(const credential_t *cred, const acmpca_srv_conf_t *conf,
                           const acmpca_served_t *o, apr_pool_t *p)
{
    acmpca_authz_req_t req = {0};

    if (!cred || !cred->policy) {
        return 1;
    }
    req.action = "acm-pca:DescribeCertificateAuthorityAuditReport";
    req.resource = acmpca_arn_ca(conf->env.region, o->owner_account, o->ca_id, p);
    req.account = cred->caller.account;
    req.principal = cred->caller.principal;
    return acmpca_policy_eval(cred->policy, &req) == ACMPCA_AUTHZ_ALLOW;
}

/* ************************************************************************************
 * The routes
 */

static int crl_route(request_rec *r, const acmpca_srv_conf_t *conf, const char *file,
                     const char *request_id)
{
    acmpca_served_t o;
    const char *id;

    if (strlen(file) != 36 + 4 || strcmp(file + 36, ".crl")) {
        return no_such_key(r, request_id);
    }
    id = apr_pstrndup(r->pool, file, 36);
    if (acmpca_crl_serve(&o, &conf->env, id, apr_time_now(), r->pool) != APR_SUCCESS) {
        return no_such_key(r, request_id);
    }
    return send_object(r, &o, request_id);
}

static int object_route(request_rec *r, const acmpca_srv_conf_t *conf, const char *bucket,
                        const char *key, const char *path, const char *request_id)
{
    const credential_t *cred = NULL;
    acmpca_caller_t caller;
    acmpca_served_t o;
    int rc = OK, private_key = !strncmp(key, REPORT_PREFIX, strlen(REPORT_PREFIX));
    apr_status_t rv;

    if (!acmpca_object_name_ok(bucket, key)) {
        return s3_error(r, HTTP_BAD_REQUEST, "InvalidURI", "Couldn't parse the specified URI.",
                        request_id);
    }
    /* Who asks comes first for reports, so that an unsigned request learns nothing,
     * not even whether a report exists. */
    if (private_key && identify(&caller, &cred, &rc, r, conf, path, request_id) != APR_SUCCESS) {
        return rc;
    }
    rv = acmpca_object_serve(&o, &conf->env, bucket, key, apr_time_now(), r->pool);
    if (rv == APR_NOTFOUND) {
        return no_such_key(r, request_id);
    }
    if (rv != APR_SUCCESS) {
        return s3_error(r, HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
                        "Please reduce your request rate.", request_id);
    }
    if (!o.is_public) {
        if (!private_key
            && identify(&caller, &cred, &rc, r, conf, path, request_id) != APR_SUCCESS) {
            return rc;
        }
        if (!acmpca_object_readable(&conf->env, &o, &caller, apr_time_now(), r->pool)
            || !identity_allows(cred, conf, &o, r->pool)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ACMPCA0751: %s may not read %s/%s",
                          caller.principal ? caller.principal : caller.account, bucket, key);
            return s3_error(r, HTTP_FORBIDDEN, "AccessDenied", "Access Denied", request_id);
        }
    }
    return send_object(r, &o, request_id);
}

/* RFC 6960 A.1: the response is always 200 with an OCSPResponse, errors included. */
static int send_ocsp(request_rec *r, const acmpca_ocsp_reply_t *reply, int cacheable,
                     const char *request_id)
{
    apr_time_t now = apr_time_now();

    common_headers(r, request_id);
    if (!reply->der) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, OCSP_RESPONSE_TYPE);
    /* RFC 5019 §6: GET responses may be cached until nextUpdate. */
    if (cacheable && reply->next_update > now) {
        apr_table_setn(r->headers_out, "Cache-Control",
                       apr_psprintf(r->pool,
                                    "max-age=%" APR_INT64_T_FMT
                                    ", public, no-transform, must-revalidate",
                                    apr_time_sec(reply->next_update - now)));
    }
    else {
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    }
    return send_bytes(r, reply->der, reply->len);
}

/* GET /ocsp/<url-encoded base64 of the DER request> (RFC 6960 A.1). Clients encode '/',
 * '+' and '=' or not, and some use the URL-safe alphabet: take them all. */
static int ocsp_get(request_rec *r, const acmpca_srv_conf_t *conf, const char *encoded,
                    const char *request_id)
{
    acmpca_ocsp_reply_t reply;
    unsigned char *der = NULL;
    apr_size_t len = 0, n = 0, i;
    char *b64 = apr_palloc(r->pool, strlen(encoded) + 4);
    int hi, lo;

    for (i = 0; encoded[i]; i++) {
        char c = encoded[i];
        if (c == '%' && (hi = acmpca_hex_digit(encoded[i + 1])) >= 0
            && (lo = acmpca_hex_digit(encoded[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        b64[n++] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4) {
        b64[n++] = '=';
    }
    b64[n] = '\0';
    if (n == 0 || n > OCSP_MAX_REQUEST * 2
        || acmpca_b64_decode(&der, &len, b64, n, r->pool) != APR_SUCCESS) {
        der = NULL;
        len = 0;
    }
    acmpca_ocsp_answer(&reply, &conf->env, der, len, apr_time_now(), r->pool);
    return send_ocsp(r, &reply, 1, request_id);
}

static int ocsp_post(request_rec *r, const acmpca_srv_conf_t *conf, const char *request_id)
{
    acmpca_ocsp_reply_t reply;
    unsigned char *buf = NULL;
    apr_size_t len = 0;
    long n = 0;

    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        return HTTP_BAD_REQUEST;
    }
    if (r->remaining <= OCSP_MAX_REQUEST) {
        buf = apr_palloc(r->pool, OCSP_MAX_REQUEST + 1);
        if (ap_should_client_block(r)) {
            while (len <= OCSP_MAX_REQUEST
                   && (n = ap_get_client_block(r, (char *)buf + len, OCSP_MAX_REQUEST + 1 - len))
                          > 0) {
                len += (apr_size_t)n;
            }
        }
    }
    if (!buf || n < 0 || len > OCSP_MAX_REQUEST) {
        r->connection->keepalive = AP_CONN_CLOSE; /* the rest is not read */
        len = 0;
    }
    acmpca_ocsp_answer(&reply, &conf->env, buf, len, apr_time_now(), r->pool);
    return send_ocsp(r, &reply, 0, request_id);
}

static int dispatch(request_rec *r, acmpca_srv_conf_t *conf, const char *request_id)
{
    const char *path = raw_path(r), *rel, *slash, *bucket, *ocsp_get_arg;

    ocsp_get_arg = apr_table_get(r->notes, NOTE_OCSP_GET);
    if (ocsp_get_arg) {
        /* No base64 alphabet has '.': "/ocsp/../x" is a path trick, not a request. */
        if (strchr(ocsp_get_arg, '.')) {
            return s3_error(r, HTTP_BAD_REQUEST, "InvalidURI", "Couldn't parse the specified URI.",
                            request_id);
        }
        return ocsp_get(r, conf, ocsp_get_arg, request_id);
    }
    if (!path || !path_clean(path)) {
        return s3_error(r, HTTP_BAD_REQUEST, "InvalidURI", "Couldn't parse the specified URI.",
                        request_id);
    }
    rel = strip_prefix(path, url_prefix(conf));
    if (!strcmp(rel, OCSP_PATH)) {
        return ocsp_get(r, conf, "", request_id); /* no request: malformedRequest */
    }
    if (rel[0] != '/' || !(slash = strchr(rel + 1, '/')) || !slash[1]) {
        return no_such_key(r, request_id);
    }
    bucket = apr_pstrmemdup(r->pool, rel + 1, (apr_size_t)(slash - rel - 1));
    if (!strcmp(bucket, "crl") && !strchr(slash + 1, '/')) {
        return crl_route(r, conf, slash + 1, request_id);
    }
    return object_route(r, conf, bucket, slash + 1, path, request_id);
}

int acmpca_routes_handle(request_rec *r, acmpca_srv_conf_t *conf, const char *request_id)
{
    int rc = dispatch(r, conf, request_id);

    redact_presigned(r); /* whichever route it was: the log never shows a signature */
    return rc;
}

/* POST <prefix>/ocsp: before the API handler, which takes every other POST. */
static int is_ocsp_post(request_rec *r, const acmpca_srv_conf_t *conf)
{
    const char *path = raw_path(r), *rel, *type = apr_table_get(r->headers_in, "Content-Type");

    if (!path) {
        return 0;
    }
    rel = strip_prefix(path, url_prefix(conf));
    if (!strcmp(rel, OCSP_PATH)) {
        return 1;
    }
    /* With an OcspCustomCname the AIA names http://<cname> alone (src/ops/cert.c), so
     * requests come to "/": the content type tells them from API calls. */
    return (!*rel || !strcmp(rel, "/")) && type
           && !strncasecmp(type, OCSP_REQUEST_TYPE, strlen(OCSP_REQUEST_TYPE));
}

static int ocsp_post_handler(request_rec *r)
{
    acmpca_srv_conf_t *conf;
    const char *request_id;

    if (!r->handler || strcmp(r->handler, HANDLER_NAME) || r->method_number != M_POST
        || !(conf = acmpca_srv_conf(r->server))->store || !is_ocsp_post(r, conf)) {
        return DECLINED;
    }
    request_id = acmpca_request_id(r->pool);
    apr_table_setn(r->subprocess_env, "ACMPCA_REQUEST_ID", request_id);
    return ocsp_post(r, conf, request_id);
}

/* GET <prefix>/ocsp/<base64>: the base64 may hold "%2F", which httpd refuses with a 404
 * before any handler unless AllowEncodedSlashes is on, and "//", which it merges. Take
 * the request out of the raw path here, before that happens, and leave "/ocsp". */
static int ocsp_get_rewrite(request_rec *r)
{
    const acmpca_srv_conf_t *conf = acmpca_srv_conf(r->server);
    const char *path, *rel, *prefix;

    if (!conf->store || (r->method_number != M_GET) || !(path = raw_path(r))) {
        return DECLINED;
    }
    prefix = url_prefix(conf);
    rel = strip_prefix(path, prefix);
    if (strncmp(rel, OCSP_PATH "/", strlen(OCSP_PATH) + 1)) {
        return DECLINED;
    }
    apr_table_setn(r->notes, NOTE_OCSP_GET, rel + strlen(OCSP_PATH) + 1);
    r->uri = apr_pstrcat(r->pool, prefix, OCSP_PATH, NULL);
    r->parsed_uri.path = r->uri;
    return DECLINED;
}

/* ************************************************************************************
 * The periodic CRL job: a mod_watchdog singleton runs in one child process of the host
 * at a time, whatever the MPM and the number of children.
 */

/* The job's thread is mod_watchdog's, and its pool outlives the child's: when a child
 * exits (a graceful restart, MaxConnectionsPerChild) pchild goes, and the store
 * connections with it, while a run may still be using one (an assertion in apr_reslist
 * or a crash of the child: t/api/710_graceful.t). A pre-cleanup of pchild waits for a
 * run in progress and turns later ones away. */
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static int job_stopped;

static apr_status_t stop_crl_job(void *data)
{
    (void)data;
    pthread_mutex_lock(&job_lock);
    job_stopped = 1;
    pthread_mutex_unlock(&job_lock);
    return APR_SUCCESS;
}

/* The revocations' CRL builder thread (src/ops/crl_builder.c) uses the stores too. */
static apr_status_t stop_crl_builder(void *data)
{
    (void)data;
    acmpca_crl_builder_stop();
    return APR_SUCCESS;
}

static void routes_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    job_stopped = 0;
    apr_pool_pre_cleanup_register(pchild, NULL, stop_crl_job);
    apr_pool_pre_cleanup_register(pchild, NULL, stop_crl_builder);
}

static apr_status_t crl_watchdog(int state, void *data, apr_pool_t *pool)
{
    server_rec *base = data, *s;
    apr_array_header_t *done;
    int i, seen;

    if (state == AP_WATCHDOG_STATE_STOPPING) {
        return APR_SUCCESS;
    }
    if (state == AP_WATCHDOG_STATE_STARTING) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, base,
                     "ACMPCA0760: the CRL job runs in process %" APR_PID_T_FMT
                     " every %" APR_TIME_T_FMT " s",
                     getpid(), apr_time_sec(crl_interval));
    }
    pthread_mutex_lock(&job_lock);
    if (job_stopped) {
        pthread_mutex_unlock(&job_lock);
        return APR_SUCCESS;
    }
    done = apr_array_make(pool, 4, sizeof(acmpca_store_t *));
    for (s = base; s; s = s->next) {
        acmpca_srv_conf_t *conf = acmpca_srv_conf(s);
        if (!conf->store) {
            continue;
        }
        /* Virtual hosts that share a store share its CAs: one pass per store. */
        for (i = 0, seen = 0; i < done->nelts; i++) {
            seen |= APR_ARRAY_IDX(done, i, acmpca_store_t *) == conf->store;
        }
        if (!seen) {
            APR_ARRAY_PUSH(done, acmpca_store_t *) = conf->store;
            acmpca_crl_refresh_all(&conf->env, apr_time_now(), pool);
        }
    }
    pthread_mutex_unlock(&job_lock);
    return APR_SUCCESS;
}

static int routes_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *base)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * wd_get;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * wd_register;
    ap_watchdog_t *wd;
    server_rec *s;
    apr_status_t rv;
    int stores = 0;
    (void)plog;
    (void)ptemp;

    for (s = base; s; s = s->next) {
        acmpca_srv_conf_t *conf = acmpca_srv_conf(s);
        conf->env.audit_report_interval = audit_gap_of(s, base);
        conf->env.crl_sync_entries = crl_sync_entries;
        stores += conf->store != NULL;
    }
    /* The first pass of a start only checks the configuration. */
    if (!stores || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    wd_get = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get || !wd_register) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base,
                     "ACMPCA0761: mod_watchdog is not loaded: CRLs are rebuilt on revocation "
                     "and on first request only, not before their nextUpdate");
        return OK;
    }
    if ((rv = wd_get(&wd, WATCHDOG_NAME, 0, 1, pconf)) != APR_SUCCESS
        || (rv = wd_register(wd, crl_interval, base, crl_watchdog)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, base,
                     "ACMPCA0762: cannot register the CRL job with mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void acmpca_routes_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(routes_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_watchdog's own post_config (APR_HOOK_LAST) reads the callbacks. */
    ap_hook_post_config(routes_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(routes_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(ocsp_get_rewrite, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ocsp_post_handler, NULL, NULL, APR_HOOK_FIRST);
}
