/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite provider's connections (one per thread inside a store call), the calls that
 * borrow them, and the statements prepared on them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_reslist.h>
#include <apr_time.h>

#include <sqlite3.h>

#include "acmpca/log.h"
#include "acmpca/store.h"
#include "sqlite_int.h"
#include "store_int.h"

/* A writer waits this long for another writer's transaction before giving up with
 * SQLITE_BUSY; our write transactions are a few statements, so this is generous. */
#define SQ_BUSY_TIMEOUT_MS 5000
/* How often a writer retries the lock another process holds: sqlite3_busy_timeout sleeps
 * 1, 2, 5, 10... ms, far longer than the commit it waits for (one fsync). */
#define SQ_BUSY_STEP_US  100
#define SQ_BUSY_STEPS_US 1000

/**************************************************************************************
 * Statements: prepared once per connection, reset at the end of every call
 */

#define CA_COLS "id, account, seq, version, doc"
#define CERT_COLS                                                                                  \
    "ca_id, serial, pem, subject, template_arn, not_before, not_after, issued_at, "                \
    "revoked_at, revocation_reason, requested_by"
/* length(data) reads the size from the row header; the bytes follow by blob_read
 * (sqlite_object.c). */
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
    /* The bytes follow through sqlite3_blob_write in the same transaction (object_put,
     * sqlite_object.c), so readers see the old or the new object, never a mix. */
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
 * Connections and calls
 */

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
apr_status_t acmpca_sqlite_failed(sq_call_t *call, int rc)
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

apr_status_t acmpca_sqlite_conn_close(void *res, void *params, apr_pool_t *pool)
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
 * checkpoints once its group is answered (checkpoint_due, sqlite_group.c), as the same
 * PASSIVE checkpoint, while the next group commits. */
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
int acmpca_sqlite_conn_setup(sqlite3 *db, sq_store_t *st)
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
apr_status_t acmpca_sqlite_conn_open(void **pres, void *params, apr_pool_t *pool)
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
        rc = acmpca_sqlite_conn_setup(conn->db, st);
    }
    if (rc == SQLITE_OK) {
        rc = acmpca_sqlite_user_version(conn->db, &version);
    }
    if (rc != SQLITE_OK) {
        apr_status_t rv = acmpca_sqlite_status(conn->db, rc);
        conn_log(st, rv, conn->db ? sqlite3_errmsg(conn->db) : "out of memory");
        acmpca_sqlite_conn_close(conn, NULL, NULL);
        return rv;
    }
    /* Workers of an older or newer module must not write a schema they do not know. */
    if (version != acmpca_sqlite_schema_version) {
        snprintf(why, sizeof(why), "schema version %d, this module needs %d", version,
                 acmpca_sqlite_schema_version);
        conn_log(st, APR_EGENERAL, why);
        acmpca_sqlite_conn_close(conn, NULL, NULL);
        return APR_EGENERAL;
    }
    *pres = conn;
    return APR_SUCCESS;
}

apr_status_t acmpca_sqlite_call_begin(sq_call_t *call, acmpca_store_t *s, const char *op,
                                      apr_pool_t *p)
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

/* Reset the statements handed out since the last reset, so that they can run again and
 * hold no pointer to the caller's values (bindings are SQLITE_STATIC). */
void acmpca_sqlite_stmts_reset(sq_conn_t *conn)
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

/* The single exit of every call: whatever path we took, statements are reset (which
 * ends their read transactions), a transaction left open by an error is rolled back,
 * and the connection goes back to the list. */
apr_status_t acmpca_sqlite_call_end(sq_call_t *call, apr_status_t rv)
{
    sq_conn_t *conn = call->conn;

    if (!conn) {
        return rv;
    }
    acmpca_sqlite_stmts_reset(conn);
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
apr_status_t acmpca_sqlite_stmt_get(sq_call_t *call, stmt_id id, sqlite3_stmt **pstmt)
{
    sq_conn_t *conn = call->conn;
    int rc;

    if (!conn->stmts[id]) {
        rc = sqlite3_prepare_v3(conn->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &conn->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            return acmpca_sqlite_failed(call, rc);
        }
    }
    conn->used |= (apr_uint64_t)1 << id;
    *pstmt = conn->stmts[id];
    return APR_SUCCESS;
}

/* The statement id with its parameters bound from fmt (see stmt_vbind). */
apr_status_t acmpca_sqlite_stmt_prep(sq_call_t *call, sqlite3_stmt **pstmt, stmt_id id,
                                     const char *fmt, ...)
{
    apr_status_t rv;
    va_list ap;
    int rc;

    if ((rv = acmpca_sqlite_stmt_get(call, id, pstmt)) != APR_SUCCESS) {
        return rv;
    }
    va_start(ap, fmt);
    rc = stmt_vbind(*pstmt, fmt, ap);
    va_end(ap);
    return rc == SQLITE_OK ? APR_SUCCESS : acmpca_sqlite_failed(call, rc);
}

/* One step: *prow is 1 on a row, 0 when done; anything else is failed(). */
apr_status_t acmpca_sqlite_stmt_step(sq_call_t *call, sqlite3_stmt *stmt, int *prow)
{
    int rc = sqlite3_step(stmt);

    *prow = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        return APR_SUCCESS;
    }
    return acmpca_sqlite_failed(call, rc);
}

/* Run a statement to its end. Stepping to SQLITE_DONE matters for writes outside a
 * transaction: that is where SQLite commits, and where a failed commit is reported. */
apr_status_t acmpca_sqlite_stmt_run(sq_call_t *call, sqlite3_stmt *stmt)
{
    apr_status_t rv;
    int row;

    do {
        rv = acmpca_sqlite_stmt_step(call, stmt, &row);
    } while (rv == APR_SUCCESS && row);
    return rv;
}

/* Prepare, bind and run a statement that returns no rows. */
apr_status_t acmpca_sqlite_exec(sq_call_t *call, stmt_id id, const char *fmt, ...)
{
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    va_list ap;
    int rc;

    if ((rv = acmpca_sqlite_stmt_get(call, id, &stmt)) != APR_SUCCESS) {
        return rv;
    }
    va_start(ap, fmt);
    rc = stmt_vbind(stmt, fmt, ap);
    va_end(ap);
    return rc == SQLITE_OK ? acmpca_sqlite_stmt_run(call, stmt) : acmpca_sqlite_failed(call, rc);
}

/* Rows changed by the last write of this call's connection. */
int acmpca_sqlite_changes(sq_call_t *call)
{
    return sqlite3_changes(call->conn->db);
}

const char *acmpca_sqlite_col_str(sqlite3_stmt *stmt, int i, apr_pool_t *p)
{
    const unsigned char *v = sqlite3_column_text(stmt, i);

    /* column_bytes after column_text: the length of the text form. */
    return v ? apr_pstrmemdup(p, (const char *)v, (apr_size_t)sqlite3_column_bytes(stmt, i)) : NULL;
}

const unsigned char *acmpca_sqlite_col_blob(sqlite3_stmt *stmt, int i, apr_size_t *plen,
                                            apr_pool_t *p)
{
    const void *v = sqlite3_column_blob(stmt, i);

    *plen = (apr_size_t)sqlite3_column_bytes(stmt, i);
    /* An empty blob comes back as NULL; callers get an empty buffer instead. */
    return *plen ? apr_pmemdup(p, v, *plen) : apr_pcalloc(p, 1);
}
