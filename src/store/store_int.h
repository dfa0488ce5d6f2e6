/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the store: the migration operations (dump, load) each provider keeps in a file
 * of its own (sqlite_dump.c, redis_dump.c), so that its main file stays about serving,
 * and the memo of CA records both providers keep. */
#ifndef ACMPCA_STORE_INT_H
#define ACMPCA_STORE_INT_H

#include "acmpca/store.h"

apr_status_t acmpca_sqlite_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p);
apr_status_t acmpca_sqlite_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                                apr_pool_t *p);

apr_status_t acmpca_redis_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p);
apr_status_t acmpca_redis_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                               apr_pool_t *p);

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
