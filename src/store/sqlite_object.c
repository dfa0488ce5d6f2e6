/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite provider's objects (CRLs, audit reports): the bytes of a small one in its
 * row, a large one in a file of its own beside the database. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_time.h>

#include <sqlite3.h>

#include "acmpca/log.h"
#include "acmpca/store.h"
#include "acmpca/util.h"
#include "sqlite_int.h"
#include "store_int.h"

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
    return rc == SQLITE_OK ? APR_SUCCESS : acmpca_sqlite_failed(call, rc);
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

    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_OBJECT_FILE, "ss", obj->bucket, obj->key));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    old = row ? sqlite3_column_text(stmt, 0) : NULL;
    a->old = old ? apr_pstrdup(a->p, (const char *)old) : NULL;
    sqlite3_reset(stmt);
    SQ_OK(acmpca_sqlite_exec(call, ST_OBJECT_PUT, "sssissi", obj->bucket, obj->key,
                             obj->content_type, (apr_int64_t)obj->modified, obj->etag, a->file,
                             (apr_int64_t)(a->file ? 0 : obj->len)));
    rv = a->file ? APR_SUCCESS : blob_fill(call, obj->data, obj->len);
leave:
    return rv;
}

apr_status_t acmpca_sqlite_object_put(acmpca_store_t *s, acmpca_object_t *obj, apr_pool_t *p)
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
    rv = acmpca_sqlite_group_write(s, "object_put", SQ_WRITES_OTHER, object_put_write, &a, p);
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
    return rc == SQLITE_OK ? APR_SUCCESS : acmpca_sqlite_failed(call, rc);
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

apr_status_t acmpca_sqlite_object_get(acmpca_store_t *s, const char *bucket, const char *key,
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
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "object_get", p));
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_OBJECT_GET, "ss", bucket, key));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    obj = apr_pcalloc(p, sizeof(*obj));
    obj->bucket = acmpca_sqlite_col_str(stmt, 0, p);
    obj->key = acmpca_sqlite_col_str(stmt, 1, p);
    obj->content_type = acmpca_sqlite_col_str(stmt, 2, p);
    obj->len = (apr_size_t)sqlite3_column_int64(stmt, 3);
    obj->modified = sqlite3_column_int64(stmt, 4);
    obj->etag = acmpca_sqlite_col_str(stmt, 5, p);
    if ((file = acmpca_sqlite_col_str(stmt, 7, p)) != NULL) {
        rv = acmpca_sqlite_object_file_read(&obj->data, &obj->len,
                                            apr_pstrcat(p, objects_dir(s, p), "/", file, NULL), p);
        if (rv == APR_NOTFOUND && ++tries < OBJECT_GET_TRIES) {
            acmpca_sqlite_call_end(&call, rv);
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
    return acmpca_sqlite_call_end(&call, rv);
}
