/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * mod_acmpca: the glue between httpd and the core. Directives, hooks, the handler that
 * turns a request_rec into an acmpca_call_t and the reply into a response. This is the
 * only file that sees httpd's headers. */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>
#include <mpm_common.h>
#include <unixd.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "acmpca/json.h"
#include "acmpca/log.h"
#include "acmpca/ops.h"
#include "acmpca/util.h"
#include "mod_acmpca.h"

module AP_MODULE_DECLARE_DATA acmpca_module;

#define HANDLER_NAME         "acmpca"
#define DEFAULT_REGION       "us-east-1"
#define DEFAULT_ACCOUNT      "123456789012"
#define DEFAULT_MAX_BODY     (4 * 1024 * 1024) /* a 2 MiB chain, base64-encoded, fits */
#define MAX_BODY_LIMIT       (64 * 1024 * 1024)
#define DEFAULT_MAX_CAS      200
#define DEFAULT_MAX_CERTS    1000000 /* per CA: AWS's default quota */
#define JSON_CONTENT_TYPE    "application/x-amz-json-1.1"
#define CREDENTIALS_MAX_SIZE (16 * 1024 * 1024)

/* ************************************************************************************
 * Configuration
 */

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    acmpca_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    (void)s;
    conf->max_body = -1;
    conf->max_cas = -1;
    conf->max_certs = -1;
    conf->crl_sync_ms = -1;
    return conf;
}

#define MERGE(f) conf->f = add->f ? add->f : base->f

/* A virtual host inherits every setting it does not make itself. */
static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    acmpca_srv_conf_t *base = basev, *add = addv;
    acmpca_srv_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    MERGE(store_spec);
    MERGE(store);
    MERGE(region);
    MERGE(account);
    MERGE(key_file);
    MERGE(kek);
    MERGE(credentials_file);
    MERGE(credentials);
    MERGE(users);
    MERGE(authn);
    MERGE(throttle);
    MERGE(public_url);
    conf->max_body = add->max_body >= 0 ? add->max_body : base->max_body;
    conf->max_cas = add->max_cas >= 0 ? add->max_cas : base->max_cas;
    conf->max_certs = add->max_certs >= 0 ? add->max_certs : base->max_certs;
    conf->crl_sync_ms = add->crl_sync_ms >= 0 ? add->crl_sync_ms : base->crl_sync_ms;
    conf->visible = acmpca_visible_merge(p, base->visible, add->visible); /* _pki.c */
    return conf;
}

static const char *cmd_ACMPCAStore(cmd_parms *cmd, void *dc, const char *arg)
{
    acmpca_srv_conf_t *conf = acmpca_srv_conf(cmd->server);
    const char *spec = arg, *msg;
    (void)dc;

    /* sqlite paths are relative to ServerRoot, like every path httpd takes. */
    if (!strncmp(arg, "sqlite:", 7) && arg[7] && arg[7] != '/') {
        spec = apr_pstrcat(cmd->pool, "sqlite:", ap_server_root_relative(cmd->pool, arg + 7), NULL);
    }
    if ((msg = acmpca_store_create(&conf->store, spec, cmd->pool)) != NULL) {
        return apr_psprintf(cmd->pool, "%s '%s': %s", cmd->cmd->name,
                            acmpca_store_redact(arg, cmd->pool), msg);
    }
    conf->store_spec = spec;
    return NULL;
}

static const char *cmd_ACMPCARegion(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *c;
    (void)dc;
    for (c = arg; *c && ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'); c++)
        ;
    if (!*arg || *c || strlen(arg) > 32) {
        return apr_psprintf(cmd->pool, "%s '%s': expected a region name such as us-east-1",
                            cmd->cmd->name, arg);
    }
    acmpca_srv_conf(cmd->server)->region = arg;
    return NULL;
}

static const char *cmd_ACMPCAAccountId(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (strlen(arg) != 12 || strspn(arg, "0123456789") != 12) {
        return apr_psprintf(cmd->pool, "%s '%s': expected an account ID of 12 digits",
                            cmd->cmd->name, arg);
    }
    acmpca_srv_conf(cmd->server)->account = arg;
    return NULL;
}

static apr_status_t kek_cleanup(void *kek)
{
    OPENSSL_cleanse(kek, ACMPCA_KEK_LEN);
    return APR_SUCCESS;
}

/* The KEK is read here, while httpd still runs as root, so that the file can stay
 * readable by root only; the workers never open it. */
static const char *cmd_ACMPCAKeyFile(cmd_parms *cmd, void *dc, const char *arg)
{
    acmpca_srv_conf_t *conf = acmpca_srv_conf(cmd->server);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    unsigned char *kek = apr_palloc(cmd->pool, ACMPCA_KEK_LEN + 1);
    apr_file_t *f;
    apr_size_t n = ACMPCA_KEK_LEN + 1;
    apr_status_t rv;
    (void)dc;

    apr_pool_cleanup_register(cmd->pool, kek, kek_cleanup, apr_pool_cleanup_null);
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, cmd->temp_pool);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s '%s': cannot open the key file (%pm)", cmd->cmd->name,
                            path, &rv);
    }
    rv = apr_file_read_full(f, kek, n, &n);
    apr_file_close(f);
    if (n != ACMPCA_KEK_LEN) {
        return apr_psprintf(cmd->pool,
                            "%s '%s': the key file must hold exactly %d random bytes "
                            "(make one with: openssl rand -out FILE %d)",
                            cmd->cmd->name, path, ACMPCA_KEK_LEN, ACMPCA_KEK_LEN);
    }
    conf->key_file = path;
    conf->kek = kek;
    return NULL;
}

static const char *cmd_ACMPCACredentialsFile(cmd_parms *cmd, void *dc, const char *arg)
{
    acmpca_srv_conf_t *conf = acmpca_srv_conf(cmd->server);
    const char *path = ap_server_root_relative(cmd->pool, arg), *msg;
    apr_hash_t *creds = apr_hash_make(cmd->pool), *users = apr_hash_make(cmd->pool);
    const cJSON *list, *c;
    apr_finfo_t finfo;
    char *buf;
    apr_file_t *f;
    apr_size_t n;
    cJSON *root;
    apr_status_t rv;
    (void)dc;

    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&finfo, APR_FINFO_SIZE, f);
    }
    if (rv != APR_SUCCESS || finfo.size > CREDENTIALS_MAX_SIZE) {
        return apr_psprintf(cmd->pool, "%s '%s': cannot read the credentials file", cmd->cmd->name,
                            path);
    }
    n = (apr_size_t)finfo.size;
    buf = apr_palloc(cmd->temp_pool, n + 1);
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    root = acmpca_json_parse(buf, n, cmd->temp_pool);
    list = cJSON_GetObjectItemCaseSensitive(root, "Credentials");
    if (!cJSON_IsArray(list)) {
        return apr_psprintf(cmd->pool,
                            "%s '%s': expected JSON {\"Credentials\": [{\"AccessKeyId\", "
                            "\"SecretAccessKey\", \"AccountId\", \"Principal\", "
                            "\"Policy\"}, ...]}",
                            cmd->cmd->name, path);
    }
    cJSON_ArrayForEach(c, list)
    {
        if ((msg = acmpca_credential_add(creds, users, c, cmd->pool)) != NULL) {
            return apr_psprintf(cmd->pool, "%s '%s': %s", cmd->cmd->name, path, msg);
        }
    }
    OPENSSL_cleanse(buf, n);
    conf->credentials_file = path;
    conf->credentials = creds;
    conf->users = users;
    return NULL;
}

static const char *cmd_ACMPCAPublicURL(cmd_parms *cmd, void *dc, const char *arg)
{
    char *url = apr_pstrdup(cmd->pool, arg);
    size_t n = strlen(url);
    (void)dc;

    if ((strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || strchr(url, ' ') || n <= 8) {
        return apr_psprintf(cmd->pool, "%s '%s': expected an http:// or https:// URL",
                            cmd->cmd->name, arg);
    }
    while (n > 0 && url[n - 1] == '/') { /* URLs are joined with "/" later */
        url[--n] = '\0';
    }
    acmpca_srv_conf(cmd->server)->public_url = url;
    return NULL;
}

static const char *cmd_ACMPCAMaxBodySize(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    (void)dc;

    if (*end || end == arg || v < 1024 || v > MAX_BODY_LIMIT) {
        return apr_psprintf(cmd->pool, "%s '%s': expected a size in bytes from 1024 to %d",
                            cmd->cmd->name, arg, MAX_BODY_LIMIT);
    }
    acmpca_srv_conf(cmd->server)->max_body = (apr_off_t)v;
    return NULL;
}

/* A whole number (what: "a number", "milliseconds") from min to max, or the error text
 * naming the directive. */
static const char *parse_range(cmd_parms *cmd, const char *arg, const char *what, apr_int64_t min,
                               apr_int64_t max, int *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (*end || end == arg || v < min || v > max) {
        return apr_psprintf(cmd->pool,
                            "%s '%s': expected %s from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, what, min, max);
    }
    *out = (int)v;
    return NULL;
}

static const char *cmd_ACMPCAMaxCertificateAuthorities(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return parse_range(cmd, arg, "a number", 1, 1000000, &acmpca_srv_conf(cmd->server)->max_cas);
}

static const char *cmd_ACMPCAMaxCertificatesPerCA(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return parse_range(cmd, arg, "a number", 1, 1000000000,
                       &acmpca_srv_conf(cmd->server)->max_certs);
}

static const char *cmd_ACMPCACrlSyncTime(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return parse_range(cmd, arg, "milliseconds", 0, 60000,
                       &acmpca_srv_conf(cmd->server)->crl_sync_ms);
}

#define SRV_ONLY RSRC_CONF
static const command_rec acmpca_cmds[] = {
    AP_INIT_TAKE1("ACMPCAStore", cmd_ACMPCAStore, NULL, SRV_ONLY,
                  "Where state lives: sqlite:<path to database file>"),
    AP_INIT_TAKE1("ACMPCARegion", cmd_ACMPCARegion, NULL, SRV_ONLY,
                  "The region of the ARNs this server answers for (default us-east-1)"),
    AP_INIT_TAKE1("ACMPCAAccountId", cmd_ACMPCAAccountId, NULL, SRV_ONLY,
                  "The account ID of callers without credentials (default 123456789012)"),
    AP_INIT_TAKE1("ACMPCAKeyFile", cmd_ACMPCAKeyFile, NULL, SRV_ONLY,
                  "File of 32 random bytes: the key that wraps CA private keys"),
    AP_INIT_TAKE1("ACMPCACredentialsFile", cmd_ACMPCACredentialsFile, NULL, SRV_ONLY,
                  "JSON file of access keys, their secrets, accounts and principals"),
    AP_INIT_TAKE1("ACMPCAAuthentication", acmpca_cmd_authentication, NULL, SRV_ONLY,
                  "How API callers are identified: sigv4 (default with a credentials file), "
                  "httpd (r->user, mapped by the credentials file) or none"),
    AP_INIT_TAKE23("ACMPCAThrottle", acmpca_cmd_throttle, NULL, SRV_ONLY,
                   "<Operation|*> <requests per second> [burst]: a token bucket per account "
                   "and operation (off unless set)"),
    AP_INIT_TAKE1("ACMPCAPublicURL", cmd_ACMPCAPublicURL, NULL, SRV_ONLY,
                  "Base URL written into certificates for CRLs and OCSP"),
    AP_INIT_TAKE1("ACMPCAMaxBodySize", cmd_ACMPCAMaxBodySize, NULL, SRV_ONLY,
                  "Largest API request body in bytes (default 4194304)"),
    AP_INIT_TAKE1("ACMPCAMaxCertificateAuthorities", cmd_ACMPCAMaxCertificateAuthorities, NULL,
                  SRV_ONLY, "Most CAs an account may have, deleted ones included (default 200)"),
    AP_INIT_TAKE1("ACMPCAMaxCertificatesPerCA", cmd_ACMPCAMaxCertificatesPerCA, NULL, SRV_ONLY,
                  "Most certificates a CA may issue, revoked ones included (default 1000000)"),
    AP_INIT_TAKE1("ACMPCACrlSyncTime", cmd_ACMPCACrlSyncTime, NULL, SRV_ONLY,
                  "Milliseconds a revocation may wait for its CA's CRL: it rebuilds the CRL "
                  "before it answers while that takes no longer, else a builder thread does "
                  "right after (default 20; 0: always after)"),
    /* The repository, metrics and logging directives (mod_acmpca_pki.c, _status.c). */
    ACMPCA_VISIBLE_CMDS
        /* CRL job and audit report directives (mod_acmpca_routes.c). */
        ACMPCA_ROUTES_CMDS{NULL}};

/* ************************************************************************************
 * Hooks
 */

static void log_to_httpd(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                         apr_pool_t *p, const char *msg, void *baton)
{
    /* Against the request whose pool p is, with its request ID (mod_acmpca_status.c). */
    acmpca_glue_log(file, line, (int)level, rv, p, msg, baton);
}

static const char *default_public_url(server_rec *s, apr_pool_t *p)
{
    apr_port_t port = s->port ? s->port : (s->addrs ? s->addrs->host_port : 80);
    return apr_psprintf(p, "http://%s:%u", s->server_hostname ? s->server_hostname : "localhost",
                        (unsigned)port);
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *base)
{
    long uid = -1, gid = -1;
    server_rec *s;
    apr_status_t rv;
    (void)plog;
    (void)ptemp;

    acmpca_log_set(log_to_httpd, (acmpca_log_level_t)base->log.level, base);
    if (geteuid() == 0) { /* the workers, not root, write the store */
        uid = (long)ap_unixd_config.user_id;
        gid = (long)ap_unixd_config.group_id;
    }
    for (s = base; s; s = s->next) {
        acmpca_srv_conf_t *conf = acmpca_srv_conf(s);
        if (!conf->store) {
            continue;
        }
        if (!conf->kek) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "ACMPCA0001: ACMPCAStore is set for %s but ACMPCAKeyFile is not: CA "
                         "keys cannot be stored without a key-encryption key",
                         s->server_hostname);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* Each store opens once, whatever number of virtual hosts share it. */
        if (!s->is_virtual || conf->store != acmpca_srv_conf(base)->store) {
            rv = conf->store->provider->open(conf->store, uid, gid, pconf);
            if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                             "ACMPCA0002: ACMPCAStore %s: cannot open the store",
                             acmpca_store_redact(conf->store_spec, ptemp));
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        conf->env.store = conf->store;
        conf->env.region = conf->region ? conf->region : DEFAULT_REGION;
        conf->env.account = conf->account ? conf->account : DEFAULT_ACCOUNT;
        conf->env.kek = conf->kek;
        conf->env.public_url = conf->public_url ? conf->public_url : default_public_url(s, pconf);
        conf->env.max_cas = conf->max_cas > 0 ? conf->max_cas : DEFAULT_MAX_CAS;
        conf->env.max_certs_per_ca = conf->max_certs > 0 ? conf->max_certs : DEFAULT_MAX_CERTS;
        /* env: 0 is the default, a negative value "never before the answer". */
        conf->env.crl_sync_time = conf->crl_sync_ms < 0    ? 0
                                  : conf->crl_sync_ms == 0 ? -1
                                                           : apr_time_from_msec(conf->crl_sync_ms);
        if (conf->max_body < 0) {
            conf->max_body = DEFAULT_MAX_BODY;
        }
    }
    return acmpca_auth_post_config(pconf, base);
}

/* The child's unwrapped CA keys and derived SigV4 signing keys are freed (and cleansed)
 * when the child exits; the caches themselves stay, as a watchdog thread may still be
 * inside them. */
static apr_status_t release_ca_cache(void *data)
{
    (void)data;
    acmpca_ca_cache_clear();
    acmpca_sigv4_keys_clear();
    return APR_SUCCESS;
}

static void child_init(apr_pool_t *pchild, server_rec *base)
{
    server_rec *s;

    apr_pool_cleanup_register(pchild, NULL, release_ca_cache, apr_pool_cleanup_null);

    acmpca_auth_child_init(pchild, base);
    for (s = base; s; s = s->next) {
        acmpca_srv_conf_t *conf = acmpca_srv_conf(s);
        if (conf->store && (!s->is_virtual || conf->store != acmpca_srv_conf(base)->store)) {
            apr_status_t rv = conf->store->provider->attach(conf->store, pchild);
            if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                             "ACMPCA0003: attaching to the store %s failed",
                             acmpca_store_redact(conf->store_spec, pchild));
            }
        }
    }
}

/* ************************************************************************************
 * The handler
 */

/* A body up to this size is written at once (FLUSH), in the handler: it fits in the
 * socket's send buffer (tcp_wmem's default 16 KiB), so the write does not wait for the
 * client. Left to the core, a small body waits in the output filter until the request
 * is over and is written just before httpd looks for the client's next request, which
 * by then cannot have arrived: the connection goes back to the listener thread and the
 * next request comes to a worker through it, two thread hand-offs per request (+40 to
 * +80 % on GetCertificate and the small CRL, `make profile PROFILE_TOOL=wrk`). A larger
 * body keeps the core's asynchronous write completion, which frees the worker. */
#define FLUSH_AT_ONCE_MAX (16 * 1024)

int acmpca_send_body(request_rec *r, apr_bucket *body, apr_size_t len)
{
    apr_bucket_alloc_t *ba = r->connection->bucket_alloc;
    apr_bucket_brigade *bb;

    ap_set_content_length(r, (apr_off_t)len);
    if (r->header_only) {
        apr_bucket_destroy(body);
        return OK;
    }
    bb = apr_brigade_create(r->pool, ba);
    APR_BRIGADE_INSERT_TAIL(bb, body);
    if (len <= FLUSH_AT_ONCE_MAX) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(ba));
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(ba));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS ? OK : AP_FILTER_ERROR;
}

static int send_reply(request_rec *r, const acmpca_reply_t *reply, const char *request_id)
{
    r->status = reply->status;
    ap_set_content_type(r, JSON_CONTENT_TYPE);
    apr_table_setn(r->headers_out, "x-amzn-RequestId", request_id);
    if (reply->error_type) {
        apr_table_setn(r->err_headers_out, "x-amzn-ErrorType", reply->error_type);
    }
    /* Transient: the body may be a cached answer that lives only as long as this
     * request holds it; the core output filter copies what it keeps past the request. */
    return acmpca_send_body(
        r, apr_bucket_transient_create(reply->body, reply->body_len, r->connection->bucket_alloc),
        reply->body_len);
}

static int send_error(request_rec *r, acmpca_errtype_t type, const char *message,
                      const char *request_id)
{
    acmpca_err_t err = {type, message, APR_SUCCESS};
    acmpca_reply_t reply = {0};

    acmpca_ops_error_reply(&reply, &err, r->pool);
    return send_reply(r, &reply, request_id);
}

/* Read the whole body, refusing more than max bytes. */
static apr_status_t read_body(const char **pbody, apr_size_t *plen, request_rec *r, apr_off_t max)
{
    apr_size_t cap = 8192, len = 0;
    char *buf;
    long n;

    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
        return APR_EGENERAL;
    }
    if (r->remaining > max) {
        return APR_ENOSPC;
    }
    if (r->remaining > 0) {
        cap = (apr_size_t)r->remaining + 1;
    }
    buf = apr_palloc(r->pool, cap);
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + len, cap - len)) > 0) {
            len += (apr_size_t)n;
            if ((apr_off_t)len > max) {
                return APR_ENOSPC;
            }
            if (len == cap) { /* chunked: grow */
                char *bigger = apr_palloc(r->pool, cap * 2);
                memcpy(bigger, buf, len);
                buf = bigger;
                cap *= 2;
            }
        }
        if (n < 0) {
            return APR_EGENERAL;
        }
    }
    *pbody = buf;
    *plen = len;
    return APR_SUCCESS;
}

static int api_request(request_rec *r, acmpca_srv_conf_t *conf, const char *request_id)
{
    acmpca_call_t call = {0};
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_reply_t reply;
    apr_status_t rv;

    rv = read_body(&call.body, &call.body_len, r, conf->max_body);
    if (rv == APR_ENOSPC) {
        r->connection->keepalive = AP_CONN_CLOSE; /* the rest of the body is not read */
        return send_error(r, ACMPCA_ERR_REQUEST_TOO_LARGE,
                          apr_psprintf(r->pool,
                                       "The request body is larger than %" APR_OFF_T_FMT " bytes.",
                                       conf->max_body),
                          request_id);
    }
    if (rv != APR_SUCCESS) {
        return send_error(r, ACMPCA_ERR_SERIALIZATION, "The request body could not be read.",
                          request_id);
    }
    call.env = &conf->env;
    call.target = apr_table_get(r->headers_in, "X-Amz-Target");
    call.request_id = request_id;
    call.now = apr_time_now();
    /* Who calls, whether they may, and how fast: before anything else (PCA-API §1.5). */
    if (acmpca_auth_request(&call, r, conf, &err) != APR_SUCCESS) {
        reply.operation = NULL;
        acmpca_ops_error_reply(&reply, &err, r->pool);
        return send_reply(r, &reply, request_id);
    }
    acmpca_ops_call(&reply, &call, r->pool);
    acmpca_status_record(r, &call, &reply); /* principal and CA for logs (_status.c) */
    if (reply.operation) {
        apr_table_setn(r->notes, "acmpca-operation", reply.operation);
    }
    return send_reply(r, &reply, request_id);
}

static int acmpca_handler(request_rec *r)
{
    acmpca_srv_conf_t *conf;
    const char *request_id;

    if (!r->handler || strcmp(r->handler, HANDLER_NAME)) {
        return DECLINED;
    }
    conf = acmpca_srv_conf(r->server);
    if (!conf->store) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "ACMPCA0004: SetHandler acmpca on a server without ACMPCAStore");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    request_id = acmpca_request_id(r->pool);
    apr_table_setn(r->subprocess_env, "ACMPCA_REQUEST_ID", request_id);
    if (r->method_number == M_POST) {
        return api_request(r, conf, request_id);
    }
    if (r->method_number == M_GET) { /* and HEAD: CRLs, objects, OCSP (_routes.c) */
        return acmpca_routes_handle(r, conf, request_id);
    }
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    return HTTP_METHOD_NOT_ALLOWED;
}

/* ************************************************************************************
 * Requests that are not files
 *
 * The API, the CRLs and OCSP live under a <Location> with SetHandler acmpca: no file
 * stands behind them. Like mod_proxy, skip core's map_to_storage for such requests, so
 * that no directory walk stats the document root and looks for .htaccess files (four
 * failed opens per request on a default config). The <Location> sections still apply:
 * httpd walks them again after map_to_storage. <Directory> and <Files> do not.
 */

/* translate_name, before any other: the location walk just made tells whether the
 * handler will be ours. Remember the URI it was decided for. */
static int note_handler_location(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *handler, *err = NULL;

    if (!d->expr_handler || r->main || !acmpca_srv_conf(r->server)->store) {
        return DECLINED;
    }
    handler = ap_expr_str_exec(r, d->expr_handler, &err);
    if (!err && handler && !strcmp(handler, HANDLER_NAME)) {
        ap_set_module_config(r->request_config, &acmpca_module, r->uri);
    }
    return DECLINED;
}

/* map_to_storage: done, unless a translate_name hook (mod_alias, mod_rewrite) moved
 * the request elsewhere, which then gets the ordinary walk. */
static int skip_storage(request_rec *r)
{
    const char *uri = ap_get_module_config(r->request_config, &acmpca_module);

    return uri && !strcmp(uri, r->uri) ? OK : DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(acmpca_auth_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(note_handler_location, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(skip_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(acmpca_handler, NULL, NULL, APR_HOOK_MIDDLE);
    acmpca_pki_register_hooks(p);    /* the repository at /pki/ (mod_acmpca_pki.c) */
    acmpca_status_register_hooks(p); /* counters, status, metrics, log lines (_status.c) */
    acmpca_routes_register_hooks(p); /* GET routes, OCSP, the CRL job (_routes.c) */
}

AP_DECLARE_MODULE(acmpca) = {STANDARD20_MODULE_STUFF,
                             NULL,            /* per-directory config */
                             NULL,            /* merge per-directory */
                             create_srv_conf, /* per-server config */
                             merge_srv_conf,  /* merge per-server */
                             acmpca_cmds,     /* directives */
                             register_hooks,  /* hooks */
                             AP_MODULE_FLAG_NONE};
