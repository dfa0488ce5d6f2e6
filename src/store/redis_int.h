/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the redis provider: what redis_dump.c uses of redis.c, where the connections
 * and the key layout (drawn at the top of redis.c) live. */
#ifndef ACMPCA_REDIS_INT_H
#define ACMPCA_REDIS_INT_H

#include <hiredis/hiredis.h>

#include "acmpca/store.h"

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
const char *acmpca_redis_key_seq(void); /* the next CA seq */
const char *acmpca_redis_key_all(void); /* every CA id scored by seq */

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

#endif
