/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the redis provider: the key layout (drawn at the top of redis.c) and the
 * connection that redis.c and redis_dump.c share. */
#ifndef ACMPCA_REDIS_INT_H
#define ACMPCA_REDIS_INT_H

#include <string.h>

#include <apr_strings.h>

#include <hiredis/hiredis.h>

#include "acmpca/store.h"

#define RD_SCHEMA 1 /* the layout version, in acmpca:schema */

#define K_SEQ    "acmpca:seq"
#define K_ALL    "acmpca:cas"
#define K_SCHEMA "acmpca:schema"

/* acmpca:{<id>}:<what>: a key of the CA id (see the layout at the top). */
static inline const char *key_ca(const char *id, const char *what, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", id, "}:", what, NULL);
}

static inline const char *key_cert(const char *ca_id, const char *serial, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", ca_id, "}:cert:", serial, NULL);
}

static inline const char *key_report(const char *ca_id, const char *id, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", ca_id, "}:report:", id, NULL);
}

static inline const char *key_account(const char *account, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", account, "}:cas", NULL);
}

static inline const char *key_idem(const char *scope, const char *token, apr_pool_t *p)
{
    const char *colon = strrchr(scope, ':');
    const char *owner = colon ? colon + 1 : scope;

    return apr_psprintf(p, "acmpca:{%s}:idem:%" APR_SIZE_T_FMT ":%s:%s", owner, strlen(scope),
                        scope, token);
}

static inline const char *key_object(const char *bucket, const char *key, apr_pool_t *p)
{
    return apr_psprintf(p, "acmpca:obj:%" APR_SIZE_T_FMT ":%s:%s", strlen(bucket), bucket, key);
}

static inline const char *key_counter(const char *name, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:counter:", name, NULL);
}

/* The fields of a certificate's hash, in the order cert_read takes them. */
static const char *const cert_fields[] = {"pem", "subject", "tmpl", "nb", "na",
                                          "ia",  "ra",      "rr",   "rb"};
#define CERT_NFIELDS 9

/** A connected, logged-in context (AUTH, SELECT) with the store's timeouts, or a logged
 *  failure. The caller frees it with redisFree. */
apr_status_t acmpca_redis_connect(acmpca_store_t *s, redisContext **pctx, apr_pool_t *p);

#endif
