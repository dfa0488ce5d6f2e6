/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's objects (CRLs, audit reports' files), audit report records,
 * counters and once-per-CA locks. */
#include <apr_strings.h>

#include <hiredis/hiredis.h>

#include "acmpca/store.h"
#include "redis_int.h"
#include "store_int.h"

apr_status_t acmpca_redis_object_put(acmpca_store_t *s, acmpca_object_t *obj, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    const char *etag;
    apr_status_t rv;

    if (!obj->data && obj->len) {
        return APR_EINVAL;
    }
    if ((etag = acmpca_store_etag(obj, p)) == NULL) {
        return APR_EGENERAL;
    }
    obj->etag = etag;
    if (!obj->modified) {
        obj->modified = apr_time_now();
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "object_put", p));
    acmpca_redis_script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_object(obj->bucket, obj->key, call.ptemp));
    cmd_str(&cmd, "data");
    cmd_mem(&cmd, obj->data, obj->len);
    cmd_field(&cmd, "ct", obj->content_type);
    cmd_field(&cmd, "modified", i64_str(obj->modified, call.ptemp));
    cmd_field(&cmd, "etag", obj->etag);
    RD_OK(acmpca_redis_call_write_script(&call, RS_OBJECT_PUT, &cmd, &code, &r));
    rv = code == RC_OK ? acmpca_redis_call_durable(&call)
                       : acmpca_redis_call_bad_reply(&call, "object_put code");
leave:
    return acmpca_redis_call_end(&call, rv);
}

apr_status_t acmpca_redis_object_get(acmpca_store_t *s, const char *bucket, const char *key,
                                     acmpca_object_t **pobj, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    acmpca_object_t *obj;
    apr_status_t rv;

    *pobj = NULL;
    RD_OK(acmpca_redis_call_begin(&call, s, "object_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_object(bucket, key, call.ptemp));
    cmd_str(&cmd, "data");
    cmd_str(&cmd, "ct");
    cmd_str(&cmd, "modified");
    cmd_str(&cmd, "etag");
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    obj = apr_pcalloc(p, sizeof(*obj));
    obj->bucket = apr_pstrdup(p, bucket);
    obj->key = apr_pstrdup(p, key);
    obj->len = r->element[0]->len;
    obj->data = bytes_dup(r->element[0]->str, obj->len, p);
    obj->content_type = elem_str(r, 1, p);
    obj->modified = elem_i64(r, 2);
    obj->etag = elem_str(r, 3, p);
    /* A CRL served must not be one a failover is about to drop: relying parties would see
     * its number go back. */
    RD_OK(acmpca_redis_call_barrier(&call, "obj"));
    *pobj = obj;
leave:
    return acmpca_redis_call_end(&call, rv);
}

apr_status_t acmpca_redis_report_put(acmpca_store_t *s, const acmpca_report_rec_t *rec,
                                     apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (!rec->ca_id || !rec->id || !rec->status) {
        return APR_EINVAL; /* NOT NULL in sqlite */
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "report_put", p));
    acmpca_redis_script_init(&cmd, 4, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_report(rec->ca_id, rec->id, call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(rec->ca_id, "reports", call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(rec->ca_id, "reportseq", call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(rec->ca_id, "ca", call.ptemp));
    cmd_str(&cmd, rec->id);
    cmd_i64(&cmd, rec->created_at);
    cmd_field(&cmd, "status", rec->status);
    cmd_field(&cmd, "bucket", rec->bucket);
    cmd_field(&cmd, "key", rec->key);
    cmd_field(&cmd, "format", rec->format);
    RD_OK(acmpca_redis_call_write_script(&call, RS_REPORT_PUT, &cmd, &code, &r));
    switch (code) {
    case RC_OK:
        rv = acmpca_redis_call_durable(&call);
        break;
    case RC_NOTFOUND:
        rv = APR_NOTFOUND; /* no such CA, as sqlite's foreign key */
        break;
    default:
        rv = acmpca_redis_call_bad_reply(&call, "report_put code");
        break;
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* A report from [status, bucket, key, format, created] at element i of r. */
static acmpca_report_rec_t *report_read(const char *ca_id, const char *id, const redisReply *r,
                                        size_t i, apr_pool_t *p)
{
    acmpca_report_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->ca_id = apr_pstrdup(p, ca_id);
    rec->id = apr_pstrdup(p, id);
    rec->status = elem_str(r, i, p);
    rec->bucket = elem_str(r, i + 1, p);
    rec->key = elem_str(r, i + 2, p);
    rec->format = elem_str(r, i + 3, p);
    rec->created_at = elem_i64(r, i + 4);
    return rec;
}

apr_status_t acmpca_redis_report_get(acmpca_store_t *s, const char *ca_id, const char *id,
                                     acmpca_report_rec_t **prec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *prec = NULL;
    if (!id) {
        return APR_NOTFOUND;
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "report_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_report(ca_id, id, call.ptemp));
    cmd_str(&cmd, "status");
    cmd_str(&cmd, "bucket");
    cmd_str(&cmd, "key");
    cmd_str(&cmd, "format");
    cmd_str(&cmd, "created");
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = report_read(ca_id, id, r, 0, p);
leave:
    return acmpca_redis_call_end(&call, rv);
}

apr_status_t acmpca_redis_report_latest(acmpca_store_t *s, const char *ca_id,
                                        acmpca_report_rec_t **prec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *prec = NULL;
    RD_OK(acmpca_redis_call_begin(&call, s, "report_latest", p));
    acmpca_redis_script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_ca(ca_id, "reports", call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_report(ca_id, "", call.ptemp));
    RD_OK(acmpca_redis_call_script(&call, RS_REPORT_LATEST, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_ARRAY || !elem_str(r, 1, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = report_read(ca_id, elem_str(r, 0, NULL), r, 1, p);
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* INCR is not repeated after a lost reply (the number might be taken twice); the call
 * fails instead and the caller asks again. */
apr_status_t acmpca_redis_counter_next(acmpca_store_t *s, const char *name, apr_int64_t *pvalue,
                                       apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    RD_OK(acmpca_redis_call_begin(&call, s, "counter_next", p));
    cmd_init(&cmd, "INCR", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_counter(name, call.ptemp));
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 0, &r));
    if (r->type != REDIS_REPLY_INTEGER) {
        rv = acmpca_redis_call_bad_reply(&call, "INCR");
        goto leave;
    }
    /* Only a value that is durable may be handed out. */
    RD_OK(acmpca_redis_call_durable(&call));
    *pvalue = r->integer;
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* Locks are coordination, not state: no WAIT (a failover that loses one lets a second
 * host build the same CRL once, which is harmless), and an acquire retried after a lost
 * reply finds its own owner and succeeds again. */
apr_status_t acmpca_redis_lock_acquire(acmpca_store_t *s, const char *ca_id, const char *name,
                                       const char *owner, int ttl_ms, int want, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    RD_OK(acmpca_redis_call_begin(&call, s, "lock_acquire", p));
    acmpca_redis_script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd,
            acmpca_redis_key_ca(ca_id, apr_pstrcat(call.ptemp, "lock:", name, NULL), call.ptemp));
    cmd_str(&cmd, owner);
    cmd_i64(&cmd, ttl_ms > 0 ? ttl_ms : 1);
    cmd_str(&cmd, want ? "1" : "0");
    RD_OK(acmpca_redis_call_write_script(&call, RS_LOCK_ACQUIRE, &cmd, &code, &r));
    rv = code == RC_OK       ? APR_SUCCESS
         : code == RC_EXISTS ? APR_EBUSY
                             : acmpca_redis_call_bad_reply(&call, "lock_acquire code");
leave:
    return acmpca_redis_call_end(&call, rv);
}

apr_status_t acmpca_redis_lock_release(acmpca_store_t *s, const char *ca_id, const char *name,
                                       const char *owner, int *pwanted, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (pwanted) {
        *pwanted = 0;
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "lock_release", p));
    acmpca_redis_script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd,
            acmpca_redis_key_ca(ca_id, apr_pstrcat(call.ptemp, "lock:", name, NULL), call.ptemp));
    cmd_str(&cmd, owner);
    RD_OK(acmpca_redis_call_write_script(&call, RS_LOCK_RELEASE, &cmd, &code, &r));
    if (code == RC_OK && pwanted) {
        *pwanted = elem_i64(r, 1) != 0;
    }
    rv = code == RC_OK ? APR_SUCCESS : code == RC_NOTFOUND ? APR_NOTFOUND : APR_SUCCESS;
leave:
    return acmpca_redis_call_end(&call, rv);
}
