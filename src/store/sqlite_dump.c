/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite provider's migration operations: every record out (dump) and in (load),
 * verbatim, on a connection of their own. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include <sqlite3.h>

#include "acmpca/log.h"
#include "acmpca/store.h"
#include "sqlite_int.h"
#include "store_int.h"

/* The tables and columns read and written here are those of migrations 1 to 3 of
 * sqlite_schema.c; a later migration may add to them but must keep these. */
#define SD_MIN_SCHEMA      3
#define SD_BUSY_TIMEOUT_MS 5000

/* From this version on a large object's bytes are a file named by objects.file. */
#define SD_FILE_SCHEMA 6

typedef struct sd_db_t {
    sqlite3 *db;
    const char *path;
    int version; /* the schema's */
    apr_pool_t *p;
} sd_db_t;

static apr_status_t sd_failed(sd_db_t *d, int rc, const char *what)
{
    apr_status_t rv = acmpca_sqlite_status(d->db, rc);

    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, d->p, "ACMPCA0330: sqlite %s of %s: %s", what,
               d->path, d->db ? sqlite3_errmsg(d->db) : "out of memory");
    return rv;
}

static void sd_close(sd_db_t *d)
{
    if (d->db) {
        if (!sqlite3_get_autocommit(d->db)) {
            sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
        }
        sqlite3_close(d->db);
        d->db = NULL;
    }
}

/* The store's file, which must exist with its schema: a dump never creates a file (a
 * mistyped source would be an empty store), and a load follows the provider's open(),
 * which made the file, its schema and its ownership. As in sqlite_conn.c, synchronous and
 * foreign_keys are per connection. */
static apr_status_t sd_open(sd_db_t *d, acmpca_store_t *s, apr_pool_t *p)
{
    sqlite3_stmt *stmt = NULL;
    struct stat sb;
    apr_status_t rv;
    int rc, version = -1;

    memset(d, 0, sizeof(*d));
    d->path = s->args;
    d->p = p;
    if (stat(d->path, &sb) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p, "ACMPCA0331: sqlite cannot open %s",
                   d->path);
        return rv;
    }
    rc = sqlite3_open_v2(d->path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(d->db, 1);
        rc = sqlite3_busy_timeout(d->db, SD_BUSY_TIMEOUT_MS);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(d->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", NULL, NULL,
                          NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &stmt, NULL);
    }
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        version = sqlite3_column_int(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK) {
        rv = sd_failed(d, rc, "open");
        sd_close(d);
        return rv;
    }
    if (version < SD_MIN_SCHEMA) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, p,
                   "ACMPCA0332: sqlite %s has schema version %d; the module's open() brings it "
                   "to %d or later first",
                   d->path, version, SD_MIN_SCHEMA);
        sd_close(d);
        return APR_EGENERAL;
    }
    d->version = version;
    return APR_SUCCESS;
}

static const char *col_str(sqlite3_stmt *stmt, int i, apr_pool_t *p)
{
    const unsigned char *v = sqlite3_column_text(stmt, i);

    return v ? apr_pstrmemdup(p, (const char *)v, (apr_size_t)sqlite3_column_bytes(stmt, i)) : NULL;
}

/* A blob column: NULL for SQL NULL, else the bytes (an empty blob is an empty buffer). */
static const unsigned char *col_blob(sqlite3_stmt *stmt, int i, apr_size_t *plen, apr_pool_t *p)
{
    const void *v;

    *plen = 0;
    if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
        return NULL;
    }
    v = sqlite3_column_blob(stmt, i);
    *plen = (apr_size_t)sqlite3_column_bytes(stmt, i);
    return *plen ? apr_pmemdup(p, v, *plen) : apr_pcalloc(p, 1);
}

/**************************************************************************************
 * Dump: one read transaction, so the records are one snapshot of the file
 */

static void read_seq(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p)
{
    (void)p;
    rec->value = sqlite3_column_int64(stmt, 0);
}

static void read_ca(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p)
{
    rec->ca.id = col_str(stmt, 0, p);
    rec->ca.account = col_str(stmt, 1, p);
    rec->ca.seq = sqlite3_column_int64(stmt, 2);
    rec->ca.version = sqlite3_column_int64(stmt, 3);
    rec->ca.doc = col_str(stmt, 4, p);
    rec->key = col_blob(stmt, 5, &rec->keylen, p);
}

static void read_cert(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_cert_rec_t *c = &rec->cert;

    c->ca_id = col_str(stmt, 0, p);
    c->serial = col_str(stmt, 1, p);
    c->pem = col_str(stmt, 2, p);
    c->subject = col_str(stmt, 3, p);
    c->template_arn = col_str(stmt, 4, p);
    c->not_before = sqlite3_column_int64(stmt, 5);
    c->not_after = sqlite3_column_int64(stmt, 6);
    c->issued_at = sqlite3_column_int64(stmt, 7);
    c->revoked_at = sqlite3_column_int64(stmt, 8);
    c->revocation_reason = col_str(stmt, 9, p);
    c->requested_by = col_str(stmt, 10, p);
}

static void read_report(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_report_rec_t *r = &rec->report;

    r->ca_id = col_str(stmt, 0, p);
    r->id = col_str(stmt, 1, p);
    r->status = col_str(stmt, 2, p);
    r->bucket = col_str(stmt, 3, p);
    r->key = col_str(stmt, 4, p);
    r->format = col_str(stmt, 5, p);
    r->created_at = sqlite3_column_int64(stmt, 6);
}

static void read_idem(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p)
{
    rec->idem.scope = col_str(stmt, 0, p);
    rec->idem.token = col_str(stmt, 1, p);
    rec->result = col_str(stmt, 2, p);
    rec->idem.expires = sqlite3_column_int64(stmt, 3);
}

static void read_object(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_object_t *o = &rec->object;

    o->bucket = col_str(stmt, 0, p);
    o->key = col_str(stmt, 1, p);
    o->content_type = col_str(stmt, 2, p);
    o->data = col_blob(stmt, 3, &o->len, p);
    o->modified = sqlite3_column_int64(stmt, 4);
    o->etag = col_str(stmt, 5, p);
}

static void read_counter(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p)
{
    rec->name = col_str(stmt, 0, p);
    rec->value = sqlite3_column_int64(stmt, 1);
}

/* The queries in the order of the contract. Orders are by content, not by rowid (but
 * for reports, whose insertion order is their tie-break), so that a store and its copy
 * dump the same lines. Claims that have expired are dead: idem_get ignores them. */
static const struct {
    acmpca_dump_type_t type;
    const char *sql;
    void (*read)(acmpca_dump_rec_t *rec, sqlite3_stmt *stmt, apr_pool_t *p);
    int from, before; /* the schema versions it is for, when not all */
} dumps[] = {
    {ACMPCA_DUMP_CA_SEQ, "SELECT seq FROM sqlite_sequence WHERE name = 'cas' AND seq > 0", read_seq,
     0, 0},
    {ACMPCA_DUMP_CA,
     "SELECT c.id, c.account, c.seq, c.version, c.doc, k.wrapped FROM cas c"
     " LEFT JOIN ca_keys k ON k.ca_id = c.id ORDER BY c.seq",
     read_ca, 0, 0},
    {ACMPCA_DUMP_CERT,
     "SELECT ca_id, serial, pem, subject, template_arn, not_before, not_after, issued_at,"
     " revoked_at, revocation_reason, requested_by FROM certs ORDER BY ca_id, serial",
     read_cert, 0, 0},
    {ACMPCA_DUMP_REPORT,
     "SELECT ca_id, id, status, bucket, key, format, created_at FROM reports"
     " ORDER BY ca_id, rowid",
     read_report, 0, 0},
    {ACMPCA_DUMP_IDEM,
     "SELECT scope, token, result, expires FROM idempotency WHERE expires > ?1"
     " ORDER BY scope, token",
     read_idem, 0, 0},
    {ACMPCA_DUMP_OBJECT,
     "SELECT bucket, key, content_type, data, modified, etag FROM objects ORDER BY bucket, key",
     read_object, 0, SD_FILE_SCHEMA},
    /* A file's bytes are read in by dump_query. */
    {ACMPCA_DUMP_OBJECT,
     "SELECT bucket, key, content_type, data, modified, etag, file FROM objects"
     " ORDER BY bucket, key",
     read_object, SD_FILE_SCHEMA, 0},
    {ACMPCA_DUMP_COUNTER, "SELECT name, value FROM counters ORDER BY name", read_counter, 0, 0},
};

/* Rows one at a time into a record in ptemp, cleared per row: a million certificates
 * cost one row of memory. */
static apr_status_t dump_query(sd_db_t *d, size_t q, acmpca_dump_cb *cb, void *baton,
                               apr_pool_t *ptemp)
{
    sqlite3_stmt *stmt = NULL;
    acmpca_dump_rec_t rec;
    apr_status_t rv = APR_SUCCESS;
    int rc, stop = 0;

    if ((dumps[q].from && d->version < dumps[q].from)
        || (dumps[q].before && d->version >= dumps[q].before)) {
        return APR_SUCCESS; /* another query is this schema's */
    }
    rc = sqlite3_prepare_v2(d->db, dumps[q].sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && sqlite3_bind_parameter_count(stmt) == 1) {
        rc = sqlite3_bind_int64(stmt, 1, (sqlite3_int64)apr_time_now());
    }
    if (rc != SQLITE_OK) {
        rv = sd_failed(d, rc, "dump");
        sqlite3_finalize(stmt);
        return rv;
    }
    while (!stop && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        apr_pool_clear(ptemp);
        memset(&rec, 0, sizeof(rec));
        rec.type = dumps[q].type;
        dumps[q].read(&rec, stmt, ptemp);
        if (rec.type == ACMPCA_DUMP_OBJECT && sqlite3_column_count(stmt) > 6
            && sqlite3_column_type(stmt, 6) != SQLITE_NULL) {
            const unsigned char *data;
            const char *file = (const char *)sqlite3_column_text(stmt, 6);

            rv = acmpca_sqlite_object_file_read(
                &data, &rec.object.len,
                apr_pstrcat(ptemp, ACMPCA_SQLITE_OBJECTS_DIR(d->path, ptemp), "/", file, NULL),
                ptemp);
            if (rv != APR_SUCCESS) {
                acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, d->p,
                           "ACMPCA0333: sqlite cannot read the object file %s of %s", file,
                           d->path);
                stop = (int)rv;
                continue;
            }
            rec.object.data = data;
        }
        stop = cb(baton, &rec);
    }
    if (stop) {
        rv = stop;
    }
    else if (rc != SQLITE_DONE) {
        rv = sd_failed(d, rc, "dump");
    }
    sqlite3_finalize(stmt);
    return rv;
}

apr_status_t acmpca_sqlite_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p)
{
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;
    sd_db_t d;
    size_t q;
    int rc;

    if ((rv = sd_open(&d, s, p)) != APR_SUCCESS) {
        return rv;
    }
    /* A deferred BEGIN: the first SELECT takes the read snapshot, which every following
     * query shares; in WAL mode writers are not held up by it. */
    if ((rc = sqlite3_exec(d.db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK) {
        rv = sd_failed(&d, rc, "dump");
    }
    else {
        rv = apr_pool_create(&ptemp, p);
    }
    for (q = 0; rv == APR_SUCCESS && q < sizeof(dumps) / sizeof(dumps[0]); ++q) {
        rv = dump_query(&d, q, cb, baton, ptemp);
    }
    if (ptemp) {
        apr_pool_destroy(ptemp);
    }
    sd_close(&d);
    return rv;
}

/**************************************************************************************
 * Load: one write transaction per call
 */

typedef enum {
    LS_SEQ_ROW,
    LS_SEQ_MAX,
    LS_CA,
    LS_KEY,
    LS_KEY_NONE,
    LS_CERT,
    LS_REPORT,
    LS_IDEM,
    LS_OBJECT,
    LS_COUNTER,
    LS_COUNT
} load_stmt_id;

/* Upserts: a record already there is replaced (store-migrate --force), and the columns
 * the store computes elsewhere (seq, version, etag) are taken as given. */
static const char *const load_sql[LS_COUNT] = {
    /* AUTOINCREMENT keeps its high-water mark in sqlite_sequence, which we may write. An
     * insert with an explicit seq raises it too; this keeps a purged CA's seq unused. */
    [LS_SEQ_ROW] = "INSERT INTO sqlite_sequence (name, seq) SELECT 'cas', 0"
                   " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'cas')",
    [LS_SEQ_MAX] = "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'cas'",
    [LS_CA] = "INSERT INTO cas (seq, id, account, version, doc) VALUES (?1, ?2, ?3, ?4, ?5)"
              " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, account = excluded.account,"
              " version = excluded.version, doc = excluded.doc",
    [LS_KEY] = "INSERT INTO ca_keys (ca_id, wrapped) VALUES (?1, ?2)"
               " ON CONFLICT (ca_id) DO UPDATE SET wrapped = excluded.wrapped",
    [LS_KEY_NONE] = "DELETE FROM ca_keys WHERE ca_id = ?1",
    /* The cert_counts triggers count an insert, and a revocation of a row already there. */
    [LS_CERT] = "INSERT INTO certs (ca_id, serial, pem, subject, template_arn, not_before,"
                " not_after, issued_at, revoked_at, revocation_reason, requested_by)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                " ON CONFLICT (ca_id, serial) DO UPDATE SET pem = excluded.pem,"
                " subject = excluded.subject, template_arn = excluded.template_arn,"
                " not_before = excluded.not_before, not_after = excluded.not_after,"
                " issued_at = excluded.issued_at, revoked_at = excluded.revoked_at,"
                " revocation_reason = excluded.revocation_reason,"
                " requested_by = excluded.requested_by",
    [LS_REPORT] = "INSERT INTO reports (ca_id, id, status, bucket, key, format, created_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (ca_id, id) DO UPDATE SET"
                  " status = excluded.status, bucket = excluded.bucket, key = excluded.key,"
                  " format = excluded.format, created_at = excluded.created_at",
    [LS_IDEM] = "INSERT INTO idempotency (scope, token, result, expires) VALUES (?1, ?2, ?3, ?4)"
                " ON CONFLICT (scope, token) DO UPDATE SET result = excluded.result,"
                " expires = excluded.expires",
    [LS_OBJECT] = "INSERT OR REPLACE INTO objects (bucket, key, content_type, data, modified,"
                  " etag) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [LS_COUNTER] = "INSERT INTO counters (name, value) VALUES (?1, ?2)"
                   " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
};

typedef struct sd_load_t {
    sd_db_t d;
    sqlite3_stmt *stmts[LS_COUNT];
    sqlite3_stmt *cur; /* the statement being bound and run */
    int rc;            /* the first bind failure of cur */
} sd_load_t;

/* Start statement id; the binds below then fill ?1, ?2, ... in order. */
static sqlite3_stmt *ld_start(sd_load_t *l, load_stmt_id id)
{
    if (!l->stmts[id]) {
        l->rc = sqlite3_prepare_v3(l->d.db, load_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                   &l->stmts[id], NULL);
    }
    else {
        sqlite3_reset(l->stmts[id]);
        sqlite3_clear_bindings(l->stmts[id]);
        l->rc = SQLITE_OK;
    }
    return l->cur = l->stmts[id];
}

static void ld_text(sd_load_t *l, int i, const char *s)
{
    if (l->rc == SQLITE_OK) {
        l->rc =
            s ? sqlite3_bind_text(l->cur, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(l->cur, i);
    }
}

static void ld_i64(sd_load_t *l, int i, apr_int64_t v)
{
    if (l->rc == SQLITE_OK) {
        l->rc = sqlite3_bind_int64(l->cur, i, v);
    }
}

/* revoked_at: 0 is "not revoked", NULL in the table. */
static void ld_time_or_null(sd_load_t *l, int i, apr_int64_t v)
{
    if (l->rc == SQLITE_OK) {
        l->rc = v ? sqlite3_bind_int64(l->cur, i, v) : sqlite3_bind_null(l->cur, i);
    }
}

static void ld_blob(sd_load_t *l, int i, const void *data, apr_size_t len)
{
    if (l->rc == SQLITE_OK) {
        l->rc = len ? sqlite3_bind_blob64(l->cur, i, data, len, SQLITE_STATIC)
                    : sqlite3_bind_zeroblob(l->cur, i, 0);
    }
}

static apr_status_t ld_run(sd_load_t *l, const char *what)
{
    int rc = l->rc;

    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(l->cur)) == SQLITE_ROW) {
        }
        if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_reset(l->cur);
    return rc == SQLITE_OK ? APR_SUCCESS : sd_failed(&l->d, rc, what);
}

static apr_status_t load_one(sd_load_t *l, const acmpca_dump_rec_t *rec)
{
    const acmpca_cert_rec_t *c = &rec->cert;
    const acmpca_report_rec_t *r = &rec->report;
    const acmpca_object_t *o = &rec->object;
    apr_status_t rv;

    switch (rec->type) {
    case ACMPCA_DUMP_CA_SEQ:
        ld_start(l, LS_SEQ_ROW);
        if ((rv = ld_run(l, "load of the CA seq")) != APR_SUCCESS) {
            return rv;
        }
        ld_start(l, LS_SEQ_MAX);
        ld_i64(l, 1, rec->value);
        return ld_run(l, "load of the CA seq");
    case ACMPCA_DUMP_CA:
        ld_start(l, LS_CA);
        ld_i64(l, 1, rec->ca.seq);
        ld_text(l, 2, rec->ca.id);
        ld_text(l, 3, rec->ca.account);
        ld_i64(l, 4, rec->ca.version);
        ld_text(l, 5, rec->ca.doc);
        if ((rv = ld_run(l, "load of a CA")) != APR_SUCCESS) {
            return rv;
        }
        ld_start(l, rec->key ? LS_KEY : LS_KEY_NONE);
        ld_text(l, 1, rec->ca.id);
        if (rec->key) {
            ld_blob(l, 2, rec->key, rec->keylen);
        }
        return ld_run(l, "load of a CA key");
    case ACMPCA_DUMP_CERT:
        ld_start(l, LS_CERT);
        ld_text(l, 1, c->ca_id);
        ld_text(l, 2, c->serial);
        ld_text(l, 3, c->pem);
        ld_text(l, 4, c->subject);
        ld_text(l, 5, c->template_arn);
        ld_i64(l, 6, c->not_before);
        ld_i64(l, 7, c->not_after);
        ld_i64(l, 8, c->issued_at);
        ld_time_or_null(l, 9, c->revoked_at);
        ld_text(l, 10, c->revocation_reason);
        ld_text(l, 11, c->requested_by);
        return ld_run(l, "load of a certificate");
    case ACMPCA_DUMP_REPORT:
        ld_start(l, LS_REPORT);
        ld_text(l, 1, r->ca_id);
        ld_text(l, 2, r->id);
        ld_text(l, 3, r->status);
        ld_text(l, 4, r->bucket);
        ld_text(l, 5, r->key);
        ld_text(l, 6, r->format);
        ld_i64(l, 7, r->created_at);
        return ld_run(l, "load of a report");
    case ACMPCA_DUMP_IDEM:
        ld_start(l, LS_IDEM);
        ld_text(l, 1, rec->idem.scope);
        ld_text(l, 2, rec->idem.token);
        ld_text(l, 3, rec->result);
        ld_i64(l, 4, rec->idem.expires);
        return ld_run(l, "load of an idempotency claim");
    case ACMPCA_DUMP_OBJECT:
        ld_start(l, LS_OBJECT);
        ld_text(l, 1, o->bucket);
        ld_text(l, 2, o->key);
        ld_text(l, 3, o->content_type);
        ld_blob(l, 4, o->data, o->len);
        ld_i64(l, 5, o->modified);
        ld_text(l, 6, o->etag);
        return ld_run(l, "load of an object");
    case ACMPCA_DUMP_COUNTER:
        ld_start(l, LS_COUNTER);
        ld_text(l, 1, rec->name);
        ld_i64(l, 2, rec->value);
        return ld_run(l, "load of a counter");
    default:
        return APR_EINVAL;
    }
}

apr_status_t acmpca_sqlite_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                                apr_pool_t *p)
{
    sd_load_t l;
    apr_status_t rv;
    int i, rc, turn;

    memset(&l, 0, sizeof(l));
    if ((rv = sd_open(&l.d, s, p)) != APR_SUCCESS) {
        return rv;
    }
    turn = acmpca_sqlite_write_turn(s);
    if ((rc = sqlite3_exec(l.d.db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
        rv = sd_failed(&l.d, rc, "load");
    }
    for (i = 0; rv == APR_SUCCESS && i < n; ++i) {
        rv = load_one(&l, &recs[i]);
    }
    if (rv == APR_SUCCESS && (rc = sqlite3_exec(l.d.db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
        rv = sd_failed(&l.d, rc, "commit of a load");
    }
    for (i = 0; i < LS_COUNT; ++i) {
        sqlite3_finalize(l.stmts[i]);
    }
    sd_close(&l.d); /* rolls back what a failure left open */
    acmpca_sqlite_write_done(s, turn);
    return rv;
}
