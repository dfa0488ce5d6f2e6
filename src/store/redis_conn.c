/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's connections: one opened to the master (asked of the sentinels
 * when there are some) and logged in, the slots of the connection list, and the check
 * of the layout version. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <apr_strings.h>

#include <hiredis/hiredis.h>

#include "acmpca/log.h"
#include "redis_int.h"
#include "redis_sentinel.h"

/**************************************************************************************
 * Connections
 *
 * hiredis writes with write(2): a write to a connection the server closed raises
 * SIGPIPE, which httpd ignores (as do our tests). A process without that disposition
 * must ignore SIGPIPE before using this provider.
 */

#define RD_SCHEMA 1

static struct timeval ms_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* A status for a context that failed, from what hiredis recorded. */
apr_status_t acmpca_redis_ctx_status(const redisContext *ctx, int sys)
{
    if (!ctx) {
        return APR_ENOMEM;
    }
    switch (ctx->err) {
    case REDIS_ERR_EOF:
        return APR_EOF;
    case REDIS_ERR_OOM:
        return APR_ENOMEM;
    case REDIS_ERR_IO:
        if (sys == EAGAIN || sys == EWOULDBLOCK || sys == ETIMEDOUT) {
            return APR_TIMEUP;
        }
        return sys ? APR_FROM_OS_ERROR(sys) : APR_EGENERAL;
    default:
        return APR_EGENERAL;
    }
}

/* A command on a context that is not pooled yet (connect, open): reply or NULL. */
static redisReply *ctx_command(redisContext *ctx, rd_cmd_t *cmd)
{
    return redisCommandArgv(ctx, cmd->argc, cmd->argv, cmd->len);
}

/* AUTH (ACL user when given) and SELECT, on a fresh context. The reply texts are the
 * server's ("WRONGPASS invalid username-password pair"): they never echo the password. */
static apr_status_t ctx_login(const rd_store_t *st, redisContext *ctx, apr_pool_t *p)
{
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv = APR_SUCCESS;
    int sys;

    if (st->password) {
        cmd_init(&cmd, "AUTH", p);
        if (st->user) {
            cmd_str(&cmd, st->user);
        }
        cmd_str(&cmd, st->password);
        errno = 0;
        r = ctx_command(ctx, &cmd);
        sys = errno;
        if (!r || reply_error_text(r)) {
            rv = r ? APR_EACCES : acmpca_redis_ctx_status(ctx, sys);
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                       "ACMPCA0402: redis AUTH%s%s on %s failed: %s", st->user ? " as " : "",
                       st->user ? st->user : "", st->target, r ? reply_error_text(r) : ctx->errstr);
        }
        reply_free(r);
    }
    if (rv == APR_SUCCESS && st->db) {
        cmd_init(&cmd, "SELECT", p);
        cmd_i64(&cmd, st->db);
        errno = 0;
        r = ctx_command(ctx, &cmd);
        sys = errno;
        if (!r || reply_error_text(r)) {
            rv = r ? APR_EINVAL : acmpca_redis_ctx_status(ctx, sys);
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                       "ACMPCA0403: redis SELECT %d on %s failed: %s", st->db, st->target,
                       r ? reply_error_text(r) : ctx->errstr);
        }
        reply_free(r);
    }
    return rv;
}

/* A logged-in context with bounded connect and command timeouts, on the spec's address
 * or, with sentinels, on the master's (asked of them until deadline when unknown; *pgen
 * names their answer). A WAIT blocks up to wait_timeout on top of the usual command
 * time. (A host name is resolved first, by getaddrinfo, which no timeout of ours bounds:
 * use an address or /etc/hosts.) */
apr_status_t acmpca_redis_ctx_open(const rd_store_t *st, apr_time_t deadline, redisContext **pctx,
                                   unsigned int *pgen, apr_pool_t *p)
{
    struct timeval tv = ms_tv(st->timeout_ms);
    const char *host = st->host, *where = st->target;
    redisContext *ctx;
    apr_status_t rv;
    int sys, port = st->port;

    *pctx = NULL;
    *pgen = 0;
    if (st->sentinel) {
        rv = acmpca_sentinel_master(st->sentinel, st->timeout_ms, deadline, &host, &port, pgen, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        where = apr_psprintf(p, "%s%s%s:%d (master of %s)", strchr(host, ':') ? "[" : "", host,
                             strchr(host, ':') ? "]" : "", port, st->target);
    }
    errno = 0;
    ctx = st->sock ? redisConnectUnixWithTimeout(st->sock, tv)
                   : redisConnectWithTimeout(host, port, tv);
    sys = errno;
    if (!ctx || ctx->err) {
        rv = acmpca_redis_ctx_status(ctx, sys);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0401: redis cannot connect to %s: %s", where,
                   ctx ? ctx->errstr : "out of memory");
        goto fail;
    }
    tv = ms_tv(st->timeout_ms + (st->wait_replicas ? st->wait_timeout_ms : 0));
    if (redisSetTimeout(ctx, tv) != REDIS_OK
        || (!st->sock && redisEnableKeepAlive(ctx) != REDIS_OK)) {
        rv = acmpca_redis_ctx_status(ctx, errno);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0401: redis cannot connect to %s: %s", where, ctx->errstr);
        goto fail;
    }
    if ((rv = ctx_login(st, ctx, p)) != APR_SUCCESS) {
        goto fail;
    }
    if (st->sentinel && (rv = acmpca_sentinel_check(st->sentinel, ctx, where, p)) != APR_SUCCESS) {
        goto fail;
    }
    *pctx = ctx;
    return APR_SUCCESS;
fail:
    if (ctx) {
        redisFree(ctx);
    }
    if (st->sentinel) {
        acmpca_sentinel_forget(st->sentinel, *pgen);
    }
    return rv;
}

void acmpca_redis_conn_drop(rd_conn_t *conn)
{
    if (conn->ctx) {
        redisFree(conn->ctx);
        conn->ctx = NULL;
    }
    conn->loaded = 0;
}

/* The reslist constructor: only the slot. The socket is opened on first use (and
 * reopened after a loss) inside the call, where a failure is logged with the call. */
apr_status_t acmpca_redis_conn_make(void **pres, void *params, apr_pool_t *pool)
{
    (void)params;
    (void)pool;
    /* malloc, not the reslist's pool: connections come and go for the life of the
     * process, and a pool would only grow. */
    *pres = calloc(1, sizeof(rd_conn_t));
    return *pres ? APR_SUCCESS : APR_ENOMEM;
}

apr_status_t acmpca_redis_conn_close(void *res, void *params, apr_pool_t *pool)
{
    (void)params;
    (void)pool;
    acmpca_redis_conn_drop(res);
    free(res);
    return APR_SUCCESS;
}

/* An error reply that a configuration change, not time, cures: no or a wrong password,
 * an ACL user without the right to our keys or commands. */
static int access_denied(const char *text)
{
    return !strncmp(text, "NOAUTH", 6) || !strncmp(text, "WRONGPASS", 9)
           || !strncmp(text, "NOPERM", 6);
}

/* The layout version: written by the first module; APR_ENOTIMPL when newer than ours,
 * APR_EACCES when we may not. */
apr_status_t acmpca_redis_schema_check(rd_store_t *st, redisContext *ctx, apr_pool_t *p)
{
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv = APR_SUCCESS;
    int version = 0;

    /* SETNX then GET, rather than SET NX GET, which needs Redis 7. */
    cmd_init(&cmd, "SETNX", p);
    cmd_str(&cmd, acmpca_redis_key_schema());
    cmd_i64(&cmd, RD_SCHEMA);
    r = ctx_command(ctx, &cmd);
    if (r && !reply_error_text(r)) {
        reply_free(r);
        cmd_init(&cmd, "GET", p);
        cmd_str(&cmd, acmpca_redis_key_schema());
        r = ctx_command(ctx, &cmd);
    }
    if (!r || reply_error_text(r)) {
        rv = r ? (access_denied(reply_error_text(r)) ? APR_EACCES : APR_EGENERAL)
               : acmpca_redis_ctx_status(ctx, errno);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0409: redis %s: cannot read %s: %s", st->target,
                   acmpca_redis_key_schema(), r ? reply_error_text(r) : ctx->errstr);
    }
    else if (r->type == REDIS_REPLY_STRING
             && (!acmpca_redis_parse_int(r->str, 1, 1000000, &version) || version > RD_SCHEMA)) {
        rv = APR_ENOTIMPL;
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0410: redis %s holds layout version %s, this module knows %d", st->target,
                   r->str, RD_SCHEMA);
    }
    reply_free(r);
    return rv;
}
