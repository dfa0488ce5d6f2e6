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
