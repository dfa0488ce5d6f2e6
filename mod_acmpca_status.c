/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * What operators see: counters of the API in shared memory, a section on mod_status's
 * server-status (and lines in ?auto), a Prometheus text endpoint (SetHandler
 * acmpca-metrics with ACMPCAMetrics on), the request ID on every log line about a
 * request and one info line per operation. */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_optional_hooks.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "acmpca/err.h"
#include "acmpca/model.h"
#include "acmpca/pki.h"
#include "mod_acmpca.h"

APLOG_USE_MODULE(acmpca);

/* ************************************************************************************
 * For operators
 *
 *   ACMPCAMetrics on                       # per server; off by default
 *   <Location /metrics>
 *       SetHandler acmpca-metrics          # Prometheus text format 0.0.4
 *       Require ip 127.0.0.1               # counters and CA ids: not for everyone
 *   </Location>
 *
 * mod_status (if loaded) shows a mod_acmpca section on server-status and ACMPCA* lines
 * in server-status?auto; the counters are the same, server-wide.
 *
 * Every API request has an x-amzn-RequestId, also in the environment as
 * ACMPCA_REQUEST_ID and as the request's log ID, so that
 *   LogFormat "%h %t \"%r\" %>s %{ACMPCA_REQUEST_ID}e %{acmpca-outcome}n" acmpca
 *   ErrorLogFormat "[%{u}t] [%-m:%l] [pid %P] [client\ %a] [request\ %{ACMPCA_REQUEST_ID}e] %M"
 * put it on every access and error log line of the request (%L works as well). The
 * notes acmpca-operation, acmpca-outcome (Success or the AWS error type),
 * acmpca-principal and acmpca-ca are set for LogFormat's %{...}n. With the default
 * ErrorLogFormat the module's own lines about a request name it in their text, and at
 * LogLevel info each API request has one line:
 *   ACMPCA0800: request <id>: principal=<arn|-> operation=<name> ca=<arn|->
 *               outcome=<Success|error type> status=<http> duration_ms=<ms>
 */

#define HANDLER_API     "acmpca"
#define HANDLER_METRICS "acmpca-metrics"
#define TARGET_PREFIX   "ACMPrivateCA."
#define REQUEST_ID_ENV  "ACMPCA_REQUEST_ID"
#define POOL_KEY_R      "acmpca:request_rec"
#define SHM_KEY         "acmpca:metrics-shm"
#define SHM_FILE        "acmpca-metrics.shm"

/* ************************************************************************************
 * The counters in shared memory
 *
 * One segment for the whole server, created in post_config in the process pool (so it
 * outlives graceful restarts and Prometheus sees no reset) and inherited by every child
 * across fork. It holds only integers at fixed offsets, never a pointer: each process
 * may map it at another address. Every update is one apr_atomic_add64, so counts are
 * exact under prefork, worker and event alike without a lock; a reader may see one
 * request's counters half-updated, which the next scrape corrects.
 *
 *   offset                          size              contents (all apr_uint64_t)
 *   0                               64                header: magic "ACMPCAm1", then
 *                                                       u32 version, u32 n_ops,
 *                                                       u32 n_outcomes, u32 n_buckets,
 *                                                       u64 size, u64 created (usec)
 *   64                              8 * 8             globals: [0] certificates issued,
 *                                                       [1] revoked, [2] store errors,
 *                                                       [3] throttled, [4..7] reserved
 *   REQ = 128                       8 * O * E         requests[op][outcome]
 *   LAT = REQ + 8*O*E               8 * O * B         latency[op][bucket], not cumulative
 *   SUM = LAT + 8*O*B               8 * O             latency_sum_usec[op]
 *   END = SUM + 8*O
 *
 *   O = operations of the model + 1 ("unknown": a target we do not know), model order
 *   E = outcomes: [0] Success, [1..ACMPCA_ERR_COUNT-1] the AWS error types in
 *       acmpca_errtype_t order, [ACMPCA_ERR_COUNT] any other __type
 *   B = latency buckets: the bounds below, then +Inf
 *
 * With the 23 operations and 33 error types of today: O = 24, E = 34, B = 14, so
 * LAT = 6656, SUM = 9344, END = 9536 bytes. The header records O, E and B: a module
 * with another layout, loaded by a graceful restart, makes a new segment.
 */

#define SHM_MAGIC   APR_UINT64_C(0x316d414350434d41) /* "ACMPCAm1" little-endian */
#define SHM_VERSION 1
#define HDR_SIZE    64
#define N_GLOBALS   8
#define G_ISSUED    0
#define G_REVOKED   1
#define G_STORE_ERR 2
#define G_THROTTLED 3

/* Upper bounds of the latency buckets, in microseconds and as Prometheus' "le" labels
 * (its default buckets, from 1 ms). */
static const apr_uint64_t bucket_usec[] = {1000,    2500,    5000,    10000,  25000,
                                           50000,   100000,  250000,  500000, 1000000,
                                           2500000, 5000000, 10000000};
static const char *const bucket_le[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                                        "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};
#define N_BOUNDS (sizeof(bucket_usec) / sizeof(bucket_usec[0]))

typedef struct shm_header_t {
    apr_uint64_t magic;
    apr_uint32_t version;
    apr_uint32_t n_ops;
    apr_uint32_t n_outcomes;
    apr_uint32_t n_buckets;
    apr_uint64_t size;
    apr_uint64_t created;
} shm_header_t;

typedef struct layout_t {
    apr_size_t n_ops, n_outcomes, n_buckets;
    apr_size_t globals, req, lat, sum, end; /* offsets */
} layout_t;

static layout_t L;
static apr_shm_t *metrics_shm;
static char *metrics_base; /* this process's mapping; NULL: no counters */

static void layout_compute(layout_t *l)
{
    l->n_ops = (apr_size_t)acmpca_model_n_ops + 1;
    l->n_outcomes = ACMPCA_ERR_COUNT + 1;
    l->n_buckets = N_BOUNDS + 1;
    l->globals = HDR_SIZE;
    l->req = l->globals + 8 * N_GLOBALS;
    l->lat = l->req + 8 * l->n_ops * l->n_outcomes;
    l->sum = l->lat + 8 * l->n_ops * l->n_buckets;
    l->end = l->sum + 8 * l->n_ops;
}

static volatile apr_uint64_t *slot(apr_size_t offset)
{
    return (volatile apr_uint64_t *)(void *)(metrics_base + offset);
}

#define GLOBAL(i)     slot(L.globals + 8 * (i))
#define REQ(op, o)    slot(L.req + 8 * ((op)*L.n_outcomes + (o)))
#define LAT(op, b)    slot(L.lat + 8 * ((op)*L.n_buckets + (b)))
#define LAT_SUM(op)   slot(L.sum + 8 * (op))
#define READ(counter) apr_atomic_read64(counter)

static int header_matches(const shm_header_t *h)
{
    return h->magic == SHM_MAGIC && h->version == SHM_VERSION && h->n_ops == L.n_ops
           && h->n_outcomes == L.n_outcomes && h->n_buckets == L.n_buckets && h->size == L.end;
}

static apr_status_t shm_make(apr_shm_t **pshm, server_rec *s, apr_pool_t *pproc)
{
    const char *fname;
    shm_header_t *h;
    apr_status_t rv;

    /* Anonymous shared memory where the platform has it (Linux); else a file in the
     * runtime directory, removed first in case a crashed server left it. */
    rv = apr_shm_create(pshm, L.end, NULL, pproc);
    if (rv == APR_ENOTIMPL) {
        fname = ap_runtime_dir_relative(pproc, SHM_FILE);
        apr_shm_remove(fname, pproc);
        rv = apr_shm_create(pshm, L.end, fname, pproc);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "ACMPCA0810: cannot create %" APR_SIZE_T_FMT " bytes of shared memory "
                     "for the counters; status and metrics show none",
                     L.end);
        return rv;
    }
    h = apr_shm_baseaddr_get(*pshm);
    memset(h, 0, L.end);
    h->magic = SHM_MAGIC;
    h->version = SHM_VERSION;
    h->n_ops = (apr_uint32_t)L.n_ops;
    h->n_outcomes = (apr_uint32_t)L.n_outcomes;
    h->n_buckets = (apr_uint32_t)L.n_buckets;
    h->size = L.end;
    h->created = (apr_uint64_t)apr_time_now();
    return APR_SUCCESS;
}

static int status_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    void *data = NULL;
    (void)pconf;
    (void)plog;
    (void)ptemp;

    layout_compute(&L);
    metrics_base = NULL;
    apr_pool_userdata_get(&data, SHM_KEY, pproc);
    metrics_shm = data;
    if (metrics_shm && !header_matches(apr_shm_baseaddr_get(metrics_shm))) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "ACMPCA0811: the counters' layout changed; counting from zero");
        metrics_shm = NULL;
    }
    if (!metrics_shm) {
        if (shm_make(&metrics_shm, s, pproc) != APR_SUCCESS) {
            metrics_shm = NULL;
            return OK; /* the API works without counters */
        }
        apr_pool_userdata_set(metrics_shm, SHM_KEY, apr_pool_cleanup_null, pproc);
    }
    metrics_base = apr_shm_baseaddr_get(metrics_shm);
    return OK;
}

/* The children inherit the mapping across fork, anonymous or file-backed alike, so
 * attaching is taking its address in this process; a header that does not match
 * (which would mean memory was overwritten) turns the counters off rather than
 * writing at wrong offsets. */
static void status_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    if (!metrics_shm) {
        metrics_base = NULL;
        return;
    }
    metrics_base = apr_shm_baseaddr_get(metrics_shm);
    if (!header_matches((const shm_header_t *)(void *)metrics_base)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "ACMPCA0812: the counters' shared memory is damaged; not counting");
        metrics_base = NULL;
    }
}

void acmpca_status_store_error(void)
{
    if (metrics_base) {
        apr_atomic_add64(GLOBAL(G_STORE_ERR), 1);
    }
}

/* ************************************************************************************
 * Indexes
 */

static const char *op_name(apr_size_t op)
{
    return op < (apr_size_t)acmpca_model_n_ops ? acmpca_model_ops[op].name : "unknown";
}

static apr_size_t op_index(const char *name)
{
    int i;
    for (i = 0; name && i < acmpca_model_n_ops; i++) {
        if (!strcmp(acmpca_model_ops[i].name, name)) {
            return (apr_size_t)i;
        }
    }
    return (apr_size_t)acmpca_model_n_ops;
}

static const char *outcome_name(apr_size_t o)
{
    return o == 0                 ? "Success"
           : o < ACMPCA_ERR_COUNT ? acmpca_err_name((acmpca_errtype_t)o)
                                  : "Other";
}

static apr_size_t outcome_index(const char *error_type, int status)
{
    int i;

    if (!error_type) {
        return status >= 200 && status < 300 ? 0
               : status >= 500               ? ACMPCA_ERR_INTERNAL
                                             : ACMPCA_ERR_COUNT;
    }
    for (i = 1; i < ACMPCA_ERR_COUNT; i++) {
        if (!strcmp(acmpca_err_name((acmpca_errtype_t)i), error_type)) {
            return (apr_size_t)i;
        }
    }
    return ACMPCA_ERR_COUNT;
}

static apr_size_t bucket_index(apr_uint64_t usec)
{
    apr_size_t b;
    for (b = 0; b < N_BOUNDS && usec > bucket_usec[b]; b++)
        ;
    return b;
}

/* ************************************************************************************
 * Request IDs in the logs
 */

/* Remember the request of a pool, so that the core, which logs with the pool it was
 * handed, is logged against its request (client address, request ID). */
static int tag_request(request_rec *r)
{
    if (r->handler && !strcmp(r->handler, HANDLER_API)) {
        apr_pool_userdata_setn(r, POOL_KEY_R, NULL, r->pool);
    }
    return DECLINED;
}

/* Walks up from p: a subpool of the request pool finds it too. Lines logged with a
 * pool of no request (pconf, a connection cache) walk to the root and find nothing. */
static request_rec *request_of(apr_pool_t *p)
{
    void *r = NULL;

    for (; p && !r; p = apr_pool_parent_get(p)) {
        apr_pool_userdata_get(&r, POOL_KEY_R, p);
    }
    return r;
}

void acmpca_glue_log(const char *file, int line, int level, apr_status_t rv, apr_pool_t *p,
                     const char *msg, server_rec *s)
{
    request_rec *r = p ? request_of(p) : NULL;
    const char *id = r ? apr_table_get(r->subprocess_env, REQUEST_ID_ENV) : NULL;

    if (!r) {
        ap_log_error(file, line, APLOG_MODULE_INDEX, level, rv, s, "%s", msg);
    }
    else if (id && !strstr(msg, id)) {
        ap_log_rerror(file, line, APLOG_MODULE_INDEX, level, rv, r, "%s [request %s]", msg, id);
    }
    else {
        ap_log_rerror(file, line, APLOG_MODULE_INDEX, level, rv, r, "%s", msg);
    }
}

/* %L in ErrorLogFormat and LogFormat is the x-amzn-RequestId of API requests. */
static int generate_log_id(const conn_rec *c, const request_rec *r, const char **pid)
{
    const char *id = r ? apr_table_get(r->subprocess_env, REQUEST_ID_ENV) : NULL;
    (void)c;
    if (!id) {
        return DECLINED;
    }
    *pid = id;
    return OK;
}

/* The string value of "CertificateAuthorityArn" in a JSON text, found without parsing
 * it (an ImportCertificateAuthorityCertificate body can be megabytes): NULL when absent
 * or not a plain string. Only ever used for the log line. */
static const char *ca_arn_in(const char *json, apr_size_t len, apr_pool_t *p)
{
    static const char key[] = "\"CertificateAuthorityArn\"";
    const char *end = json + len, *q, *v;

    if (!json || !(q = memmem(json, len, key, sizeof(key) - 1))) {
        return NULL;
    }
    for (q += sizeof(key) - 1; q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r');
         q++)
        ;
    if (q >= end || *q++ != ':') {
        return NULL;
    }
    for (; q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'); q++)
        ;
    if (q >= end || *q++ != '"') {
        return NULL;
    }
    for (v = q; q < end && q - v < 256 && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20; q++)
        ;
    return q < end && *q == '"' && q > v ? apr_pstrndup(p, v, (apr_size_t)(q - v)) : NULL;
}

void acmpca_status_record(request_rec *r, const acmpca_call_t *call, const acmpca_reply_t *reply)
{
    const char *ca = ca_arn_in(call->body, call->body_len, r->pool);

    if (!ca && reply->status == 200) { /* CreateCertificateAuthority names it in the reply */
        ca = ca_arn_in(reply->body, reply->body_len, r->pool);
    }
    if (ca) {
        apr_table_setn(r->notes, "acmpca-ca", ca);
    }
    if (call->caller.principal) {
        apr_table_setn(r->notes, "acmpca-principal", call->caller.principal);
    }
    else if (call->caller.account) {
        apr_table_setn(r->notes, "acmpca-principal",
                       apr_psprintf(r->pool, "arn:aws:iam::%s:root", call->caller.account));
    }
    if (!r->log_id && call->request_id) {
        r->log_id = call->request_id;
    }
}

/* One API request is over: count it and write its line. Runs before mod_log_config so
 * that the notes below are there for LogFormat. */
static int status_log_transaction(request_rec *r)
{
    const char *id = apr_table_get(r->subprocess_env, REQUEST_ID_ENV);
    const char *target, *op, *etype, *principal, *ca;
    apr_size_t opi, oi;
    apr_uint64_t usec;
    apr_time_t now = apr_time_now();

    if (!id || r->main || r->method_number != M_POST || !r->handler
        || strcmp(r->handler, HANDLER_API) || apr_table_get(r->notes, "acmpca-pki")) {
        return DECLINED;
    }
    if (!r->log_id) {
        r->log_id = id;
    }
    op = apr_table_get(r->notes, "acmpca-operation");
    target = apr_table_get(r->headers_in, "X-Amz-Target");
    if (!op && target && !strncmp(target, TARGET_PREFIX, sizeof(TARGET_PREFIX) - 1)) {
        op = target + sizeof(TARGET_PREFIX) - 1; /* refused before dispatch */
    }
    opi = op_index(op);
    if (opi < L.n_ops - 1 && !apr_table_get(r->notes, "acmpca-operation")) {
        apr_table_setn(r->notes, "acmpca-operation", op_name(opi)); /* for LogFormat */
    }
    etype = apr_table_get(r->err_headers_out, "x-amzn-ErrorType");
    if (!etype) {
        etype = apr_table_get(r->headers_out, "x-amzn-ErrorType");
    }
    oi = outcome_index(etype, r->status);
    usec = now > r->request_time ? (apr_uint64_t)(now - r->request_time) : 0;
    apr_table_setn(r->notes, "acmpca-outcome", outcome_name(oi));

    if (metrics_base) {
        apr_atomic_add64(REQ(opi, oi), 1);
        apr_atomic_add64(LAT(opi, bucket_index(usec)), 1);
        apr_atomic_add64(LAT_SUM(opi), usec);
        if (oi == 0 && op && !strcmp(op, "IssueCertificate")) {
            apr_atomic_add64(GLOBAL(G_ISSUED), 1);
        }
        else if (oi == 0 && op && !strcmp(op, "RevokeCertificate")) {
            apr_atomic_add64(GLOBAL(G_REVOKED), 1);
        }
        else if (oi == ACMPCA_ERR_STORE_UNAVAILABLE) {
            apr_atomic_add64(GLOBAL(G_STORE_ERR), 1);
        }
        else if (oi == ACMPCA_ERR_THROTTLING) {
            apr_atomic_add64(GLOBAL(G_THROTTLED), 1);
        }
    }
    principal = apr_table_get(r->notes, "acmpca-principal");
    ca = apr_table_get(r->notes, "acmpca-ca");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "ACMPCA0800: request %s: principal=%s operation=%s ca=%s outcome=%s "
                  "status=%d duration_ms=%.3f",
                  id, principal ? principal : "-", opi < L.n_ops - 1 ? op_name(opi) : "unknown",
                  ca ? ca : "-", outcome_name(oi), r->status, (double)usec / 1000.0);
    return DECLINED;
}

/* ************************************************************************************
 * Reading the counters
 */

typedef struct snapshot_t {
    apr_uint64_t *req;    /* [op][outcome] */
    apr_uint64_t *lat;    /* [op][bucket] */
    apr_uint64_t *sum;    /* [op] usec */
    apr_uint64_t *count;  /* [op] */
    apr_uint64_t *errors; /* [op] */
    apr_uint64_t globals[N_GLOBALS];
    apr_uint64_t total, total_errors, total_usec;
    apr_time_t created;
} snapshot_t;

static int snapshot_take(snapshot_t *sn, apr_pool_t *p)
{
    apr_size_t op, i;

    memset(sn, 0, sizeof(*sn));
    if (!metrics_base) {
        return 0;
    }
    sn->req = apr_pcalloc(p, 8 * L.n_ops * L.n_outcomes);
    sn->lat = apr_pcalloc(p, 8 * L.n_ops * L.n_buckets);
    sn->sum = apr_pcalloc(p, 8 * L.n_ops);
    sn->count = apr_pcalloc(p, 8 * L.n_ops);
    sn->errors = apr_pcalloc(p, 8 * L.n_ops);
    for (i = 0; i < N_GLOBALS; i++) {
        sn->globals[i] = READ(GLOBAL(i));
    }
    for (op = 0; op < L.n_ops; op++) {
        for (i = 0; i < L.n_outcomes; i++) {
            apr_uint64_t v = READ(REQ(op, i));
            sn->req[op * L.n_outcomes + i] = v;
            sn->count[op] += v;
            if (i) {
                sn->errors[op] += v;
            }
        }
        for (i = 0; i < L.n_buckets; i++) {
            sn->lat[op * L.n_buckets + i] = READ(LAT(op, i));
        }
        sn->sum[op] = READ(LAT_SUM(op));
        sn->total += sn->count[op];
        sn->total_errors += sn->errors[op];
        sn->total_usec += sn->sum[op];
    }
    sn->created = (apr_time_t)((const shm_header_t *)(void *)metrics_base)->created;
    return 1;
}

/* ************************************************************************************
 * mod_status: a section on server-status, lines in ?auto
 */

static int status_hook(request_rec *r, int flags)
{
    snapshot_t sn;
    apr_size_t op;

    if (!snapshot_take(&sn, r->pool)) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "ACMPCARequests: %" APR_UINT64_T_FMT "\n", sn.total);
        ap_rprintf(r, "ACMPCAErrors: %" APR_UINT64_T_FMT "\n", sn.total_errors);
        ap_rprintf(r, "ACMPCACertificatesIssued: %" APR_UINT64_T_FMT "\n", sn.globals[G_ISSUED]);
        ap_rprintf(r, "ACMPCACertificatesRevoked: %" APR_UINT64_T_FMT "\n", sn.globals[G_REVOKED]);
        ap_rprintf(r, "ACMPCAStoreErrors: %" APR_UINT64_T_FMT "\n", sn.globals[G_STORE_ERR]);
        ap_rprintf(r, "ACMPCAThrottled: %" APR_UINT64_T_FMT "\n", sn.globals[G_THROTTLED]);
        ap_rprintf(r, "ACMPCAMeanLatencyMs: %.3f\n",
                   sn.total ? (double)sn.total_usec / 1000.0 / (double)sn.total : 0.0);
        for (op = 0; op < L.n_ops; op++) {
            if (sn.count[op]) {
                ap_rprintf(r, "ACMPCARequests%s: %" APR_UINT64_T_FMT "\n", op_name(op),
                           sn.count[op]);
            }
        }
        return OK;
    }
    ap_rputs("<hr />\n<h2 id=\"acmpca\">mod_acmpca</h2>\n", r);
    ap_rprintf(r,
               "<dl>\n<dt>API requests</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
               "<dt>Errors</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
               "<dt>Certificates issued</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
               "<dt>Certificates revoked</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
               "<dt>Store errors</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
               "<dt>Throttled requests</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
               "<dt>Counting since</dt><dd>%s</dd>\n</dl>\n",
               sn.total, sn.total_errors, sn.globals[G_ISSUED], sn.globals[G_REVOKED],
               sn.globals[G_STORE_ERR], sn.globals[G_THROTTLED],
               ap_ht_time(r->pool, sn.created, "%Y-%m-%d %H:%M:%S %Z", 1));
    if (!sn.total || (flags & AP_STATUS_NOTABLE)) {
        return OK;
    }
    ap_rputs("<table>\n<caption>API requests by operation</caption>\n<tr><th scope=\"col\">"
             "Operation</th><th scope=\"col\">Requests</th><th scope=\"col\">Errors</th>"
             "<th scope=\"col\">Mean latency (ms)</th></tr>\n",
             r);
    for (op = 0; op < L.n_ops; op++) {
        if (sn.count[op]) {
            ap_rprintf(r,
                       "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                       "</td><td>%.3f</td></tr>\n",
                       op_name(op), sn.count[op], sn.errors[op],
                       (double)sn.sum[op] / 1000.0 / (double)sn.count[op]);
        }
    }
    ap_rputs("</table>\n", r);
    return OK;
}

/* ************************************************************************************
 * Prometheus text format 0.0.4
 */

static int metrics_enabled(server_rec *s)
{
    return acmpca_visible_conf(s)->metrics == 1;
}

typedef struct crl_render {
    request_rec *r;
    apr_time_t now;
    apr_hash_t *seen;
} crl_render;

static int crl_line(void *baton, const char *ca_id, const acmpca_crl_info_t *info,
                    apr_time_t modified)
{
    crl_render *cr = baton;
    apr_time_t at = info->this_update ? info->this_update : modified;

    if (apr_hash_get(cr->seen, ca_id, APR_HASH_KEY_STRING)) {
        return 0;
    }
    apr_hash_set(cr->seen, apr_pstrdup(cr->r->pool, ca_id), APR_HASH_KEY_STRING, "");
    ap_rprintf(cr->r, "acmpca_crl_age_seconds{ca=\"%s\"} %.3f\n", ca_id,
               (double)(cr->now - at) / (double)APR_USEC_PER_SEC);
    if (info->next_update) {
        ap_rprintf(cr->r, "acmpca_crl_next_update_seconds{ca=\"%s\"} %.3f\n", ca_id,
                   (double)(info->next_update - cr->now) / (double)APR_USEC_PER_SEC);
    }
    ap_rprintf(cr->r, "acmpca_crl_entries{ca=\"%s\"} %" APR_INT64_T_FMT "\n", ca_id, info->entries);
    return 0;
}

/* CRL gauges of every store of the server, each store once however many virtual
 * hosts name it. */
static void render_crls(request_rec *r)
{
    crl_render cr = {r, apr_time_now(), apr_hash_make(r->pool)};
    apr_hash_t *stores = apr_hash_make(r->pool);
    server_rec *s;

    ap_rputs("# HELP acmpca_crl_age_seconds Seconds since the thisUpdate of the CA's "
             "published CRL.\n# TYPE acmpca_crl_age_seconds gauge\n",
             r);
    for (s = ap_server_conf; s; s = s->next) {
        const acmpca_srv_conf_t *conf = acmpca_srv_conf(s);
        apr_status_t rv;
        if (!conf->store || apr_hash_get(stores, conf->store_spec, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(stores, conf->store_spec, APR_HASH_KEY_STRING, "");
        rv = acmpca_pki_crl_each(conf->store, crl_line, &cr, cr.now, r->pool);
        if (rv != APR_SUCCESS) {
            acmpca_status_store_error();
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                          "ACMPCA0813: metrics: reading the CRLs of %s failed", conf->store_spec);
        }
    }
}

static void render_metrics(request_rec *r, const snapshot_t *sn)
{
    apr_size_t op, i;

    ap_rputs("# HELP acmpca_requests_total API requests by operation and outcome (Success "
             "or the AWS error type).\n# TYPE acmpca_requests_total counter\n",
             r);
    for (op = 0; op < L.n_ops; op++) {
        for (i = 0; i < L.n_outcomes; i++) {
            apr_uint64_t v = sn->req[op * L.n_outcomes + i];
            if (v) {
                ap_rprintf(r,
                           "acmpca_requests_total{operation=\"%s\",outcome=\"%s\"} "
                           "%" APR_UINT64_T_FMT "\n",
                           op_name(op), outcome_name(i), v);
            }
        }
    }
    ap_rputs("# HELP acmpca_request_duration_seconds Time from the request line to the "
             "logged response.\n# TYPE acmpca_request_duration_seconds histogram\n",
             r);
    for (op = 0; op < L.n_ops; op++) {
        apr_uint64_t cum = 0;
        if (!sn->count[op]) {
            continue;
        }
        for (i = 0; i < L.n_buckets; i++) {
            cum += sn->lat[op * L.n_buckets + i];
            if (i < N_BOUNDS) {
                ap_rprintf(r,
                           "acmpca_request_duration_seconds_bucket{operation=\"%s\",le=\"%s\"} "
                           "%" APR_UINT64_T_FMT "\n",
                           op_name(op), bucket_le[i], cum);
            }
        }
        ap_rprintf(r,
                   "acmpca_request_duration_seconds_bucket{operation=\"%s\",le=\"+Inf\"} "
                   "%" APR_UINT64_T_FMT "\n"
                   "acmpca_request_duration_seconds_sum{operation=\"%s\"} %.6f\n"
                   "acmpca_request_duration_seconds_count{operation=\"%s\"} %" APR_UINT64_T_FMT
                   "\n",
                   op_name(op), cum, op_name(op), (double)sn->sum[op] / 1e6, op_name(op), cum);
    }
    ap_rprintf(r,
               "# HELP acmpca_certificates_issued_total Certificates issued "
               "(IssueCertificate successes).\n# TYPE acmpca_certificates_issued_total "
               "counter\nacmpca_certificates_issued_total %" APR_UINT64_T_FMT "\n"
               "# HELP acmpca_certificates_revoked_total Certificates revoked "
               "(RevokeCertificate successes).\n# TYPE acmpca_certificates_revoked_total "
               "counter\nacmpca_certificates_revoked_total %" APR_UINT64_T_FMT "\n"
               "# HELP acmpca_store_errors_total Requests the store failed "
               "(ServiceUnavailable) and failed store reads of the repository and metrics.\n"
               "# TYPE acmpca_store_errors_total counter\n"
               "acmpca_store_errors_total %" APR_UINT64_T_FMT "\n"
               "# HELP acmpca_throttled_requests_total Requests refused with "
               "ThrottlingException.\n# TYPE acmpca_throttled_requests_total counter\n"
               "acmpca_throttled_requests_total %" APR_UINT64_T_FMT "\n"
               "# HELP acmpca_counters_start_time_seconds When the counters started.\n"
               "# TYPE acmpca_counters_start_time_seconds gauge\n"
               "acmpca_counters_start_time_seconds %.3f\n",
               sn->globals[G_ISSUED], sn->globals[G_REVOKED], sn->globals[G_STORE_ERR],
               sn->globals[G_THROTTLED], (double)sn->created / (double)APR_USEC_PER_SEC);
    render_crls(r);
}

static int metrics_handler(request_rec *r)
{
    snapshot_t sn;

    if (!r->handler || strcmp(r->handler, HANDLER_METRICS)) {
        return DECLINED;
    }
    if (!metrics_enabled(r->server)) {
        return HTTP_NOT_FOUND; /* off unless configured */
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    if (snapshot_take(&sn, r->pool)) {
        render_metrics(r, &sn);
    }
    return OK;
}

void acmpca_status_register_hooks(apr_pool_t *p)
{
    static const char *const before[] = {"mod_unique_id.c", NULL};
    (void)p;
    ap_hook_post_config(status_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(status_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(tag_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_handler(metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(status_log_transaction, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_generate_log_id(generate_log_id, NULL, before, APR_HOOK_FIRST);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
