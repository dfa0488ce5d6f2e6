/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite store provider: one database file in WAL mode, one connection per thread. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_reslist.h>

#include <sqlite3.h>

#include "acmpca/err.h"
#include "acmpca/log.h"
#include "acmpca/store.h"
#include "acmpca/util.h"
#include "sqlite_int.h"
#include "store_int.h"

/* A writer waits this long for another writer's transaction before giving up with
 * SQLITE_BUSY; our write transactions are a few statements, so this is generous. */
#define SQ_BUSY_TIMEOUT_MS 5000
/* How often a writer retries the lock another process holds: sqlite3_busy_timeout sleeps
 * 1, 2, 5, 10... ms, far longer than the commit it waits for (one fsync). */
#define SQ_BUSY_STEP_US  100
#define SQ_BUSY_STEPS_US 1000
/* Upper bound of connections per process: one per thread that is inside a store call. A
 * thread beyond it waits for a connection to come back. */
#define SQ_MAX_CONNS 128
/* Expired idempotency rows removed per claim: keeps the table near its live size without
 * a sweeper and without making any one write slow. */
#define SQ_IDEM_REAP 8
/* Next to the database, as SQLite's -wal and -shm: the commit leaders' lock file. */
#define SQ_WRITER_SUFFIX "-writer"

/**************************************************************************************
 * Schema
 */

/* Migrations run in order; the database's PRAGMA user_version counts those applied.
 * Never edit a released entry: append a new one. */
static const char *const migrations[] = {
    /* 1: the initial schema. Times are apr_time_t (microseconds since the epoch). */

    /* A CA: its document holds status, configuration, tags, policy and permissions, so
     * that one optimistic write (version) changes them together. seq is the creation
     * order for ListCertificateAuthorities paging; AUTOINCREMENT never reuses a value,
     * even after the newest CA is purged, so a NextToken cannot skip a later CA. */
    "CREATE TABLE cas ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  doc TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX cas_account ON cas (account, seq);"

    /* The CA private key, wrapped (AES-256-GCM) by the caller; never plaintext here. */
    "CREATE TABLE ca_keys ("
    "  ca_id TEXT PRIMARY KEY REFERENCES cas (id) ON DELETE CASCADE,"
    "  wrapped BLOB NOT NULL"
    ") STRICT;"

    /* Issued certificates. A row is also the audit record of the issuance and, once
     * revoked_at is set, of the revocation; audit reports and CRLs are built from it. */
    "CREATE TABLE certs ("
    "  ca_id TEXT NOT NULL REFERENCES cas (id) ON DELETE CASCADE,"
    "  serial TEXT NOT NULL,"
    "  pem TEXT NOT NULL,"
    "  subject TEXT,"
    "  template_arn TEXT,"
    "  not_before INTEGER NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  issued_at INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  revocation_reason TEXT,"
    "  requested_by TEXT,"
    "  PRIMARY KEY (ca_id, serial)"
    ") STRICT;"
    /* CRL generation reads only the revoked rows of one CA. */
    "CREATE INDEX certs_revoked ON certs (ca_id, serial) WHERE revoked_at IS NOT NULL;"

    /* Idempotency tokens: (scope, token) -> the first call's result, until expires. */
    "CREATE TABLE idempotency ("
    "  scope TEXT NOT NULL,"
    "  token TEXT NOT NULL,"
    "  result TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  PRIMARY KEY (scope, token)"
    ") STRICT;"
    "CREATE INDEX idempotency_expires ON idempotency (expires);"

    /* Objects served at /<bucket>/<key>: CRLs and audit reports (the S3 stand-in). */
    "CREATE TABLE objects ("
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  content_type TEXT,"
    "  data BLOB NOT NULL,"
    "  modified INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  PRIMARY KEY (bucket, key)"
    ") STRICT;"

    /* Audit report requests (CreateCertificateAuthorityAuditReport). */
    "CREATE TABLE reports ("
    "  ca_id TEXT NOT NULL REFERENCES cas (id) ON DELETE CASCADE,"
    "  id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  bucket TEXT,"
    "  key TEXT,"
    "  format TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (ca_id, id)"
    ") STRICT;"
    "CREATE INDEX reports_created ON reports (ca_id, created_at);"

    /* Named counters (CRL numbers). */
    "CREATE TABLE counters ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ") STRICT;",

    /* 2: locks for once-per-CA work (lock_acquire): coordination, not state. */
    "CREATE TABLE locks ("
    "  ca_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  wanted INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (ca_id, name)"
    ") STRICT;",

    /* 3: certificate counts per CA, kept by triggers in the writing statement itself, so
     * the quota checks of every issuance and revocation read one row instead of counting
     * up to a million (the benchmark saw issuance fall to 0.07x with a full CA). */
    "CREATE TABLE cert_counts ("
    "  ca_id TEXT PRIMARY KEY REFERENCES cas (id) ON DELETE CASCADE,"
    "  issued INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO cert_counts (ca_id, issued, revoked)"
    "  SELECT ca_id, count(*), count(revoked_at) FROM certs GROUP BY ca_id;"
    "CREATE TRIGGER certs_issued AFTER INSERT ON certs BEGIN"
    "  INSERT INTO cert_counts (ca_id, issued, revoked)"
    "    VALUES (NEW.ca_id, 1, NEW.revoked_at IS NOT NULL)"
    "    ON CONFLICT (ca_id) DO UPDATE SET issued = issued + 1,"
    "      revoked = revoked + excluded.revoked;"
    "END;"
    "CREATE TRIGGER certs_revoked AFTER UPDATE OF revoked_at ON certs"
    "  WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL BEGIN"
    "  UPDATE cert_counts SET revoked = revoked + 1 WHERE ca_id = NEW.ca_id;"
    "END;",

    /* 4: the index of revoked certificates carries every column a CRL entry needs, so a
     * CRL build scans the index alone in serial order instead of looking each row (and
     * its PEM) up in the table: reading a million entries went from 4.5 s to 0.2 s. */
    "CREATE INDEX certs_crl ON certs (ca_id, serial, not_after, revoked_at, revocation_reason)"
    "  WHERE revoked_at IS NOT NULL;"
    "DROP INDEX certs_revoked;",

    /* 5: the object's bytes move to the last column, so that object_put can insert a
     * zeroblob (which SQLite leaves unmaterialised only at the end of a row) and stream
     * the bytes in: a 49 MB CRL was copied whole into a row image before. */
    "CREATE TABLE objects_v5 ("
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  content_type TEXT,"
    "  modified INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (bucket, key)"
    ") STRICT;"
    "INSERT INTO objects_v5 (bucket, key, content_type, modified, etag, data)"
    "  SELECT bucket, key, content_type, modified, etag, data FROM objects;"
    "DROP TABLE objects;"
    "ALTER TABLE objects_v5 RENAME TO objects;",

    /* 6: a large object (a big CRL) lives in a file of its own beside the database,
     * named by file (data is then empty): writing a 49 MB CRL into the blob wrote it twice
     * to the WAL and once more at the checkpoint (see object_put). data stays last. */
    "CREATE TABLE objects_v6 ("
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  content_type TEXT,"
    "  modified INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  file TEXT,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (bucket, key)"
    ") STRICT;"
    "INSERT INTO objects_v6 (bucket, key, content_type, modified, etag, data)"
    "  SELECT bucket, key, content_type, modified, etag, data FROM objects;"
    "DROP TABLE objects;"
    "ALTER TABLE objects_v6 RENAME TO objects;",

    /* 7: the CRL entries of each CA packed in chunks of serial order (see "CRL entries"
     * below), kept by cert_revoke: a CRL build reads 50 MB in 17,000 rows instead of
     * a million index rows (0.3 s of a 1,000,000-entry build). Filled by crl_index for
     * revocations made before, or loaded. */
    "CREATE TABLE crl_chunks ("
    "  ca_id TEXT NOT NULL REFERENCES cas (id) ON DELETE CASCADE,"
    "  first BLOB NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  entries BLOB NOT NULL,"
    "  PRIMARY KEY (ca_id, first)"
    ") STRICT;"
    /* How many entries the chunks hold, beside the revoked count they must match: a sum
     * over the chunks would read all of them. */
    "ALTER TABLE cert_counts ADD COLUMN crl_entries INTEGER NOT NULL DEFAULT 0;",
};

#define SQ_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/**************************************************************************************
 * Statements: prepared once per connection, reset at the end of every call
 */

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

#define CA_COLS "id, account, seq, version, doc"
#define CERT_COLS                                                                                  \
    "ca_id, serial, pem, subject, template_arn, not_before, not_after, issued_at, "                \
    "revoked_at, revocation_reason, requested_by"
/* length(data) reads the size from the row header; the bytes follow by blob_read. */
#define OBJECT_COLS "bucket, key, content_type, length(data), modified, etag, rowid, file"
#define REPORT_COLS "ca_id, id, status, bucket, key, format, created_at"

/* Every statement has bound parameters only; no SQL text is ever built from input. */
static const char *const stmt_sql[ST_COUNT] = {
    /* IMMEDIATE takes the write lock up front (waiting in the busy handler), so a
     * transaction never fails half-way trying to upgrade a read lock. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    /* Each write of a group commit runs inside a savepoint of the group's transaction,
     * so that it can fail alone. */
    [ST_SAVEPOINT] = "SAVEPOINT w",
    [ST_RELEASE] = "RELEASE w",
    [ST_ROLLBACK_TO] = "ROLLBACK TO w",
    /* A group of unsynced writes only (SQ_WRITES_UNSYNCED) commits without the fsync;
     * call_end sets FULL again. */
    [ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [ST_IDEM_REAP] = "DELETE FROM idempotency WHERE rowid IN"
                     " (SELECT rowid FROM idempotency WHERE expires <= ?1 LIMIT ?2)",
    /* Claims a new token, or takes over an expired one; an unexpired one is untouched
     * (no change), which is how the caller learns that the token is taken. */
    [ST_IDEM_CLAIM] = "INSERT INTO idempotency (scope, token, result, expires)"
                      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope, token) DO UPDATE"
                      " SET result = excluded.result, expires = excluded.expires"
                      " WHERE idempotency.expires <= ?5",
    [ST_IDEM_GET] = "SELECT result FROM idempotency"
                    " WHERE scope = ?1 AND token = ?2 AND expires > ?3",
    [ST_CA_INSERT] = "INSERT INTO cas (id, account, version, doc) VALUES (?1, ?2, 1, ?3)",
    [ST_KEY_INSERT] = "INSERT INTO ca_keys (ca_id, wrapped) VALUES (?1, ?2)",
    [ST_CA_GET] = "SELECT " CA_COLS " FROM cas WHERE id = ?1",
    [ST_CA_UPDATE] = "UPDATE cas SET doc = ?1, version = version + 1"
                     " WHERE id = ?2 AND version = ?3",
    [ST_CA_EXISTS] = "SELECT 1 FROM cas WHERE id = ?1",
    /* Keys, certificates and reports go with it (ON DELETE CASCADE). */
    [ST_CA_PURGE] = "DELETE FROM cas WHERE id = ?1",
    [ST_CA_LIST] = "SELECT " CA_COLS " FROM cas WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_CA_LIST_ACCOUNT] = "SELECT " CA_COLS " FROM cas"
                           " WHERE account = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_CA_COUNT] = "SELECT count(*) FROM cas",
    [ST_CA_COUNT_ACCOUNT] = "SELECT count(*) FROM cas WHERE account = ?1",
    [ST_KEY_GET] = "SELECT wrapped FROM ca_keys WHERE ca_id = ?1",
    [ST_CERT_INSERT] = "INSERT INTO certs (" CERT_COLS ")"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE ca_id = ?1 AND serial = ?2",
    [ST_CERT_REVOKE] = "UPDATE certs SET revoked_at = ?1, revocation_reason = ?2"
                       " WHERE ca_id = ?3 AND serial = ?4 AND revoked_at IS NULL",
    [ST_CERT_EXISTS] = "SELECT 1 FROM certs WHERE ca_id = ?1 AND serial = ?2",
    /* Certificates are only ever deleted with their CA, so the counts never go down. */
    [ST_CERT_COUNT] = "SELECT coalesce((SELECT issued FROM cert_counts WHERE ca_id = ?1), 0)",
    [ST_CERT_COUNT_REVOKED] = "SELECT coalesce((SELECT revoked FROM cert_counts"
                              " WHERE ca_id = ?1), 0)",
    /* Serial order is text order: the primary key's order, so no sort. */
    [ST_CERT_ITER] = "SELECT " CERT_COLS " FROM certs WHERE ca_id = ?1 ORDER BY serial",
    [ST_CERT_ITER_REVOKED] = "SELECT " CERT_COLS " FROM certs"
                             " WHERE ca_id = ?1 AND revoked_at IS NOT NULL ORDER BY serial",
    /* Covered by certs_crl: no table lookup. */
    [ST_CERT_ITER_CRL] = "SELECT serial, not_after, revoked_at, revocation_reason FROM certs"
                         " WHERE ca_id = ?1 AND revoked_at IS NOT NULL ORDER BY serial",
    /* The bytes follow through sqlite3_blob_write in the same transaction (object_put),
     * so readers see the old or the new object, never a mix. */
    [ST_OBJECT_PUT] = "INSERT OR REPLACE INTO objects (bucket, key, content_type, modified, etag,"
                      " file, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, zeroblob(?7))",
    /* CRL entries in chunks: each chunk holds the serials from its first (X'' for the
     * lowest) to the next chunk's first, exclusive. Serial order is that of the text: a
     * BLOB of its bytes compares as the TEXT does. */
    [ST_CERT_NOT_AFTER] = "SELECT not_after FROM certs WHERE ca_id = ?1 AND serial = ?2",
    [ST_CHUNK_FIND] = "SELECT rowid, entries FROM crl_chunks WHERE ca_id = ?1 AND first <= ?2"
                      " ORDER BY first DESC LIMIT 1",
    [ST_CHUNK_UPDATE] = "UPDATE crl_chunks SET n = ?2, entries = ?3 WHERE rowid = ?1",
    [ST_CHUNK_INSERT] = "INSERT INTO crl_chunks (ca_id, first, n, entries) VALUES (?1, ?2, ?3, ?4)",
    /* Rows only when the chunks hold every revoked certificate, in the one snapshot. */
    [ST_CHUNK_ITER] = "SELECT n, entries FROM crl_chunks WHERE ca_id = ?1 AND coalesce("
                      "(SELECT revoked = crl_entries FROM cert_counts WHERE ca_id = ?1), 1)"
                      " ORDER BY first",
    [ST_CHUNK_CHECK] = "SELECT coalesce((SELECT revoked = crl_entries FROM cert_counts"
                       " WHERE ca_id = ?1), 1)",
    [ST_CHUNK_CLEAR] = "DELETE FROM crl_chunks WHERE ca_id = ?1",
    /* ?2 entries more (?3 true) or in all (?3 false). */
    [ST_CHUNK_COUNT] = "UPDATE cert_counts SET crl_entries = ?2 + (CASE WHEN ?3 THEN crl_entries"
                       " ELSE 0 END) WHERE ca_id = ?1",
    /* The file of the object a put replaces, removed once the put is committed. */
    [ST_OBJECT_FILE] = "SELECT file FROM objects WHERE bucket = ?1 AND key = ?2",
    [ST_OBJECT_GET] = "SELECT " OBJECT_COLS " FROM objects WHERE bucket = ?1 AND key = ?2",
    /* An upsert keeps the rowid, the tie-break of report_latest. */
    [ST_REPORT_PUT] = "INSERT INTO reports (" REPORT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                      " ON CONFLICT (ca_id, id) DO UPDATE SET status = excluded.status,"
                      " bucket = excluded.bucket, key = excluded.key,"
                      " format = excluded.format, created_at = excluded.created_at",
    [ST_REPORT_GET] = "SELECT " REPORT_COLS " FROM reports WHERE ca_id = ?1 AND id = ?2",
    [ST_REPORT_LATEST] = "SELECT " REPORT_COLS " FROM reports WHERE ca_id = ?1"
                         " ORDER BY created_at DESC, rowid DESC LIMIT 1",
    [ST_COUNTER_NEXT] = "INSERT INTO counters (name, value) VALUES (?1, 1)"
                        " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
    /* Taken when free, expired (?5: now) or already ours (renewed, wanted kept); else
     * no change, which is how the caller learns that it is busy. */
    [ST_LOCK_ACQUIRE] = "INSERT INTO locks (ca_id, name, owner, expires) VALUES (?1, ?2, ?3, ?4)"
                        " ON CONFLICT (ca_id, name) DO UPDATE SET owner = excluded.owner,"
                        " expires = excluded.expires,"
                        " wanted = CASE WHEN locks.owner = excluded.owner THEN locks.wanted"
                        " ELSE 0 END"
                        " WHERE locks.owner = excluded.owner OR locks.expires <= ?5",
    [ST_LOCK_WANT] = "UPDATE locks SET wanted = 1 WHERE ca_id = ?1 AND name = ?2",
    [ST_LOCK_RELEASE] = "DELETE FROM locks WHERE ca_id = ?1 AND name = ?2 AND owner = ?3"
                        " RETURNING wanted",
    [ST_CA_VERSION] = "SELECT version FROM cas WHERE id = ?1",
    /* One row while the CA exists, with the certificate's columns NULL when it does not. */
    [ST_CERT_STATUS] = "SELECT v.version, c.serial IS NOT NULL, c.revoked_at, c.revocation_reason"
                       " FROM cas v LEFT JOIN certs c ON c.ca_id = v.id AND c.serial = ?2"
                       " WHERE v.id = ?1",
};

/**************************************************************************************
 * Store, connections and calls
 */

typedef struct sq_job_t sq_job_t;

typedef struct sq_store_t {
    const char *path;
    apr_pool_t *pool;     /* the store's config-time pool */
    acmpca_conns_t conns; /* this process's connections (sq_conn_t) */
    /* Group commit (see "Group commit" below), per process: writes waiting for the
     * leader, and whether a thread leads. Guarded by group_mutex. */
    pthread_mutex_t group_mutex;
    sq_job_t *queue, **queue_tail;
    int leading;
    /* The processes' leaders take turns through a lock on the -writer file, opened by
     * each process for itself (writer_pid): -1 until then, or when it cannot be. */
    int writer_fd;
    pid_t writer_pid;
    /* The write generation in the -writer file (sqlite_gen.c): mapped by sq_open, or
     * by the first commit of a process that did not open the store; NULL without it. */
    volatile apr_uint64_t *gen;
    /* Names this store in the threads' memos: unique in the process, where an address
     * could be reused by a store opened later on another file. */
    apr_uint64_t memo_id;
    /* The WAL's pages after this process's last commit, and whether one of its threads
     * checkpoints (see wal_noted). Atomics. */
    int wal_pages;
    int checkpointing;
} sq_store_t;

typedef struct sq_conn_t {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST_COUNT];
    apr_uint64_t used; /* bit per statement handed out in the current call */
} sq_conn_t;

/* One store call: a connection borrowed from the list until call_end. */
typedef struct sq_call_t {
    sq_store_t *st;
    apr_reslist_t *conns;
    sq_conn_t *conn;
    const char *op; /* the provider function, for the log */
    apr_pool_t *p;
    int broken;   /* the connection failed: close it rather than reuse it */
    int unsynced; /* the call lowered synchronous (ST_SYNC_NORMAL): call_end restores it */
} sq_call_t;

#define SQ_OK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != APR_SUCCESS) {                                                           \
            goto leave;                                                                            \
        }                                                                                          \
    } while (0)

apr_status_t acmpca_sqlite_status(sqlite3 *db, int rc)
{
    int sys;

    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return APR_EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return APR_NOTFOUND;
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return APR_EBUSY;
    case SQLITE_NOMEM:
        return APR_ENOMEM;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
        sys = db ? sqlite3_system_errno(db) : 0;
        return sys ? APR_FROM_OS_ERROR(sys) : APR_EGENERAL;
    default:
        return APR_EGENERAL;
    }
}

/* Unique and foreign keys are answers, not failures: a taken key is APR_EEXIST and a
 * missing CA under a certificate or report is APR_NOTFOUND. Anything else is logged. */
static apr_status_t failed(sq_call_t *call, int rc)
{
    apr_status_t rv = acmpca_sqlite_status(call->conn->db, rc);

    if ((rc & 0xff) == SQLITE_CONSTRAINT && (rv == APR_EEXIST || rv == APR_NOTFOUND)) {
        return rv;
    }
    if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED
        && (rc & 0xff) != SQLITE_CONSTRAINT) {
        call->broken = 1;
    }
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, call->p, "ACMPCA0301: sqlite %s on %s: %s",
               call->op, call->st->path, sqlite3_errmsg(call->conn->db));
    return rv;
}

static apr_status_t conn_close(void *res, void *params, apr_pool_t *pool)
{
    sq_conn_t *conn = res;
    int i;

    (void)params;
    (void)pool;
    for (i = 0; i < ST_COUNT; ++i) {
        sqlite3_finalize(conn->stmts[i]);
    }
    sqlite3_close(conn->db);
    free(conn);
    return APR_SUCCESS;
}

static int user_version(sqlite3 *db, int *pversion)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        return rc;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *pversion = sqlite3_column_int(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Retry a lock held by another connection every SQ_BUSY_STEP_US for the first
 * millisecond, then every SQ_BUSY_STEPS_US, up to SQ_BUSY_TIMEOUT_MS in all. Another
 * process's commit leader holds the lock for one fsync: waking up soon after it lets go
 * keeps the processes taking turns, where SQLite's own timeout would sleep 10-100 ms. */
static int busy_wait(void *baton, int count)
{
    int fast = 1000 / SQ_BUSY_STEP_US;

    (void)baton;
    if ((apr_int64_t)(count - fast) * SQ_BUSY_STEPS_US >= (apr_int64_t)SQ_BUSY_TIMEOUT_MS * 1000) {
        return 0;
    }
    apr_sleep(count < fast ? SQ_BUSY_STEP_US : SQ_BUSY_STEPS_US);
    return 1;
}

/* The WAL hook of the worker connections, in place of SQLite's autocheckpoint, which
 * checkpoints inside the COMMIT that crosses its threshold: the group leader copied a
 * thousand pages to the database file and synced it while every write of its group
 * waited for their answers. Now the hook only notes the WAL's size; the leader
 * checkpoints once its group is answered (checkpoint_due), as the same PASSIVE
 * checkpoint, while the next group commits. */
static int wal_noted(void *data, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    __atomic_store_n(&((sq_store_t *)data)->wal_pages, pages, __ATOMIC_RELAXED);
    return SQLITE_OK;
}

/* The settings every connection needs; synchronous, foreign_keys, cache_size and
 * secure_delete are per connection, not stored in the file. FULL syncs the WAL on every
 * commit: an acknowledged write (an issued certificate, a revocation) survives a power loss.
 * The page cache is bounded to 64 KiB per connection: with SQLite's default of 2 MiB in
 * each of a child's connections (one per busy thread, 17 under the benchmark's load), a
 * child's memory grew with every page an issuance touched (valgrind massif, httpd -X:
 * +7 KiB of heap per IssueCertificate; flat with the bound). The read paths lose nothing
 * measurable (callgrind), as a WAL reader drops its cache whenever another connection
 * commits. secure_delete OFF (Debian builds SQLite with it on): nothing the store deletes
 * is secret in the clear. CA keys are stored wrapped under the KEK, the rest (certificates,
 * CRLs, reports, idempotency records, locks) is public or harmless; zeroing freed pages
 * only cost I/O: republishing a 49 MB CRL wrote the old one's 49 MB of zeros to the WAL. */
static int conn_setup(sqlite3 *db, sq_store_t *st)
{
    int rc;

    sqlite3_extended_result_codes(db, 1);
    if ((rc = sqlite3_busy_handler(db, busy_wait, NULL)) != SQLITE_OK) {
        return rc;
    }
    if (st) {
        sqlite3_wal_hook(db, wal_noted, st); /* in place of the autocheckpoint */
    }
    return sqlite3_exec(db,
                        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                        "PRAGMA cache_size = -64; PRAGMA secure_delete = OFF;",
                        NULL, NULL, NULL);
}

/* Why a connection cannot be used, logged into a root pool of its own: the reslist's
 * pool would grow with every failed attempt. */
static void conn_log(sq_store_t *st, apr_status_t rv, const char *why)
{
    apr_pool_t *ptemp;

    if (apr_pool_create(&ptemp, NULL) == APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, ptemp,
                   "ACMPCA0300: sqlite cannot use %s: %s", st->path, why);
        apr_pool_destroy(ptemp);
    }
}

/* The reslist constructor, run in whichever thread first needs another connection. */
static apr_status_t conn_open(void **pres, void *params, apr_pool_t *pool)
{
    sq_store_t *st = params;
    sq_conn_t *conn;
    char why[128];
    int rc, version = -1;

    (void)pool;
    /* malloc, not the reslist's pool: connections come and go for the life of the
     * process, and a pool would only grow. */
    if ((conn = calloc(1, sizeof(*conn))) == NULL) {
        return APR_ENOMEM;
    }
    /* NOMUTEX: a connection is only ever used by the thread that holds it. No CREATE:
     * the file and its schema come from open(), in the parent. */
    rc = sqlite3_open_v2(st->path, &conn->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        rc = conn_setup(conn->db, st);
    }
    if (rc == SQLITE_OK) {
        rc = user_version(conn->db, &version);
    }
    if (rc != SQLITE_OK) {
        apr_status_t rv = acmpca_sqlite_status(conn->db, rc);
        conn_log(st, rv, conn->db ? sqlite3_errmsg(conn->db) : "out of memory");
        conn_close(conn, NULL, NULL);
        return rv;
    }
    /* Workers of an older or newer module must not write a schema they do not know. */
    if (version != SQ_SCHEMA_VERSION) {
        snprintf(why, sizeof(why), "schema version %d, this module needs %d", version,
                 SQ_SCHEMA_VERSION);
        conn_log(st, APR_EGENERAL, why);
        conn_close(conn, NULL, NULL);
        return APR_EGENERAL;
    }
    *pres = conn;
    return APR_SUCCESS;
}

static apr_status_t call_begin(sq_call_t *call, acmpca_store_t *s, const char *op, apr_pool_t *p)
{
    void *res;
    apr_status_t rv;

    memset(call, 0, sizeof(*call));
    call->st = s->impl;
    call->op = op;
    call->p = p;
    if ((rv = acmpca_conns_get(&call->st->conns, &call->conns)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_reslist_acquire(call->conns, &res)) != APR_SUCCESS) {
        return rv; /* conn_open logged why */
    }
    call->conn = res;
    return APR_SUCCESS;
}

/* The single exit of every call: whatever path we took, statements are reset (which
 * ends their read transactions), a transaction left open by an error is rolled back,
 * and the connection goes back to the list. */
/* Reset the statements handed out since the last reset, so that they can run again and
 * hold no pointer to the caller's values (bindings are SQLITE_STATIC). */
static void stmts_reset(sq_conn_t *conn)
{
    int i;

    for (i = 0; i < ST_COUNT; ++i) {
        if (conn->used & ((apr_uint64_t)1 << i)) {
            sqlite3_reset(conn->stmts[i]);
            sqlite3_clear_bindings(conn->stmts[i]);
        }
    }
    conn->used = 0;
}

static apr_status_t call_end(sq_call_t *call, apr_status_t rv)
{
    sq_conn_t *conn = call->conn;

    if (!conn) {
        return rv;
    }
    stmts_reset(conn);
    if (!sqlite3_get_autocommit(conn->db)
        && sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK) {
        call->broken = 1;
    }
    /* Outside a transaction only (SQLite refuses it inside); a connection that cannot
     * sync again is not used again. */
    if (call->unsynced && !call->broken
        && sqlite3_exec(conn->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
        call->broken = 1;
    }
    if (call->broken) {
        apr_reslist_invalidate(call->conns, conn);
    }
    else {
        apr_reslist_release(call->conns, conn);
    }
    call->conn = NULL;
    return rv;
}

/* Bind ?1..?n in order from fmt:
 *   's' const char * (NULL binds NULL)
 *   'i' apr_int64_t
 *   'n' apr_int64_t, where 0 binds NULL (revoked_at: "not revoked")
 *   'b' const void * then apr_size_t
 * SQLITE_STATIC does not copy: call_end clears the bindings before the caller's values
 * can go away. */
static int stmt_vbind(sqlite3_stmt *stmt, const char *fmt, va_list ap)
{
    const char *s;
    const void *data;
    apr_int64_t n;
    apr_size_t len;
    int i, rc = SQLITE_OK;

    for (i = 1; *fmt && rc == SQLITE_OK; ++fmt, ++i) {
        switch (*fmt) {
        case 's':
            s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(stmt, i);
            break;
        case 'i':
            rc = sqlite3_bind_int64(stmt, i, va_arg(ap, apr_int64_t));
            break;
        case 'n':
            n = va_arg(ap, apr_int64_t);
            rc = n ? sqlite3_bind_int64(stmt, i, n) : sqlite3_bind_null(stmt, i);
            break;
        case 'b':
            data = va_arg(ap, const void *);
            len = va_arg(ap, apr_size_t);
            /* A NULL pointer would bind SQL NULL, not an empty blob. */
            rc = len ? sqlite3_bind_blob64(stmt, i, data, len, SQLITE_STATIC)
                     : sqlite3_bind_zeroblob(stmt, i, 0);
            break;
        default:
            rc = SQLITE_MISUSE;
            break;
        }
    }
    return rc;
}

/* The statement id, prepared on this connection's first use. */
static apr_status_t stmt_get(sq_call_t *call, stmt_id id, sqlite3_stmt **pstmt)
{
    sq_conn_t *conn = call->conn;
    int rc;

    if (!conn->stmts[id]) {
        rc = sqlite3_prepare_v3(conn->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &conn->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            return failed(call, rc);
        }
    }
    conn->used |= (apr_uint64_t)1 << id;
    *pstmt = conn->stmts[id];
    return APR_SUCCESS;
}

/* The statement id with its parameters bound from fmt (see stmt_vbind). */
static apr_status_t stmt_prep(sq_call_t *call, sqlite3_stmt **pstmt, stmt_id id, const char *fmt,
                              ...)
{
    apr_status_t rv;
    va_list ap;
    int rc;

    if ((rv = stmt_get(call, id, pstmt)) != APR_SUCCESS) {
        return rv;
    }
    va_start(ap, fmt);
    rc = stmt_vbind(*pstmt, fmt, ap);
    va_end(ap);
    return rc == SQLITE_OK ? APR_SUCCESS : failed(call, rc);
}

/* One step: *prow is 1 on a row, 0 when done; anything else is failed(). */
static apr_status_t stmt_step(sq_call_t *call, sqlite3_stmt *stmt, int *prow)
{
    int rc = sqlite3_step(stmt);

    *prow = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        return APR_SUCCESS;
    }
    return failed(call, rc);
}

/* Run a statement to its end. Stepping to SQLITE_DONE matters for writes outside a
 * transaction: that is where SQLite commits, and where a failed commit is reported. */
static apr_status_t stmt_run(sq_call_t *call, sqlite3_stmt *stmt)
{
    apr_status_t rv;
    int row;

    do {
        rv = stmt_step(call, stmt, &row);
    } while (rv == APR_SUCCESS && row);
    return rv;
}

/* Prepare, bind and run a statement that returns no rows. */
static apr_status_t exec(sq_call_t *call, stmt_id id, const char *fmt, ...)
{
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    va_list ap;
    int rc;

    if ((rv = stmt_get(call, id, &stmt)) != APR_SUCCESS) {
        return rv;
    }
    va_start(ap, fmt);
    rc = stmt_vbind(stmt, fmt, ap);
    va_end(ap);
    return rc == SQLITE_OK ? stmt_run(call, stmt) : failed(call, rc);
}

/* Rows changed by the last write of this call's connection. */
static int changes(sq_call_t *call)
{
    return sqlite3_changes(call->conn->db);
}

static const char *col_str(sqlite3_stmt *stmt, int i, apr_pool_t *p)
{
    const unsigned char *v = sqlite3_column_text(stmt, i);

    /* column_bytes after column_text: the length of the text form. */
    return v ? apr_pstrmemdup(p, (const char *)v, (apr_size_t)sqlite3_column_bytes(stmt, i)) : NULL;
}

static const unsigned char *col_blob(sqlite3_stmt *stmt, int i, apr_size_t *plen, apr_pool_t *p)
{
    const void *v = sqlite3_column_blob(stmt, i);

    *plen = (apr_size_t)sqlite3_column_bytes(stmt, i);
    /* An empty blob comes back as NULL; callers get an empty buffer instead. */
    return *plen ? apr_pmemdup(p, v, *plen) : apr_pcalloc(p, 1);
}

/**************************************************************************************
 * Configuration, schema and process life-cycle
 */

static apr_status_t group_mutex_destroy(void *data)
{
    pthread_mutex_destroy(data);
    return APR_SUCCESS;
}

static const char *sq_create(acmpca_store_t **ps, const char *args, apr_pool_t *p)
{
    acmpca_conns_spec_t conns_spec = {.keep = SQ_MAX_CONNS,
                                      .max = SQ_MAX_CONNS,
                                      .make = conn_open,
                                      .close = conn_close,
                                      .log_prefix = "ACMPCA0302: sqlite"};
    acmpca_store_t *s;
    sq_store_t *st;
    apr_size_t len = args ? strlen(args) : 0;

    if (!len) {
        return "needs the path of its database file (sqlite:/var/lib/acmpca/acmpca.db)";
    }
    /* Workers run with "/" as their directory; a relative name would move. */
    if (args[0] != '/' || args[len - 1] == '/') {
        return apr_psprintf(p, "'%s' is not the absolute path of a file", args);
    }
    /* SQLite's memory statistics take one global mutex on every allocation, which all
     * threads contend for; nothing reads them. Only possible before SQLite starts. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    st = apr_pcalloc(p, sizeof(*st));
    st->path = apr_pstrdup(p, args);
    st->pool = p;
    conns_spec.params = st;
    conns_spec.target = st->path;
    if (acmpca_conns_init(&st->conns, &conns_spec, p) != APR_SUCCESS
        || pthread_mutex_init(&st->group_mutex, NULL) != 0) {
        return "cannot create a mutex";
    }
    apr_pool_cleanup_register(p, &st->group_mutex, group_mutex_destroy, apr_pool_cleanup_null);
    st->queue_tail = &st->queue;
    st->writer_fd = -1;
    st->memo_id = acmpca_memo_store_id();
    s = apr_pcalloc(p, sizeof(*s));
    s->provider = &acmpca_store_sqlite;
    s->args = st->path;
    s->impl = st;
    *ps = s;
    return NULL;
}

static apr_status_t db_failed(sqlite3 *db, int rc, const char *path, const char *what,
                              apr_pool_t *p)
{
    apr_status_t rv = acmpca_sqlite_status(db, rc);

    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p, "ACMPCA0303: sqlite %s of %s: %s", what,
               path, db ? sqlite3_errmsg(db) : "out of memory");
    return rv;
}

/* Apply the next migration, if any, in its own transaction. Reading user_version inside
 * the write transaction makes two processes migrating at once apply each step once. */
static apr_status_t migrate_step(sqlite3 *db, const char *path, int *pdone, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    const char *set_version;
    int rc, version = -1;

    *pdone = 0;
    if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK
        || (rc = user_version(db, &version)) != SQLITE_OK) {
        rv = db_failed(db, rc, path, "migration", p);
    }
    else if (version > SQ_SCHEMA_VERSION) {
        rv = APR_EGENERAL;
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0304: sqlite %s has schema version %d, newer than this module's %d", path,
                   version, SQ_SCHEMA_VERSION);
    }
    else if (version == SQ_SCHEMA_VERSION) {
        *pdone = 1;
    }
    else {
        /* PRAGMA takes no parameter; the number is ours, not input. */
        set_version = apr_psprintf(p, "PRAGMA user_version = %d", version + 1);
        if ((rc = sqlite3_exec(db, migrations[version], NULL, NULL, NULL)) != SQLITE_OK
            || (rc = sqlite3_exec(db, set_version, NULL, NULL, NULL)) != SQLITE_OK
            || (rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
            rv = db_failed(db, rc, path, apr_psprintf(p, "migration to %d", version + 1), p);
        }
        else {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_NOTICE, 0, p,
                       "ACMPCA0305: sqlite %s migrated to schema version %d", path, version + 1);
        }
    }
    if (!sqlite3_get_autocommit(db)) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rv;
}

/* WAL lets readers run while one writer commits; the mode is stored in the file. */
static apr_status_t db_wal(sqlite3 *db, const char *path, apr_pool_t *p)
{
    sqlite3_stmt *stmt = NULL;
    const char *mode = NULL;
    apr_status_t rv = APR_SUCCESS;
    int rc;

    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        return db_failed(db, rc, path, "journal_mode", p);
    }
    if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        mode = col_str(stmt, 0, p);
    }
    else {
        rv = db_failed(db, rc, path, "journal_mode", p);
    }
    sqlite3_finalize(stmt);
    if (rv == APR_SUCCESS && (!mode || strcmp(mode, "wal"))) {
        rv = APR_ENOTIMPL;
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0306: sqlite %s cannot use WAL mode (journal mode is %s)", path,
                   mode ? mode : "unknown");
    }
    return rv;
}

/* Create the file if needed, switch it to WAL and bring its schema up to date. */
/* An object put that died between its file and its commit (a crash, a kill) leaves a
 * file no row names, or a .tmp one. A put takes seconds: what is older than
 * SWEEP_AGE_S and unnamed goes. */
#define SWEEP_AGE_S 3600

static void objects_sweep(sqlite3 *db, const char *path, apr_pool_t *p)
{
    const char *dir = ACMPCA_SQLITE_OBJECTS_DIR(path, p), *file;
    sqlite3_stmt *stmt = NULL;
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_time_t before = apr_time_now() - apr_time_from_sec(SWEEP_AGE_S);
    size_t len;
    int named;

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return; /* no object file yet */
    }
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM objects WHERE file = ?1", -1, &stmt, NULL)
        != SQLITE_OK) {
        apr_dir_close(d);
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_MTIME, d) == APR_SUCCESS) {
        len = strlen(fi.name);
        if (fi.filetype != APR_REG || fi.mtime >= before || len < 4
            || (strcmp(fi.name + len - 4, ".obj")
                && (len < 8 || strcmp(fi.name + len - 8, ".obj.tmp")))) {
            continue;
        }
        sqlite3_bind_text(stmt, 1, fi.name, -1, SQLITE_TRANSIENT);
        named = sqlite3_step(stmt) == SQLITE_ROW;
        sqlite3_reset(stmt);
        if (!named) {
            file = apr_pstrcat(p, dir, "/", fi.name, NULL);
            if (unlink(file) == 0) {
                acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, p,
                           "ACMPCA0314: sqlite removed %s, an object file no record names", file);
            }
        }
    }
    sqlite3_finalize(stmt);
    apr_dir_close(d);
}

static apr_status_t db_prepare(const char *path, apr_pool_t *p)
{
    sqlite3 *db = NULL;
    apr_status_t rv;
    int rc, done = 0;

    rc = sqlite3_open_v2(path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        rc = conn_setup(db, NULL);
    }
    if (rc != SQLITE_OK) {
        rv = db_failed(db, rc, path, "open", p);
        sqlite3_close(db);
        return rv;
    }
    rv = db_wal(db, path, p);
    while (rv == APR_SUCCESS && !done) {
        rv = migrate_step(db, path, &done, p);
    }
    if (rv == APR_SUCCESS) {
        objects_sweep(db, path, p);
    }
    sqlite3_close(db);
    return rv;
}

/* Hand a file to the worker user, unless it is missing (-wal and -shm come and go) or
 * already theirs (httpd started by that user, a second post_config). */
static apr_status_t chown_to(const char *path, long uid, long gid, apr_pool_t *p)
{
    struct stat sb;
    apr_status_t rv;

    if (stat(path, &sb) != 0) {
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    if ((uid < 0 || sb.st_uid == (uid_t)uid) && (gid < 0 || sb.st_gid == (gid_t)gid)) {
        return APR_SUCCESS;
    }
    if (chown(path, uid < 0 ? (uid_t)-1 : (uid_t)uid, gid < 0 ? (gid_t)-1 : (gid_t)gid) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0307: sqlite cannot give %s to uid %ld gid %ld", path, uid, gid);
        return rv;
    }
    return APR_SUCCESS;
}

/* The file whose lock the processes' commit leaders take turns on (see "Group commit"),
 * made here, as root, for the worker user. It holds the write generation, mapped here
 * for every child to inherit. */
static apr_status_t writer_file_make(sq_store_t *st, long uid, long gid, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, st->path, SQ_WRITER_SUFFIX, NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0 || !acmpca_sqlite_gen_size(fd)) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);

        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p, "ACMPCA0309: sqlite cannot create %s",
                   path);
        if (fd >= 0) {
            close(fd);
        }
        return rv;
    }
    if (!st->gen) {
        __atomic_store_n(&st->gen, acmpca_sqlite_gen_map(fd, st->pool), __ATOMIC_RELEASE);
    }
    close(fd);
    return (uid >= 0 || gid >= 0) ? chown_to(path, uid, gid, p) : APR_SUCCESS;
}

/* The object files' directory and what a tool run as root left in it (crlbench), the
 * workers': they replace the files. */
static apr_status_t objects_dir_give(acmpca_store_t *s, long uid, long gid, apr_pool_t *p)
{
    const char *dir = ACMPCA_SQLITE_OBJECTS_DIR(((sq_store_t *)s->impl)->path, p);
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rv = APR_FROM_OS_ERROR(errno);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0308: sqlite cannot create the directory %s", dir);
        return rv;
    }
    if ((rv = chown_to(dir, uid, gid, p)) != APR_SUCCESS
        || (rv = apr_dir_open(&d, dir, p)) != APR_SUCCESS) {
        return rv;
    }
    while (rv == APR_SUCCESS
           && apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        if (fi.filetype == APR_REG) {
            rv = chown_to(apr_pstrcat(p, dir, "/", fi.name, NULL), uid, gid, p);
        }
    }
    apr_dir_close(d);
    return rv;
}

/* post_config, as root. The workers must be able to write the file and to create the
 * -wal and -shm files next to it, hence the directory is theirs too. */
static apr_status_t sq_open(acmpca_store_t *s, long owner_uid, long owner_gid, apr_pool_t *p)
{
    sq_store_t *st = s->impl;
    const char *dir, *slash = strrchr(st->path, '/');
    apr_status_t rv;

    dir = slash == st->path ? "/" : apr_pstrmemdup(p, st->path, (apr_size_t)(slash - st->path));
    rv = apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0308: sqlite cannot create the directory %s", dir);
        return rv;
    }
    SQ_OK(db_prepare(st->path, p));
    /* The file holds wrapped CA keys and the audit trail. SQLite gives -wal and -shm
     * the mode of the database file. */
    SQ_OK(apr_file_perms_set(st->path, APR_FPROT_UREAD | APR_FPROT_UWRITE));
    if (owner_uid >= 0 || owner_gid >= 0) {
        SQ_OK(chown_to(dir, owner_uid, owner_gid, p));
        SQ_OK(chown_to(st->path, owner_uid, owner_gid, p));
        SQ_OK(chown_to(apr_pstrcat(p, st->path, "-wal", NULL), owner_uid, owner_gid, p));
        SQ_OK(chown_to(apr_pstrcat(p, st->path, "-shm", NULL), owner_uid, owner_gid, p));
        SQ_OK(objects_dir_give(s, owner_uid, owner_gid, p));
    }
    SQ_OK(writer_file_make(st, owner_uid, owner_gid, p));
leave:
    return rv;
}

/* child_init: a connection list owned by this child and closed with pchild. */
static apr_status_t sq_attach(acmpca_store_t *s, apr_pool_t *pchild)
{
    sq_store_t *st = s->impl;

    return acmpca_conns_attach(&st->conns, pchild);
}

/**************************************************************************************
 * Group commit
 *
 * With synchronous = FULL every commit waits for one fsync of the WAL, under SQLite's
 * write lock: writes are serialised on the disk's flush latency (about 600 a second on
 * the benchmark VM, whatever the CPU could do). So the threads of a process hand their
 * writes (every write call of this provider) to one of them, the leader, which runs
 * every write queued so far in one transaction, each in a savepoint of its own, and
 * commits them with one fsync; each caller returns only once the commit that holds its
 * write is on disk, as before. What a write hands back (a sequence number, a counter
 * value) is handed out only after that commit.
 *
 * - A write that fails (a taken key, a missing row) is rolled back to its savepoint and
 *   fails alone; the others commit. Writes run in queue order on one connection, so
 *   uniqueness and idempotency claims decide as if they had run one after another.
 * - A failed BEGIN or COMMIT (the disk, the lock timeout) fails every write of the group:
 *   none of them is committed then.
 * - The leader leads one group, then hands over: the next group is led by one of the
 *   threads still waiting, so no caller waits for more than two commits of others.
 * - Processes (prefork's children, or several children of event) each have their own
 *   leader; the leaders take turns through a lock on the -writer file next to the
 *   database (writer_turn), which wakes the next one as soon as a commit is done, where
 *   SQLite's write lock can only be polled (busy_wait, still there for other writers).
 *   The writes that arrive while another process commits make the next group larger.
 */

/* What a write is, as flags. SQ_WRITES_CAS, for the memos of CA records (sqlite_gen.c):
 * only a group with a write that may change the cas table moves the generation. An
 * issuance, the most frequent write, then leaves every thread's memo of its CA valid:
 * each one used to read its CA back from the file, 5 % of an issuance's CPU.
 * SQ_WRITES_UNSYNCED: coordination, not state (the locks), which a power loss may undo
 * harmlessly (a lock lost, or held until it expires): a group of such writes alone
 * commits without syncing the WAL; the next synced commit syncs them too, as the WAL is
 * written in order. A CRL pass took and released its lock with two fsyncs of its five. */
enum { SQ_WRITES_OTHER = 0, SQ_WRITES_CAS = 1, SQ_WRITES_UNSYNCED = 2 };

/** A write run by the leader on its connection: statements only, no BEGIN/COMMIT. */
typedef apr_status_t sq_write_fn(sq_call_t *call, void *baton);

struct sq_job_t {
    sq_write_fn *fn;
    void *baton;
    const char *op;  /* the provider function, for the log */
    int what;        /* SQ_WRITES_* flags */
    apr_pool_t *p;   /* the caller's pool: the caller sleeps while the leader uses it */
    apr_status_t rv; /* the write's own result, then the commit's when that failed */
    int lead;        /* set by the leader handing over: the caller leads the next group */
    sem_t posted;    /* posted once: the write is done, or the caller leads */
    sq_job_t *next;
};

/* A statement of the group's own, on the leader's connection. */
static apr_status_t group_exec(sq_call_t *call, stmt_id id)
{
    return exec(call, id, "");
}

/* Run one write in a savepoint; a write that fails is undone and fails alone. Returns
 * non-success only when the group itself cannot go on (a broken connection). */
static apr_status_t group_run_one(sq_call_t *call, sq_job_t *job)
{
    apr_status_t rv;

    call->op = job->op;
    call->p = job->p;
    if ((rv = group_exec(call, ST_SAVEPOINT)) != APR_SUCCESS) {
        job->rv = rv;
        return rv;
    }
    job->rv = job->fn(call, job->baton);
    /* Ends the write's reads before its savepoint goes, and lets the next write bind the
     * same statements to its own values. */
    stmts_reset(call->conn);
    if (call->broken) {
        return job->rv;
    }
    if (job->rv != APR_SUCCESS && (rv = group_exec(call, ST_ROLLBACK_TO)) != APR_SUCCESS) {
        return rv;
    }
    return group_exec(call, ST_RELEASE);
}

/* A write alone in its group runs without a savepoint: when it fails, nothing else is
 * in the transaction, which is rolled back whole (call_end). A savepoint inside BEGIN makes
 * SQLite copy every page the write overwrites to a statement journal first, in case of a
 * ROLLBACK TO: republishing a 49 MB CRL read the old CRL's 49 MB back and wrote it to a
 * temporary file. */
static apr_status_t group_run_alone(sq_call_t *call, sq_job_t *job)
{
    call->op = job->op;
    call->p = job->p;
    job->rv = job->fn(call, job->baton);
    stmts_reset(call->conn);
    return job->rv;
}

/* This process's turn at writing: blocks on the -writer file's lock while another
 * process's leader commits, and wakes when it lets go. SQLite's own lock, which a busy
 * handler can only poll, then is free. Returns the descriptor to unlock, or -1 when the
 * file cannot be had (a store opened without sq_open): SQLite's lock alone serialises. */
static int writer_turn(sq_store_t *st)
{
    pid_t pid = acmpca_pid();

    if (st->writer_pid != pid) { /* only the leader gets here: no race within a process */
        const char *path = apr_pstrcat(st->pool, st->path, SQ_WRITER_SUFFIX, NULL);

        if (st->writer_fd >= 0) { /* the parent's, inherited: its lock is the parent's */
            close(st->writer_fd);
        }
        /* Read-only still takes turns; it only cannot map the generation. */
        if ((st->writer_fd = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno == EACCES) {
            st->writer_fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        st->writer_pid = pid;
        if (st->writer_fd >= 0 && !__atomic_load_n(&st->gen, __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&st->gen, acmpca_sqlite_gen_map(st->writer_fd, st->pool),
                             __ATOMIC_RELEASE);
        }
    }
    if (st->writer_fd < 0) {
        return -1;
    }
    while (flock(st->writer_fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return st->writer_fd;
}

static volatile apr_uint64_t *gen_of(sq_store_t *st)
{
    return __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
}

/* A writer's turn, and, for a write that may change CA records (cas), the generation
 * odd while it writes. Without the turn the generation stays odd: with writers that do
 * not take turns, memos cannot be trusted. Other writes (certificates, revocations,
 * objects, counters) leave the generation, and every thread's memos, as they are. */
static int write_turn_take(sq_store_t *st, int cas)
{
    int turn = writer_turn(st);

    if (cas) {
        acmpca_sqlite_gen_begin(gen_of(st));
    }
    return turn;
}

static void write_turn_give(sq_store_t *st, int turn, int cas)
{
    if (turn >= 0) {
        if (cas) {
            acmpca_sqlite_gen_end(gen_of(st));
        }
        flock(turn, LOCK_UN);
    }
}

int acmpca_sqlite_write_turn(acmpca_store_t *s)
{
    return write_turn_take(s->impl, SQ_WRITES_CAS);
}

void acmpca_sqlite_write_done(acmpca_store_t *s, int turn)
{
    write_turn_give(s->impl, turn, SQ_WRITES_CAS);
}

/* The leader's work: one transaction for every write of jobs. */
static void group_commit(acmpca_store_t *s, sq_job_t *jobs)
{
    sq_store_t *st = s->impl;
    sq_call_t call;
    sq_job_t *job;
    apr_status_t rv;
    int turn, cas = 0, unsynced = SQ_WRITES_UNSYNCED;

    for (job = jobs; job; job = job->next) {
        cas |= job->what & SQ_WRITES_CAS;
        unsynced &= job->what;
    }
    turn = write_turn_take(st, cas);

    if ((rv = call_begin(&call, s, "group_commit", jobs->p)) == APR_SUCCESS && unsynced) {
        call.unsynced = 1;
        rv = group_exec(&call, ST_SYNC_NORMAL);
    }
    if (rv == APR_SUCCESS) {
        rv = group_exec(&call, ST_BEGIN);
    }
    for (job = jobs; rv == APR_SUCCESS && job; job = job->next) {
        rv = jobs->next ? group_run_one(&call, job) : group_run_alone(&call, job);
    }
    if (rv == APR_SUCCESS) {
        call.op = "group_commit";
        call.p = jobs->p;
        rv = group_exec(&call, ST_COMMIT);
    }
    /* Nothing was committed: whatever each write answered, the group's fault stands. */
    if (rv != APR_SUCCESS) {
        for (job = jobs; job; job = job->next) {
            job->rv = rv;
        }
    }
    call_end(&call, rv);
    write_turn_give(st, turn, cas);
}

/* The leader, done with group: hand the lead to the first write queued meanwhile, then
 * wake the callers of group. Each caller is posted exactly once, after the group mutex
 * is released (a caller woken under it would only sleep again on the mutex): once
 * posted, a caller returns and its job, on its stack, is gone, so next is read first.
 * The new leader's job stays valid: leading stays set, so no one else can run it. */
static void group_hand_over(sq_store_t *st, sq_job_t *group, sq_job_t *self)
{
    sq_job_t *lead, *next;

    pthread_mutex_lock(&st->group_mutex);
    if ((lead = st->queue) != NULL) {
        lead->lead = 1;
    }
    else {
        st->leading = 0;
    }
    pthread_mutex_unlock(&st->group_mutex);
    for (; group; group = next) {
        next = group->next;
        if (group != self) {
            sem_post(&group->posted);
        }
    }
    if (lead) {
        sem_post(&lead->posted);
    }
}

/* The checkpoint wal_noted leaves to the leaders: a PASSIVE one (it waits for no reader
 * or writer, and copies what it can), by one thread of the process at a time, on a
 * connection of its own. A checkpoint that fails is the next leader's to retry. */
static void checkpoint_due(acmpca_store_t *s, apr_pool_t *p)
{
    sq_store_t *st = s->impl;
    sq_call_t call;
    int idle = 0;

    if (__atomic_load_n(&st->wal_pages, __ATOMIC_RELAXED) < ACMPCA_SQLITE_CHECKPOINT_PAGES
        || !__atomic_compare_exchange_n(&st->checkpointing, &idle, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        return;
    }
    if (call_begin(&call, s, "checkpoint", p) == APR_SUCCESS) {
        sqlite3_wal_checkpoint_v2(call.conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        call_end(&call, APR_SUCCESS);
    }
    __atomic_store_n(&st->checkpointing, 0, __ATOMIC_RELEASE);
}

/* Queue a write and return once it is committed (or has failed). A caller sleeps on a
 * semaphore of its own (on its stack) until the leader posts it: two futex calls per
 * waiting writer, and no thundering herd on the group mutex. */
static apr_status_t group_write(acmpca_store_t *s, const char *op, int what, sq_write_fn *fn,
                                void *baton, apr_pool_t *p)
{
    sq_store_t *st = s->impl;
    sq_job_t job = {fn, baton, op, what, p, APR_SUCCESS, 0, {{0}}, NULL};
    sq_job_t *group;

    sem_init(&job.posted, 0, 0);
    pthread_mutex_lock(&st->group_mutex);
    *st->queue_tail = &job;
    st->queue_tail = &job.next;
    if (!st->leading) {
        st->leading = job.lead = 1;
    }
    pthread_mutex_unlock(&st->group_mutex);
    if (!job.lead) {
        while (sem_wait(&job.posted) != 0 && errno == EINTR) {
        }
    }
    if (job.lead) { /* lead the group queued so far, ours included */
        pthread_mutex_lock(&st->group_mutex);
        group = st->queue;
        st->queue = NULL;
        st->queue_tail = &st->queue;
        pthread_mutex_unlock(&st->group_mutex);
        group_commit(s, group);
        group_hand_over(st, group, &job);
        checkpoint_due(s, p);
    }
    sem_destroy(&job.posted);
    return job.rv;
}

/**************************************************************************************
 * Idempotency
 */

/* Claim (scope, token) for result inside the caller's write transaction, so that the
 * claim and the record it stands for commit together or not at all. */
static apr_status_t idem_claim(sq_call_t *call, acmpca_idem_t *idem, const char *result)
{
    apr_time_t now = apr_time_now();
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    idem->existing = NULL;
    SQ_OK(exec(call, ST_IDEM_REAP, "ii", (apr_int64_t)now, (apr_int64_t)SQ_IDEM_REAP));
    SQ_OK(exec(call, ST_IDEM_CLAIM, "sssii", idem->scope, idem->token, result,
               (apr_int64_t)idem->expires, (apr_int64_t)now));
    if (changes(call) == 1) {
        return APR_SUCCESS;
    }
    SQ_OK(stmt_prep(call, &stmt, ST_IDEM_GET, "ssi", idem->scope, idem->token, (apr_int64_t)now));
    SQ_OK(stmt_step(call, stmt, &row));
    /* We hold the write lock, so the row that refused the claim is still there. */
    idem->existing = row ? col_str(stmt, 0, call->p) : "";
    rv = APR_EEXIST;
leave:
    return rv;
}

typedef struct claim_args {
    acmpca_idem_t *idem;
    const char *result;
} claim_args;

static apr_status_t claim_write(sq_call_t *call, void *baton)
{
    claim_args *a = baton;

    return idem_claim(call, a->idem, a->result);
}

static apr_status_t sq_idem_claim(acmpca_store_t *s, acmpca_idem_t *idem, const char *result,
                                  apr_pool_t *p)
{
    claim_args a = {idem, result};

    return group_write(s, "idem_claim", SQ_WRITES_OTHER, claim_write, &a, p);
}

static apr_status_t sq_idem_get(acmpca_store_t *s, const char *scope, const char *token,
                                apr_time_t now, const char **presult, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    *presult = NULL;
    SQ_OK(call_begin(&call, s, "idem_get", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_IDEM_GET, "ssi", scope, token, (apr_int64_t)now));
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *presult = col_str(stmt, 0, p);
leave:
    return call_end(&call, rv);
}

/**************************************************************************************
 * Certificate authorities
 */

static acmpca_ca_rec_t *ca_read(sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_ca_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->id = col_str(stmt, 0, p);
    rec->account = col_str(stmt, 1, p);
    rec->seq = sqlite3_column_int64(stmt, 2);
    rec->version = sqlite3_column_int64(stmt, 3);
    rec->doc = col_str(stmt, 4, p);
    return rec;
}

typedef struct ca_create_args {
    const acmpca_ca_rec_t *rec;
    const unsigned char *wrapped_key;
    apr_size_t keylen;
    acmpca_idem_t *idem;
    const char *idem_result;
    apr_int64_t seq; /* out */
} ca_create_args;

static apr_status_t ca_create_write(sq_call_t *call, void *baton)
{
    ca_create_args *a = baton;
    apr_status_t rv;

    if (a->idem) {
        SQ_OK(idem_claim(call, a->idem, a->idem_result));
    }
    SQ_OK(exec(call, ST_CA_INSERT, "sss", a->rec->id, a->rec->account, a->rec->doc));
    /* seq is the rowid: AUTOINCREMENT chose it above every seq ever handed out. */
    a->seq = sqlite3_last_insert_rowid(call->conn->db);
    if (a->wrapped_key) {
        rv = exec(call, ST_KEY_INSERT, "sb", a->rec->id, (const void *)a->wrapped_key, a->keylen);
    }
leave:
    return rv;
}

static apr_status_t sq_ca_create(acmpca_store_t *s, acmpca_ca_rec_t *rec,
                                 const unsigned char *wrapped_key, apr_size_t keylen,
                                 acmpca_idem_t *idem, const char *idem_result, apr_pool_t *p)
{
    ca_create_args a = {rec, wrapped_key, keylen, idem, idem_result, 0};
    apr_status_t rv = group_write(s, "ca_create", SQ_WRITES_CAS, ca_create_write, &a, p);

    if (rv == APR_SUCCESS) {
        rec->seq = a.seq;
        rec->version = 1;
    }
    return rv;
}

static apr_status_t sq_ca_get(acmpca_store_t *s, const char *id, acmpca_ca_rec_t **prec,
                              apr_pool_t *p)
{
    sq_store_t *st = s->impl;
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_uint64_t gen;
    apr_status_t rv;
    int row, memo = acmpca_sqlite_gen_now(gen_of(st), &gen);

    *prec = NULL;
    if (memo && acmpca_memo_get(st->memo_id, gen, id, prec, p)) {
        return APR_SUCCESS;
    }
    SQ_OK(call_begin(&call, s, "ca_get", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_CA_GET, "s", id));
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = ca_read(stmt, p);
    if (memo) {
        acmpca_memo_put(st->memo_id, gen, *prec);
    }
leave:
    return call_end(&call, rv);
}

/* The version alone: no copy of the document, which is most of what ca_get reads. With
 * the memo on, the version it holds, or the whole record read into it on a miss (the
 * next download or request of that CA finds it there). */
static apr_status_t sq_ca_version(acmpca_store_t *s, const char *id, apr_int64_t *pversion,
                                  apr_pool_t *p)
{
    sq_store_t *st = s->impl;
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    acmpca_ca_rec_t *rec;
    apr_uint64_t gen;
    apr_status_t rv;
    int row;

    *pversion = 0;
    if (acmpca_sqlite_gen_now(gen_of(st), &gen)) {
        if (acmpca_memo_version(st->memo_id, gen, id, pversion)) {
            return APR_SUCCESS;
        }
        if ((rv = sq_ca_get(s, id, &rec, p)) == APR_SUCCESS) {
            *pversion = rec->version;
        }
        return rv;
    }
    SQ_OK(call_begin(&call, s, "ca_version", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_CA_VERSION, "s", id));
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pversion = sqlite3_column_int64(stmt, 0);
leave:
    return call_end(&call, rv);
}

/* After an update changed no row: a lost race, or a CA that is gone? */
static apr_status_t ca_missing_or_conflict(sq_call_t *call, const char *id)
{
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    SQ_OK(stmt_prep(call, &stmt, ST_CA_EXISTS, "s", id));
    SQ_OK(stmt_step(call, stmt, &row));
    rv = row ? ACMPCA_ECONFLICT : APR_NOTFOUND;
leave:
    return rv;
}

/* Compare-and-set in one statement: no lock held across calls. */
static apr_status_t ca_update_write(sq_call_t *call, void *baton)
{
    const acmpca_ca_rec_t *rec = baton;
    apr_status_t rv;

    SQ_OK(exec(call, ST_CA_UPDATE, "ssi", rec->doc, rec->id, (apr_int64_t)rec->version));
    if (changes(call) == 0) {
        rv = ca_missing_or_conflict(call, rec->id);
    }
leave:
    return rv;
}

static apr_status_t sq_ca_update(acmpca_store_t *s, acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    apr_status_t rv = group_write(s, "ca_update", SQ_WRITES_CAS, ca_update_write, rec, p);

    if (rv == APR_SUCCESS) {
        rec->version++;
    }
    return rv;
}

static apr_status_t ca_purge_write(sq_call_t *call, void *baton)
{
    apr_status_t rv;

    SQ_OK(exec(call, ST_CA_PURGE, "s", (const char *)baton));
    if (changes(call) == 0) {
        rv = APR_NOTFOUND;
    }
leave:
    return rv;
}

static apr_status_t sq_ca_purge(acmpca_store_t *s, const char *id, apr_pool_t *p)
{
    return group_write(s, "ca_purge", SQ_WRITES_CAS, ca_purge_write, (void *)id, p);
}

static apr_status_t sq_ca_list(acmpca_store_t *s, const char *account, apr_int64_t after_seq,
                               int limit, apr_array_header_t **precs, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_array_header_t *recs;
    apr_status_t rv;
    apr_int64_t max = limit > 0 ? limit : -1; /* SQLite: a negative LIMIT is no limit */
    int row;

    *precs = recs =
        apr_array_make(p, limit > 0 && limit <= 100 ? limit : 16, sizeof(acmpca_ca_rec_t *));
    SQ_OK(call_begin(&call, s, "ca_list", p));
    if (account) {
        SQ_OK(stmt_prep(&call, &stmt, ST_CA_LIST_ACCOUNT, "iis", (apr_int64_t)after_seq, max,
                        account));
    }
    else {
        SQ_OK(stmt_prep(&call, &stmt, ST_CA_LIST, "ii", (apr_int64_t)after_seq, max));
    }
    while ((rv = stmt_step(&call, stmt, &row)) == APR_SUCCESS && row) {
        APR_ARRAY_PUSH(recs, acmpca_ca_rec_t *) = ca_read(stmt, p);
    }
leave:
    return call_end(&call, rv);
}

/* The single value of a count(*) statement. */
static apr_status_t count_of(sq_call_t *call, sqlite3_stmt *stmt, apr_int64_t *pcount)
{
    apr_status_t rv;
    int row;

    if ((rv = stmt_step(call, stmt, &row)) == APR_SUCCESS) {
        *pcount = row ? sqlite3_column_int64(stmt, 0) : 0;
    }
    return rv;
}

static apr_status_t sq_ca_count(acmpca_store_t *s, const char *account, apr_int64_t *pcount,
                                apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;

    *pcount = 0;
    SQ_OK(call_begin(&call, s, "ca_count", p));
    if (account) {
        SQ_OK(stmt_prep(&call, &stmt, ST_CA_COUNT_ACCOUNT, "s", account));
    }
    else {
        SQ_OK(stmt_prep(&call, &stmt, ST_CA_COUNT, ""));
    }
    rv = count_of(&call, stmt, pcount);
leave:
    return call_end(&call, rv);
}

static apr_status_t sq_ca_key_get(acmpca_store_t *s, const char *id, const unsigned char **pkey,
                                  apr_size_t *plen, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    *pkey = NULL;
    *plen = 0;
    SQ_OK(call_begin(&call, s, "ca_key_get", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_KEY_GET, "s", id));
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pkey = col_blob(stmt, 0, plen, p);
leave:
    return call_end(&call, rv);
}

/**************************************************************************************
 * Certificates
 */

static acmpca_cert_rec_t *cert_read(sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_cert_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->ca_id = col_str(stmt, 0, p);
    rec->serial = col_str(stmt, 1, p);
    rec->pem = col_str(stmt, 2, p);
    rec->subject = col_str(stmt, 3, p);
    rec->template_arn = col_str(stmt, 4, p);
    rec->not_before = sqlite3_column_int64(stmt, 5);
    rec->not_after = sqlite3_column_int64(stmt, 6);
    rec->issued_at = sqlite3_column_int64(stmt, 7);
    rec->revoked_at = sqlite3_column_int64(stmt, 8); /* NULL reads as 0: not revoked */
    rec->revocation_reason = col_str(stmt, 9, p);
    rec->requested_by = col_str(stmt, 10, p);
    return rec;
}

static apr_status_t cert_insert(sq_call_t *call, const acmpca_cert_rec_t *rec)
{
    return exec(call, ST_CERT_INSERT, "sssssiiinss", rec->ca_id, rec->serial, rec->pem,
                rec->subject, rec->template_arn, (apr_int64_t)rec->not_before,
                (apr_int64_t)rec->not_after, (apr_int64_t)rec->issued_at,
                (apr_int64_t)rec->revoked_at, rec->revocation_reason, rec->requested_by);
}

typedef struct put_args {
    const acmpca_cert_rec_t *rec;
    acmpca_idem_t *idem;
    apr_int64_t limit, ca_version;
} put_args;

/* The quota, read on the leader's connection in the write's savepoint: a page the last
 * commit left in its cache, where a read transaction of its own before the write cost
 * 4.7 % of an issuance (the connection's cache starts cold after others' commits). */
static apr_status_t under_limit(sq_call_t *call, const char *ca_id, apr_int64_t limit)
{
    sqlite3_stmt *stmt = NULL;
    apr_int64_t n = 0;
    apr_status_t rv;

    SQ_OK(stmt_prep(call, &stmt, ST_CERT_COUNT, "s", ca_id));
    SQ_OK(count_of(call, stmt, &n));
    rv = n < limit ? APR_SUCCESS : APR_ENOSPC;
leave:
    return rv;
}

/* The CA at version, in the write's savepoint. */
static apr_status_t ca_at(sq_call_t *call, const char *ca_id, apr_int64_t version)
{
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    SQ_OK(stmt_prep(call, &stmt, ST_CA_VERSION, "s", ca_id));
    SQ_OK(stmt_step(call, stmt, &row));
    rv = row && sqlite3_column_int64(stmt, 0) == version ? APR_SUCCESS : ACMPCA_ECONFLICT;
leave:
    return rv;
}

/* The claim and the certificate in one savepoint: both or neither. */
static apr_status_t put_write(sq_call_t *call, void *baton)
{
    put_args *a = baton;
    apr_status_t rv;

    if (a->ca_version > 0 && (rv = ca_at(call, a->rec->ca_id, a->ca_version)) != APR_SUCCESS) {
        return rv;
    }
    if (a->limit > 0 && (rv = under_limit(call, a->rec->ca_id, a->limit)) != APR_SUCCESS) {
        return rv;
    }
    if (a->idem && (rv = idem_claim(call, a->idem, a->rec->serial)) != APR_SUCCESS) {
        return rv;
    }
    return cert_insert(call, a->rec);
}

static apr_status_t sq_cert_put(acmpca_store_t *s, const acmpca_cert_rec_t *rec,
                                acmpca_idem_t *idem, apr_int64_t limit, apr_int64_t ca_version,
                                apr_pool_t *p)
{
    put_args a = {rec, idem, limit, ca_version};

    return group_write(s, "cert_put", SQ_WRITES_OTHER, put_write, &a, p);
}

static apr_status_t sq_cert_get(acmpca_store_t *s, const char *ca_id, const char *serial,
                                acmpca_cert_rec_t **prec, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    *prec = NULL;
    SQ_OK(call_begin(&call, s, "cert_get", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_CERT_GET, "ss", ca_id, serial));
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = cert_read(stmt, p);
leave:
    return call_end(&call, rv);
}

/**************************************************************************************
 * CRL entries: the revoked certificates of a CA as its CRL needs them, packed in chunks
 * of serial order (crl_chunks, migration 7), so that a CRL build reads a few thousand
 * rows instead of an index row per entry. An entry is
 *   [1] the length L of the serial's text, [L] the text, [8] revoked_at, [8] not_after
 *   (big-endian apr_time_t), [1] 1 + the reason's acmpca_revocation_reason_index (0: none)
 * cert_revoke adds each revocation to its chunk in the same transaction, splitting a
 * chunk that outgrows a page; crl_index rebuilds a CA's chunks from certs when they do
 * not hold every revoked certificate (revocations loaded, seeded, or made before
 * migration 7). cert_iter(ACMPCA_CERT_ITER_CRL) reads the chunks when they hold them all
 * and the certs_crl index otherwise.
 */

#define CHUNK_MAX  3800 /* bytes: a chunk stays within one 4 KiB page, no overflow page */
#define CHUNK_FILL 3000 /* bytes a rebuild packs: room for revocations to come */
#define ENTRY_MAX  (1 + 255 + 8 + 8 + 1)

static void put_be64(unsigned char *out, apr_int64_t v)
{
    apr_uint64_t u = htobe64((apr_uint64_t)v);

    memcpy(out, &u, 8);
}

static apr_int64_t get_be64(const unsigned char *in)
{
    apr_uint64_t u;

    memcpy(&u, in, 8);
    return (apr_int64_t)be64toh(u);
}

/* The entry into out (ENTRY_MAX bytes): its length, 0 when the serial cannot be one.
 * A reason that is no RevocationReason reads back as none, which is what a CRL makes of it. */
static size_t entry_put(unsigned char *out, const char *serial, apr_time_t revoked_at,
                        apr_time_t not_after, const char *reason)
{
    size_t len = strlen(serial);
    int r = acmpca_revocation_reason_index(reason) + 1; /* 0: none */

    if (len == 0 || len > 255) {
        return 0;
    }
    out[0] = (unsigned char)len;
    memcpy(out + 1, serial, len);
    put_be64(out + 1 + len, revoked_at);
    put_be64(out + 9 + len, not_after);
    out[17 + len] = (unsigned char)r;
    return len + 18;
}

static size_t entry_len(const unsigned char *e)
{
    return (size_t)e[0] + 18;
}

/* The order of the serials' text, as SQLite compares TEXT and BLOB. */
static int serial_cmp(const unsigned char *a, size_t la, const unsigned char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);

    return c ? c : (la > lb) - (la < lb);
}

static int entries_count(const unsigned char *buf, size_t len)
{
    size_t off;
    int n = 0;

    for (off = 0; off < len; off += entry_len(buf + off)) {
        n++;
    }
    return n;
}

/* The revocation just recorded into the chunk of its serial. A certificate the table
 * cannot hold is left out: the chunks then lack one, and crl_index or the certs_crl
 * index stand in (cert_iter). */
static apr_status_t chunk_add(sq_call_t *call, const char *ca_id, const char *serial,
                              apr_time_t revoked_at, const char *reason)
{
    sqlite3_stmt *stmt = NULL;
    unsigned char entry[ENTRY_MAX], *buf;
    const unsigned char *old;
    apr_int64_t rowid, not_after;
    size_t elen, olen, off, total, split;
    apr_status_t rv;
    int row;

    SQ_OK(stmt_prep(call, &stmt, ST_CERT_NOT_AFTER, "ss", ca_id, serial));
    SQ_OK(stmt_step(call, stmt, &row));
    not_after = row ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_reset(stmt);
    if (!row || !(elen = entry_put(entry, serial, revoked_at, not_after, reason))) {
        goto leave;
    }
    SQ_OK(stmt_prep(call, &stmt, ST_CHUNK_FIND, "sb", ca_id, serial, strlen(serial)));
    SQ_OK(stmt_step(call, stmt, &row));
    if (!row) {
        sqlite3_reset(stmt);
        SQ_OK(exec(call, ST_CHUNK_INSERT, "sbib", ca_id, "", (apr_size_t)0, (apr_int64_t)1, entry,
                   elen));
        goto counted;
    }
    rowid = sqlite3_column_int64(stmt, 0);
    old = sqlite3_column_blob(stmt, 1);
    olen = (size_t)sqlite3_column_bytes(stmt, 1);
    for (off = 0; off < olen; off += entry_len(old + off)) {
        if (serial_cmp(entry + 1, entry[0], old + off + 1, old[off]) < 0) {
            break;
        }
    }
    total = olen + elen;
    buf = apr_palloc(call->p, total);
    memcpy(buf, old, off);
    memcpy(buf + off, entry, elen);
    memcpy(buf + off + elen, old + off, olen - off);
    sqlite3_reset(stmt); /* old is gone from here on */
    if (total <= CHUNK_MAX) {
        SQ_OK(exec(call, ST_CHUNK_UPDATE, "iib", rowid, (apr_int64_t)entries_count(buf, total), buf,
                   total));
        goto counted;
    }
    /* Split in two halves: the second is a chunk of its own from its first serial. */
    for (split = 0; split < total / 2; split += entry_len(buf + split)) {
    }
    SQ_OK(exec(call, ST_CHUNK_UPDATE, "iib", rowid, (apr_int64_t)entries_count(buf, split), buf,
               split));
    SQ_OK(exec(call, ST_CHUNK_INSERT, "sbib", ca_id, buf + split + 1, (apr_size_t)buf[split],
               (apr_int64_t)entries_count(buf + split, total - split), buf + split, total - split));
counted:
    rv = exec(call, ST_CHUNK_COUNT, "sii", ca_id, (apr_int64_t)1, (apr_int64_t)1);
leave:
    return rv;
}

/* Rebuild the CA's chunks from the certs_crl index, unless they hold every revoked
 * certificate already. */
static apr_status_t index_write(sq_call_t *call, void *baton)
{
    const char *ca_id = baton;
    sqlite3_stmt *stmt = NULL;
    unsigned char *buf = apr_palloc(call->p, CHUNK_FILL + ENTRY_MAX);
    size_t len = 0, elen;
    apr_int64_t added = 0, left_out = 0;
    apr_status_t rv;
    int row, n = 0, first = 1;

    SQ_OK(stmt_prep(call, &stmt, ST_CHUNK_CHECK, "s", ca_id));
    SQ_OK(stmt_step(call, stmt, &row));
    if (row && sqlite3_column_int(stmt, 0)) {
        goto leave;
    }
    sqlite3_reset(stmt);
    SQ_OK(exec(call, ST_CHUNK_CLEAR, "s", ca_id));
    SQ_OK(stmt_prep(call, &stmt, ST_CERT_ITER_CRL, "s", ca_id));
    while ((rv = stmt_step(call, stmt, &row)) == APR_SUCCESS && (row || n)) {
        if (row) {
            elen = entry_put(buf + len, (const char *)sqlite3_column_text(stmt, 0),
                             sqlite3_column_int64(stmt, 2), sqlite3_column_int64(stmt, 1),
                             (const char *)sqlite3_column_text(stmt, 3));
            left_out += elen == 0;
            n += elen != 0;
            len += elen;
        }
        if (n && (len >= CHUNK_FILL || !row)) {
            sqlite3_stmt *ins = NULL;

            /* Bindings need the last run of the statement reset (exec runs it to DONE). */
            SQ_OK(stmt_get(call, ST_CHUNK_INSERT, &ins));
            sqlite3_reset(ins);
            SQ_OK(exec(call, ST_CHUNK_INSERT, "sbib", ca_id, first ? buf : buf + 1,
                       first ? (apr_size_t)0 : (apr_size_t)buf[0], (apr_int64_t)n, buf, len));
            added += n;
            first = 0;
            len = 0;
            n = 0;
        }
        if (!row) {
            break;
        }
    }
    if (rv == APR_SUCCESS) {
        SQ_OK(exec(call, ST_CHUNK_COUNT, "sii", ca_id, added, (apr_int64_t)0));
        acmpca_log(ACMPCA_LOG_MARK, left_out ? ACMPCA_LOG_WARNING : ACMPCA_LOG_INFO, 0, call->p,
                   "ACMPCA0313: sqlite: the CRL entries of CA %s rebuilt (%" APR_INT64_T_FMT
                   " entries, %" APR_INT64_T_FMT " serials too long to keep)",
                   ca_id, added, left_out);
    }
leave:
    return rv;
}

static apr_status_t sq_crl_index(acmpca_store_t *s, const char *ca_id, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row, ok = 0;

    /* Read first: the write lock only when there is something to do. */
    SQ_OK(call_begin(&call, s, "crl_index", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_CHUNK_CHECK, "s", ca_id));
    SQ_OK(stmt_step(&call, stmt, &row));
    ok = row && sqlite3_column_int(stmt, 0);
leave:
    rv = call_end(&call, rv);
    if (rv != APR_SUCCESS || ok) {
        return rv;
    }
    return group_write(s, "crl_index", SQ_WRITES_OTHER, index_write, (void *)ca_id, p);
}

typedef struct revoke_args {
    const char *ca_id;
    const char *serial;
    apr_time_t revoked_at;
    const char *reason;
} revoke_args;

static apr_status_t revoke_write(sq_call_t *call, void *baton)
{
    revoke_args *a = baton;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    /* One conditional UPDATE: of two concurrent revocations exactly one wins. */
    SQ_OK(exec(call, ST_CERT_REVOKE, "isss", (apr_int64_t)a->revoked_at, a->reason, a->ca_id,
               a->serial));
    if (changes(call) == 1) {
        rv = chunk_add(call, a->ca_id, a->serial, a->revoked_at, a->reason);
        goto leave;
    }
    SQ_OK(stmt_prep(call, &stmt, ST_CERT_EXISTS, "ss", a->ca_id, a->serial));
    SQ_OK(stmt_step(call, stmt, &row));
    rv = row ? APR_EEXIST : APR_NOTFOUND;
leave:
    return rv;
}

/* Both reads in one statement, so one read transaction: the certificate's row is not
 * copied (no PEM), and the CA's version comes with it. */
static apr_status_t sq_cert_status(acmpca_store_t *s, const char *ca_id, const char *serial,
                                   apr_int64_t *pca_version, int *pfound, apr_time_t *prevoked_at,
                                   const char **preason, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    *pca_version = 0;
    *pfound = 0;
    *prevoked_at = 0;
    *preason = NULL;
    SQ_OK(call_begin(&call, s, "cert_status", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_CERT_STATUS, "ss", ca_id, serial));
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pca_version = sqlite3_column_int64(stmt, 0);
    *pfound = sqlite3_column_int(stmt, 1);
    *prevoked_at = sqlite3_column_int64(stmt, 2); /* NULL reads as 0: not revoked */
    *preason = *prevoked_at ? col_str(stmt, 3, p) : NULL;
leave:
    return call_end(&call, rv);
}

static apr_status_t sq_cert_revoke(acmpca_store_t *s, const char *ca_id, const char *serial,
                                   apr_time_t revoked_at, const char *reason, apr_pool_t *p)
{
    revoke_args a = {ca_id, serial, revoked_at, reason};

    return group_write(s, "cert_revoke", SQ_WRITES_OTHER, revoke_write, &a, p);
}

static apr_status_t sq_cert_count(acmpca_store_t *s, const char *ca_id, int which,
                                  apr_int64_t *pcount, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;

    *pcount = 0;
    SQ_OK(call_begin(&call, s, "cert_count", p));
    SQ_OK(stmt_prep(&call, &stmt,
                    which == ACMPCA_CERT_ITER_REVOKED ? ST_CERT_COUNT_REVOKED : ST_CERT_COUNT, "s",
                    ca_id));
    rv = count_of(&call, stmt, pcount);
leave:
    return call_end(&call, rv);
}

/* The CRL columns of the row stmt is on, pointing into sqlite's own row: valid until
 * the next step, with no copy (a million of them are read per CRL). */
static void crl_row(acmpca_cert_rec_t *rec, sqlite3_stmt *stmt)
{
    rec->serial = (const char *)sqlite3_column_text(stmt, 0);
    rec->not_after = sqlite3_column_int64(stmt, 1);
    rec->revoked_at = sqlite3_column_int64(stmt, 2);
    rec->revocation_reason = (const char *)sqlite3_column_text(stmt, 3);
}

/* The CRL entries from the chunks, when they hold them all (*pdone then). */
static apr_status_t chunk_iter(sq_call_t *call, const char *ca_id, acmpca_cert_cb *cb, void *baton,
                               int *pdone, int *pstop)
{
    sqlite3_stmt *stmt = NULL;
    acmpca_cert_rec_t rec = {0};
    const unsigned char *e, *end;
    char serial[256];
    apr_status_t rv;
    int row;

    rec.ca_id = ca_id;
    rec.serial = serial;
    SQ_OK(stmt_prep(call, &stmt, ST_CHUNK_ITER, "s", ca_id));
    while (!*pstop && (rv = stmt_step(call, stmt, &row)) == APR_SUCCESS && row) {
        *pdone = 1;
        e = sqlite3_column_blob(stmt, 1);
        end = e + sqlite3_column_bytes(stmt, 1);
        for (; !*pstop && e < end; e += entry_len(e)) {
            memcpy(serial, e + 1, e[0]);
            serial[e[0]] = '\0';
            rec.revoked_at = get_be64(e + 1 + e[0]);
            rec.not_after = get_be64(e + 9 + e[0]);
            rec.revocation_reason = acmpca_revocation_reason_name(e[17 + e[0]] - 1);
            *pstop = cb(baton, &rec);
        }
    }
leave:
    return rv;
}

/* Rows are stepped one at a time, so a CA with a million certificates costs one row of
 * memory. The connection (and its read snapshot) is held until the end; a callback that
 * calls the store meanwhile gets a connection of its own. */
static apr_status_t sq_cert_iter(acmpca_store_t *s, const char *ca_id, int which,
                                 acmpca_cert_cb *cb, void *baton, apr_pool_t *p)
{
    static const stmt_id stmts[] = {ST_CERT_ITER, ST_CERT_ITER_REVOKED, ST_CERT_ITER_CRL};
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_pool_t *ptemp = NULL;
    acmpca_cert_rec_t crl_rec = {0};
    apr_status_t rv;
    int row, stop = 0;

    if (which < 0 || which > ACMPCA_CERT_ITER_CRL) {
        return APR_EINVAL;
    }
    crl_rec.ca_id = ca_id;
    SQ_OK(call_begin(&call, s, "cert_iter", p));
    if (which == ACMPCA_CERT_ITER_CRL) {
        int done = 0;

        SQ_OK(chunk_iter(&call, ca_id, cb, baton, &done, &stop));
        if (done || stop) {
            rv = stop ? stop : APR_SUCCESS;
            goto leave;
        }
    }
    SQ_OK(stmt_prep(&call, &stmt, stmts[which], "s", ca_id));
    SQ_OK(apr_pool_create(&ptemp, p));
    while (!stop && (rv = stmt_step(&call, stmt, &row)) == APR_SUCCESS && row) {
        if (which == ACMPCA_CERT_ITER_CRL) {
            crl_row(&crl_rec, stmt);
            stop = cb(baton, &crl_rec);
            continue;
        }
        apr_pool_clear(ptemp);
        stop = cb(baton, cert_read(stmt, ptemp));
    }
    if (stop) {
        rv = stop;
    }
leave:
    if (ptemp) {
        apr_pool_destroy(ptemp);
    }
    return call_end(&call, rv);
}

/**************************************************************************************
 * Objects, reports and counters
 */

/* Write the bytes into the zeroblob of the row just inserted, a chunk at a time: SQLite
 * pages them out through its cache, so no copy of the whole object is made. The price is
 * I/O: the zeroed pages spill to the WAL before the bytes overwrite them, which is why
 * objects of SQ_FILE_MIN bytes and more go to files instead (object_file_write). */
#define BLOB_CHUNK (1024 * 1024)

static apr_status_t blob_fill(sq_call_t *call, const unsigned char *data, apr_size_t len)
{
    sqlite3 *db = call->conn->db;
    sqlite3_blob *blob = NULL;
    apr_size_t off, n;
    int rc;

    rc = sqlite3_blob_open(db, "main", "objects", "data", sqlite3_last_insert_rowid(db), 1, &blob);
    for (off = 0; rc == SQLITE_OK && off < len; off += n) {
        n = len - off < BLOB_CHUNK ? len - off : BLOB_CHUNK;
        rc = sqlite3_blob_write(blob, data + off, (int)n, (int)off);
    }
    if (blob && sqlite3_blob_close(blob) != SQLITE_OK && rc == SQLITE_OK) {
        rc = sqlite3_errcode(db);
    }
    return rc == SQLITE_OK ? APR_SUCCESS : failed(call, rc);
}

/* Objects from this size on are files of their own in <database>-objects/, written
 * whole, synced and renamed into place before the row that names them is committed: a
 * 49 MB CRL is written once (49 MB, one fsync) instead of twice into the WAL and once
 * more by the checkpoint (98 MB of WAL frames and 0.15 s for the blob). A row always
 * names a complete, durable file; each put writes a new name and removes the replaced
 * file once committed, so a reader never sees a file change under it (object_get tries
 * again when its file went away between the row and the open). */
#define SQ_FILE_MIN (1024 * 1024)

static const char *objects_dir(acmpca_store_t *s, apr_pool_t *p)
{
    return ACMPCA_SQLITE_OBJECTS_DIR(((sq_store_t *)s->impl)->path, p);
}

static apr_status_t sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ok = fd >= 0 && fsync(fd) == 0;
    apr_status_t rv = ok ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);

    if (fd >= 0) {
        close(fd);
    }
    return rv;
}

/* The bytes into a new file of dir, durable under its final name *pname. */
static apr_status_t object_file_write(const char **pname, const char *dir,
                                      const unsigned char *data, apr_size_t len, apr_pool_t *p)
{
    unsigned char r[16];
    const char *name, *path, *tmp;
    apr_size_t off = 0;
    apr_status_t rv;
    ssize_t n;
    int fd;

    if ((rv = acmpca_random(r, sizeof(r))) != APR_SUCCESS) {
        return rv;
    }
    name = apr_pstrcat(p, acmpca_hex(r, sizeof(r), 0, p), ".obj", NULL);
    path = apr_pstrcat(p, dir, "/", name, NULL);
    tmp = apr_pstrcat(p, path, ".tmp", NULL);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return APR_FROM_OS_ERROR(errno);
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    while (off < len && ((n = write(fd, data + off, len - off)) > 0 || errno == EINTR)) {
        off += n > 0 ? (apr_size_t)n : 0;
    }
    rv = off == len && fsync(fd) == 0 ? APR_SUCCESS : APR_FROM_OS_ERROR(errno ? errno : EIO);
    if (close(fd) != 0 && rv == APR_SUCCESS) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (rv == APR_SUCCESS && rename(tmp, path) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    if (rv != APR_SUCCESS) {
        unlink(tmp);
        return rv;
    }
    if ((rv = sync_dir(dir)) != APR_SUCCESS) {
        unlink(path);
        return rv;
    }
    *pname = name;
    return APR_SUCCESS;
}

typedef struct obj_put_args {
    acmpca_object_t *obj;
    const char *file; /* the object's file, NULL when its bytes go into the row */
    const char *old;  /* the file of the object replaced, to remove once committed */
    apr_pool_t *p;
} obj_put_args;

/* The row with a zeroblob of the object's size, then its bytes (blob_fill); or the row
 * naming its file, with no bytes. */
static apr_status_t object_put_write(sq_call_t *call, void *baton)
{
    obj_put_args *a = baton;
    const acmpca_object_t *obj = a->obj;
    sqlite3_stmt *stmt = NULL;
    const unsigned char *old;
    apr_status_t rv;
    int row;

    SQ_OK(stmt_prep(call, &stmt, ST_OBJECT_FILE, "ss", obj->bucket, obj->key));
    SQ_OK(stmt_step(call, stmt, &row));
    old = row ? sqlite3_column_text(stmt, 0) : NULL;
    a->old = old ? apr_pstrdup(a->p, (const char *)old) : NULL;
    sqlite3_reset(stmt);
    SQ_OK(exec(call, ST_OBJECT_PUT, "sssissi", obj->bucket, obj->key, obj->content_type,
               (apr_int64_t)obj->modified, obj->etag, a->file,
               (apr_int64_t)(a->file ? 0 : obj->len)));
    rv = a->file ? APR_SUCCESS : blob_fill(call, obj->data, obj->len);
leave:
    return rv;
}

static apr_status_t sq_object_put(acmpca_store_t *s, acmpca_object_t *obj, apr_pool_t *p)
{
    obj_put_args a = {obj, NULL, NULL, p};
    const char *etag, *dir = objects_dir(s, p);
    apr_status_t rv;

    if ((!obj->data && obj->len) || obj->len > INT_MAX) {
        return APR_EINVAL;
    }
    if ((etag = acmpca_store_etag(obj, p)) == NULL) {
        return APR_EGENERAL;
    }
    obj->etag = etag;
    if (!obj->modified) {
        obj->modified = apr_time_now();
    }
    if (obj->len >= SQ_FILE_MIN
        && (rv = object_file_write(&a.file, dir, obj->data, obj->len, p)) != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0311: sqlite cannot write an object file in %s", dir);
        return rv;
    }
    rv = group_write(s, "object_put", SQ_WRITES_OTHER, object_put_write, &a, p);
    /* Whichever file no committed row names any more. */
    if (rv != APR_SUCCESS ? a.file != NULL : a.old != NULL) {
        unlink(apr_pstrcat(p, dir, "/", rv != APR_SUCCESS ? a.file : a.old, NULL));
    }
    return rv;
}

/* The bytes are read straight into the caller's buffer (sqlite3_blob_read), while the
 * SELECT still holds the read snapshot: sqlite3_column_blob would assemble them in a
 * buffer of its own first, two copies of a 49 MB CRL. */
static apr_status_t blob_read(sq_call_t *call, unsigned char *buf, apr_size_t len,
                              sqlite3_int64 rowid)
{
    sqlite3 *db = call->conn->db;
    sqlite3_blob *blob = NULL;
    apr_size_t off, n;
    int rc;

    rc = sqlite3_blob_open(db, "main", "objects", "data", rowid, 0, &blob);
    for (off = 0; rc == SQLITE_OK && off < len; off += n) {
        n = len - off < BLOB_CHUNK ? len - off : BLOB_CHUNK;
        rc = sqlite3_blob_read(blob, buf + off, (int)n, (int)off);
    }
    if (blob) {
        sqlite3_blob_close(blob);
    }
    return rc == SQLITE_OK ? APR_SUCCESS : failed(call, rc);
}

static apr_status_t object_file_unmap(void *data)
{
    void **m = data;

    munmap(m[0], (size_t)(apr_uintptr_t)m[1]);
    return APR_SUCCESS;
}

/* Mapped, not read: a 49 MB CRL was copied into fresh anonymous memory for every download
 * (page faults and zeroing included) and then copied again to the socket. The file is
 * never changed in place (object_put writes a new one and renames it over), so the
 * mapping holds still while p lives. */
apr_status_t acmpca_sqlite_object_file_read(const unsigned char **pdata, apr_size_t *plen,
                                            const char *path, apr_pool_t *p)
{
    struct stat sb;
    void *m, **unmap;
    apr_status_t rv = APR_SUCCESS;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return errno == ENOENT ? APR_NOTFOUND : APR_FROM_OS_ERROR(errno);
    }
    if (fstat(fd, &sb) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    else if (sb.st_size == 0) {
        *pdata = apr_pcalloc(p, 1);
        *plen = 0;
    }
    else if ((m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0))
             == MAP_FAILED) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    else {
        unmap = apr_palloc(p, 2 * sizeof(*unmap));
        unmap[0] = m;
        unmap[1] = (void *)(apr_uintptr_t)sb.st_size;
        apr_pool_cleanup_register(p, unmap, object_file_unmap, apr_pool_cleanup_null);
        *pdata = m;
        *plen = (apr_size_t)sb.st_size;
    }
    close(fd);
    return rv;
}

/* The file a row names was replaced and removed between the row and the open: the row
 * read again names its successor. */
#define OBJECT_GET_TRIES 3

static apr_status_t sq_object_get(acmpca_store_t *s, const char *bucket, const char *key,
                                  acmpca_object_t **pobj, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    acmpca_object_t *obj;
    unsigned char *data;
    const char *file;
    apr_status_t rv;
    int row, tries = 0;

again:
    *pobj = NULL;
    SQ_OK(call_begin(&call, s, "object_get", p));
    SQ_OK(stmt_prep(&call, &stmt, ST_OBJECT_GET, "ss", bucket, key));
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    obj = apr_pcalloc(p, sizeof(*obj));
    obj->bucket = col_str(stmt, 0, p);
    obj->key = col_str(stmt, 1, p);
    obj->content_type = col_str(stmt, 2, p);
    obj->len = (apr_size_t)sqlite3_column_int64(stmt, 3);
    obj->modified = sqlite3_column_int64(stmt, 4);
    obj->etag = col_str(stmt, 5, p);
    if ((file = col_str(stmt, 7, p)) != NULL) {
        rv = acmpca_sqlite_object_file_read(&obj->data, &obj->len,
                                            apr_pstrcat(p, objects_dir(s, p), "/", file, NULL), p);
        if (rv == APR_NOTFOUND && ++tries < OBJECT_GET_TRIES) {
            call_end(&call, rv);
            goto again;
        }
        if (rv != APR_SUCCESS) {
            rv = rv == APR_NOTFOUND ? APR_EGENERAL : rv;
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                       "ACMPCA0312: sqlite cannot read the object file %s of %s/%s", file, bucket,
                       key);
            goto leave;
        }
        *pobj = obj;
        goto leave;
    }
    /* An empty object is an empty buffer, never NULL. */
    obj->data = data = apr_palloc(p, obj->len ? obj->len : 1);
    SQ_OK(blob_read(&call, data, obj->len, sqlite3_column_int64(stmt, 6)));
    *pobj = obj;
leave:
    return call_end(&call, rv);
}

static acmpca_report_rec_t *report_read(sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_report_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->ca_id = col_str(stmt, 0, p);
    rec->id = col_str(stmt, 1, p);
    rec->status = col_str(stmt, 2, p);
    rec->bucket = col_str(stmt, 3, p);
    rec->key = col_str(stmt, 4, p);
    rec->format = col_str(stmt, 5, p);
    rec->created_at = sqlite3_column_int64(stmt, 6);
    return rec;
}

static apr_status_t report_put_write(sq_call_t *call, void *baton)
{
    const acmpca_report_rec_t *rec = baton;

    return exec(call, ST_REPORT_PUT, "ssssssi", rec->ca_id, rec->id, rec->status, rec->bucket,
                rec->key, rec->format, (apr_int64_t)rec->created_at);
}

static apr_status_t sq_report_put(acmpca_store_t *s, const acmpca_report_rec_t *rec, apr_pool_t *p)
{
    return group_write(s, "report_put", SQ_WRITES_OTHER, report_put_write, (void *)rec, p);
}

/* A report query by ca_id and, when id is not NULL, its id. */
static apr_status_t report_find(acmpca_store_t *s, const char *op, const char *ca_id,
                                const char *id, acmpca_report_rec_t **prec, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    *prec = NULL;
    SQ_OK(call_begin(&call, s, op, p));
    if (id) {
        SQ_OK(stmt_prep(&call, &stmt, ST_REPORT_GET, "ss", ca_id, id));
    }
    else {
        SQ_OK(stmt_prep(&call, &stmt, ST_REPORT_LATEST, "s", ca_id));
    }
    SQ_OK(stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = report_read(stmt, p);
leave:
    return call_end(&call, rv);
}

static apr_status_t sq_report_get(acmpca_store_t *s, const char *ca_id, const char *id,
                                  acmpca_report_rec_t **prec, apr_pool_t *p)
{
    if (!id) {
        *prec = NULL;
        return APR_NOTFOUND;
    }
    return report_find(s, "report_get", ca_id, id, prec, p);
}

static apr_status_t sq_report_latest(acmpca_store_t *s, const char *ca_id,
                                     acmpca_report_rec_t **prec, apr_pool_t *p)
{
    return report_find(s, "report_latest", ca_id, NULL, prec, p);
}

typedef struct counter_args {
    const char *name;
    apr_int64_t value; /* out */
} counter_args;

static apr_status_t counter_write(sq_call_t *call, void *baton)
{
    counter_args *a = baton;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    SQ_OK(stmt_prep(call, &stmt, ST_COUNTER_NEXT, "s", a->name));
    SQ_OK(stmt_step(call, stmt, &row));
    if (row) {
        a->value = sqlite3_column_int64(stmt, 0);
    }
    SQ_OK(stmt_run(call, stmt));
    rv = row ? APR_SUCCESS : APR_EGENERAL;
leave:
    return rv;
}

static apr_status_t sq_counter_next(acmpca_store_t *s, const char *name, apr_int64_t *pvalue,
                                    apr_pool_t *p)
{
    counter_args a = {name, 0};
    apr_status_t rv = group_write(s, "counter_next", SQ_WRITES_OTHER, counter_write, &a, p);

    /* Only a value whose commit succeeded may be handed out. */
    if (rv == APR_SUCCESS) {
        *pvalue = a.value;
    }
    return rv;
}

typedef struct lock_args {
    const char *ca_id, *name, *owner;
    int ttl_ms, want;
    int busy, wanted, found; /* out */
} lock_args;

/* The acquire and its 'wanted' mark in one savepoint: the holder cannot release in
 * between and miss the mark. A busy lock is an answer whose mark must commit, so the
 * write succeeds and says busy. */
static apr_status_t lock_acquire_write(sq_call_t *call, void *baton)
{
    lock_args *a = baton;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    SQ_OK(exec(call, ST_LOCK_ACQUIRE, "sssii", a->ca_id, a->name, a->owner,
               (apr_int64_t)(now + (apr_time_t)(a->ttl_ms > 0 ? a->ttl_ms : 1) * 1000),
               (apr_int64_t)now));
    a->busy = changes(call) == 0;
    if (a->busy && a->want) {
        rv = exec(call, ST_LOCK_WANT, "ss", a->ca_id, a->name);
    }
leave:
    return rv;
}

static apr_status_t sq_lock_acquire(acmpca_store_t *s, const char *ca_id, const char *name,
                                    const char *owner, int ttl_ms, int want, apr_pool_t *p)
{
    lock_args a = {ca_id, name, owner, ttl_ms, want, 0, 0, 0};
    apr_status_t rv = group_write(s, "lock_acquire", SQ_WRITES_UNSYNCED, lock_acquire_write, &a, p);

    return rv == APR_SUCCESS && a.busy ? APR_EBUSY : rv;
}

static apr_status_t lock_release_write(sq_call_t *call, void *baton)
{
    lock_args *a = baton;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    SQ_OK(stmt_prep(call, &stmt, ST_LOCK_RELEASE, "sss", a->ca_id, a->name, a->owner));
    SQ_OK(stmt_step(call, stmt, &row));
    if (row) {
        a->found = 1;
        a->wanted = sqlite3_column_int(stmt, 0) != 0;
    }
    rv = stmt_run(call, stmt);
leave:
    return rv;
}

static apr_status_t sq_lock_release(acmpca_store_t *s, const char *ca_id, const char *name,
                                    const char *owner, int *pwanted, apr_pool_t *p)
{
    lock_args a = {ca_id, name, owner, 0, 0, 0, 0, 0};
    apr_status_t rv = group_write(s, "lock_release", SQ_WRITES_UNSYNCED, lock_release_write, &a, p);

    if (pwanted) {
        *pwanted = rv == APR_SUCCESS && a.wanted;
    }
    return rv == APR_SUCCESS && !a.found ? APR_NOTFOUND : rv;
}

const acmpca_store_provider_t acmpca_store_sqlite = {
    .name = "sqlite",
    .flags = 0,
    .create = sq_create,
    .open = sq_open,
    .attach = sq_attach,
    .ca_create = sq_ca_create,
    .ca_get = sq_ca_get,
    .ca_version = sq_ca_version,
    .ca_update = sq_ca_update,
    .ca_purge = sq_ca_purge,
    .ca_list = sq_ca_list,
    .ca_count = sq_ca_count,
    .ca_key_get = sq_ca_key_get,
    .cert_put = sq_cert_put,
    .cert_get = sq_cert_get,
    .cert_revoke = sq_cert_revoke,
    .cert_count = sq_cert_count,
    .cert_status = sq_cert_status,
    .cert_iter = sq_cert_iter,
    .crl_index = sq_crl_index,
    .idem_claim = sq_idem_claim,
    .idem_get = sq_idem_get,
    .object_put = sq_object_put,
    .object_get = sq_object_get,
    .report_put = sq_report_put,
    .report_get = sq_report_get,
    .report_latest = sq_report_latest,
    .counter_next = sq_counter_next,
    .lock_acquire = sq_lock_acquire,
    .lock_release = sq_lock_release,
    .dump = acmpca_sqlite_dump,
    .load = acmpca_sqlite_load,
};
