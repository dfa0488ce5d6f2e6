/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Redis Sentinel discovery: the master of a named set, asked of the sentinels in turn
 * (https://redis.io/docs/reference/sentinel-clients/), kept until the store says it
 * stopped behaving as the master. */
#include <errno.h>
#include <string.h>
#include <sys/time.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include <hiredis/hiredis.h>

#include "acmpca/log.h"
#include "redis_sentinel.h"

#define SN_MAX_HOST 256

typedef struct sn_addr_t {
    const char *host;
    int port;
} sn_addr_t;

struct acmpca_sentinel_t {
    const char *name;
    const char *user;          /* AUTH to each sentinel: user (NULL: default) and */
    const char *password;      /* password (NULL: none) */
    apr_array_header_t *addrs; /* sn_addr_t, in the spec's order */
    apr_thread_mutex_t *mutex; /* guards what follows */
    int first;                 /* the sentinel asked first: the one that answered last */
    unsigned int gen;          /* bumped by every answer; 0: none yet */
    int known;                 /* host and port are the master's (not forgotten) */
    char host[SN_MAX_HOST];    /* the last answer, kept when forgotten to log a move */
    int port;
};

const char *acmpca_sentinel_create(acmpca_sentinel_t **psn, const char *name, apr_pool_t *p)
{
    acmpca_sentinel_t *sn = apr_pcalloc(p, sizeof(*sn));

    *psn = NULL;
    sn->name = name;
    sn->addrs = apr_array_make(p, 3, sizeof(sn_addr_t));
    if (apr_thread_mutex_create(&sn->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
        return "cannot create a mutex";
    }
    *psn = sn;
    return NULL;
}

void acmpca_sentinel_add(acmpca_sentinel_t *sn, const char *host, int port)
{
    sn_addr_t *a = apr_array_push(sn->addrs);

    a->host = host;
    a->port = port;
}

void acmpca_sentinel_auth(acmpca_sentinel_t *sn, const char *user, const char *password)
{
    sn->user = user;
    sn->password = password;
}

static const char *addr_text(const char *host, int port, apr_pool_t *p)
{
    int v6 = strchr(host, ':') != NULL;

    return apr_psprintf(p, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

const char *acmpca_sentinel_describe(const acmpca_sentinel_t *sn, apr_pool_t *p)
{
    const char *list = "";
    int i;

    for (i = 0; i < sn->addrs->nelts; ++i) {
        const sn_addr_t *a = &APR_ARRAY_IDX(sn->addrs, i, sn_addr_t);
        list = apr_pstrcat(p, list, i ? "," : "", addr_text(a->host, a->port, p), NULL);
    }
    return apr_psprintf(p, "%s (%s)", sn->name, list);
}

/* AUTH [user] password to a sentinel that has requirepass (or ACL users): 1, or 0 with
 * *pwhy. The password is never part of *pwhy. */
static int sentinel_login(const acmpca_sentinel_t *sn, redisContext *ctx, const char *where,
                          const char **pwhy, apr_pool_t *p)
{
    /* AUTH password, or AUTH user password */
    const char *argv[3] = {"AUTH", sn->user ? sn->user : sn->password, sn->password};
    size_t len[3] = {4, strlen(argv[1]), strlen(sn->password)};
    redisReply *r = redisCommandArgv(ctx, sn->user ? 3 : 2, argv, len);
    int ok = 0;

    if (!r) {
        *pwhy = apr_psprintf(p, "%s: %s", where, ctx->errstr);
    }
    else if (r->type == REDIS_REPLY_ERROR) {
        *pwhy = apr_psprintf(p, "%s refused AUTH: %s", where, r->str);
    }
    else {
        ok = 1;
    }
    if (r) {
        freeReplyObject(r);
    }
    return ok;
}

/* One sentinel's answer to SENTINEL get-master-addr-by-name: 0 with host and port, or -1
 * with *pwhy. */
static int ask_one(const acmpca_sentinel_t *sn, const sn_addr_t *a, int timeout_ms, char *host,
                   int *pport, const char **pwhy, apr_pool_t *p)
{
    struct timeval tv;
    const char *argv[3] = {"SENTINEL", "get-master-addr-by-name", sn->name};
    size_t len[3] = {8, 23, strlen(sn->name)};
    const char *where = addr_text(a->host, a->port, p);
    redisContext *ctx;
    redisReply *r;
    int rc = -1;

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    ctx = redisConnectWithTimeout(a->host, a->port, tv);
    if (!ctx || ctx->err) {
        *pwhy = apr_psprintf(p, "%s: %s", where, ctx ? ctx->errstr : "out of memory");
        if (ctx) {
            redisFree(ctx);
        }
        return -1;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        *pwhy = apr_psprintf(p, "%s: %s", where, ctx->errstr);
        redisFree(ctx);
        return -1;
    }
    if (sn->password && !sentinel_login(sn, ctx, where, pwhy, p)) {
        redisFree(ctx);
        return -1;
    }
    r = redisCommandArgv(ctx, 3, argv, len);
    if (!r) {
        *pwhy = apr_psprintf(p, "%s: %s", where, ctx->errstr);
    }
    else if (r->type == REDIS_REPLY_NIL) {
        *pwhy = apr_psprintf(p, "%s does not know a master '%s'", where, sn->name);
    }
    else if (r->type == REDIS_REPLY_ERROR) {
        *pwhy = apr_psprintf(p, "%s: %s", where, r->str);
    }
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
             || r->element[0]->type != REDIS_REPLY_STRING
             || r->element[1]->type != REDIS_REPLY_STRING || !r->element[0]->len
             || r->element[0]->len >= SN_MAX_HOST) {
        *pwhy = apr_psprintf(p, "%s: unexpected reply", where);
    }
    else {
        apr_int64_t port = apr_atoi64(r->element[1]->str);
        if (port < 1 || port > 65535) {
            *pwhy = apr_psprintf(p, "%s: bad port in the reply", where);
        }
        else {
            memcpy(host, r->element[0]->str, r->element[0]->len);
            host[r->element[0]->len] = '\0';
            *pport = (int)port;
            rc = 0;
        }
    }
    if (r) {
        freeReplyObject(r);
    }
    redisFree(ctx);
    return rc;
}

/* Keep an answer: the sentinel that gave it is asked first next time. A move is worth a
 * notice: it is how an operator sees a failover from httpd's side. */
static unsigned int remember(acmpca_sentinel_t *sn, int from, const char *host, int port,
                             apr_pool_t *p)
{
    const sn_addr_t *a = &APR_ARRAY_IDX(sn->addrs, from, sn_addr_t);
    unsigned int gen;
    int moved;

    apr_thread_mutex_lock(sn->mutex);
    moved = sn->gen && (strcmp(sn->host, host) || sn->port != port);
    if (moved) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_NOTICE, APR_SUCCESS, p,
                   "ACMPCA0441: redis sentinel: master %s is now at %s (was %s), said %s", sn->name,
                   addr_text(host, port, p), addr_text(sn->host, sn->port, p),
                   addr_text(a->host, a->port, p));
    }
    else if (!sn->gen) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, APR_SUCCESS, p,
                   "ACMPCA0442: redis sentinel: master %s is at %s, said %s", sn->name,
                   addr_text(host, port, p), addr_text(a->host, a->port, p));
    }
    apr_cpystrn(sn->host, host, sizeof(sn->host));
    sn->port = port;
    sn->known = 1;
    sn->first = from;
    if (++sn->gen == 0) {
        sn->gen = 1; /* 0 means "none yet" */
    }
    gen = sn->gen;
    apr_thread_mutex_unlock(sn->mutex);
    return gen;
}

apr_status_t acmpca_sentinel_master(acmpca_sentinel_t *sn, int timeout_ms, apr_time_t deadline,
                                    const char **phost, int *pport, unsigned int *pgen,
                                    apr_pool_t *p)
{
    char host[SN_MAX_HOST];
    const char *why = "no sentinel";
    int first, k, i, n = sn->addrs->nelts, port = 0;

    apr_thread_mutex_lock(sn->mutex);
    if (sn->known) {
        *phost = apr_pstrdup(p, sn->host);
        *pport = sn->port;
        *pgen = sn->gen;
        apr_thread_mutex_unlock(sn->mutex);
        return APR_SUCCESS;
    }
    first = sn->first;
    apr_thread_mutex_unlock(sn->mutex);

    /* Not under the mutex: a slow sentinel must not hold up the threads that could
     * be asking another one. Two threads may ask at once; both answers are good. */
    for (k = 0; k < n; ++k) {
        if (k && deadline && apr_time_now() >= deadline) {
            why = apr_pstrcat(p, why, "; out of time", NULL);
            break;
        }
        i = (first + k) % n;
        if (ask_one(sn, &APR_ARRAY_IDX(sn->addrs, i, sn_addr_t), timeout_ms, host, &port, &why, p)
            == 0) {
            *pgen = remember(sn, i, host, port, p);
            *phost = apr_pstrdup(p, host);
            *pport = port;
            return APR_SUCCESS;
        }
    }
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, p,
               "ACMPCA0440: redis sentinel: no sentinel of %s named the master (last: %s)",
               acmpca_sentinel_describe(sn, p), why);
    return APR_EGENERAL;
}

apr_status_t acmpca_sentinel_check(const acmpca_sentinel_t *sn, redisContext *ctx,
                                   const char *where, apr_pool_t *p)
{
    redisReply *r = redisCommand(ctx, "ROLE");
    const char *role = "?";
    apr_status_t rv = APR_EAGAIN;

    if (!r) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, p,
                   "ACMPCA0401: redis cannot connect to %s: %s", where, ctx->errstr);
        return APR_EGENERAL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        role = r->str;
        rv = strncmp(r->str, "NOPERM", 6) ? APR_EAGAIN : APR_SUCCESS;
    }
    else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1
             && r->element[0]->type == REDIS_REPLY_STRING) {
        role = r->element[0]->str;
        rv = strcmp(role, "master") ? APR_EAGAIN : APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, rv, p,
                   "ACMPCA0443: redis %s is not the master of %s now (ROLE %s)", where, sn->name,
                   role);
    }
    freeReplyObject(r);
    return rv;
}

void acmpca_sentinel_forget(acmpca_sentinel_t *sn, unsigned int gen)
{
    apr_thread_mutex_lock(sn->mutex);
    if (sn->gen == gen) {
        sn->known = 0;
    }
    apr_thread_mutex_unlock(sn->mutex);
}
