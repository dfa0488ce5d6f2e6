/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The public PKI repository at /pki/ of every server with SetHandler acmpca: the page
 * (htdocs/, read into memory at startup), its JSON feed /pki/cas.json and the CA
 * certificate downloads /pki/ca/<id>.{pem,der} and <id>-chain.{pem,p7c}. Off unless
 * ACMPCAPublicRepository says which CAs are public. */
#include <string.h>
#include <strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_md5.h>
#include <apr_strings.h>

#include "acmpca/pki.h"
#include "acmpca/util.h"
#include "mod_acmpca.h"

APLOG_USE_MODULE(acmpca);

#define HANDLER_NAME    "acmpca"
#define PKI_PREFIX      "/pki"
#define DEFAULT_HTDOCS  "/usr/share/mod_acmpca/htdocs"
#define HTDOCS_MAX_FILE (1024 * 1024)
#define HTDOCS_MAX      64

/* Nothing on the page comes from elsewhere; no inline script or style either. */
#define PAGE_CSP                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* ************************************************************************************
 * Configuration
 */

static const acmpca_visible_conf_t visible_defaults = {{0, NULL, NULL, NULL}, 0, NULL, -1};

const acmpca_visible_conf_t *acmpca_visible_conf(server_rec *s)
{
    const acmpca_srv_conf_t *conf = acmpca_srv_conf(s);
    return conf && conf->visible ? conf->visible : &visible_defaults;
}

static acmpca_visible_conf_t *visible_for_cmd(cmd_parms *cmd)
{
    acmpca_srv_conf_t *conf = acmpca_srv_conf(cmd->server);
    if (!conf->visible) {
        conf->visible = apr_pmemdup(cmd->pool, &visible_defaults, sizeof(visible_defaults));
    }
    return conf->visible;
}

acmpca_visible_conf_t *acmpca_visible_merge(apr_pool_t *p, const acmpca_visible_conf_t *base,
                                            const acmpca_visible_conf_t *add)
{
    acmpca_visible_conf_t *conf;

    if (!base || !add) {
        return (acmpca_visible_conf_t *)(add ? add : base);
    }
    conf = apr_pmemdup(p, add, sizeof(*add));
    if (!add->repository_set) {
        conf->repository = base->repository;
        conf->repository_set = base->repository_set;
    }
    conf->htdocs = add->htdocs ? add->htdocs : base->htdocs;
    conf->metrics = add->metrics >= 0 ? add->metrics : base->metrics;
    return conf;
}

const char *acmpca_cmd_public_repository(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    acmpca_visible_conf_t *v = visible_for_cmd(cmd);
    const char *msg;
    (void)dc;

    if (argc < 1) {
        return apr_psprintf(cmd->pool, "%s needs an argument", cmd->cmd->name);
    }
    if ((msg = acmpca_pki_filter_parse(&v->repository, argc, argv, cmd->pool)) != NULL) {
        return apr_psprintf(cmd->pool, "%s %s", cmd->cmd->name, msg);
    }
    v->repository_set = 1;
    return NULL;
}

const char *acmpca_cmd_htdocs(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    visible_for_cmd(cmd)->htdocs = ap_server_root_relative(cmd->pool, arg);
    return NULL;
}

/* The Prometheus endpoint (mod_acmpca_status.c) is configured here with the rest. */
const char *acmpca_cmd_metrics(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    visible_for_cmd(cmd)->metrics = flag ? 1 : 0;
    return NULL;
}

/* ************************************************************************************
 * The page's files, read at startup
 *
 * post_config runs as root, so the directory need not be readable by the httpd User
 * (a checkout under /root, Apache::Test's tree); the files are small and served from
 * memory. A graceful restart reads them again.
 */

typedef struct htfile_t {
    const char *data;
    apr_size_t len;
    apr_time_t mtime;
    const char *etag;
    const char *content_type;
} htfile_t;

static apr_hash_t *htdocs_by_dir; /* directory -> apr_hash_t of name -> htfile_t, in pconf */

static const char *content_type_of(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    size_t i;

    for (i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
        if (!strcasecmp(dot, types[i][0])) {
            return types[i][1];
        }
    }
    return NULL;
}

/* Flat names only: no path separator, no dot file, nothing to escape. */
static int safe_name(const char *name)
{
    return name[0] && name[0] != '.'
           && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
                  == strlen(name);
}

static const char *etag_of(const void *data, apr_size_t len, apr_pool_t *p)
{
    unsigned char md5[APR_MD5_DIGESTSIZE];

    apr_md5(md5, data, len);
    return apr_pstrcat(p, "\"", acmpca_hex(md5, 12, 0, p), "\"", NULL);
}

static apr_hash_t *htdocs_load(const char *dir, server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    apr_hash_t *files = apr_hash_make(pconf);
    apr_finfo_t fi;
    apr_dir_t *d;
    apr_status_t rv;
    int n = 0;

    if ((rv = apr_dir_open(&d, dir, ptemp)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "ACMPCA0801: the repository page's directory %s cannot be read (set "
                     "ACMPCAHtdocs); /pki/ serves only cas.json and the downloads",
                     dir);
        return files;
    }
    while (apr_dir_read(&fi, APR_FINFO_TYPE | APR_FINFO_NAME | APR_FINFO_SIZE | APR_FINFO_MTIME, d)
           == APR_SUCCESS) {
        const char *path, *type = content_type_of(fi.name);
        htfile_t *f;
        apr_file_t *fh;
        apr_size_t len;
        char *buf;

        if (fi.filetype != APR_REG || !safe_name(fi.name) || !type || fi.size > HTDOCS_MAX_FILE) {
            continue;
        }
        if (++n > HTDOCS_MAX) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "ACMPCA0802: %s holds more than %d files; the rest are not served", dir,
                         HTDOCS_MAX);
            break;
        }
        path = apr_pstrcat(ptemp, dir, "/", fi.name, NULL);
        len = (apr_size_t)fi.size;
        buf = apr_palloc(pconf, len + 1);
        rv = apr_file_open(&fh, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, ptemp);
        if (rv == APR_SUCCESS) {
            rv = apr_file_read_full(fh, buf, len, &len);
            apr_file_close(fh);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "ACMPCA0803: cannot read %s", path);
            continue;
        }
        f = apr_pcalloc(pconf, sizeof(*f));
        f->data = buf;
        f->len = len;
        f->mtime = fi.mtime;
        f->etag = etag_of(buf, len, pconf);
        f->content_type = type;
        apr_hash_set(files, apr_pstrdup(pconf, fi.name), APR_HASH_KEY_STRING, f);
    }
    apr_dir_close(d);
    return files;
}

static const char *htdocs_dir(server_rec *s)
{
    const char *dir = acmpca_visible_conf(s)->htdocs;
    return dir ? dir : DEFAULT_HTDOCS;
}

static int pki_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *base)
{
    server_rec *s;
    (void)plog;

    htdocs_by_dir = apr_hash_make(pconf);
    for (s = base; s; s = s->next) {
        const char *dir = htdocs_dir(s);
        if (acmpca_visible_conf(s)->repository.enabled
            && !apr_hash_get(htdocs_by_dir, dir, APR_HASH_KEY_STRING)) {
            apr_hash_set(htdocs_by_dir, dir, APR_HASH_KEY_STRING,
                         htdocs_load(dir, s, pconf, ptemp));
        }
    }
    return OK;
}

/* ************************************************************************************
 * Responses
 */

static void common_headers(request_rec *r, const char *request_id)
{
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "x-amzn-RequestId", request_id);
}

/* Send bytes with validators; answers 304 to a matching conditional request. */
static int send_bytes(request_rec *r, const void *data, apr_size_t len, const char *type,
                      const char *etag, apr_time_t mtime, const char *cache_control)
{
    int rc;

    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "ETag", etag);
    apr_table_setn(r->headers_out, "Cache-Control", cache_control);
    if (mtime) {
        ap_update_mtime(r, mtime);
        ap_set_last_modified(r);
    }
    if ((rc = ap_meets_conditions(r)) != OK) {
        return rc;
    }
    /* Transient: data may be the page files' memory or a pool's. */
    return acmpca_send_body(r, apr_bucket_transient_create(data, len, r->connection->bucket_alloc),
                            len);
}

static int store_failed(request_rec *r, apr_status_t rv, const char *what, const char *request_id)
{
    acmpca_status_store_error();
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  "ACMPCA0804: request %s: repository: %s failed: the store did not answer",
                  request_id, what);
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    return HTTP_SERVICE_UNAVAILABLE;
}

static acmpca_pki_env_t pki_env(request_rec *r, const acmpca_srv_conf_t *conf)
{
    acmpca_pki_env_t env;

    env.store = conf->store;
    env.filter = &acmpca_visible_conf(r->server)->repository;
    env.public_url = conf->env.public_url;
    env.max_cas = 0;
    return env;
}

static int serve_feed(request_rec *r, const acmpca_srv_conf_t *conf, const char *request_id)
{
    acmpca_pki_env_t env = pki_env(r, conf);
    const char *json;
    apr_size_t len;
    apr_status_t rv;

    rv = acmpca_pki_feed(&json, &len, &env, apr_time_now(), r->pool);
    if (rv != APR_SUCCESS) {
        return store_failed(r, rv, "listing the certificate authorities", request_id);
    }
    /* Public data: any page may read it. Revalidated on every use (no-cache): a CA
     * that is disabled or gets a new CRL shows at once. */
    apr_table_setn(r->headers_out, "Access-Control-Allow-Origin", "*");
    return send_bytes(r, json, len, "application/json", etag_of(json, len, r->pool), 0, "no-cache");
}

static int serve_download(request_rec *r, const acmpca_srv_conf_t *conf, const char *name,
                          const char *request_id)
{
    acmpca_pki_env_t env = pki_env(r, conf);
    const unsigned char *data;
    const char *type;
    apr_size_t len;
    apr_status_t rv;

    rv = acmpca_pki_file(&data, &len, &type, &env, name, apr_time_now(), r->pool);
    if (rv == APR_NOTFOUND) {
        return HTTP_NOT_FOUND;
    }
    if (rv != APR_SUCCESS) {
        return store_failed(r, rv, "reading a CA certificate", request_id);
    }
    apr_table_setn(r->headers_out, "Access-Control-Allow-Origin", "*");
    apr_table_setn(r->headers_out, "Content-Disposition",
                   apr_psprintf(r->pool, "attachment; filename=\"%s\"", name));
    return send_bytes(r, data, len, type, etag_of(data, len, r->pool), 0, "max-age=300");
}

static int serve_static(request_rec *r, const char *name)
{
    apr_hash_t *files =
        htdocs_by_dir ? apr_hash_get(htdocs_by_dir, htdocs_dir(r->server), APR_HASH_KEY_STRING)
                      : NULL;
    const htfile_t *f;

    if (!safe_name(name) || !files || !(f = apr_hash_get(files, name, APR_HASH_KEY_STRING))) {
        return HTTP_NOT_FOUND;
    }
    if (!strncmp(f->content_type, "text/html", 9)) {
        apr_table_setn(r->headers_out, "Content-Security-Policy", PAGE_CSP);
        apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    }
    return send_bytes(r, f->data, f->len, f->content_type, f->etag, f->mtime, "no-cache");
}

/* Runs before the API handler: claims /pki and below on servers whose repository is on,
 * declines everything else (the path is then an ordinary object key again). */
static int pki_handler(request_rec *r)
{
    const acmpca_srv_conf_t *conf;
    const char *rest, *request_id;

    if (!r->handler || strcmp(r->handler, HANDLER_NAME) || strncmp(r->uri, PKI_PREFIX, 4)
        || (r->uri[4] != '\0' && r->uri[4] != '/')
        || !acmpca_visible_conf(r->server)->repository.enabled
        || !(conf = acmpca_srv_conf(r->server))->store) {
        return DECLINED;
    }
    request_id = acmpca_uuid(r->pool);
    apr_table_setn(r->subprocess_env, "ACMPCA_REQUEST_ID", request_id);
    apr_table_setn(r->notes, "acmpca-pki", "1"); /* not an API request (_status.c) */
    common_headers(r, request_id);
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (r->uri[4] == '\0') {
        apr_table_setn(r->headers_out, "Location", ap_construct_url(r->pool, "/pki/", r));
        return HTTP_MOVED_PERMANENTLY;
    }
    rest = r->uri + 5;
    if (!*rest) {
        return serve_static(r, "index.html");
    }
    if (!strcmp(rest, "cas.json")) {
        return serve_feed(r, conf, request_id);
    }
    if (!strncmp(rest, "ca/", 3)) {
        return serve_download(r, conf, rest + 3, request_id);
    }
    return serve_static(r, rest);
}

void acmpca_pki_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(pki_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pki_handler, NULL, NULL, APR_HOOK_FIRST);
}
