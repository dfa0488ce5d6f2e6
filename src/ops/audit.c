/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * CreateCertificateAuthorityAuditReport and DescribeCertificateAuthorityAuditReport
 * (PCA-API.md §5.13, §5.14, §8): one record per certificate the CA issued, with its
 * revocation, streamed from the store into a JSON or CSV object. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/revoke.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define DEFAULT_INTERVAL apr_time_from_sec(30 * 60) /* [AWS] one report per 30 minutes */
/* A report still CREATING after this died with the process that made it: FAILED. */
#define STALE_CREATING apr_time_from_sec(15 * 60)
#define REPORT_PREFIX  "audit-report/"
#define ST_CREATING    "CREATING"
#define ST_SUCCESS     "SUCCESS"
#define ST_FAILED      "FAILED"

#define CSV_HEADER                                                                                 \
    "awsAccountId,requestedByServicePrincipal,certificateArn,serial,subject,notBefore,notAfter,"   \
    "issuedAt,revokedAt,revocationReason,templateArn\r\n"

/* ************************************************************************************
 * The report text: rows are rendered one at a time into a single byte buffer (the
 * store takes an object whole), never as a tree of a million JSON objects.
 */

typedef struct report_t {
    const acmpca_ca_t *ca;
    int csv;
    char *buf;
    apr_size_t len, cap;
    int failed;
    apr_size_t rows;
    apr_pool_t *row_pool; /* cleared for every row */
} report_t;

static apr_status_t buf_cleanup(void *data)
{
    free(data);
    return APR_SUCCESS;
}

static void put(report_t *r, const char *s, apr_size_t n)
{
    char *nb;
    apr_size_t cap = r->cap ? r->cap : 64 * 1024;

    if (r->failed) {
        return;
    }
    while (cap < r->len + n) {
        cap *= 2;
    }
    if (cap != r->cap) {
        if ((nb = realloc(r->buf, cap)) == NULL) {
            r->failed = 1;
            return;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

static void puts_(report_t *r, const char *s)
{
    put(r, s, strlen(s));
}

/* "4a3f0b" -> "4a:3f:0b" (§8: lowercase colon hex). */
static const char *colon_hex(const char *hex, apr_pool_t *p)
{
    size_t n = strlen(hex), i, o = 0;
    char *out = apr_palloc(p, n * 3 / 2 + 2);

    for (i = 0; i < n; i += 2) {
        if (i) {
            out[o++] = ':';
        }
        out[o++] = hex[i];
        if (i + 1 < n) {
            out[o++] = hex[i + 1];
        }
    }
    out[o] = '\0';
    return out;
}

/* RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
static void csv_field(report_t *r, const char *s, int always_quote)
{
    const char *c;

    if (!s) {
        s = "";
    }
    if (!always_quote && !strpbrk(s, ",\"\r\n")) {
        puts_(r, s);
        return;
    }
    put(r, "\"", 1);
    for (c = s; *c; c++) {
        put(r, c, 1);
        if (*c == '"') {
            put(r, "\"", 1);
        }
    }
    put(r, "\"", 1);
}

/* Certificates requested by a service (acm.amazonaws.com through a permission) carry
 * its name; principals of accounts are ARNs. */
static const char *service_principal(const acmpca_cert_rec_t *rec)
{
    return rec->requested_by && strncmp(rec->requested_by, "arn:", 4) ? rec->requested_by : NULL;
}

static int row_cb(void *baton, const acmpca_cert_rec_t *rec)
{
    report_t *r = baton;
    apr_pool_t *p = r->row_pool;
    const char *fields[11];
    cJSON *o;
    const char *text;
    int i;

    apr_pool_clear(p);
    fields[0] = r->ca->rec->account;
    fields[1] = service_principal(rec);
    fields[2] = acmpca_arn_cert(r->ca->ref.arn, rec->serial, p);
    fields[3] = colon_hex(rec->serial, p);
    fields[4] = rec->subject ? rec->subject : "";
    fields[5] = acmpca_time_audit(rec->not_before, p);
    fields[6] = acmpca_time_audit(rec->not_after, p);
    fields[7] = acmpca_time_audit(rec->issued_at, p);
    fields[8] = rec->revoked_at ? acmpca_time_audit(rec->revoked_at, p) : NULL;
    fields[9] = rec->revoked_at ? rec->revocation_reason : NULL;
    fields[10] = rec->template_arn;
    if (r->csv) {
        for (i = 0; i < 11; i++) {
            if (i) {
                put(r, ",", 1);
            }
            csv_field(r, fields[i], i == 4);
        }
        put(r, "\r\n", 2);
    }
    else {
        static const char *const names[11] = {"awsAccountId",   "requestedByServicePrincipal",
                                              "certificateArn", "serial",
                                              "subject",        "notBefore",
                                              "notAfter",       "issuedAt",
                                              "revokedAt",      "revocationReason",
                                              "templateArn"};
        o = acmpca_json_own(cJSON_CreateObject(), p);
        for (i = 0; i < 11; i++) {
            if (fields[i]) {
                cJSON_AddStringToObject(o, names[i], fields[i]);
            }
        }
        if ((text = acmpca_json_print(o, p)) == NULL) {
            r->failed = 1;
            return 1;
        }
        if (r->rows) {
            put(r, ",", 1);
        }
        puts_(r, text);
    }
    r->rows++;
    return r->failed;
}

static apr_status_t generate(report_t *r, const acmpca_op_ctx_t *ctx, apr_pool_t *p)
{
    acmpca_store_t *s = ctx->store;
    apr_status_t rv;

    if ((rv = apr_pool_create(&r->row_pool, p)) != APR_SUCCESS) {
        return rv;
    }
    puts_(r, r->csv ? CSV_HEADER : "[");
    rv = s->provider->cert_iter(s, r->ca->ref.id, ACMPCA_CERT_ITER_ALL, row_cb, r, p);
    if (!r->csv) {
        puts_(r, "]");
    }
    apr_pool_destroy(r->row_pool);
    if (r->buf) {
        apr_pool_cleanup_register(p, r->buf, buf_cleanup, apr_pool_cleanup_null);
    }
    return r->failed ? APR_ENOMEM : rv;
}

/* ************************************************************************************
 * The operations
 */

static const char *report_status(const acmpca_report_rec_t *rec, apr_time_t now)
{
    if (!strcmp(rec->status, ST_CREATING) && rec->created_at + STALE_CREATING < now) {
        return ST_FAILED;
    }
    return rec->status;
}

/* §11.11: RequestInProgressException while a report is CREATING, LimitExceededException
 * inside the interval (ACMPCAAuditReportInterval). */
static apr_status_t check_rate(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, acmpca_err_t *err,
                               apr_pool_t *p)
{
    acmpca_store_t *s = ctx->store;
    apr_interval_time_t interval = ctx->env->audit_report_interval;
    acmpca_report_rec_t *last;
    apr_status_t rv;

    rv = s->provider->report_latest(s, ca->ref.id, &last, p);
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "reading audit reports");
    }
    if (!strcmp(report_status(last, ctx->now), ST_CREATING)) {
        return acmpca_err_set(err, ACMPCA_ERR_REQUEST_IN_PROGRESS, p,
                              "An audit report for certificate authority %s is already being "
                              "created.",
                              ca->ref.arn);
    }
    if (interval == 0) {
        interval = DEFAULT_INTERVAL;
    }
    if (interval > 0 && ctx->now < last->created_at + interval) {
        return acmpca_err_set(err, ACMPCA_ERR_LIMIT_EXCEEDED, p,
                              "An audit report for certificate authority %s was created less "
                              "than %" APR_INT64_T_FMT " minutes ago; one report can be created "
                              "per %" APR_INT64_T_FMT " minutes.",
                              ca->ref.arn, (apr_int64_t)apr_time_sec(interval + 59) / 60,
                              (apr_int64_t)apr_time_sec(interval + 59) / 60);
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_op_create_audit_report(cJSON **pout, const acmpca_op_ctx_t *ctx,
                                           const cJSON *in, acmpca_err_t *err, apr_pool_t *p)
{
    const char *bucket = acmpca_json_str(in, "S3BucketName");
    const char *format = acmpca_json_str(in, "AuditReportResponseFormat");
    acmpca_store_t *s = ctx->store;
    acmpca_report_rec_t rec = {0};
    acmpca_object_t obj = {0};
    report_t r = {0};
    acmpca_ca_t *ca;
    apr_status_t rv;

    if ((rv = acmpca_ca_load(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p)) != APR_SUCCESS
        || (rv = acmpca_state_allow("CreateCertificateAuthorityAuditReport", ca, ctx->now, err, p))
               != APR_SUCCESS) {
        return rv;
    }
    if (!acmpca_object_name_ok(bucket, "audit-report")) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "The S3 bucket name %s is not valid.", bucket);
    }
    if ((rv = check_rate(ctx, ca, err, p)) != APR_SUCCESS) {
        return rv;
    }
    r.csv = !strcmp(format, "CSV");
    rec.ca_id = ca->ref.id;
    rec.id = acmpca_uuid(p);
    if (!rec.id) {
        return acmpca_err_internal(err, APR_EGENERAL, "no random report id");
    }
    rec.status = ST_CREATING;
    rec.bucket = bucket;
    rec.key =
        apr_pstrcat(p, REPORT_PREFIX, ca->ref.id, "/", rec.id, r.csv ? ".csv" : ".json", NULL);
    rec.format = r.csv ? "CSV" : "JSON";
    rec.created_at = ctx->now;
    if ((rv = s->provider->report_put(s, &rec, p)) != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "recording an audit report");
    }
    /* Synchronous (PCA-API.md §1.6): the waiter's first poll sees SUCCESS or FAILED. */
    r.ca = ca;
    rv = generate(&r, ctx, p);
    if (rv == APR_SUCCESS) {
        obj.bucket = bucket;
        obj.key = rec.key;
        obj.content_type = r.csv ? "text/csv" : "application/json";
        obj.data = (const unsigned char *)r.buf;
        obj.len = r.len;
        obj.modified = apr_time_now();
        rv = s->provider->object_put(s, &obj, p);
    }
    if (rv != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0720: CA %s: audit report %s failed", ca->ref.id, rec.id);
    }
    else {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, p,
                   "ACMPCA0721: CA %s: audit report %s written to %s/%s (%" APR_SIZE_T_FMT
                   " certificates)",
                   ca->ref.id, rec.id, bucket, rec.key, r.rows);
    }
    rec.status = rv == APR_SUCCESS ? ST_SUCCESS : ST_FAILED;
    if ((rv = s->provider->report_put(s, &rec, p)) != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "recording an audit report");
    }
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    cJSON_AddStringToObject(*pout, "AuditReportId", rec.id);
    cJSON_AddStringToObject(*pout, "S3Key", rec.key);
    return APR_SUCCESS;
}

apr_status_t acmpca_op_describe_audit_report(cJSON **pout, const acmpca_op_ctx_t *ctx,
                                             const cJSON *in, acmpca_err_t *err, apr_pool_t *p)
{
    const char *id = acmpca_json_str(in, "AuditReportId");
    acmpca_store_t *s = ctx->store;
    acmpca_report_rec_t *rec;
    acmpca_ca_t *ca;
    apr_status_t rv;

    if ((rv = acmpca_ca_load(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p))
        != APR_SUCCESS) {
        return rv;
    }
    rv = s->provider->report_get(s, ca->ref.id, id, &rec, p);
    if (rv == APR_NOTFOUND) {
        return acmpca_err_set(err, ACMPCA_ERR_NOT_FOUND, p, "Could not find audit report %s.", id);
    }
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "reading an audit report");
    }
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    cJSON_AddStringToObject(*pout, "AuditReportStatus", report_status(rec, ctx->now));
    if (rec->bucket) {
        cJSON_AddStringToObject(*pout, "S3BucketName", rec->bucket);
    }
    if (rec->key) {
        cJSON_AddStringToObject(*pout, "S3Key", rec->key);
    }
    acmpca_json_set_time(*pout, ACMPCA_K_CREATED_AT, rec->created_at);
    return APR_SUCCESS;
}
