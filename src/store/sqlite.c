/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite store provider: one database file in WAL mode, one connection per thread. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_reslist.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "acmpca/err.h"
#include "acmpca/log.h"
#include "acmpca/store.h"

/* A writer waits this long for another writer's transaction before giving up with
 * SQLITE_BUSY; our write transactions are a few statements, so this is generous. */
#define SQ_BUSY_TIMEOUT_MS 5000
/* Upper bound of connections per process: one per thread that is inside a store call. A
 * thread beyond it waits for a connection to come back. */
#define SQ_MAX_CONNS 128
/* Expired idempotency rows removed per claim: keeps the table near its live size without
 * a sweeper and without making any one write slow. */
#define SQ_IDEM_REAP 8

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
};

#define SQ_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/**************************************************************************************
 * Statements: prepared once per connection, reset at the end of every call
 */

typedef enum {
    ST_BEGIN,
    ST_COMMIT,
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
    ST_OBJECT_PUT,
    ST_OBJECT_GET,
    ST_REPORT_PUT,
    ST_REPORT_GET,
    ST_REPORT_LATEST,
    ST_COUNTER_NEXT,
    ST_COUNT
} stmt_id;

_Static_assert(ST_COUNT <= 64, "the used-statement mask is 64 bits");

#define CA_COLS     "id, account, seq, version, doc"
#define CERT_COLS                                                                          \
    "ca_id, serial, pem, subject, template_arn, not_before, not_after, issued_at, "        \
    "revoked_at, revocation_reason"
#define OBJECT_COLS "bucket, key, content_type, data, modified, etag"
#define REPORT_COLS "ca_id, id, status, bucket, key, format, created_at"

/* Every statement has bound parameters only; no SQL text is ever built from input. */
static const char *const stmt_sql[ST_COUNT] = {
    /* IMMEDIATE takes the write lock up front (waiting in the busy handler), so a
     * transaction never fails half-way trying to upgrade a read lock. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
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
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE ca_id = ?1 AND serial = ?2",
    [ST_CERT_REVOKE] = "UPDATE certs SET revoked_at = ?1, revocation_reason = ?2"
                       " WHERE ca_id = ?3 AND serial = ?4 AND revoked_at IS NULL",
    [ST_CERT_EXISTS] = "SELECT 1 FROM certs WHERE ca_id = ?1 AND serial = ?2",
    [ST_CERT_COUNT] = "SELECT count(*) FROM certs WHERE ca_id = ?1",
    [ST_CERT_COUNT_REVOKED] = "SELECT count(*) FROM certs"
                              " WHERE ca_id = ?1 AND revoked_at IS NOT NULL",
    /* Serial order is text order: the primary key's order, so no sort. */
    [ST_CERT_ITER] = "SELECT " CERT_COLS " FROM certs WHERE ca_id = ?1 ORDER BY serial",
    [ST_CERT_ITER_REVOKED] = "SELECT " CERT_COLS " FROM certs"
                             " WHERE ca_id = ?1 AND revoked_at IS NOT NULL ORDER BY serial",
    /* One statement, so readers see the old or the new object, never a mix. */
    [ST_OBJECT_PUT] = "INSERT OR REPLACE INTO objects (" OBJECT_COLS ")"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
};

/**************************************************************************************
 * Store, connections and calls
 */

typedef struct sq_store_t {
    const char *path;
    apr_pool_t *pool;          /* the store's config-time pool */
    apr_thread_mutex_t *mutex; /* guards conns and conns_pid */
    apr_reslist_t *conns;      /* this process's connections (sq_conn_t) */
    pid_t conns_pid;           /* the process conns belongs to */
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
    int broken; /* the connection failed: close it rather than reuse it */
} sq_call_t;

#define SQ_OK(x)                                                                           \
    do {                                                                                   \
        if ((rv = (x)) != APR_SUCCESS) {                                                   \
            goto leave;                                                                    \
        }                                                                                  \
    } while (0)

static apr_status_t status_of(sqlite3 *db, int rc)
{
    int sys;

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
    apr_status_t rv;

    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return APR_EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return APR_NOTFOUND;
    default:
        break;
    }
    rv = status_of(call->conn->db, rc);
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
    sqlite3_stmt *stmt;
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

/* The settings every connection needs; synchronous and foreign_keys are per connection,
 * not stored in the file. FULL syncs the WAL on every commit: an acknowledged write
 * (an issued certificate, a revocation) survives a power loss. */
static int conn_setup(sqlite3 *db)
{
    int rc;

    sqlite3_extended_result_codes(db, 1);
    if ((rc = sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS)) != SQLITE_OK) {
        return rc;
    }
    return sqlite3_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", NULL, NULL,
                        NULL);
}

/* The reslist constructor, run in whichever thread first needs another connection. */
static apr_status_t conn_open(void **pres, void *params, apr_pool_t *pool)
{
    sq_store_t *st = params;
    sq_conn_t *conn;
    apr_pool_t *ptemp;
    apr_status_t rv = APR_SUCCESS;
    int rc, version = -1;

    (void)pool;
    /* malloc, not the reslist's pool: connections come and go for the life of the
     * process, and a pool would only grow. */
    if ((conn = calloc(1, sizeof(*conn))) == NULL) {
        return APR_ENOMEM;
    }
    /* NOMUTEX: a connection is only ever used by the thread that holds it. No CREATE:
     * the file and its schema come from open(), in the parent. */
    rc = sqlite3_open_v2(st->path, &conn->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc == SQLITE_OK) {
        rc = conn_setup(conn->db);
    }
    if (rc == SQLITE_OK) {
        rc = user_version(conn->db, &version);
    }
    if (rc != SQLITE_OK || version != SQ_SCHEMA_VERSION) {
        rv = rc != SQLITE_OK ? status_of(conn->db, rc) : APR_EGENERAL;
        /* A root pool for the message: the reslist's pool would grow on every retry. */
        if (apr_pool_create(&ptemp, NULL) == APR_SUCCESS) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, ptemp,
                       "ACMPCA0300: sqlite cannot use %s: %s (schema version %d, want %d)",
                       st->path, conn->db ? sqlite3_errmsg(conn->db) : "out of memory",
                       version, SQ_SCHEMA_VERSION);
            apr_pool_destroy(ptemp);
        }
        conn_close(conn, NULL, NULL);
        return rv;
    }
    *pres = conn;
    return APR_SUCCESS;
}

static apr_status_t conns_forget(void *data)
{
    sq_store_t *st = data;

    st->conns = NULL;
    return APR_SUCCESS;
}

/* Called with st->mutex held. A list inherited from the parent is left alone: its
 * connections belong to the parent's process (SQLite connections must not cross a
 * fork), and closing them here could drop the parent's file locks. */
static apr_status_t conns_make(sq_store_t *st, apr_pool_t *pool)
{
    apr_status_t rv;

    rv = apr_reslist_create(&st->conns, 0, SQ_MAX_CONNS, SQ_MAX_CONNS, 0, conn_open,
                            conn_close, st, pool);
    if (rv != APR_SUCCESS) {
        st->conns = NULL;
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, pool,
                   "ACMPCA0302: sqlite cannot create the connection list for %s", st->path);
        return rv;
    }
    st->conns_pid = getpid();
    apr_pool_cleanup_register(pool, st, conns_forget, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* The connection list of this process, made on first use when attach was not called
 * (unit tests, a call in post_config). */
static apr_status_t conns_get(sq_store_t *st, apr_reslist_t **pconns, apr_pool_t *pool)
{
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(st->mutex);
    if (st->conns == NULL || st->conns_pid != getpid()) {
        rv = conns_make(st, pool);
    }
    *pconns = st->conns;
    apr_thread_mutex_unlock(st->mutex);
    return rv;
}

static apr_status_t call_begin(sq_call_t *call, acmpca_store_t *s, const char *op,
                               apr_pool_t *p)
{
    void *res;
    apr_status_t rv;

    memset(call, 0, sizeof(*call));
    call->st = s->impl;
    call->op = op;
    call->p = p;
    if ((rv = conns_get(call->st, &call->conns, call->st->pool)) != APR_SUCCESS) {
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
static apr_status_t call_end(sq_call_t *call, apr_status_t rv)
{
    sq_conn_t *conn = call->conn;
    int i;

    if (!conn) {
        return rv;
    }
    for (i = 0; i < ST_COUNT; ++i) {
        if (conn->used & ((apr_uint64_t)1 << i)) {
            sqlite3_reset(conn->stmts[i]);
            sqlite3_clear_bindings(conn->stmts[i]);
        }
    }
    conn->used = 0;
    if (!sqlite3_get_autocommit(conn->db)
        && sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK) {
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

/* Bind ?1..?n in order from fmt: 's' const char * (NULL binds NULL), 'i' apr_int64_t,
 * 'b' const void * then apr_size_t. SQLITE_STATIC does not copy: call_end clears the
 * bindings before the caller's values can go away. */
static int stmt_vbind(sqlite3_stmt *stmt, const char *fmt, va_list ap)
{
    const char *s;
    const void *data;
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

/* The statement id, prepared on this connection's first use and bound from fmt. */
static apr_status_t stmt_prep(sq_call_t *call, sqlite3_stmt **pstmt, stmt_id id,
                              const char *fmt, ...)
{
    sq_conn_t *conn = call->conn;
    va_list ap;
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
    sq_conn_t *conn = call->conn;
    sqlite3_stmt *stmt;
    apr_status_t rv;
    va_list ap;
    int rc;

    if ((rv = stmt_prep(call, &stmt, id, "")) != APR_SUCCESS) {
        return rv;
    }
    va_start(ap, fmt);
    rc = stmt_vbind(stmt, fmt, ap);
    va_end(ap);
    if (rc != SQLITE_OK) {
        return failed(call, rc);
    }
    (void)conn;
    return stmt_run(call, stmt);
}
