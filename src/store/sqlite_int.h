/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the sqlite provider: what sqlite_dump.c shares with sqlite.c. */
#ifndef ACMPCA_SQLITE_INT_H
#define ACMPCA_SQLITE_INT_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <sqlite3.h>

/** A SQLite result code as the store contract answers it: a taken unique key is
 *  APR_EEXIST, a missing parent row APR_NOTFOUND, a busy database APR_EBUSY, an I/O
 *  failure the system's error; anything else APR_EGENERAL. */
apr_status_t acmpca_sqlite_status(sqlite3 *db, int rc);

/** The directory of the objects stored as files, beside the database at db_path. */
#define ACMPCA_SQLITE_OBJECTS_DIR(db_path, p) apr_pstrcat((p), (db_path), "-objects", NULL)

/** The whole of an object's file (migration 6) into *pdata (in p; an empty file is an
 *  empty buffer); APR_NOTFOUND when there is no such file. */
apr_status_t acmpca_sqlite_object_file_read(unsigned char **pdata, apr_size_t *plen,
                                            const char *path, apr_pool_t *p);

#endif
