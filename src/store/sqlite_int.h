/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the sqlite provider: what sqlite_dump.c shares with sqlite.c. */
#ifndef ACMPCA_SQLITE_INT_H
#define ACMPCA_SQLITE_INT_H

#include <apr_errno.h>
#include <sqlite3.h>

/** A SQLite result code as the store contract answers it: a taken unique key is
 *  APR_EEXIST, a missing parent row APR_NOTFOUND, a busy database APR_EBUSY, an I/O
 *  failure the system's error; anything else APR_EGENERAL. */
apr_status_t acmpca_sqlite_status(sqlite3 *db, int rc);

#endif
