/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * A store's connections in one process (store_int.h): an apr_reslist made once per
 * process, by child_init (attach) or on first use, and found without a lock after. */
#include <apr_strings.h>

#include "store_int.h"

#include "acmpca/log.h"
#include "acmpca/util.h"

apr_status_t acmpca_conns_init(acmpca_conns_t *c, const acmpca_conns_spec_t *spec, apr_pool_t *p)
{
    c->spec = *spec;
    c->pool = p;
    c->list = NULL;
    c->pid = 0;
    return apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p);
}

/* A list made in a pool that is going away; c outlives it (pchild vs pconf). */
typedef struct conns_owner_t {
    acmpca_conns_t *c;
    apr_reslist_t *list;
} conns_owner_t;

static apr_status_t conns_forget(void *data)
{
    conns_owner_t *owner = data;

    if (owner->c->list == owner->list) {
        owner->c->list = NULL;
    }
    return APR_SUCCESS;
}

/* Called with c->mutex held. A list inherited from the parent process is abandoned,
 * never used nor destroyed: its connections are the parent's (a socket read by both
 * would hand one process the other's replies; closing an SQLite connection is a use,
 * which may checkpoint or remove the -wal file the parent relies on). */
static apr_status_t conns_make(acmpca_conns_t *c, apr_pool_t *pool)
{
    const acmpca_conns_spec_t *s = &c->spec;
    conns_owner_t *owner;
    apr_status_t rv;

    rv = apr_reslist_create(&c->list, 0, s->keep, s->max, s->ttl, s->make, s->close, s->params,
                            pool);
    if (rv != APR_SUCCESS) {
        c->list = NULL;
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, pool,
                   "%s cannot create the connection list for %s", s->log_prefix, s->target);
        return rv;
    }
    if (s->timeout) { /* a thread beyond max waits for a connection, but not for ever */
        apr_reslist_timeout_set(c->list, s->timeout);
    }
    __atomic_store_n(&c->pid, acmpca_pid(), __ATOMIC_RELEASE); /* acmpca_conns_get's fast path */
    owner = apr_palloc(pool, sizeof(*owner));
    owner->c = c;
    owner->list = c->list;
    apr_pool_cleanup_register(pool, owner, conns_forget, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t acmpca_conns_attach(acmpca_conns_t *c, apr_pool_t *pchild)
{
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(c->mutex);
    if (c->list == NULL || c->pid != acmpca_pid()) {
        rv = conns_make(c, pchild);
    }
    apr_thread_mutex_unlock(c->mutex);
    return rv;
}

apr_status_t acmpca_conns_get(acmpca_conns_t *c, apr_reslist_t **plist)
{
    pid_t pid = acmpca_pid();
    apr_status_t rv = APR_SUCCESS;

    /* Made once per process: every later call takes no lock (pid is set last). */
    if (__atomic_load_n(&c->pid, __ATOMIC_ACQUIRE) == pid
        && (*plist = __atomic_load_n(&c->list, __ATOMIC_ACQUIRE)) != NULL) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(c->mutex);
    if (c->list == NULL || c->pid != pid) {
        rv = conns_make(c, c->pool);
    }
    *plist = c->list;
    apr_thread_mutex_unlock(c->mutex);
    return rv;
}
