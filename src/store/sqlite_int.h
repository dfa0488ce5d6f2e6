/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the sqlite provider: what sqlite_dump.c shares with sqlite.c. */
#ifndef ACMPCA_SQLITE_INT_H
#define ACMPCA_SQLITE_INT_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <sqlite3.h>

#include "acmpca/store.h"

/** A SQLite result code as the store contract answers it: a taken unique key is
 *  APR_EEXIST, a missing parent row APR_NOTFOUND, a busy database APR_EBUSY, an I/O
 *  failure the system's error; anything else APR_EGENERAL. */
apr_status_t acmpca_sqlite_status(sqlite3 *db, int rc);

/** WAL pages after which a commit leader checkpoints, once its group is answered. Four
 *  times SQLite's own autocheckpoint threshold: under sustained issuance the checkpoints
 *  run nearly back to back anyway (the WAL stayed near 4,000 pages with 1,000), and fewer
 *  of them write each hot page (indexes, counters) and sync the database file fewer
 *  times: issuance +3.8 % (alternating runs, each pair won). */
#define ACMPCA_SQLITE_CHECKPOINT_PAGES 4000

/** The directory of the objects stored as files, beside the database at db_path. */
#define ACMPCA_SQLITE_OBJECTS_DIR(db_path, p) apr_pstrcat((p), (db_path), "-objects", NULL)

/** The whole of an object's file (migration 6) at *pdata: mapped read-only until p is
 *  cleared (an empty file is an empty buffer); APR_NOTFOUND when there is no such file. */
apr_status_t acmpca_sqlite_object_file_read(const unsigned char **pdata, apr_size_t *plen,
                                            const char *path, apr_pool_t *p);

/** A writer's turn for a transaction outside group commit (a load): the -writer lock
 *  and the write generation (below); give it back with what it returned. */
int acmpca_sqlite_write_turn(acmpca_store_t *s);
void acmpca_sqlite_write_done(acmpca_store_t *s, int turn);

/* The write generation: when the memo of CA records (memo.c) may be used (sqlite_gen.c). */

/** The counter in the -writer file open on fd (made GEN size by acmpca_sqlite_gen_size),
 *  mapped shared until p is cleared; NULL when it cannot be. */
volatile apr_uint64_t *acmpca_sqlite_gen_map(int fd, apr_pool_t *p);
/** Make the -writer file open on fd (for writing) big enough to map: 1 when it is. */
int acmpca_sqlite_gen_size(int fd);
/** Around a write transaction, by the writer whose turn it is (gen may be NULL). */
void acmpca_sqlite_gen_begin(volatile apr_uint64_t *gen);
void acmpca_sqlite_gen_end(volatile apr_uint64_t *gen);
/** The generation now into *pnow: 1 when memos may be made and used at it. */
int acmpca_sqlite_gen_now(volatile apr_uint64_t *gen, apr_uint64_t *pnow);

#endif
