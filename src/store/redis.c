/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis store provider: the records of the sqlite provider in Redis (hiredis 0.14),
 * for several httpd hosts sharing one state. This file holds the provider table, the
 * life-cycle (create, open, attach), idempotency claims and the CA records; the rest of
 * the provider is in
 *
 *   redis_spec.c       the ACMPCAStore specs it accepts
 *   redis_keys.c       the key layout
 *   redis_scripts.c    the Lua scripts, which make multi-key writes atomic
 *   redis_conn.c       a connection to the master, logged in
 *   redis_call.c       a store call: retries, failover, WAIT
 *   redis_cert.c       certificates
 *   redis_object.c     objects, audit reports, counters, locks
 *   redis_dump.c       dump and load (migration)
 *   redis_watch.c      when CA records may be answered from the memo
 *   redis_sentinel.c   the sentinels asked for the master
 *   redis_int.h        what they share (redis_cmd.h: commands and replies)
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>

#include <hiredis/hiredis.h>

#include "acmpca/err.h"
#include "acmpca/log.h"
#include "acmpca/store.h"
#include "redis_int.h"
#include "store_int.h"

#define RD_DEFAULT_TIMEOUT     2000 /* ms: connect, and each command */
#define RD_DEFAULT_WAIT_MS     1000
#define RD_DEFAULT_FAILOVER_MS 3000
/* Connections per process: one per thread inside a store call, up to RD_MAX_CONNS; at
 * most RD_KEEP_CONNS idle ones are kept beyond RD_CONN_TTL. */
#define RD_KEEP_CONNS 16
#define RD_MAX_CONNS  128
#define RD_CONN_TTL   apr_time_from_sec(60)
/* Batches bound the memory and the time one script blocks the server. */
#define RD_PURGE_BATCH 500
#define RD_LIST_PAGE   256

/**************************************************************************************
 * Configuration and process life-cycle
 */

/* The watch's connections: the master's, logged in, as a call's would be. */
static apr_status_t watch_open(void *baton, redisContext **pctx, apr_pool_t *p)
{
    const rd_store_t *st = baton;
    unsigned int gen;

    return acmpca_redis_ctx_open(st, apr_time_now() + apr_time_from_msec(st->timeout_ms), pctx,
                                 &gen, p);
}

static const char *create_impl(acmpca_store_t **ps, const char *args, rd_spec_kind kind,
                               const acmpca_store_provider_t *provider, apr_pool_t *p)
{
    acmpca_conns_spec_t conns_spec = {.keep = RD_KEEP_CONNS,
                                      .max = RD_MAX_CONNS,
                                      .ttl = RD_CONN_TTL,
                                      .make = acmpca_redis_conn_make,
                                      .close = acmpca_redis_conn_close,
                                      .log_prefix = "ACMPCA0411: redis"};
    acmpca_store_t *s;
    rd_store_t *st;
    const char *err;

    *ps = NULL;
    st = apr_pcalloc(p, sizeof(*st));
    st->timeout_ms = RD_DEFAULT_TIMEOUT;
    st->wait_timeout_ms = RD_DEFAULT_WAIT_MS;
    st->failover_ms = RD_DEFAULT_FAILOVER_MS;
    if ((err = acmpca_redis_spec_parse(st, args, kind, p)) != NULL) {
        return err;
    }
    conns_spec.timeout = apr_time_from_msec(st->timeout_ms);
    conns_spec.params = st;
    conns_spec.target = st->target;
    if (acmpca_conns_init(&st->conns, &conns_spec, p) != APR_SUCCESS) {
        return "cannot create a mutex";
    }
    st->memo_id = acmpca_memo_store_id();
    if (!st->no_cache
        && !(st->watch = acmpca_redis_watch_create(watch_open, st, &st->epoch, st->target, p))) {
        return "cannot create a mutex";
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->provider = provider;
    s->args = args;
    s->impl = st;
    *ps = s;
    return NULL;
}

static const char *rd_create(acmpca_store_t **ps, const char *args, apr_pool_t *p)
{
    return create_impl(ps, args, RD_SPEC_TCP, &acmpca_store_redis, p);
}

static const char *rd_create_unix(acmpca_store_t **ps, const char *args, apr_pool_t *p)
{
    return create_impl(ps, args, RD_SPEC_UNIX, &acmpca_store_redis_unix, p);
}

static const char *rd_create_sentinel(acmpca_store_t **ps, const char *args, apr_pool_t *p)
{
    return create_impl(ps, args, RD_SPEC_SENTINEL, &acmpca_store_redis_sentinel, p);
}

/* post_config: nothing to create in Redis, but a configuration error (password, ACL,
 * database number, a layout from a newer module) stops the start with a clear line. An
 * unreachable server does not: Redis may come up after httpd, and the workers connect
 * when it does. The connection is closed here, before the fork. */
static apr_status_t rd_open(acmpca_store_t *s, long owner_uid, long owner_gid, apr_pool_t *p)
{
    rd_store_t *st = s->impl;
    redisContext *ctx;
    apr_status_t rv;
    unsigned int gen;

    (void)owner_uid;
    (void)owner_gid;
    if ((rv = acmpca_redis_ctx_open(st, 0, &ctx, &gen, p)) == APR_SUCCESS) {
        rv = acmpca_redis_schema_check(st, ctx, p);
        redisFree(ctx);
    }
    if (rv == APR_SUCCESS || rv == APR_EACCES || rv == APR_EINVAL || rv == APR_ENOTIMPL) {
        return rv;
    }
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, rv, p,
               "ACMPCA0413: redis %s is not usable now; the workers will connect when it is",
               st->target);
    return APR_SUCCESS;
}

/* child_init: a connection list owned by this child and closed with pchild. */
static apr_status_t rd_attach(acmpca_store_t *s, apr_pool_t *pchild)
{
    rd_store_t *st = s->impl;

    return acmpca_conns_attach(&st->conns, pchild);
}

/**************************************************************************************
 * Idempotency
 */

static apr_status_t rd_idem_get(acmpca_store_t *s, const char *scope, const char *token,
                                apr_time_t now, const char **presult, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    const char *result, *expires;
    apr_status_t rv;

    *presult = NULL;
    RD_OK(acmpca_redis_call_begin(&call, s, "idem_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_idem(scope, token, call.ptemp));
    cmd_str(&cmd, "result");
    cmd_str(&cmd, "expires");
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    result = elem_str(r, 0, p);
    expires = elem_str(r, 1, NULL);
    if (!result || !expires || apr_atoi64(expires) <= now) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    RD_OK(acmpca_redis_call_barrier(&call, acmpca_redis_idem_owner(scope)));
    *presult = result;
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* A retry after a lost reply finds its own claim: the result it wanted is there, so
 * that is a success, not a conflict. Results are fresh random values (serials), so no
 * other caller holds the same one. */
static apr_status_t rd_idem_claim(acmpca_store_t *s, acmpca_idem_t *idem, const char *result,
                                  apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    idem->existing = NULL;
    RD_OK(acmpca_redis_call_begin(&call, s, "idem_claim", p));
    acmpca_redis_script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_idem(idem->scope, idem->token, call.ptemp));
    acmpca_redis_idem_args(&cmd, idem, result);
    RD_OK(acmpca_redis_call_write_script(&call, RS_IDEM_CLAIM, &cmd, &code, &r));
    if (code == RC_CLAIMED) {
        RD_OK(acmpca_redis_call_barrier(&call, acmpca_redis_idem_owner(idem->scope)));
        idem->existing = elem_str(r, 1, p);
        rv = idem->existing && !strcmp(idem->existing, result) ? APR_SUCCESS : APR_EEXIST;
    }
    else {
        rv = code == RC_OK ? acmpca_redis_call_durable(&call)
                           : acmpca_redis_call_bad_reply(&call, "idem_claim result");
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

/**************************************************************************************
 * Certificate authorities
 */

static const char *const ca_fields[] = {"id", "account", "seq", "version", "doc"};

static void ca_fields_add(rd_cmd_t *cmd)
{
    size_t i;

    for (i = 0; i < sizeof(ca_fields) / sizeof(ca_fields[0]); ++i) {
        cmd_str(cmd, ca_fields[i]);
    }
}

/* A CA from the reply of HMGET <ca fields>, or NULL when the hash is missing. */
static acmpca_ca_rec_t *ca_read(const redisReply *r, apr_pool_t *p)
{
    acmpca_ca_rec_t *rec;

    if (!elem_str(r, 0, NULL) || !elem_str(r, 4, NULL)) {
        return NULL;
    }
    rec = apr_pcalloc(p, sizeof(*rec));
    rec->id = elem_str(r, 0, p);
    rec->account = elem_str(r, 1, p);
    rec->seq = elem_i64(r, 2);
    rec->version = elem_i64(r, 3);
    rec->doc = elem_str(r, 4, p);
    return rec;
}

static apr_status_t rd_ca_create(acmpca_store_t *s, acmpca_ca_rec_t *rec,
                                 const unsigned char *wrapped_key, apr_size_t keylen,
                                 acmpca_idem_t *idem, const char *idem_result, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (idem) {
        idem->existing = NULL;
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "ca_create", p));
    acmpca_redis_script_init(&cmd, idem ? 6 : 5, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_ca(rec->id, "ca", call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_ca(rec->id, "key", call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_account(rec->account, call.ptemp));
    cmd_str(&cmd, acmpca_redis_key_all());
    cmd_str(&cmd, acmpca_redis_key_seq());
    if (idem) {
        cmd_str(&cmd, acmpca_redis_key_idem(idem->scope, idem->token, call.ptemp));
    }
    cmd_str(&cmd, rec->id);
    cmd_str(&cmd, rec->account);
    cmd_str(&cmd, rec->doc);
    cmd_str(&cmd, wrapped_key ? "1" : "0");
    cmd_mem(&cmd, wrapped_key, wrapped_key ? keylen : 0);
    cmd_str(&cmd, acmpca_redis_nonce(call.ptemp));
    acmpca_redis_idem_args(&cmd, idem, idem_result);
    RD_OK(acmpca_redis_call_write_script(&call, RS_CA_CREATE, &cmd, &code, &r));
    if (code == RC_CLAIMED) {
        RD_OK(acmpca_redis_call_barrier(&call, acmpca_redis_idem_owner(idem->scope)));
        idem->existing = elem_str(r, 1, p);
        rv = APR_EEXIST;
    }
    else if (code == RC_EXISTS) {
        rv = APR_EEXIST;
    }
    else if (code != RC_OK) {
        rv = acmpca_redis_call_bad_reply(&call, "ca_create code");
    }
    else {
        RD_OK(acmpca_redis_call_durable(&call));
        rec->seq = elem_i64(r, 1);
        rec->version = 1;
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

static apr_status_t rd_ca_get(acmpca_store_t *s, const char *id, acmpca_ca_rec_t **prec,
                              apr_pool_t *p)
{
    rd_store_t *st = s->impl;
    apr_uint64_t gen = 0;
    int memo = acmpca_redis_watch_now(st->watch, id, &gen); /* taken before the read */
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *prec = NULL;
    if (memo && acmpca_memo_get(st->memo_id, gen, id, prec, p)) {
        return APR_SUCCESS;
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "ca_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_ca(id, "ca", call.ptemp));
    ca_fields_add(&cmd);
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    if ((*prec = ca_read(r, p)) == NULL) {
        rv = APR_NOTFOUND;
    }
    else if (memo) {
        acmpca_memo_put(st->memo_id, gen, *prec);
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* The version alone: a few bytes back instead of the whole document. "id" is asked
 * too, as ca_read wants it: a hash without it is no CA. With memos on, the version the
 * memo holds, or the whole record read into it on a miss (as sqlite does). */
static apr_status_t rd_ca_version(acmpca_store_t *s, const char *id, apr_int64_t *pversion,
                                  apr_pool_t *p)
{
    rd_store_t *st = s->impl;
    acmpca_ca_rec_t *rec;
    apr_uint64_t gen;
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *pversion = 0;
    if (acmpca_redis_watch_now(st->watch, id, &gen)) {
        if (acmpca_memo_version(st->memo_id, gen, id, pversion)) {
            return APR_SUCCESS;
        }
        if ((rv = rd_ca_get(s, id, &rec, p)) == APR_SUCCESS) {
            *pversion = rec->version;
        }
        return rv;
    }
    RD_OK(acmpca_redis_call_begin(&call, s, "ca_version", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_ca(id, "ca", call.ptemp));
    cmd_str(&cmd, "id");
    cmd_str(&cmd, "version");
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL) || !elem_str(r, 1, NULL)) {
        rv = APR_NOTFOUND;
    }
    else {
        *pversion = elem_i64(r, 1);
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

static apr_status_t rd_ca_update(acmpca_store_t *s, acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    RD_OK(acmpca_redis_call_begin(&call, s, "ca_update", p));
    acmpca_redis_script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_ca(rec->id, "ca", call.ptemp));
    cmd_str(&cmd, rec->doc);
    cmd_i64(&cmd, rec->version);
    cmd_str(&cmd, acmpca_redis_nonce(call.ptemp));
    cmd_str(&cmd, rec->id);
    rv = acmpca_redis_call_write_script(&call, RS_CA_UPDATE, &cmd, &code, &r);
    /* Changed, refused on a newer version (a stale memo), or unknown: memos of it go. */
    acmpca_redis_watch_changed(rec->id);
    RD_OK(rv);
    switch (code) {
    case RC_OK:
        RD_OK(acmpca_redis_call_durable(&call));
        rec->version = elem_i64(r, 1);
        break;
    case RC_NOTFOUND:
        rv = APR_NOTFOUND;
        break;
    case RC_CONFLICT:
        rv = ACMPCA_ECONFLICT;
        break;
    default:
        rv = acmpca_redis_call_bad_reply(&call, "ca_update code");
        break;
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* The CA's account: the purge must name the account index among its keys. */
static apr_status_t ca_account(rd_call_t *call, const char *id, const char **paccount)
{
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    cmd_init(&cmd, "HGET", call->ptemp);
    cmd_str(&cmd, acmpca_redis_key_ca(id, "ca", call->ptemp));
    cmd_str(&cmd, "account");
    if ((rv = acmpca_redis_call_cmd(call, &cmd, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != REDIS_REPLY_STRING) {
        return APR_NOTFOUND;
    }
    *paccount = apr_pstrmemdup(call->ptemp, r->str, r->len);
    return APR_SUCCESS;
}

/* One batch of a purge, its command and reply in a pool of their own: a CA with a
 * million certificates takes two thousand batches, whose replies must not pile up. */
static apr_status_t purge_batch(rd_call_t *call, const char *id, const char *account,
                                long long *pcode)
{
    static const char *const what[] = {"ca", "key", "certs", "revoked", "reports", "reportseq"};
    apr_pool_t *saved = call->ptemp, *batch;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;
    size_t i;

    if ((rv = apr_pool_create(&batch, saved)) != APR_SUCCESS) {
        return rv;
    }
    call->ptemp = batch;
    acmpca_redis_script_init(&cmd, 8, batch);
    for (i = 0; i < sizeof(what) / sizeof(what[0]); ++i) {
        cmd_str(&cmd, acmpca_redis_key_ca(id, what[i], batch));
    }
    cmd_str(&cmd, acmpca_redis_key_account(account, batch));
    cmd_str(&cmd, acmpca_redis_key_all());
    cmd_str(&cmd, id);
    cmd_str(&cmd, acmpca_redis_key_cert(id, "", batch));
    cmd_str(&cmd, acmpca_redis_key_report(id, "", batch));
    cmd_i64(&cmd, RD_PURGE_BATCH);
    rv = acmpca_redis_call_write_script(call, RS_CA_PURGE, &cmd, pcode, &r);
    call->ptemp = saved;
    apr_pool_destroy(batch);
    return rv;
}

/* Certificates go in batches, so that a big CA never blocks the server for long; each
 * batch is atomic and safe to repeat after a lost reply. */
static apr_status_t rd_ca_purge(acmpca_store_t *s, const char *id, apr_pool_t *p)
{
    rd_call_t call;
    const char *account = NULL;
    long long code = RC_MORE;
    apr_status_t rv;

    RD_OK(acmpca_redis_call_begin(&call, s, "ca_purge", p));
    RD_OK(ca_account(&call, id, &account));
    while (code == RC_MORE) {
        RD_OK(purge_batch(&call, id, account, &code));
    }
    acmpca_redis_watch_changed(id);
    if (code == RC_NOTFOUND) {
        /* A concurrent purge finished first, or our last batch did and its reply was lost
         * (retried): the CA is gone either way. */
        rv = APR_NOTFOUND;
    }
    else if (code != RC_OK) {
        rv = acmpca_redis_call_bad_reply(&call, "ca_purge code");
    }
    else {
        rv = acmpca_redis_call_durable(&call);
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

/* Fetch the CA records of ids (element 0, 2, 4, ... of a WITHSCORES reply) in one round
 * trip and append those still there. */
static apr_status_t ca_fetch(rd_call_t *call, const redisReply *ids, apr_array_header_t *recs,
                             apr_pool_t *p)
{
    int n = (int)(ids->elements / 2), i;
    rd_cmd_t **cmds = apr_palloc(call->ptemp, sizeof(*cmds) * (apr_size_t)n);
    redisReply **replies = apr_pcalloc(call->ptemp, sizeof(*replies) * (apr_size_t)n);
    acmpca_ca_rec_t *rec;
    apr_status_t rv;

    for (i = 0; i < n; ++i) {
        cmds[i] = apr_palloc(call->ptemp, sizeof(rd_cmd_t));
        cmd_init(cmds[i], "HMGET", call->ptemp);
        cmd_str(cmds[i], acmpca_redis_key_ca(elem_str(ids, (size_t)(2 * i), call->ptemp), "ca",
                                             call->ptemp));
        ca_fields_add(cmds[i]);
    }
    if ((rv = acmpca_redis_call_cmds(call, cmds, n, replies)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < n; ++i) {
        if (reply_error_text(replies[i])) {
            return acmpca_redis_call_error_reply(call, replies[i]);
        }
        /* A CA purged between the index read and now is skipped. */
        if ((rec = ca_read(replies[i], p)) != NULL) {
            APR_ARRAY_PUSH(recs, acmpca_ca_rec_t *) = rec;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t rd_ca_list(acmpca_store_t *s, const char *account, apr_int64_t after_seq,
                               int limit, apr_array_header_t **precs, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *ids;
    apr_array_header_t *recs;
    apr_status_t rv;
    int want;

    *precs = recs =
        apr_array_make(p, limit > 0 && limit <= 100 ? limit : 16, sizeof(acmpca_ca_rec_t *));
    RD_OK(acmpca_redis_call_begin(&call, s, "ca_list", p));
    /* Pages of the index by seq; a page may come back short of records (a purge in
     * between), so go on until the limit is met or the index ends. */
    while (limit <= 0 || recs->nelts < limit) {
        want =
            limit <= 0 || limit - recs->nelts > RD_LIST_PAGE ? RD_LIST_PAGE : limit - recs->nelts;
        cmd_init(&cmd, "ZRANGEBYSCORE", call.ptemp);
        cmd_str(&cmd,
                account ? acmpca_redis_key_account(account, call.ptemp) : acmpca_redis_key_all());
        cmd_str(&cmd, apr_psprintf(call.ptemp, "(%" APR_INT64_T_FMT, after_seq));
        cmd_str(&cmd, "+inf");
        cmd_str(&cmd, "WITHSCORES");
        cmd_str(&cmd, "LIMIT");
        cmd_str(&cmd, "0");
        cmd_i64(&cmd, want);
        RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &ids));
        if (ids->type != REDIS_REPLY_ARRAY) {
            rv = acmpca_redis_call_bad_reply(&call, "ZRANGEBYSCORE");
            goto leave;
        }
        if (ids->elements == 0) {
            break;
        }
        RD_OK(ca_fetch(&call, ids, recs, p));
        after_seq = apr_atoi64(elem_str(ids, ids->elements - 1, NULL));
        if ((int)(ids->elements / 2) < want) {
            break;
        }
    }
leave:
    return acmpca_redis_call_end(&call, rv);
}

apr_status_t acmpca_redis_zcard(acmpca_store_t *s, const char *op, const char *key,
                                apr_int64_t *pcount, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *pcount = 0;
    RD_OK(acmpca_redis_call_begin(&call, s, op, p));
    cmd_init(&cmd, "ZCARD", call.ptemp);
    cmd_str(&cmd, key);
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_INTEGER) {
        rv = acmpca_redis_call_bad_reply(&call, "ZCARD");
        goto leave;
    }
    *pcount = r->integer;
leave:
    return acmpca_redis_call_end(&call, rv);
}

static apr_status_t rd_ca_count(acmpca_store_t *s, const char *account, apr_int64_t *pcount,
                                apr_pool_t *p)
{
    return acmpca_redis_zcard(
        s, "ca_count", account ? acmpca_redis_key_account(account, p) : acmpca_redis_key_all(),
        pcount, p);
}

static apr_status_t rd_ca_key_get(acmpca_store_t *s, const char *id, const unsigned char **pkey,
                                  apr_size_t *plen, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *pkey = NULL;
    *plen = 0;
    RD_OK(acmpca_redis_call_begin(&call, s, "ca_key_get", p));
    cmd_init(&cmd, "GET", call.ptemp);
    cmd_str(&cmd, acmpca_redis_key_ca(id, "key", call.ptemp));
    RD_OK(acmpca_redis_call_cmd(&call, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_STRING) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pkey = bytes_dup(r->str, r->len, p);
    *plen = r->len;
leave:
    return acmpca_redis_call_end(&call, rv);
}

/**************************************************************************************
 * The provider table
 */

#define RD_PROVIDER(pname, pcreate)                                                                \
    {                                                                                              \
        .name = pname, .flags = ACMPCA_STORE_F_MULTIHOST, .create = pcreate, .open = rd_open,      \
        .attach = rd_attach, .ca_create = rd_ca_create, .ca_get = rd_ca_get,                       \
        .ca_version = rd_ca_version, .ca_update = rd_ca_update, .ca_purge = rd_ca_purge,           \
        .ca_list = rd_ca_list, .ca_count = rd_ca_count, .ca_key_get = rd_ca_key_get,               \
        .cert_put = acmpca_redis_cert_put, .cert_get = acmpca_redis_cert_get,                      \
        .cert_revoke = acmpca_redis_cert_revoke, .cert_count = acmpca_redis_cert_count,            \
        .cert_status = acmpca_redis_cert_status, .cert_iter = acmpca_redis_cert_iter,              \
        .idem_claim = rd_idem_claim, .idem_get = rd_idem_get,                                      \
        .object_put = acmpca_redis_object_put, .object_get = acmpca_redis_object_get,              \
        .report_put = acmpca_redis_report_put, .report_get = acmpca_redis_report_get,              \
        .report_latest = acmpca_redis_report_latest, .counter_next = acmpca_redis_counter_next,    \
        .lock_acquire = acmpca_redis_lock_acquire, .lock_release = acmpca_redis_lock_release,      \
        .dump = acmpca_redis_dump, .load = acmpca_redis_load,                                      \
    }

const acmpca_store_provider_t acmpca_store_redis = RD_PROVIDER("redis", rd_create);

/* "unix:/path/to/redis.sock": the same provider, named so that the spec reads as the
 * socket's URL although the registry splits at the first ':'. */
const acmpca_store_provider_t acmpca_store_redis_unix = RD_PROVIDER("unix", rd_create_unix);

/* "redis-sentinel://sentinels/name": the master the sentinels name, followed across a
 * failover. */
const acmpca_store_provider_t acmpca_store_redis_sentinel =
    RD_PROVIDER("redis-sentinel", rd_create_sentinel);
