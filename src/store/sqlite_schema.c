/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite provider's schema and its migrations, and the database file made ready for
 * the workers at post_config (WAL mode, the schema, the owner of its files). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <sqlite3.h>

#include "acmpca/log.h"
#include "acmpca/store.h"
#include "sqlite_int.h"

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
     * to the WAL and once more at the checkpoint (see object_put, sqlite_object.c). data
     * stays last. */
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

    /* 7: the CRL entries of each CA packed in chunks of serial order (see sqlite_crl.c),
     * kept by cert_revoke: a CRL build reads 50 MB in 17,000 rows instead of a million
     * index rows (0.3 s of a 1,000,000-entry build). Filled by crl_index for revocations
     * made before, or loaded. */
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

const int acmpca_sqlite_schema_version = SQ_SCHEMA_VERSION;

int acmpca_sqlite_user_version(sqlite3 *db, int *pversion)
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

/**************************************************************************************
 * The database file
 */

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
        || (rc = acmpca_sqlite_user_version(db, &version)) != SQLITE_OK) {
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
        mode = acmpca_sqlite_col_str(stmt, 0, p);
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

/* Create the file if needed, switch it to WAL and bring its schema up to date. */
static apr_status_t db_prepare(const char *path, apr_pool_t *p)
{
    sqlite3 *db = NULL;
    apr_status_t rv;
    int rc, done = 0;

    rc = sqlite3_open_v2(path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        rc = acmpca_sqlite_conn_setup(db, NULL);
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

/* The file whose lock the processes' commit leaders take turns on (see sqlite_group.c),
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
apr_status_t acmpca_sqlite_open(acmpca_store_t *s, long owner_uid, long owner_gid, apr_pool_t *p)
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
