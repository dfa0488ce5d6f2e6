/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's calls: a pooled connection borrowed for one store call, its
 * commands and scripts sent, sent again after a reconnect or while the master moves when
 * that is safe, and the WAIT of wait=N. */
#include <errno.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <hiredis/hiredis.h>

#include "acmpca/log.h"
#include "redis_int.h"
#include "redis_sentinel.h"

/**************************************************************************************
 * Calls
 *
 * Durability: with wait=N every write is followed by WAIT N wait_timeout on the same
 * connection, and the call fails (a 503 for the client, which retries) when fewer than N
 * replicas acknowledged. The write itself is not undone: it is on the master and will
 * most likely reach the replicas, so a retry with the same idempotency token finds it.
 * What survives a crash of the master itself depends on its AOF (appendonly yes,
 * appendfsync always or everysec), which the README documents.
 *
 * Sentinel: the sentinels are asked for the master's address (src/store/redis_sentinel.c)
 * when a connection is opened and none is known, and a node is used only once it says
 * ROLE master. Whatever a failover looks like from here (a connection lost or refused,
 * a node that is a replica or answers READONLY, LOADING or MASTERDOWN, no master known)
 * makes the process forget the address, reopen its pooled connections, ask again and
 * retry the call, with growing pauses, for up to failover_wait; then the call fails
 * (503). A command is sent again only when that is safe (as for a reconnect, below); a
 * refused command or a connection never made did nothing. Writes the old master took
 * but never passed on are lost unless wait=N made the call wait for them to be.
 */

#define RD_PAUSE_MIN_MS 50 /* between tries while the master moves, doubling */
#define RD_PAUSE_MAX_MS 500

static apr_status_t reply_cleanup(void *data)
{
    reply_free(data);
    return APR_SUCCESS;
}

/* The reply now belongs to the call's scratch pool. */
static redisReply *reply_own(rd_call_t *call, redisReply *r)
{
    apr_pool_cleanup_register(call->ptemp, r, reply_cleanup, apr_pool_cleanup_null);
    return r;
}

apr_status_t acmpca_redis_call_begin(rd_call_t *call, acmpca_store_t *s, const char *op,
                                     apr_pool_t *p)
{
    void *res;
    apr_status_t rv;

    memset(call, 0, sizeof(*call));
    call->st = s->impl;
    call->op = op;
    call->p = p;
    if ((rv = apr_pool_create(&call->ptemp, p)) != APR_SUCCESS) {
        call->ptemp = NULL;
        return rv;
    }
    if ((rv = acmpca_conns_get(&call->st->conns, &call->conns)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_reslist_acquire(call->conns, &res)) != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0408: redis %s: no connection to %s free within %d ms", op,
                   call->st->target, call->st->timeout_ms);
        return rv;
    }
    call->conn = res;
    return APR_SUCCESS;
}

/* Whether every command sent on the connection had its reply read, and nothing else:
 * no command queued but unsent, no bytes or part of a reply read but not returned. */
static int conn_in_step(const rd_conn_t *conn)
{
    const redisContext *ctx = conn->ctx;

    return !ctx
           || (!ctx->err && ctx->obuf[0] == '\0' && ctx->reader->pos >= ctx->reader->len
               && ctx->reader->ridx < 0);
}

/* Give the connection back (it may have no socket now: the next user reconnects). One
 * out of step with its replies is closed, never pooled: its next user would read a reply
 * meant for another command. Every path should have read or dropped it already. */
void acmpca_redis_call_release(rd_call_t *call)
{
    if (call->conn) {
        if (!conn_in_step(call->conn)) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, APR_EGENERAL, call->p,
                       "ACMPCA0414: redis %s on %s: connection left with replies unread; "
                       "closed",
                       call->op, call->st->target);
            acmpca_redis_conn_drop(call->conn);
        }
        apr_reslist_release(call->conns, call->conn);
        call->conn = NULL;
    }
}

/* The single exit of every call: the connection goes back, the replies are freed. */
apr_status_t acmpca_redis_call_end(rd_call_t *call, apr_status_t rv)
{
    acmpca_redis_call_release(call);
    if (call->ptemp) {
        apr_pool_destroy(call->ptemp);
        call->ptemp = NULL;
    }
    return rv;
}

/* The connection lost its socket (I/O error, timeout, EOF): close it, so that the
 * next attempt reconnects, and tell the other pooled connections. */
static apr_status_t call_io_failed(rd_call_t *call, int sys)
{
    rd_conn_t *conn = call->conn;
    apr_status_t rv = acmpca_redis_ctx_status(conn->ctx, sys);

    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, call->p, "ACMPCA0404: redis %s on %s: %s",
               call->op, call->st->target, conn->ctx ? conn->ctx->errstr : "no connection");
    if (call->st->sentinel) {
        acmpca_sentinel_forget(call->st->sentinel, conn->mgen);
    }
    acmpca_redis_conn_drop(conn);
    apr_atomic_inc32(&call->st->epoch);
    call->io_failed = 1;
    return rv;
}

/* An error text that says the server cannot take writes or commands now: a replica
 * after a failover, a server still loading its data, a replica that lost its master. */
static int refused_text(const char *text)
{
    return text
           && (!strncmp(text, "READONLY", 8) || !strncmp(text, "LOADING", 7)
               || !strncmp(text, "MASTERDOWN", 10));
}

/* The master moved, or is about to (sentinel): this process forgets its address and
 * reopens every pooled connection before use. */
static void call_master_lost(rd_call_t *call)
{
    if (call->st->sentinel) {
        acmpca_sentinel_forget(call->st->sentinel, call->conn->mgen);
        acmpca_redis_conn_drop(call->conn);
        apr_atomic_inc32(&call->st->epoch);
    }
}

/* An error reply. A refusal also drops the connection, so that the next call
 * reconnects, perhaps to the new master. */
apr_status_t acmpca_redis_call_error_reply(rd_call_t *call, const redisReply *r)
{
    const char *text = reply_error_text(r);

    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, call->p,
               "ACMPCA0405: redis %s on %s: %s", call->op, call->st->target, text);
    if (refused_text(text)) {
        call_master_lost(call);
        acmpca_redis_conn_drop(call->conn);
    }
    return APR_EGENERAL;
}

apr_status_t acmpca_redis_call_bad_reply(rd_call_t *call, const char *what)
{
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, call->p,
               "ACMPCA0407: redis %s on %s: unexpected reply (%s)", call->op, call->st->target,
               what);
    return APR_EGENERAL;
}

/* The connection ready for a command; *pfresh tells whether it was (re)opened now. */
static apr_status_t call_connect(rd_call_t *call, int *pfresh)
{
    rd_conn_t *conn = call->conn;
    apr_uint32_t epoch = apr_atomic_read32(&call->st->epoch);
    apr_status_t rv;

    if (conn->ctx && conn->epoch != epoch) {
        acmpca_redis_conn_drop(conn); /* made before a loss: probably lost as well */
    }
    *pfresh = conn->ctx == NULL;
    if (conn->ctx) {
        return APR_SUCCESS;
    }
    if ((rv = acmpca_redis_ctx_open(call->st, call->deadline, &conn->ctx, &conn->mgen, call->ptemp))
        != APR_SUCCESS) {
        /* A configuration error (password, ACL, database) stays one. */
        call->conn_failed = rv != APR_EACCES && rv != APR_EINVAL;
        return rv;
    }
    conn->epoch = epoch;
    conn->loaded = 0;
    return APR_SUCCESS;
}

/* Send n commands in one round trip and read their n replies, owned by the call. */
static apr_status_t conn_pipeline(rd_call_t *call, rd_cmd_t *const *cmds, int n,
                                  redisReply **replies)
{
    redisContext *ctx = call->conn->ctx;
    void *r;
    int i, sys;

    /* Refused before any is queued: a command queued but never sent would go out with
     * the next call's, which would read its reply. */
    for (i = 0; i < n; ++i) {
        if (cmds[i]->overflow) {
            return acmpca_redis_call_bad_reply(call, "too many arguments");
        }
    }
    for (i = 0; i < n; ++i) {
        if (redisAppendCommandArgv(ctx, cmds[i]->argc, cmds[i]->argv, cmds[i]->len) != REDIS_OK) {
            return call_io_failed(call, errno);
        }
    }
    for (i = 0; i < n; ++i) {
        errno = 0;
        if (redisGetReply(ctx, &r) != REDIS_OK || !r) {
            sys = errno;
            return call_io_failed(call, sys);
        }
        replies[i] = reply_own(call, r);
    }
    return APR_SUCCESS;
}

/* The sha of a script on this connection, loaded once per connection. */
static apr_status_t script_load(rd_call_t *call, rd_script_id id)
{
    rd_conn_t *conn = call->conn;
    redisReply *r;
    rd_cmd_t cmd, *cmds = &cmd;
    apr_status_t rv;

    if (conn->loaded & (1u << id)) {
        return APR_SUCCESS;
    }
    cmd_init(&cmd, "SCRIPT", call->ptemp);
    cmd_str(&cmd, "LOAD");
    cmd_str(&cmd, acmpca_redis_script_src[id]);
    if ((rv = conn_pipeline(call, &cmds, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (reply_error_text(r)) {
        return acmpca_redis_call_error_reply(call, r);
    }
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        return acmpca_redis_call_bad_reply(call, "SCRIPT LOAD");
    }
    memcpy(conn->sha[id], r->str, 41);
    conn->loaded |= 1u << id;
    return APR_SUCCESS;
}

/* EVALSHA, and EVAL when the server lost its script cache (restart, SCRIPT FLUSH, a
 * failover to a replica that never saw SCRIPT LOAD). */
static apr_status_t script_eval(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd,
                                redisReply **preply)
{
    apr_status_t rv;
    const char *text;

    if ((rv = script_load(call, id)) != APR_SUCCESS) {
        return rv;
    }
    cmd->argv[0] = "EVALSHA";
    cmd->len[0] = 7;
    cmd->argv[1] = call->conn->sha[id];
    cmd->len[1] = 40;
    if ((rv = conn_pipeline(call, &cmd, 1, preply)) != APR_SUCCESS) {
        return rv;
    }
    text = reply_error_text(*preply);
    if (text && !strncmp(text, "NOSCRIPT", 8)) {
        cmd->argv[0] = "EVAL";
        cmd->len[0] = 4;
        cmd->argv[1] = acmpca_redis_script_src[id];
        cmd->len[1] = strlen(acmpca_redis_script_src[id]);
        rv = conn_pipeline(call, &cmd, 1, preply);
    }
    return rv;
}

/* What one attempt sends: plain commands (pipelined) or one script. */
typedef struct rd_req_t {
    rd_cmd_t *const *cmds;
    int n;
    rd_script_id script; /* with n == 1 and script_cmd */
    int script_cmd;
    redisReply **replies;
} rd_req_t;

static apr_status_t call_attempt(rd_call_t *call, const rd_req_t *req, int *pfresh)
{
    apr_status_t rv;

    call->io_failed = 0;
    call->conn_failed = 0;
    if ((rv = call_connect(call, pfresh)) != APR_SUCCESS) {
        return rv;
    }
    if (req->script_cmd) {
        return script_eval(call, req->script, req->cmds[0], req->replies);
    }
    return conn_pipeline(call, req->cmds, req->n, req->replies);
}

/* A reply of the request that refused it (refused_text). */
static int req_refused(const rd_req_t *req)
{
    int i;

    for (i = 0; i < req->n; ++i) {
        if (req->replies[i] && refused_text(reply_error_text(req->replies[i]))) {
            return 1;
        }
    }
    return 0;
}

/* Sentinel: see "Sentinel" at the top. The first retry goes at once (the address we
 * knew may just be stale), later ones after growing pauses, none after the deadline. */
static apr_status_t call_run_sentinel(rd_call_t *call, const rd_req_t *req, int retry)
{
    apr_interval_time_t pause = apr_time_from_msec(RD_PAUSE_MIN_MS);
    apr_status_t rv;
    int fresh = 0, tries = 0;

    call->deadline = apr_time_now() + apr_time_from_msec(call->st->failover_ms);
    for (;;) {
        rv = call_attempt(call, req, &fresh);
        if (rv == APR_SUCCESS) {
            if (!req_refused(req)) {
                return rv;
            }
            call_master_lost(call);
        }
        else if (!call->conn_failed && !(call->io_failed && retry)) {
            return rv;
        }
        if (apr_time_now() + (tries ? pause : 0) >= call->deadline) {
            return rv; /* the caller logs a refusal with the call */
        }
        if (tries++) {
            apr_sleep(pause);
            pause = pause * 2 > apr_time_from_msec(RD_PAUSE_MAX_MS)
                        ? apr_time_from_msec(RD_PAUSE_MAX_MS)
                        : pause * 2;
        }
        else {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, rv, call->p,
                       "ACMPCA0444: redis %s: no answer from the master of %s; asking the "
                       "sentinels and retrying for up to %d ms",
                       call->op, call->st->target, call->st->failover_ms);
        }
    }
}

/* Run a request. When a connection that worked before is found lost (the server
 * restarted, an idle timeout, a failover), reconnect once and send once more, but only
 * what is safe to repeat: reads, and writes whose script recognises its own nonce. */
static apr_status_t call_run(rd_call_t *call, const rd_req_t *req, int retry)
{
    apr_status_t rv;
    int fresh = 0;

    if (call->st->sentinel) {
        return call_run_sentinel(call, req, retry);
    }
    rv = call_attempt(call, req, &fresh);
    if (rv != APR_SUCCESS && call->io_failed && !fresh && retry) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, rv, call->p,
                   "ACMPCA0412: redis %s: reconnecting to %s and retrying once", call->op,
                   call->st->target);
        rv = call_attempt(call, req, &fresh);
    }
    return rv;
}

/* One command; an error reply is logged and is a failure. */
apr_status_t acmpca_redis_call_cmd(rd_call_t *call, rd_cmd_t *cmd, int retry, redisReply **preply)
{
    rd_req_t req = {&cmd, 1, RS_COUNT, 0, preply};
    apr_status_t rv;

    *preply = NULL;
    if ((rv = call_run(call, &req, retry)) != APR_SUCCESS) {
        return rv;
    }
    return reply_error_text(*preply) ? acmpca_redis_call_error_reply(call, *preply) : APR_SUCCESS;
}

/* Several read commands in one round trip; error replies are left to the caller. */
apr_status_t acmpca_redis_call_cmds(rd_call_t *call, rd_cmd_t *const *cmds, int n,
                                    redisReply **replies)
{
    rd_req_t req = {cmds, n, RS_COUNT, 0, replies};

    return call_run(call, &req, 1);
}

/* Start a script command: slots 0-2 are EVALSHA, the sha and numkeys (set here). */
void acmpca_redis_script_init(rd_cmd_t *cmd, int numkeys, apr_pool_t *p)
{
    cmd_init(cmd, NULL, p);
    cmd_str(cmd, "EVALSHA");
    cmd_str(cmd, "");
    cmd_i64(cmd, numkeys);
}

apr_status_t acmpca_redis_call_script(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd, int retry,
                                      redisReply **preply)
{
    rd_req_t req = {&cmd, 1, id, 1, preply};
    apr_status_t rv;

    *preply = NULL;
    if ((rv = call_run(call, &req, retry)) != APR_SUCCESS) {
        return rv;
    }
    return reply_error_text(*preply) ? acmpca_redis_call_error_reply(call, *preply) : APR_SUCCESS;
}

/* A write script's result code (and the reply, for what follows the code). */
apr_status_t acmpca_redis_call_write_script(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd,
                                            long long *pcode, redisReply **preply)
{
    apr_status_t rv;
    redisReply *r;

    if ((rv = acmpca_redis_call_script(call, id, cmd, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1
        || r->element[0]->type != REDIS_REPLY_INTEGER) {
        return acmpca_redis_call_bad_reply(call, "script result");
    }
    *pcode = r->element[0]->integer;
    *preply = r;
    return APR_SUCCESS;
}

/* With wait=N: the write of this call is on N replicas, or the call fails. Sent on the
 * connection that wrote, as WAIT counts that connection's writes. */
apr_status_t acmpca_redis_call_durable(rd_call_t *call)
{
    rd_store_t *st = call->st;
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv;

    if (!st->wait_replicas || !call->conn->ctx) {
        return APR_SUCCESS;
    }
    cmd_init(&cmd, "WAIT", call->ptemp);
    cmd_i64(&cmd, st->wait_replicas);
    cmd_i64(&cmd, st->wait_timeout_ms);
    if ((rv = acmpca_redis_call_cmd(call, &cmd, 0, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        return acmpca_redis_call_bad_reply(call, "WAIT");
    }
    if (r->integer < st->wait_replicas) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_TIMEUP, call->p,
                   "ACMPCA0406: redis %s on %s: %lld of %d replicas acknowledged the write "
                   "within %d ms",
                   call->op, st->target, r->integer, st->wait_replicas, st->wait_timeout_ms);
        /* Perhaps a master that a failover left behind, its replica promoted. */
        call_master_lost(call);
        return APR_TIMEUP;
    }
    return APR_SUCCESS;
}

/* With wait=N, a call that answers from what an earlier call wrote must not acknowledge
 * what the replicas may lack: that call may have failed its own WAIT (on a master that a
 * failover left behind, whose writes are lost when it rejoins as a replica), and a WAIT
 * alone counts only this connection's writes. A write of ours after the read, once on N
 * replicas, shows that everything read is there too: a master has one replication
 * stream. The barrier key shares the hash tag of what was read. */
apr_status_t acmpca_redis_call_barrier(rd_call_t *call, const char *tag)
{
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv;

    if (!call->st->wait_replicas) {
        return APR_SUCCESS;
    }
    cmd_init(&cmd, "SET", call->ptemp);
    cmd_str(&cmd, apr_pstrcat(call->ptemp, "acmpca:{", tag, "}:barrier", NULL));
    cmd_str(&cmd, acmpca_redis_nonce(call->ptemp));
    cmd_str(&cmd, "PX");
    cmd_str(&cmd, "60000");
    if ((rv = acmpca_redis_call_cmd(call, &cmd, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    return acmpca_redis_call_durable(call);
}

/**************************************************************************************
 * For the migration operations (redis_dump.c): a pooled connection, connected as a
 * served call connects
 */

struct acmpca_redis_conn_t {
    rd_call_t call;
};

apr_status_t acmpca_redis_conn_get(acmpca_store_t *s, acmpca_redis_conn_t **pc, redisContext **pctx,
                                   apr_pool_t *p)
{
    acmpca_redis_conn_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;
    int fresh;

    if ((rv = acmpca_redis_call_begin(&c->call, s, "migration", p)) == APR_SUCCESS
        && (rv = call_connect(&c->call, &fresh)) == APR_SUCCESS
        && (rv = acmpca_redis_schema_check(c->call.st, c->call.conn->ctx, p)) == APR_SUCCESS) {
        *pc = c;
        *pctx = c->call.conn->ctx;
        return APR_SUCCESS;
    }
    if (c->call.conn) {
        acmpca_redis_conn_drop(c->call.conn);
    }
    return acmpca_redis_call_end(&c->call, rv);
}

void acmpca_redis_conn_put(acmpca_redis_conn_t *c, int broken)
{
    if (broken) {
        acmpca_redis_conn_drop(c->call.conn); /* replies left unread, or a lost socket */
    }
    acmpca_redis_call_end(&c->call, APR_SUCCESS);
}
