/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the store: the migration operations (dump, load) each provider keeps in a file
 * of its own (sqlite_dump.c, redis_dump.c), so that its main file stays about serving,
 * and the memo of CA records both providers keep. */
#ifndef ACMPCA_STORE_INT_H
#define ACMPCA_STORE_INT_H

#include <sys/types.h>

#include <apr_reslist.h>
#include <apr_thread_mutex.h>

#include "acmpca/store.h"

apr_status_t acmpca_sqlite_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p);
apr_status_t acmpca_sqlite_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                                apr_pool_t *p);

apr_status_t acmpca_redis_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p);
apr_status_t acmpca_redis_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                               apr_pool_t *p);

/* A store's connections in this process (conns.c): an apr_reslist made by child_init
 * (acmpca_conns_attach, in pchild) or on first use (in the store's pool: unit tests, a
 * call in post_config), once per process. */

/** What the list is made of: apr_reslist_create's arguments, and for the log. */
typedef struct acmpca_conns_spec_t {
    int keep, max;               /* connections kept idle beyond ttl (smax), at most (hmax) */
    apr_interval_time_t ttl;     /* 0: idle connections are kept */
    apr_interval_time_t timeout; /* how long a thread beyond max waits; 0: for ever */
    apr_reslist_constructor make;
    apr_reslist_destructor close;
    void *params;
    const char *log_prefix; /* "ACMPCA0411: redis" */
    const char *target;     /* where the connections go, never a password */
} acmpca_conns_spec_t;

typedef struct acmpca_conns_t {
    acmpca_conns_spec_t spec;
    apr_pool_t *pool;          /* the store's: where a list made on first use lives */
    apr_thread_mutex_t *mutex; /* guards list and pid */
    apr_reslist_t *list;       /* this process's, once pid is ours */
    pid_t pid;                 /* the process list belongs to */
} acmpca_conns_t;

apr_status_t acmpca_conns_init(acmpca_conns_t *c, const acmpca_conns_spec_t *spec, apr_pool_t *p);
/** child_init: a list owned by this child, closed with pchild. */
apr_status_t acmpca_conns_attach(acmpca_conns_t *c, apr_pool_t *pchild);
/** This process's list, made now when need be. */
apr_status_t acmpca_conns_get(acmpca_conns_t *c, apr_reslist_t **plist);

/** The quoted ETag of an object (etag.c): of its etag_basis when set, else of its data. */
const char *acmpca_store_etag(const acmpca_object_t *obj, apr_pool_t *p);

/* The per-thread memo of CA records (memo.c), at a generation of the provider's. */

/** A number naming a store in the memos, unique in the process (an address may be
 *  reused by a store made later). */
apr_uint64_t acmpca_memo_store_id(void);
/** The record of CA id in this thread's memo at generation gen, copied into p: 1 when
 *  there; acmpca_memo_version the version alone. */
int acmpca_memo_get(apr_uint64_t store, apr_uint64_t gen, const char *id, acmpca_ca_rec_t **prec,
                    apr_pool_t *p);
int acmpca_memo_version(apr_uint64_t store, apr_uint64_t gen, const char *id,
                        apr_int64_t *pversion);
/** Remember the record a read made after taking gen found. */
void acmpca_memo_put(apr_uint64_t store, apr_uint64_t gen, const acmpca_ca_rec_t *rec);

#endif
