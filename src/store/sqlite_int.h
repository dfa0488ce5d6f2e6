/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the sqlite provider: what its files share. sqlite.c holds the provider table and
 * the record operations; sqlite_conn.c the connections, the calls that borrow them and the
 * statements prepared on them; sqlite_group.c group commit; sqlite_schema.c the schema and
 * the database file; sqlite_crl.c the CRL entries; sqlite_object.c the objects;
 * sqlite_gen.c the write generation; sqlite_dump.c dump and load. */
#ifndef ACMPCA_SQLITE_INT_H
#define ACMPCA_SQLITE_INT_H

#include <pthread.h>
#include <sys/types.h>

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_reslist.h>

#include <sqlite3.h>

#include "acmpca/store.h"
#include "store_int.h"

/* The store, its connections and its calls (sqlite_conn.c). */

/** The statements, prepared once per connection and reset at the end of every call; their
 *  SQL is stmt_sql in sqlite_conn.c. */
typedef enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_SYNC_NORMAL,
    ST_IDEM_REAP,
    ST_IDEM_CLAIM,
    ST_IDEM_GET,
    ST_CA_INSERT,
    ST_KEY_INSERT,
    ST_CA_GET,
    ST_CA_UPDATE,
    ST_CA_EXISTS,
    ST_CA_PURGE,
    ST_CA_LIST,
    ST_CA_LIST_ACCOUNT,
    ST_CA_COUNT,
    ST_CA_COUNT_ACCOUNT,
    ST_KEY_GET,
    ST_CERT_INSERT,
    ST_CERT_GET,
    ST_CERT_REVOKE,
    ST_CERT_EXISTS,
    ST_CERT_COUNT,
    ST_CERT_COUNT_REVOKED,
    ST_CERT_ITER,
    ST_CERT_ITER_REVOKED,
    ST_CERT_ITER_CRL,
    ST_OBJECT_PUT,
    ST_OBJECT_GET,
    ST_OBJECT_FILE,
    ST_CERT_NOT_AFTER,
    ST_CHUNK_FIND,
    ST_CHUNK_UPDATE,
    ST_CHUNK_INSERT,
    ST_CHUNK_ITER,
    ST_CHUNK_CHECK,
    ST_CHUNK_CLEAR,
    ST_CHUNK_COUNT,
    ST_REPORT_PUT,
    ST_REPORT_GET,
    ST_REPORT_LATEST,
    ST_COUNTER_NEXT,
    ST_LOCK_ACQUIRE,
    ST_LOCK_WANT,
    ST_LOCK_RELEASE,
    ST_CA_VERSION,
    ST_CERT_STATUS,
    ST_COUNT
} stmt_id;

_Static_assert(ST_COUNT <= 64, "the used-statement mask is 64 bits");

typedef struct sq_job_t sq_job_t;

/** The store's own part (acmpca_store_t's impl), made at config time by sq_create. */
typedef struct sq_store_t {
    const char *path;
    apr_pool_t *pool;     /* the store's config-time pool */
    acmpca_conns_t conns; /* this process's connections (sq_conn_t) */
    /* Group commit (see sqlite_group.c), per process: writes waiting for the leader, and
     * whether a thread leads. Guarded by group_mutex. */
    pthread_mutex_t group_mutex;
    sq_job_t *queue, **queue_tail;
    int leading;
    /* The processes' leaders take turns through a lock on the -writer file, opened by
     * each process for itself (writer_pid): -1 until then, or when it cannot be. */
    int writer_fd;
    pid_t writer_pid;
    /* The write generation in the -writer file (sqlite_gen.c): mapped by
     * acmpca_sqlite_open, or by the first commit of a process that did not open the
     * store; NULL without it. */
    volatile apr_uint64_t *gen;
    /* Names this store in the threads' memos: unique in the process, where an address
     * could be reused by a store opened later on another file. */
    apr_uint64_t memo_id;
    /* The WAL's pages after this process's last commit, and whether one of its threads
     * checkpoints (see wal_noted in sqlite_conn.c). Atomics. */
    int wal_pages;
    int checkpointing;
} sq_store_t;

/** A connection of the list, used by one thread at a time. */
typedef struct sq_conn_t {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST_COUNT];
    apr_uint64_t used; /* bit per statement handed out in the current call */
} sq_conn_t;

/** One store call: a connection borrowed from the list until call_end. */
typedef struct sq_call_t {
    sq_store_t *st;
    apr_reslist_t *conns;
    sq_conn_t *conn;
    const char *op; /* the provider function, for the log */
    apr_pool_t *p;
    int broken;   /* the connection failed: close it rather than reuse it */
    int unsynced; /* the call lowered synchronous (ST_SYNC_NORMAL): call_end restores it */
} sq_call_t;

/** Assign rv from x and go to leave: unless it is APR_SUCCESS. */
#define SQ_OK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != APR_SUCCESS) {                                                           \
            goto leave;                                                                            \
        }                                                                                          \
    } while (0)

/** A SQLite result code as the store contract answers it: a taken unique key is
 *  APR_EEXIST, a missing parent row APR_NOTFOUND, a busy database APR_EBUSY, an I/O
 *  failure the system's error; anything else APR_EGENERAL. */
apr_status_t acmpca_sqlite_status(sqlite3 *db, int rc);

/** A failed SQLite call of call as a status (acmpca_sqlite_status): a taken or missing key
 *  is an answer, returned quietly; anything else is logged and, unless the database was
 *  busy or a constraint failed, marks the connection broken. */
apr_status_t acmpca_sqlite_failed(sq_call_t *call, int rc);

/** The per-connection settings every connection needs (busy handler, synchronous FULL,
 *  foreign keys, the page cache); with st, the WAL hook that notes its size for st's
 *  checkpoints. A SQLite result code. */
int acmpca_sqlite_conn_setup(sqlite3 *db, sq_store_t *st);

/** The connection list's constructor (params: the sq_store_t) and destructor: a
 *  connection on the existing file, refused (logged) when its schema version is not
 *  acmpca_sqlite_schema_version. */
apr_status_t acmpca_sqlite_conn_open(void **pres, void *params, apr_pool_t *pool);
apr_status_t acmpca_sqlite_conn_close(void *res, void *params, apr_pool_t *pool);

/** Begin call, of provider function op, on a connection of this process's list (waiting
 *  while every one is out); p is the pool of what it reads. Whatever it returns,
 *  acmpca_sqlite_call_end ends the call. */
apr_status_t acmpca_sqlite_call_begin(sq_call_t *call, acmpca_store_t *s, const char *op,
                                      apr_pool_t *p);
/** The single exit of every call: statements reset, an open transaction rolled back, the
 *  connection back to the list (closed when broken). Returns rv. */
apr_status_t acmpca_sqlite_call_end(sq_call_t *call, apr_status_t rv);
/** Reset the statements handed out on conn since the last reset. */
void acmpca_sqlite_stmts_reset(sq_conn_t *conn);

/** Statement id on call's connection into *pstmt, prepared on first use; it stays the
 *  connection's, and is reset at the end of the call. */
apr_status_t acmpca_sqlite_stmt_get(sq_call_t *call, stmt_id id, sqlite3_stmt **pstmt);
/** Statement id with ?1..?n bound from fmt, one letter a parameter: 's' const char *
 *  (NULL binds NULL), 'i' apr_int64_t, 'n' apr_int64_t (0 binds NULL), 'b' const void *
 *  then apr_size_t. Values are not copied: they must last until the call ends. */
apr_status_t acmpca_sqlite_stmt_prep(sq_call_t *call, sqlite3_stmt **pstmt, stmt_id id,
                                     const char *fmt, ...);
/** One step: *prow is 1 on a row, 0 when done; a failure is acmpca_sqlite_failed's. */
apr_status_t acmpca_sqlite_stmt_step(sq_call_t *call, sqlite3_stmt *stmt, int *prow);
/** Step stmt to its end. */
apr_status_t acmpca_sqlite_stmt_run(sq_call_t *call, sqlite3_stmt *stmt);
/** Prepare, bind (as acmpca_sqlite_stmt_prep) and run a statement that returns no rows. */
apr_status_t acmpca_sqlite_exec(sq_call_t *call, stmt_id id, const char *fmt, ...);
/** Rows changed by the last write on call's connection. */
int acmpca_sqlite_changes(sq_call_t *call);
/** Column i of the row stmt is on, copied into p: text (NULL for SQL NULL), or bytes
 *  with their length at *plen (never NULL: an empty blob is an empty buffer). */
const char *acmpca_sqlite_col_str(sqlite3_stmt *stmt, int i, apr_pool_t *p);
const unsigned char *acmpca_sqlite_col_blob(sqlite3_stmt *stmt, int i, apr_size_t *plen,
                                            apr_pool_t *p);

/* The schema and the database file (sqlite_schema.c). */

/** Next to the database, as SQLite's -wal and -shm: the commit leaders' lock file. */
#define SQ_WRITER_SUFFIX "-writer"

/** The schema version this module reads and writes: the number of its migrations. */
extern const int acmpca_sqlite_schema_version;

/** PRAGMA user_version of db (the migrations applied) into *pversion: a SQLite result
 *  code. */
int acmpca_sqlite_user_version(sqlite3 *db, int *pversion);

/** The provider's open (post_config, as root): the database file made when need be, in
 *  WAL mode, its schema brought up to date, and its files given to the owner (-1: as
 *  they are). */
apr_status_t acmpca_sqlite_open(acmpca_store_t *s, long owner_uid, long owner_gid, apr_pool_t *p);

/* Group commit (sqlite_group.c). */

/** WAL pages after which a commit leader checkpoints, once its group is answered. Four
 *  times SQLite's own autocheckpoint threshold: under sustained issuance the checkpoints
 *  run nearly back to back anyway (the WAL stayed near 4,000 pages with 1,000), and fewer
 *  of them write each hot page (indexes, counters) and sync the database file fewer
 *  times: issuance +3.8 % (alternating runs, each pair won). */
#define ACMPCA_SQLITE_CHECKPOINT_PAGES 4000

/** What a write is, as flags. SQ_WRITES_CAS, for the memos of CA records (sqlite_gen.c):
 *  only a group with a write that may change the cas table moves the generation. An
 *  issuance, the most frequent write, then leaves every thread's memo of its CA valid:
 *  each one used to read its CA back from the file, 5 % of an issuance's CPU.
 *  SQ_WRITES_UNSYNCED: coordination, not state (the locks), which a power loss may undo
 *  harmlessly (a lock lost, or held until it expires): a group of such writes alone
 *  commits without syncing the WAL; the next synced commit syncs them too, as the WAL is
 *  written in order. A CRL pass took and released its lock with two fsyncs of its five. */
enum { SQ_WRITES_OTHER = 0, SQ_WRITES_CAS = 1, SQ_WRITES_UNSYNCED = 2 };

/** A write run by the leader on its connection: statements only, no BEGIN/COMMIT. */
typedef apr_status_t sq_write_fn(sq_call_t *call, void *baton);

/** Write fn(call, baton) through this process's commit leader (what: SQ_WRITES_* flags;
 *  op names it in the log), and return once the transaction that holds it is committed
 *  or has failed: fn's status, or the commit's. fn may run on another thread, with p
 *  (the caller's, which sleeps meanwhile) as its call's pool. */
apr_status_t acmpca_sqlite_group_write(acmpca_store_t *s, const char *op, int what, sq_write_fn *fn,
                                       void *baton, apr_pool_t *p);

/** The write generation of st (sqlite_gen.c), NULL until it is mapped. */
volatile apr_uint64_t *acmpca_sqlite_gen_of(sq_store_t *st);

/** A writer's turn for a transaction outside group commit (a load): the -writer lock
 *  and the write generation (below); give it back with what it returned. */
int acmpca_sqlite_write_turn(acmpca_store_t *s);
void acmpca_sqlite_write_done(acmpca_store_t *s, int turn);

/* The CRL entries of each CA in chunks (sqlite_crl.c). */

/** Inside a revocation's write: the revocation of serial, just recorded, into the chunk
 *  of its serial. A serial the chunks cannot hold is left out (crl_index rebuilds). */
apr_status_t acmpca_sqlite_chunk_add(sq_call_t *call, const char *ca_id, const char *serial,
                                     apr_time_t revoked_at, const char *reason);
/** The CRL entries of ca_id from the chunks to cb, in serial order, when they hold every
 *  revoked certificate: *pdone is set once they gave a row, *pstop to what stopped cb. */
apr_status_t acmpca_sqlite_chunk_iter(sq_call_t *call, const char *ca_id, acmpca_cert_cb *cb,
                                      void *baton, int *pdone, int *pstop);
/** The provider's crl_index: the CA's chunks rebuilt from the certs_crl index, unless they
 *  hold every revoked certificate already. */
apr_status_t acmpca_sqlite_crl_index(acmpca_store_t *s, const char *ca_id, apr_pool_t *p);

/* The objects (sqlite_object.c). */

/** The directory of the objects stored as files, beside the database at db_path. */
#define ACMPCA_SQLITE_OBJECTS_DIR(db_path, p) apr_pstrcat((p), (db_path), "-objects", NULL)

/** The whole of an object's file (migration 6) at *pdata: mapped read-only until p is
 *  cleared (an empty file is an empty buffer); APR_NOTFOUND when there is no such file. */
apr_status_t acmpca_sqlite_object_file_read(const unsigned char **pdata, apr_size_t *plen,
                                            const char *path, apr_pool_t *p);

/** The provider's object_put and object_get: a large object is a file of its own in
 *  ACMPCA_SQLITE_OBJECTS_DIR, a small one the bytes of its row. */
apr_status_t acmpca_sqlite_object_put(acmpca_store_t *s, acmpca_object_t *obj, apr_pool_t *p);
apr_status_t acmpca_sqlite_object_get(acmpca_store_t *s, const char *bucket, const char *key,
                                      acmpca_object_t **pobj, apr_pool_t *p);

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
