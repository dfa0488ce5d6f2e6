/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * What the glue files (mod_acmpca*.c) share: the server configuration. Only glue files
 * include this header; the core never sees httpd. */
#ifndef MOD_ACMPCA_H
#define MOD_ACMPCA_H

#include <httpd.h>
#include <http_config.h>

#include <apr_buckets.h>
#include <apr_hash.h>
#include <cjson/cJSON.h>

#include "acmpca/auth.h"
#include "acmpca/ops.h"
#include "acmpca/pki.h"

extern module AP_MODULE_DECLARE_DATA acmpca_module;

/* One entry of the credentials file: an access key, an httpd user name, or both. */
typedef struct credential_t {
    const char *access_key;        /* NULL for an entry with only a "User" */
    const char *secret;            /* checked by SigV4; wiped with pconf; never logged */
    const char *session_token;     /* "SessionToken": then X-Amz-Security-Token must match */
    const char *user;              /* "User" (httpd authentication), "*" for any other */
    const acmpca_policy_t *policy; /* "Policy": identity policy; NULL allows everything */
    acmpca_caller_t caller;
} credential_t;

/* How API callers are identified (ACMPCAAuthentication). */
typedef enum {
    ACMPCA_AUTHN_UNSET = 0, /* sigv4 with a credentials file, else none */
    ACMPCA_AUTHN_SIGV4,
    ACMPCA_AUTHN_HTTPD,
    ACMPCA_AUTHN_NONE
} acmpca_authn_t;

/* ACMPCAThrottle <Operation|*> <rate> [burst] */
typedef struct acmpca_throttle_rule_t {
    const char *operation; /* "*": every operation, each with a bucket of its own */
    double rate;           /* tokens per second */
    double burst;          /* bucket size */
} acmpca_throttle_rule_t;

typedef struct acmpca_srv_conf_t {
    const char *store_spec;
    acmpca_store_t *store;
    const char *region;
    const char *account;
    const char *key_file;
    unsigned char *kek;
    const char *credentials_file;
    apr_hash_t *credentials;      /* access key -> credential_t */
    apr_hash_t *users;            /* httpd user name -> credential_t (ACMPCAAuthentication httpd) */
    int authn;                    /* acmpca_authn_t */
    apr_array_header_t *throttle; /* acmpca_throttle_rule_t, NULL: no throttling */
    const char *public_url;
    apr_off_t max_body;
    int max_cas;
    int max_certs;                         /* per CA */
    int crl_sync_ms;                       /* ACMPCACrlSyncTime; -1: not set */
    acmpca_env_t env;                      /* built in post_config */
    struct acmpca_visible_conf_t *visible; /* mod_acmpca_pki.c; NULL: all defaults */
} acmpca_srv_conf_t;

static inline acmpca_srv_conf_t *acmpca_srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &acmpca_module);
}

/* ---- identity and access (mod_acmpca_auth.c) ------------------------------------ */

/** Add one entry of the credentials file to keys (by access key) and users (by user
 *  name). Returns NULL or an error text. Secrets live in p and are wiped with it. */
const char *acmpca_credential_add(apr_hash_t *keys, apr_hash_t *users, const cJSON *entry,
                                  apr_pool_t *p);

const char *acmpca_cmd_authentication(cmd_parms *cmd, void *dc, const char *arg);
const char *acmpca_cmd_throttle(cmd_parms *cmd, void *dc, const char *op, const char *rate,
                                const char *burst);

int acmpca_auth_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
/** Check the authentication settings, create the throttle table and its mutex. */
int acmpca_auth_post_config(apr_pool_t *pconf, server_rec *base);
void acmpca_auth_child_init(apr_pool_t *pchild, server_rec *base);

/** Verify the SigV4 signature of r (Authorization header or presigned query) over body,
 *  its scope naming one of services ({"s3", "acm-pca", NULL} for the object routes) and
 *  the server's region. *pcred is the key's entry. Errors as acmpca_sigv4_verify. */
apr_status_t acmpca_auth_sigv4(const credential_t **pcred, request_rec *r,
                               const acmpca_srv_conf_t *conf, const char *const *services,
                               const char *body, apr_size_t body_len, apr_time_t now,
                               acmpca_err_t *err);

/** Identify the caller of an API request (SigV4, httpd's r->user or none), throttle it
 *  and check its identity policy; fills call->caller. APR_SUCCESS, or err says what to
 *  answer. Logs the principal, account and decision at info level, never a secret. */
apr_status_t acmpca_auth_request(acmpca_call_t *call, request_rec *r, const acmpca_srv_conf_t *conf,
                                 acmpca_err_t *err);

/* ---- visible operations (mod_acmpca_pki.c, mod_acmpca_status.c) --------------------
 * The public PKI repository at /pki/, mod_status and Prometheus metrics, request IDs in
 * the logs. mod_acmpca.c merges the directives (ACMPCA_VISIBLE_CMDS), the per-server
 * settings (acmpca_visible_merge), registers the hooks and calls acmpca_status_record
 * once per API request. */

typedef struct acmpca_visible_conf_t {
    acmpca_pki_filter_t repository; /* ACMPCAPublicRepository */
    int repository_set;
    const char *htdocs; /* ACMPCAHtdocs: the repository page's files; NULL: default */
    int metrics;        /* ACMPCAMetrics: -1 unset (off), 0 off, 1 on */
} acmpca_visible_conf_t;

/** The visible settings of s (defaults when it has none). */
const acmpca_visible_conf_t *acmpca_visible_conf(server_rec *s);
/** merge_srv_conf's part for the visible settings (a vhost inherits what it leaves unset). */
struct acmpca_visible_conf_t *acmpca_visible_merge(apr_pool_t *p,
                                                   const struct acmpca_visible_conf_t *base,
                                                   const struct acmpca_visible_conf_t *add);

const char *acmpca_cmd_public_repository(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *acmpca_cmd_htdocs(cmd_parms *cmd, void *dc, const char *arg);
const char *acmpca_cmd_metrics(cmd_parms *cmd, void *dc, int flag);

/* The directives of the visible operations, spliced into mod_acmpca.c's table. */
#define ACMPCA_VISIBLE_CMDS                                                                        \
    AP_INIT_TAKE_ARGV("ACMPCAPublicRepository", acmpca_cmd_public_repository, NULL, RSRC_CONF,     \
                      "Which CAs the repository at /pki/ lists: off (default), all, or "           \
                      "account:<id> and/or tag:<key>=<value>"),                                    \
        AP_INIT_TAKE1("ACMPCAHtdocs", acmpca_cmd_htdocs, NULL, RSRC_CONF,                          \
                      "Directory of the repository page's files (default "                         \
                      "/usr/share/mod_acmpca/htdocs), read at startup"),                           \
        AP_INIT_FLAG("ACMPCAMetrics", acmpca_cmd_metrics, NULL, RSRC_CONF,                         \
                     "on: SetHandler acmpca-metrics serves Prometheus metrics (default off)"),

void acmpca_pki_register_hooks(apr_pool_t *p);
void acmpca_status_register_hooks(apr_pool_t *p);

/** After acmpca_ops_call: note the principal and CA of the request for the
 *  per-operation log line and LogFormat (%{acmpca-principal}n, %{acmpca-ca}n). The
 *  counters and the log line themselves are written at log_transaction, so that
 *  requests refused before dispatch (signature, throttling, size) count too. */
void acmpca_status_record(request_rec *r, const acmpca_call_t *call, const acmpca_reply_t *reply);

/** Count a store failure met outside the API operations (repository, metrics). */
void acmpca_status_store_error(void);

/** The core's log sink: a message logged with a request's pool (or a subpool of it) is
 *  logged against that request and carries its x-amzn-RequestId. */
void acmpca_glue_log(const char *file, int line, int level, apr_status_t rv, apr_pool_t *p,
                     const char *msg, server_rec *s);

/* ---- GET routes and the CRL job (mod_acmpca_routes.c) ------------------------------
 * CRLs at /crl/<ca-id>.crl, objects at /<bucket>/<key>, OCSP at /ocsp (GET and POST),
 * the periodic CRL job (mod_watchdog singleton) and the directives below. */

const char *acmpca_cmd_crl_refresh_interval(cmd_parms *cmd, void *dc, const char *arg);
const char *acmpca_cmd_crl_sync_entries(cmd_parms *cmd, void *dc, const char *arg);
const char *acmpca_cmd_audit_report_interval(cmd_parms *cmd, void *dc, const char *arg);

#define ACMPCA_ROUTES_CMDS                                                                         \
    AP_INIT_TAKE1("ACMPCACrlRefreshInterval", acmpca_cmd_crl_refresh_interval, NULL, RSRC_CONF,    \
                  "Seconds between two runs of the job that rebuilds CRLs before their "           \
                  "nextUpdate (server-wide, default 60)"),                                         \
        AP_INIT_TAKE1("ACMPCACrlSyncEntries", acmpca_cmd_crl_sync_entries, NULL, RSRC_CONF,        \
                      "Largest CRL (revoked certificates) a revocation rebuilds before it "        \
                      "answers; bigger ones are left to the CRL job (server-wide, default "        \
                      "100000, or unlimited)"),                                                    \
        AP_INIT_TAKE1("ACMPCAAuditReportInterval", acmpca_cmd_audit_report_interval, NULL,         \
                      RSRC_CONF,                                                                   \
                      "Seconds before a CA may have another audit report (default 1800, "          \
                      "as AWS; 0: no limit)"),

/* ---- answers (mod_acmpca.c) ------------------------------------------------------- */

/** Send body (a bucket of len bytes) and end the response; OK, or
 *  AP_FILTER_ERROR when the network failed. The content length is set here; the caller
 *  sets the status and the other headers first. */
int acmpca_send_body(request_rec *r, apr_bucket *body, apr_size_t len);

/** The GET and HEAD requests of the handler (everything but the API). */
int acmpca_routes_handle(request_rec *r, acmpca_srv_conf_t *conf, const char *request_id);

void acmpca_routes_register_hooks(apr_pool_t *p);

#endif
