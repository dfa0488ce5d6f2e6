/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite provider's CRL entries: the revoked certificates of each CA packed in chunks
 * of serial order, added to by revocations and rebuilt when they fall behind. */
#include <endian.h>
#include <string.h>

#include <sqlite3.h>

#include "acmpca/log.h"
#include "acmpca/store.h"
#include "acmpca/util.h"
#include "sqlite_int.h"

/**************************************************************************************
 * CRL entries: the revoked certificates of a CA as its CRL needs them, packed in chunks
 * of serial order (crl_chunks, migration 7), so that a CRL build reads a few thousand
 * rows instead of an index row per entry. An entry is
 *   [1] the length L of the serial's text, [L] the text, [8] revoked_at, [8] not_after
 *   (big-endian apr_time_t), [1] 1 + the reason's acmpca_revocation_reason_index (0: none)
 * cert_revoke (sqlite.c) adds each revocation to its chunk in the same transaction,
 * splitting a chunk that outgrows a page; crl_index rebuilds a CA's chunks from certs
 * when they do not hold every revoked certificate (revocations loaded, seeded, or made
 * before migration 7). cert_iter(ACMPCA_CERT_ITER_CRL) (sqlite.c) reads the chunks when
 * they hold them all and the certs_crl index otherwise.
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
apr_status_t acmpca_sqlite_chunk_add(sq_call_t *call, const char *ca_id, const char *serial,
                                     apr_time_t revoked_at, const char *reason)
{
    sqlite3_stmt *stmt = NULL;
    unsigned char entry[ENTRY_MAX], *buf;
    const unsigned char *old;
    apr_int64_t rowid, not_after;
    size_t elen, olen, off, total, split;
    apr_status_t rv;
    int row;

    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CERT_NOT_AFTER, "ss", ca_id, serial));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    not_after = row ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_reset(stmt);
    if (!row || !(elen = entry_put(entry, serial, revoked_at, not_after, reason))) {
        goto leave;
    }
    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CHUNK_FIND, "sb", ca_id, serial, strlen(serial)));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    if (!row) {
        sqlite3_reset(stmt);
        SQ_OK(acmpca_sqlite_exec(call, ST_CHUNK_INSERT, "sbib", ca_id, "", (apr_size_t)0,
                                 (apr_int64_t)1, entry, elen));
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
        SQ_OK(acmpca_sqlite_exec(call, ST_CHUNK_UPDATE, "iib", rowid,
                                 (apr_int64_t)entries_count(buf, total), buf, total));
        goto counted;
    }
    /* Split in two halves: the second is a chunk of its own from its first serial. */
    for (split = 0; split < total / 2; split += entry_len(buf + split)) {
    }
    SQ_OK(acmpca_sqlite_exec(call, ST_CHUNK_UPDATE, "iib", rowid,
                             (apr_int64_t)entries_count(buf, split), buf, split));
    SQ_OK(acmpca_sqlite_exec(
        call, ST_CHUNK_INSERT, "sbib", ca_id, buf + split + 1, (apr_size_t)buf[split],
        (apr_int64_t)entries_count(buf + split, total - split), buf + split, total - split));
counted:
    rv = acmpca_sqlite_exec(call, ST_CHUNK_COUNT, "sii", ca_id, (apr_int64_t)1, (apr_int64_t)1);
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

    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CHUNK_CHECK, "s", ca_id));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    if (row && sqlite3_column_int(stmt, 0)) {
        goto leave;
    }
    sqlite3_reset(stmt);
    SQ_OK(acmpca_sqlite_exec(call, ST_CHUNK_CLEAR, "s", ca_id));
    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CERT_ITER_CRL, "s", ca_id));
    while ((rv = acmpca_sqlite_stmt_step(call, stmt, &row)) == APR_SUCCESS && (row || n)) {
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
            SQ_OK(acmpca_sqlite_stmt_get(call, ST_CHUNK_INSERT, &ins));
            sqlite3_reset(ins);
            SQ_OK(acmpca_sqlite_exec(call, ST_CHUNK_INSERT, "sbib", ca_id, first ? buf : buf + 1,
                                     first ? (apr_size_t)0 : (apr_size_t)buf[0], (apr_int64_t)n,
                                     buf, len));
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
        SQ_OK(acmpca_sqlite_exec(call, ST_CHUNK_COUNT, "sii", ca_id, added, (apr_int64_t)0));
        acmpca_log(ACMPCA_LOG_MARK, left_out ? ACMPCA_LOG_WARNING : ACMPCA_LOG_INFO, 0, call->p,
                   "ACMPCA0313: sqlite: the CRL entries of CA %s rebuilt (%" APR_INT64_T_FMT
                   " entries, %" APR_INT64_T_FMT " serials too long to keep)",
                   ca_id, added, left_out);
    }
leave:
    return rv;
}

apr_status_t acmpca_sqlite_crl_index(acmpca_store_t *s, const char *ca_id, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row, ok = 0;

    /* Read first: the write lock only when there is something to do. */
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "crl_index", p));
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CHUNK_CHECK, "s", ca_id));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    ok = row && sqlite3_column_int(stmt, 0);
leave:
    rv = acmpca_sqlite_call_end(&call, rv);
    if (rv != APR_SUCCESS || ok) {
        return rv;
    }
    return acmpca_sqlite_group_write(s, "crl_index", SQ_WRITES_OTHER, index_write, (void *)ca_id,
                                     p);
}

/* The CRL entries from the chunks, when they hold them all (*pdone then). */
apr_status_t acmpca_sqlite_chunk_iter(sq_call_t *call, const char *ca_id, acmpca_cert_cb *cb,
                                      void *baton, int *pdone, int *pstop)
{
    sqlite3_stmt *stmt = NULL;
    acmpca_cert_rec_t rec = {0};
    const unsigned char *e, *end;
    char serial[256];
    apr_status_t rv;
    int row;

    rec.ca_id = ca_id;
    rec.serial = serial;
    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CHUNK_ITER, "s", ca_id));
    while (!*pstop && (rv = acmpca_sqlite_stmt_step(call, stmt, &row)) == APR_SUCCESS && row) {
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
