/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Redis Sentinel discovery for the redis store provider (src/store/redis*.c): which node
 * is the master of a named set now, as the sentinels say. Internal to src/store. */
#ifndef ACMPCA_REDIS_SENTINEL_H
#define ACMPCA_REDIS_SENTINEL_H

#include <apr_pools.h>
#include <apr_time.h>

#include <hiredis/hiredis.h>

typedef struct acmpca_sentinel_t acmpca_sentinel_t;

/** Config time: an empty set of sentinels watching the master called name, in p (which
 *  must outlive the store). NULL or an error text. */
const char *acmpca_sentinel_create(acmpca_sentinel_t **psn, const char *name, apr_pool_t *p);

/** Config time: one more sentinel to ask (host is kept, not copied). */
void acmpca_sentinel_add(acmpca_sentinel_t *sn, const char *host, int port);

/** Config time: log in to each sentinel with AUTH [user] password (kept, not copied);
 *  a NULL password: no AUTH, the default. */
void acmpca_sentinel_auth(acmpca_sentinel_t *sn, const char *user, const char *password);

/** "name (h1:p1,h2:p2)" for logs and error texts, in p. */
const char *acmpca_sentinel_describe(const acmpca_sentinel_t *sn, apr_pool_t *p);

/** The master's address: the one found last, or, when there is none (first use, or
 *  forgotten), asked of the sentinels in turn, the one that answered last first, each
 *  within timeout_ms, none after deadline (0: no deadline). *pgen names the answer for
 *  acmpca_sentinel_forget. The host is allocated in p. Safe across threads; a forked
 *  child starts from what its parent knew. Fails (never with APR_NOTFOUND, which store
 *  callers read as a missing record) when no sentinel answers or none knows the name;
 *  the failure is logged. */
apr_status_t acmpca_sentinel_master(acmpca_sentinel_t *sn, int timeout_ms, apr_time_t deadline,
                                    const char **phost, int *pport, unsigned int *pgen,
                                    apr_pool_t *p);

/** Whether the node on ctx (logged in, named by the sentinels, where for the log) says
 *  ROLE master: their answer may be from before a failover ended. APR_SUCCESS; APR_EAGAIN
 *  when it is not the master; another failure when the connection failed (ctx->err).
 *  A user whom the ACL denies ROLE is taken at the sentinels' word: a write to a replica
 *  is still refused, with READONLY. Logged. */
apr_status_t acmpca_sentinel_check(const acmpca_sentinel_t *sn, redisContext *ctx,
                                   const char *where, apr_pool_t *p);

/** The master of answer gen did not behave as one (unreachable, lost, a replica, read
 *  only): the next acmpca_sentinel_master asks the sentinels again. A later answer is
 *  kept (another thread may have asked already). */
void acmpca_sentinel_forget(acmpca_sentinel_t *sn, unsigned int gen);

#endif
