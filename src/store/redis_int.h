/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the redis provider: what its files (listed at the top of redis.c) share: the
 * store, its connections and calls, the scripts, the key layout (drawn at the top of
 * redis_keys.c), the operations the provider table names, and what redis_dump.c and
 * redis_watch.c use. */
#ifndef ACMPCA_REDIS_INT_H
#define ACMPCA_REDIS_INT_H

#include <apr_reslist.h>

#include <hiredis/hiredis.h>

#include "acmpca/store.h"
#include "redis_cmd.h"
#include "redis_sentinel.h"
#include "store_int.h"

typedef struct acmpca_redis_conn_t acmpca_redis_conn_t;

/** A pooled connection, connected and logged in as a served call's (the layout version
 *  checked), for commands of the caller's own on *pctx; a failure is logged. Give it
 *  back with acmpca_redis_conn_put, broken when replies were left unread or it failed. */
apr_status_t acmpca_redis_conn_get(acmpca_store_t *s, acmpca_redis_conn_t **pc, redisContext **pctx,
                                   apr_pool_t *p);
void acmpca_redis_conn_put(acmpca_redis_conn_t *c, int broken);

/* The watch (redis_watch.c): when a process may answer from the CA records it keeps. */

/** The channel on which every write of a CA record publishes the CA's id. */
#define ACMPCA_REDIS_CHANNEL "acmpca:ca-changed"

/** Lua: publish the id of a CA whose record changed. A user whose ACL denies the channel
 *  still writes; the watch of its processes hears nothing, and they read every time. */
#define ACMPCA_REDIS_LUA_CA_CHANGED(id)                                                            \
    "redis.pcall('PUBLISH', '" ACMPCA_REDIS_CHANNEL "', " id ") "

typedef struct acmpca_redis_watch_t acmpca_redis_watch_t;
/** A logged-in connection of its own (not pooled) on *pctx, or a logged failure. */
typedef apr_status_t acmpca_redis_open_fn(void *baton, redisContext **pctx, apr_pool_t *p);

/** A watch of the server open opens connections to, stopped when pool goes. *loss moves
 *  whenever the store loses a connection (the watch then subscribes again). */
acmpca_redis_watch_t *acmpca_redis_watch_create(acmpca_redis_open_fn *open, void *baton,
                                                const volatile apr_uint32_t *loss,
                                                const char *target, apr_pool_t *pool);
/** 1 when memos of CA id may be made and used now, at the generation *pgen (the watch of
 *  this process is started on first call). */
int acmpca_redis_watch_now(acmpca_redis_watch_t *w, const char *id, apr_uint64_t *pgen);
/** The record of CA id changed, or may have: memos of it made before are stale. */
void acmpca_redis_watch_changed(const char *id);

/* The keys of the layout, in p. */
const char *acmpca_redis_key_ca(const char *id, const char *what, apr_pool_t *p);
const char *acmpca_redis_key_cert(const char *ca_id, const char *serial, apr_pool_t *p);
const char *acmpca_redis_key_report(const char *ca_id, const char *id, apr_pool_t *p);
const char *acmpca_redis_key_account(const char *account, apr_pool_t *p);
const char *acmpca_redis_key_idem(const char *scope, const char *token, apr_pool_t *p);
const char *acmpca_redis_key_object(const char *bucket, const char *key, apr_pool_t *p);
const char *acmpca_redis_key_counter(const char *name, apr_pool_t *p);
const char *acmpca_redis_key_seq(void);    /* the next CA seq */
const char *acmpca_redis_key_all(void);    /* every CA id scored by seq */
const char *acmpca_redis_key_schema(void); /* the layout version */
/** The owner of an idempotency claim, whose hash tag its key carries: the part of scope
 *  after its last ':' (a pointer into scope). */
const char *acmpca_redis_idem_owner(const char *scope);

/** The fields of a certificate's hash, in the order the served reads take them. */
const char *const *acmpca_redis_cert_fields(void);
#define ACMPCA_REDIS_CERT_NFIELDS 9

/* Upsert a report keeping the first insertion's ord, as sqlite keeps the rowid: served
 * puts and loads alike. KEYS: report, reports, reportseq, ca. ARGV: id, created,
 * field/value... Returns {0}, or {2} when the CA is not there. */
#define ACMPCA_REDIS_LUA_REPORT_PUT                                                                \
    "if redis.call('EXISTS', KEYS[4]) == 0 then return {2} end "                                   \
    "local ord = redis.call('HGET', KEYS[1], 'ord') "                                              \
    "if not ord then ord = redis.call('INCR', KEYS[3]) end "                                       \
    "redis.call('DEL', KEYS[1]) "                                                                  \
    "redis.call('HSET', KEYS[1], 'ord', ord, 'created', ARGV[2], unpack(ARGV, 3)) "                \
    "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) "                                               \
    "return {0}"

/**************************************************************************************
 * The store: its spec, connections and calls
 */

/** The scripts (redis_scripts.c), by id: an index of acmpca_redis_script_src and of a
 *  connection's loaded scripts. */
typedef enum {
    RS_CA_CREATE,
    RS_CA_UPDATE,
    RS_CA_PURGE,
    RS_CERT_PUT,
    RS_CERT_REVOKE,
    RS_CERT_BATCH,
    RS_CRL_BATCH,
    RS_OBJECT_PUT,
    RS_REPORT_PUT,
    RS_REPORT_LATEST,
    RS_IDEM_CLAIM,
    RS_LOCK_ACQUIRE,
    RS_LOCK_RELEASE,
    RS_COUNT
} rd_script_id;

/* Script result codes: the first element of every write script's reply. */
#define RC_OK       0
#define RC_EXISTS   1
#define RC_NOTFOUND 2
#define RC_CONFLICT 3
#define RC_CLAIMED  4
#define RC_MORE     5
#define RC_FULL     6

/** The provider's state (acmpca_store_t's impl): the spec's settings, set at config
 *  time, and this process's connections. */
typedef struct rd_store_t {
    /* from the spec */
    const char *host; /* NULL for a unix socket */
    int port;
    const char *sock; /* the unix socket's path */
    int db;
    const char *user;     /* ACL user, or NULL for the default user */
    const char *password; /* NULL: no AUTH. Never logged. */
    int timeout_ms;
    int wait_replicas;
    int wait_timeout_ms;
    acmpca_sentinel_t *sentinel; /* the master is where the sentinels say; NULL: host, sock */
    int failover_ms;             /* sentinel: how long a call keeps following a move */
    int no_cache;                /* cache=off: every CA read asks the server */
    const char *target;          /* for the log: where, never the password */

    acmpca_conns_t conns; /* this process's connections (rd_conn_t) */
    /* Bumped on every lost connection: a pooled connection made before the last loss is
     * reopened before use, so a server restart costs each process one failed call at
     * most, not one per pooled connection. */
    volatile apr_uint32_t epoch;
    /* When CA records may come from this thread's memo (memo.c, redis_watch.c); NULL:
     * never. */
    acmpca_redis_watch_t *watch;
    apr_uint64_t memo_id;
} rd_store_t;

typedef struct rd_conn_t {
    redisContext *ctx; /* NULL until first use, and after an I/O error */
    apr_uint32_t epoch;
    unsigned int mgen;   /* sentinel: the answer ctx's address came from */
    unsigned int loaded; /* bit per script loaded (SCRIPT LOAD) on ctx */
    char sha[RS_COUNT][41];
} rd_conn_t;

/* One store call: a connection borrowed from the list until acmpca_redis_call_end, and a
 * scratch pool that owns every reply (freed by its cleanup, whatever path we leave by). */
typedef struct rd_call_t {
    rd_store_t *st;
    apr_reslist_t *conns;
    rd_conn_t *conn;
    const char *op; /* the provider function, for the log */
    apr_pool_t *p;
    apr_pool_t *ptemp;
    int io_failed;       /* the last attempt lost its connection */
    int conn_failed;     /* the last attempt could not open one (for a reason time may cure) */
    apr_time_t deadline; /* sentinel: no new try after it */
} rd_call_t;

#define RD_OK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != APR_SUCCESS) {                                                           \
            goto leave;                                                                            \
        }                                                                                          \
    } while (0)

/* The spec (redis_spec.c). */

/** What the provider's name says the args are. */
typedef enum { RD_SPEC_TCP, RD_SPEC_UNIX, RD_SPEC_SENTINEL } rd_spec_kind;

/** Config time: args (a spec of the form kind names, drawn at the top of redis_spec.c)
 *  into st, whose defaults the caller set, and st->target for the log. NULL, or an
 *  error text in p that lists the accepted forms (never the password). */
const char *acmpca_redis_spec_parse(rd_store_t *st, const char *args, rd_spec_kind kind,
                                    apr_pool_t *p);
/** A decimal in [min, max] into *pv: 1, or 0 when s is none (*pv untouched). */
int acmpca_redis_parse_int(const char *s, int min, int max, int *pv);

/* Connections (redis_conn.c). */

/** A status for a context that failed (NULL: APR_ENOMEM), from what hiredis recorded and
 *  sys, the errno of the failed call. */
apr_status_t acmpca_redis_ctx_status(const redisContext *ctx, int sys);
/** A context of its own (not pooled), connected to the master and logged in, on *pctx,
 *  with *pgen naming the sentinels' answer; a failure is logged. deadline (0: none)
 *  bounds the asking of the sentinels. Free it with redisFree. */
apr_status_t acmpca_redis_ctx_open(const rd_store_t *st, apr_time_t deadline, redisContext **pctx,
                                   unsigned int *pgen, apr_pool_t *p);
/** Close the socket of a pooled connection, if any, and forget its loaded scripts: its
 *  next user reconnects. */
void acmpca_redis_conn_drop(rd_conn_t *conn);
/** The connection list's constructor and destructor (acmpca_conns_spec_t): a slot
 *  (rd_conn_t) with no socket yet, in malloc'd memory; close drops and frees it. */
apr_status_t acmpca_redis_conn_make(void **pres, void *params, apr_pool_t *pool);
apr_status_t acmpca_redis_conn_close(void *res, void *params, apr_pool_t *pool);
/** The layout version on a logged-in ctx, written when there is none: APR_ENOTIMPL when
 *  it is newer than ours (or no number), APR_EACCES when we may not; a failure is
 *  logged. */
apr_status_t acmpca_redis_schema_check(rd_store_t *st, redisContext *ctx, apr_pool_t *p);

/* Calls (redis_call.c). */

/** Begin the store call op (for the log): a connection borrowed from this process's
 *  list, opened when the first command needs it, and call->ptemp, a subpool of p that
 *  owns every reply. Whatever happens, end it with acmpca_redis_call_end. */
apr_status_t acmpca_redis_call_begin(rd_call_t *call, acmpca_store_t *s, const char *op,
                                     apr_pool_t *p);
/** Give the connection back before the end (the replies stay in call->ptemp), so that
 *  what follows may call the store; a connection with replies unread is closed. */
void acmpca_redis_call_release(rd_call_t *call);
/** The single exit of a call: the connection back, the replies freed. Returns rv. */
apr_status_t acmpca_redis_call_end(rd_call_t *call, apr_status_t rv);
/** An error reply r, logged: APR_EGENERAL. A refusal (READONLY, LOADING, MASTERDOWN)
 *  also drops the connection and, with sentinels, the master's address. */
apr_status_t acmpca_redis_call_error_reply(rd_call_t *call, const redisReply *r);
/** A reply not of the shape expected (what says which), logged: APR_EGENERAL. */
apr_status_t acmpca_redis_call_bad_reply(rd_call_t *call, const char *what);
/** One command, its reply on *preply (owned by the call); an error reply is logged and
 *  is a failure. retry: the command may be sent again on a new connection when the one
 *  that worked before is found lost (reads, and writes that recognise their nonce). */
apr_status_t acmpca_redis_call_cmd(rd_call_t *call, rd_cmd_t *cmd, int retry, redisReply **preply);
/** n reads in one round trip (sent again on a lost connection), their replies on
 *  replies; error replies are left to the caller. */
apr_status_t acmpca_redis_call_cmds(rd_call_t *call, rd_cmd_t *const *cmds, int n,
                                    redisReply **replies);
/** Start a script command with numkeys keys, which follow, then the arguments. */
void acmpca_redis_script_init(rd_cmd_t *cmd, int numkeys, apr_pool_t *p);
/** Script id with cmd (begun by acmpca_redis_script_init), as acmpca_redis_call_cmd. */
apr_status_t acmpca_redis_call_script(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd, int retry,
                                      redisReply **preply);
/** A write script (sent again on a lost connection), as acmpca_redis_call_script: its
 *  result code (RC_*) on *pcode, the reply on *preply for what follows the code. */
apr_status_t acmpca_redis_call_write_script(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd,
                                            long long *pcode, redisReply **preply);
/** With wait=N: the call's writes are on N replicas, else APR_TIMEUP (logged). Without:
 *  APR_SUCCESS at once. */
apr_status_t acmpca_redis_call_durable(rd_call_t *call);
/** With wait=N: what the call read under the hash tag tag is on N replicas, before the
 *  call answers from it. Without: APR_SUCCESS at once. */
apr_status_t acmpca_redis_call_barrier(rd_call_t *call, const char *tag);

/**************************************************************************************
 * The scripts (redis_scripts.c)
 */

/** The Lua source of each script, by id. */
extern const char *const acmpca_redis_script_src[RS_COUNT];
/** A value no other call ever uses, in p: the nonce of a write. */
const char *acmpca_redis_nonce(apr_pool_t *p);
/** After an idempotency claim's key, what the scripts' check and claim of it take: now,
 *  result, expires and the key's expiry (idem NULL: no claim). */
void acmpca_redis_idem_args(rd_cmd_t *cmd, const acmpca_idem_t *idem, const char *result);

/**************************************************************************************
 * The provider's operations (include/acmpca/store.h states their contract)
 */

/** A call of its own named op: the number of members of the sorted set key (redis.c). */
apr_status_t acmpca_redis_zcard(acmpca_store_t *s, const char *op, const char *key,
                                apr_int64_t *pcount, apr_pool_t *p);

/* Certificates (redis_cert.c). */
apr_status_t acmpca_redis_cert_put(acmpca_store_t *s, const acmpca_cert_rec_t *rec,
                                   acmpca_idem_t *idem, apr_int64_t limit, apr_int64_t ca_version,
                                   apr_pool_t *p);
apr_status_t acmpca_redis_cert_get(acmpca_store_t *s, const char *ca_id, const char *serial,
                                   acmpca_cert_rec_t **prec, apr_pool_t *p);
apr_status_t acmpca_redis_cert_status(acmpca_store_t *s, const char *ca_id, const char *serial,
                                      apr_int64_t *pca_version, int *pfound,
                                      apr_time_t *prevoked_at, const char **preason, apr_pool_t *p);
apr_status_t acmpca_redis_cert_revoke(acmpca_store_t *s, const char *ca_id, const char *serial,
                                      apr_time_t revoked_at, const char *reason, apr_pool_t *p);
apr_status_t acmpca_redis_cert_count(acmpca_store_t *s, const char *ca_id, int which,
                                     apr_int64_t *pcount, apr_pool_t *p);
apr_status_t acmpca_redis_cert_iter(acmpca_store_t *s, const char *ca_id, int which,
                                    acmpca_cert_cb *cb, void *baton, apr_pool_t *p);

/* Objects, reports, counters and locks (redis_object.c). */
apr_status_t acmpca_redis_object_put(acmpca_store_t *s, acmpca_object_t *obj, apr_pool_t *p);
apr_status_t acmpca_redis_object_get(acmpca_store_t *s, const char *bucket, const char *key,
                                     acmpca_object_t **pobj, apr_pool_t *p);
apr_status_t acmpca_redis_report_put(acmpca_store_t *s, const acmpca_report_rec_t *rec,
                                     apr_pool_t *p);
apr_status_t acmpca_redis_report_get(acmpca_store_t *s, const char *ca_id, const char *id,
                                     acmpca_report_rec_t **prec, apr_pool_t *p);
apr_status_t acmpca_redis_report_latest(acmpca_store_t *s, const char *ca_id,
                                        acmpca_report_rec_t **prec, apr_pool_t *p);
apr_status_t acmpca_redis_counter_next(acmpca_store_t *s, const char *name, apr_int64_t *pvalue,
                                       apr_pool_t *p);
apr_status_t acmpca_redis_lock_acquire(acmpca_store_t *s, const char *ca_id, const char *name,
                                       const char *owner, int ttl_ms, int want, apr_pool_t *p);
apr_status_t acmpca_redis_lock_release(acmpca_store_t *s, const char *ca_id, const char *name,
                                       const char *owner, int *pwanted, apr_pool_t *p);

#endif
