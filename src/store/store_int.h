/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the store: the migration operations (dump, load) each provider keeps in a file
 * of its own (sqlite_dump.c, redis_dump.c), so that its main file stays about serving. */
#ifndef ACMPCA_STORE_INT_H
#define ACMPCA_STORE_INT_H

#include "acmpca/store.h"

apr_status_t acmpca_sqlite_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p);
apr_status_t acmpca_sqlite_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                                apr_pool_t *p);

apr_status_t acmpca_redis_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p);
apr_status_t acmpca_redis_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                               apr_pool_t *p);

#endif
