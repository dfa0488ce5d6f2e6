/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's certificates: issued, read, revoked, counted, and streamed in
 * serial order for CRLs and listings. */
#include <string.h>

#include <apr_strings.h>

#include <hiredis/hiredis.h>

#include "acmpca/err.h"
#include "acmpca/store.h"
#include "redis_int.h"

/* Batches bound the memory and the time one script blocks the server. */
#define RD_ITER_BATCH 500
#define RD_CRL_BATCH  2000

apr_status_t acmpca_redis_cert_put(acmpca_store_t *s, const acmpca_cert_rec_t *rec,
                                   acmpca_idem_t *idem, apr_int64_t limit, apr_int64_t ca_version,
                                   apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (!rec->pem || !rec->serial || !rec->ca_id) {
        return APR_EINVAL; /* NOT NULL in sqlite */
    }
    if (idem) {
        idem->existing = NULL;
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "cert_put", p));
    acmpca_redis_script_init(&cmd, idem ? 5 : 4, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_cert(rec->ca_id, rec->serial, call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(rec->ca_id, "certs", call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(rec->ca_id, "revoked", call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(rec->ca_id, "ca", call.ptemp));
    if (idem) {
        cmd_str(&cmd, acmpca_redis_key_idem(idem->scope, idem->token, call.ptemp));
    }
    cmd_str(&cmd, rec->serial);
    cmd_str(&cmd, acmpca_redis_nonce(call.ptemp));
    acmpca_redis_idem_args(&cmd, idem, rec->serial);
    cmd_str(&cmd, rec->revoked_at ? "1" : "0");
    cmd_i64(&cmd, limit > 0 ? limit : 0);
    cmd_i64(&cmd, ca_version > 0 ? ca_version : 0);
    cmd_field(&cmd, "pem", rec->pem);
    cmd_field(&cmd, "subject", rec->subject);
    cmd_field(&cmd, "tmpl", rec->template_arn);
    cmd_field(&cmd, "nb", i64_str(rec->not_before, call.ptemp));
    cmd_field(&cmd, "na", i64_str(rec->not_after, call.ptemp));
    cmd_field(&cmd, "ia", i64_str(rec->issued_at, call.ptemp));
    cmd_field(&cmd, "ra", rec->revoked_at ? i64_str(rec->revoked_at, call.ptemp) : NULL);
    cmd_field(&cmd, "rr", rec->revocation_reason);
    cmd_field(&cmd, "rb", rec->requested_by);
    RD_OK(acmpca_redis_call_write_script(&call, RS_CERT_PUT, &cmd, &code, &r));
    switch (code) {
    case RC_OK:
        rv = acmpca_redis_call_durable(&call);
        break;
    case RC_CLAIMED:
        RD_OK(acmpca_redis_call_barrier(&call, acmpca_redis_idem_owner(idem->scope)));
        idem->existing = elem_str(r, 1, p);
        rv = APR_EEXIST;
        break;
    case RC_EXISTS:
        rv = APR_EEXIST;
        break;
    case RC_NOTFOUND:
        acmpca_redis_watch_changed(rec->ca_id); /* read from a stale memo? */
        rv = APR_NOTFOUND;                      /* no such CA, as sqlite's foreign key */
        break;
    case RC_FULL:
        rv = APR_ENOSPC;
        break;
    case RC_CONFLICT:
        acmpca_redis_watch_changed(rec->ca_id); /* the next read of it asks the server */
        rv = ACMPCA_ECONFLICT;
        break;
    default:
        rv = acmpca_redis_call_bad_reply(&call, "cert_put code");
        break;
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

static const char *const cert_fields[] = {"pem", "subject", "tmpl", "nb", "na",
                                          "ia",  "ra",      "rr",   "rb"};
#define CERT_NFIELDS 9

/* A certificate from 9 elements of r starting at i (cert_fields order). The strings
 * point into the reply when p is NULL (cert_iter: valid while the batch is). */
static void cert_read(acmpca_cert_rec_t *rec, const redisReply *r, size_t i, apr_pool_t *p)
{
    rec->pem = elem_str(r, i, p);
    rec->subject = elem_str(r, i + 1, p);
    rec->template_arn = elem_str(r, i + 2, p);
    rec->not_before = elem_i64(r, i + 3);
    rec->not_after = elem_i64(r, i + 4);
    rec->issued_at = elem_i64(r, i + 5);
    rec->revoked_at = elem_i64(r, i + 6);
    rec->revocation_reason = elem_str(r, i + 7, p);
    rec->requested_by = elem_str(r, i + 8, p);
}

apr_status_t acmpca_redis_cert_get(acmpca_store_t *s, const char *ca_id, const char *serial,
                                   acmpca_cert_rec_t **prec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    acmpca_cert_rec_t *rec;
    apr_status_t rv;
    int i;

    *prec = NULL;
    RD_OK(acmpca_redis_call_begin(&call, s, "cert_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_cert(ca_id, serial, call.ptemp));
    for (i = 0; i < CERT_NFIELDS; ++i) {
        cmd_str(&cmd, cert_fields[i]);
    }
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = rec = apr_pcalloc(p, sizeof(*rec));
    rec->ca_id = apr_pstrdup(p, ca_id);
    rec->serial = apr_pstrdup(p, serial);
    cert_read(rec, r, 0, p);
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* Two reads in one round trip (a pipeline, not a transaction: each sees every write
 * that completed before it). "id" and "pem" tell that the CA and the certificate exist. */
apr_status_t acmpca_redis_cert_status(acmpca_store_t *s, const char *ca_id, const char *serial,
                                      apr_int64_t *pca_version, int *pfound,
                                      apr_time_t *prevoked_at, const char **preason, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t ca, cert;
    rd_cmd_t *cmds[2] = {&ca, &cert};
    redisReply *r[2] = {NULL, NULL};
    apr_status_t rv;

    *pca_version = 0;
    *pfound = 0;
    *prevoked_at = 0;
    *preason = NULL;
    RD_OK(acmpca_redis_call_begin(&call, s, "cert_status", p));
    cmd_init(&ca, "HMGET", call.ptemp);
    cmd_str(&ca, acmpca_redis_key_ca(ca_id, "ca", call.ptemp));
    cmd_str(&ca, "id");
    cmd_str(&ca, "version");
    cmd_init(&cert, "HMGET", call.ptemp);
    cmd_str(&cert, acmpca_redis_key_cert(ca_id, serial, call.ptemp));
    cmd_str(&cert, "pem");
    cmd_str(&cert, "ra");
    cmd_str(&cert, "rr");
    RD_OK(acmpca_redis_call_cmds(&call, cmds, 2, r));
    if (reply_error_text(r[0]) || reply_error_text(r[1])) {
        rv = acmpca_redis_call_error_reply(&call, reply_error_text(r[0]) ? r[0] : r[1]);
        goto leave;
    }
    if (!elem_str(r[0], 0, NULL) || !elem_str(r[0], 1, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pca_version = elem_i64(r[0], 1);
    if (elem_str(r[1], 0, NULL)) {
        *pfound = 1;
        *prevoked_at = elem_i64(r[1], 1);
        *preason = *prevoked_at ? elem_str(r[1], 2, p) : NULL;
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

apr_status_t acmpca_redis_cert_revoke(acmpca_store_t *s, const char *ca_id, const char *serial,
                                      apr_time_t revoked_at, const char *reason, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    RD_OK(acmpca_redis_call_begin(&call, s, "cert_revoke", p));
    acmpca_redis_script_init(&cmd, 2, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_cert(ca_id, serial, call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(ca_id, "revoked", call.ptemp));
    cmd_str(&cmd, serial);
    cmd_i64(&cmd, revoked_at);
    cmd_str(&cmd, reason);
    cmd_str(&cmd, reason ? "1" : "0");
    cmd_str(&cmd, acmpca_redis_nonce(call.ptemp));
    /* Of two concurrent revocations exactly one wins: the script runs alone. */
    RD_OK(acmpca_redis_call_write_script(&call, RS_CERT_REVOKE, &cmd, &code, &r));
    switch (code) {
    case RC_OK:
        rv = acmpca_redis_call_durable(&call);
        break;
    case RC_NOTFOUND:
        rv = APR_NOTFOUND;
        break;
    case RC_EXISTS:
        /* Answered "already revoked": only once that revocation is on the replicas. */
        rv = acmpca_redis_call_barrier(&call, ca_id);
        rv = rv == APR_SUCCESS ? APR_EEXIST : rv;
        break;
    default:
        rv = acmpca_redis_call_bad_reply(&call, "cert_revoke code");
        break;
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

apr_status_t acmpca_redis_cert_count(acmpca_store_t *s, const char *ca_id, int which,
                                     apr_int64_t *pcount, apr_pool_t *p)
{
    const char *what = which != ACMPCA_CERT_ITER_ALL ? "revoked" : "certs";

    return acmpca_redis_zcard(s, "cert_count", acmpca_redis_key_ca(ca_id, what, p), pcount, p);
}

/* What a batch script answers per certificate: the serial, then width - 1 fields, of
 * which the one at present is nil when the certificate is gone. */
typedef struct rd_iter_kind {
    rd_script_id script;
    long long batch;
    size_t width, present;
} rd_iter_kind;

/* Every field (cert_fields), or what a CRL entry needs (RS_CRL_BATCH): ~40 bytes a
 * certificate instead of ~1.3 KB, so batches can be larger for the same memory. */
static const rd_iter_kind iter_full = {RS_CERT_BATCH, RD_ITER_BATCH, CERT_NFIELDS + 1, 1};
static const rd_iter_kind iter_crl = {RS_CRL_BATCH, RD_CRL_BATCH, 4, 2};

static void iter_read(acmpca_cert_rec_t *rec, const rd_iter_kind *kind, const redisReply *r,
                      size_t at)
{
    if (kind == &iter_crl) {
        rec->not_after = elem_i64(r, at + 1);
        rec->revoked_at = elem_i64(r, at + 2);
        rec->revocation_reason = elem_str(r, at + 3, NULL);
    }
    else {
        cert_read(rec, r, at + 1, NULL);
    }
}

/* One batch after *pmin: the callback runs on each record after the connection went
 * back, so a callback may call the store. *pdone at the end of the index. */
static apr_status_t iter_batch(acmpca_store_t *s, const char *ca_id, const char *index,
                               const rd_iter_kind *kind, const char **pmin, acmpca_cert_cb *cb,
                               void *baton, int *pdone, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    acmpca_cert_rec_t rec;
    apr_status_t rv;
    size_t i, n;
    int stop = 0;

    RD_OK(acmpca_redis_call_begin(&call, s, "cert_iter", p));
    acmpca_redis_script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, index);
    cmd_str(&cmd, acmpca_redis_key_cert(ca_id, "", call.ptemp));
    cmd_str(&cmd, *pmin);
    cmd_i64(&cmd, kind->batch);
    RD_OK(acmpca_redis_call_script(&call, kind->script, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_ARRAY || r->elements % kind->width) {
        rv = acmpca_redis_call_bad_reply(&call, "cert batch");
        goto leave;
    }
    acmpca_redis_call_release(&call);
    n = r->elements / kind->width;
    *pdone = n < (size_t)kind->batch;
    for (i = 0; i < n && !stop; ++i) {
        size_t at = i * kind->width;
        if (!elem_str(r, at + kind->present, NULL)) {
            continue; /* purged since the index was read */
        }
        memset(&rec, 0, sizeof(rec));
        rec.ca_id = ca_id;
        rec.serial = elem_str(r, at, NULL);
        iter_read(&rec, kind, r, at);
        stop = cb(baton, &rec);
    }
    if (stop) {
        rv = stop;
        goto leave;
    }
    if (n) {
        *pmin = apr_pstrcat(p, "(", elem_str(r, (n - 1) * kind->width, NULL), NULL);
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* Streams in serial order, a batch of records at a time: a CA with a million
 * certificates costs one batch of memory. Unlike sqlite's single read snapshot, batches
 * are read one after the other: a certificate issued or revoked meanwhile is seen if it
 * sorts after the batches already read. */
apr_status_t acmpca_redis_cert_iter(acmpca_store_t *s, const char *ca_id, int which,
                                    acmpca_cert_cb *cb, void *baton, apr_pool_t *p)
{
    const rd_iter_kind *kind = which == ACMPCA_CERT_ITER_CRL ? &iter_crl : &iter_full;
    const char *index, *min = "-";
    apr_pool_t *pools[2] = {NULL, NULL};
    apr_status_t rv;
    int done = 0, cur = 0;

    index = acmpca_redis_key_ca(ca_id, which != ACMPCA_CERT_ITER_ALL ? "revoked" : "certs", p);
    /* Two pools in turn: a batch runs in one while the bound it starts from (the last
     * serial of the batch before) is still in the other. */
    if ((rv = apr_pool_create(&pools[0], p)) != APR_SUCCESS
        || (rv = apr_pool_create(&pools[1], p)) != APR_SUCCESS) {
        goto leave;
    }
    while (!done && rv == APR_SUCCESS) {
        apr_pool_clear(pools[cur]);
        rv = iter_batch(s, ca_id, index, kind, &min, cb, baton, &done, pools[cur]);
        cur = !cur;
    }
leave:
    if (pools[0]) {
        apr_pool_destroy(pools[0]);
    }
    if (pools[1]) {
        apr_pool_destroy(pools[1]);
    }
    return rv;
}

const char *const *acmpca_redis_cert_fields(void)
{
    return cert_fields;
}
