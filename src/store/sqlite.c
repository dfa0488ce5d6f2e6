/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite store provider: one database file in WAL mode, one connection per thread.
 * This file holds the provider table and the record operations (CAs, certificates,
 * idempotency, reports, counters, locks); sqlite_int.h says which file holds the rest. */
#include <pthread.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include <sqlite3.h>

#include "acmpca/err.h"
#include "acmpca/store.h"
#include "sqlite_int.h"
#include "store_int.h"

/* Upper bound of connections per process: one per thread that is inside a store call. A
 * thread beyond it waits for a connection to come back. */
#define SQ_MAX_CONNS 128
/* Expired idempotency rows removed per claim: keeps the table near its live size without
 * a sweeper and without making any one write slow. */
#define SQ_IDEM_REAP 8

/**************************************************************************************
 * Configuration and process life-cycle
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
                                      .make = acmpca_sqlite_conn_open,
                                      .close = acmpca_sqlite_conn_close,
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

/* child_init: a connection list owned by this child and closed with pchild. */
static apr_status_t sq_attach(acmpca_store_t *s, apr_pool_t *pchild)
{
    sq_store_t *st = s->impl;

    return acmpca_conns_attach(&st->conns, pchild);
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
    SQ_OK(
        acmpca_sqlite_exec(call, ST_IDEM_REAP, "ii", (apr_int64_t)now, (apr_int64_t)SQ_IDEM_REAP));
    SQ_OK(acmpca_sqlite_exec(call, ST_IDEM_CLAIM, "sssii", idem->scope, idem->token, result,
                             (apr_int64_t)idem->expires, (apr_int64_t)now));
    if (acmpca_sqlite_changes(call) == 1) {
        return APR_SUCCESS;
    }
    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_IDEM_GET, "ssi", idem->scope, idem->token,
                                  (apr_int64_t)now));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    /* We hold the write lock, so the row that refused the claim is still there. */
    idem->existing = row ? acmpca_sqlite_col_str(stmt, 0, call->p) : "";
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

    return acmpca_sqlite_group_write(s, "idem_claim", SQ_WRITES_OTHER, claim_write, &a, p);
}

static apr_status_t sq_idem_get(acmpca_store_t *s, const char *scope, const char *token,
                                apr_time_t now, const char **presult, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    *presult = NULL;
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "idem_get", p));
    SQ_OK(
        acmpca_sqlite_stmt_prep(&call, &stmt, ST_IDEM_GET, "ssi", scope, token, (apr_int64_t)now));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *presult = acmpca_sqlite_col_str(stmt, 0, p);
leave:
    return acmpca_sqlite_call_end(&call, rv);
}

/**************************************************************************************
 * Certificate authorities
 */

static acmpca_ca_rec_t *ca_read(sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_ca_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->id = acmpca_sqlite_col_str(stmt, 0, p);
    rec->account = acmpca_sqlite_col_str(stmt, 1, p);
    rec->seq = sqlite3_column_int64(stmt, 2);
    rec->version = sqlite3_column_int64(stmt, 3);
    rec->doc = acmpca_sqlite_col_str(stmt, 4, p);
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
    SQ_OK(acmpca_sqlite_exec(call, ST_CA_INSERT, "sss", a->rec->id, a->rec->account, a->rec->doc));
    /* seq is the rowid: AUTOINCREMENT chose it above every seq ever handed out. */
    a->seq = sqlite3_last_insert_rowid(call->conn->db);
    if (a->wrapped_key) {
        rv = acmpca_sqlite_exec(call, ST_KEY_INSERT, "sb", a->rec->id, (const void *)a->wrapped_key,
                                a->keylen);
    }
leave:
    return rv;
}

static apr_status_t sq_ca_create(acmpca_store_t *s, acmpca_ca_rec_t *rec,
                                 const unsigned char *wrapped_key, apr_size_t keylen,
                                 acmpca_idem_t *idem, const char *idem_result, apr_pool_t *p)
{
    ca_create_args a = {rec, wrapped_key, keylen, idem, idem_result, 0};
    apr_status_t rv =
        acmpca_sqlite_group_write(s, "ca_create", SQ_WRITES_CAS, ca_create_write, &a, p);

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
    int row, memo = acmpca_sqlite_gen_now(acmpca_sqlite_gen_of(st), &gen);

    *prec = NULL;
    if (memo && acmpca_memo_get(st->memo_id, gen, id, prec, p)) {
        return APR_SUCCESS;
    }
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "ca_get", p));
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CA_GET, "s", id));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = ca_read(stmt, p);
    if (memo) {
        acmpca_memo_put(st->memo_id, gen, *prec);
    }
leave:
    return acmpca_sqlite_call_end(&call, rv);
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
    if (acmpca_sqlite_gen_now(acmpca_sqlite_gen_of(st), &gen)) {
        if (acmpca_memo_version(st->memo_id, gen, id, pversion)) {
            return APR_SUCCESS;
        }
        if ((rv = sq_ca_get(s, id, &rec, p)) == APR_SUCCESS) {
            *pversion = rec->version;
        }
        return rv;
    }
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "ca_version", p));
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CA_VERSION, "s", id));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pversion = sqlite3_column_int64(stmt, 0);
leave:
    return acmpca_sqlite_call_end(&call, rv);
}

/* After an update changed no row: a lost race, or a CA that is gone? */
static apr_status_t ca_missing_or_conflict(sq_call_t *call, const char *id)
{
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CA_EXISTS, "s", id));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    rv = row ? ACMPCA_ECONFLICT : APR_NOTFOUND;
leave:
    return rv;
}

/* Compare-and-set in one statement: no lock held across calls. */
static apr_status_t ca_update_write(sq_call_t *call, void *baton)
{
    const acmpca_ca_rec_t *rec = baton;
    apr_status_t rv;

    SQ_OK(acmpca_sqlite_exec(call, ST_CA_UPDATE, "ssi", rec->doc, rec->id,
                             (apr_int64_t)rec->version));
    if (acmpca_sqlite_changes(call) == 0) {
        rv = ca_missing_or_conflict(call, rec->id);
    }
leave:
    return rv;
}

static apr_status_t sq_ca_update(acmpca_store_t *s, acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    apr_status_t rv =
        acmpca_sqlite_group_write(s, "ca_update", SQ_WRITES_CAS, ca_update_write, rec, p);

    if (rv == APR_SUCCESS) {
        rec->version++;
    }
    return rv;
}

static apr_status_t ca_purge_write(sq_call_t *call, void *baton)
{
    apr_status_t rv;

    SQ_OK(acmpca_sqlite_exec(call, ST_CA_PURGE, "s", (const char *)baton));
    if (acmpca_sqlite_changes(call) == 0) {
        rv = APR_NOTFOUND;
    }
leave:
    return rv;
}

static apr_status_t sq_ca_purge(acmpca_store_t *s, const char *id, apr_pool_t *p)
{
    return acmpca_sqlite_group_write(s, "ca_purge", SQ_WRITES_CAS, ca_purge_write, (void *)id, p);
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
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "ca_list", p));
    if (account) {
        SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CA_LIST_ACCOUNT, "iis",
                                      (apr_int64_t)after_seq, max, account));
    }
    else {
        SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CA_LIST, "ii", (apr_int64_t)after_seq, max));
    }
    while ((rv = acmpca_sqlite_stmt_step(&call, stmt, &row)) == APR_SUCCESS && row) {
        APR_ARRAY_PUSH(recs, acmpca_ca_rec_t *) = ca_read(stmt, p);
    }
leave:
    return acmpca_sqlite_call_end(&call, rv);
}

/* The single value of a count(*) statement. */
static apr_status_t count_of(sq_call_t *call, sqlite3_stmt *stmt, apr_int64_t *pcount)
{
    apr_status_t rv;
    int row;

    if ((rv = acmpca_sqlite_stmt_step(call, stmt, &row)) == APR_SUCCESS) {
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
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "ca_count", p));
    if (account) {
        SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CA_COUNT_ACCOUNT, "s", account));
    }
    else {
        SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CA_COUNT, ""));
    }
    rv = count_of(&call, stmt, pcount);
leave:
    return acmpca_sqlite_call_end(&call, rv);
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
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "ca_key_get", p));
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_KEY_GET, "s", id));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pkey = acmpca_sqlite_col_blob(stmt, 0, plen, p);
leave:
    return acmpca_sqlite_call_end(&call, rv);
}

/**************************************************************************************
 * Certificates
 */

static acmpca_cert_rec_t *cert_read(sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_cert_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->ca_id = acmpca_sqlite_col_str(stmt, 0, p);
    rec->serial = acmpca_sqlite_col_str(stmt, 1, p);
    rec->pem = acmpca_sqlite_col_str(stmt, 2, p);
    rec->subject = acmpca_sqlite_col_str(stmt, 3, p);
    rec->template_arn = acmpca_sqlite_col_str(stmt, 4, p);
    rec->not_before = sqlite3_column_int64(stmt, 5);
    rec->not_after = sqlite3_column_int64(stmt, 6);
    rec->issued_at = sqlite3_column_int64(stmt, 7);
    rec->revoked_at = sqlite3_column_int64(stmt, 8); /* NULL reads as 0: not revoked */
    rec->revocation_reason = acmpca_sqlite_col_str(stmt, 9, p);
    rec->requested_by = acmpca_sqlite_col_str(stmt, 10, p);
    return rec;
}

static apr_status_t cert_insert(sq_call_t *call, const acmpca_cert_rec_t *rec)
{
    return acmpca_sqlite_exec(call, ST_CERT_INSERT, "sssssiiinss", rec->ca_id, rec->serial,
                              rec->pem, rec->subject, rec->template_arn,
                              (apr_int64_t)rec->not_before, (apr_int64_t)rec->not_after,
                              (apr_int64_t)rec->issued_at, (apr_int64_t)rec->revoked_at,
                              rec->revocation_reason, rec->requested_by);
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

    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CERT_COUNT, "s", ca_id));
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

    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CA_VERSION, "s", ca_id));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
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

    return acmpca_sqlite_group_write(s, "cert_put", SQ_WRITES_OTHER, put_write, &a, p);
}

static apr_status_t sq_cert_get(acmpca_store_t *s, const char *ca_id, const char *serial,
                                acmpca_cert_rec_t **prec, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    *prec = NULL;
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "cert_get", p));
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CERT_GET, "ss", ca_id, serial));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = cert_read(stmt, p);
leave:
    return acmpca_sqlite_call_end(&call, rv);
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
    SQ_OK(acmpca_sqlite_exec(call, ST_CERT_REVOKE, "isss", (apr_int64_t)a->revoked_at, a->reason,
                             a->ca_id, a->serial));
    if (acmpca_sqlite_changes(call) == 1) {
        rv = acmpca_sqlite_chunk_add(call, a->ca_id, a->serial, a->revoked_at, a->reason);
        goto leave;
    }
    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_CERT_EXISTS, "ss", a->ca_id, a->serial));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
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
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "cert_status", p));
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_CERT_STATUS, "ss", ca_id, serial));
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pca_version = sqlite3_column_int64(stmt, 0);
    *pfound = sqlite3_column_int(stmt, 1);
    *prevoked_at = sqlite3_column_int64(stmt, 2); /* NULL reads as 0: not revoked */
    *preason = *prevoked_at ? acmpca_sqlite_col_str(stmt, 3, p) : NULL;
leave:
    return acmpca_sqlite_call_end(&call, rv);
}

static apr_status_t sq_cert_revoke(acmpca_store_t *s, const char *ca_id, const char *serial,
                                   apr_time_t revoked_at, const char *reason, apr_pool_t *p)
{
    revoke_args a = {ca_id, serial, revoked_at, reason};

    return acmpca_sqlite_group_write(s, "cert_revoke", SQ_WRITES_OTHER, revoke_write, &a, p);
}

static apr_status_t sq_cert_count(acmpca_store_t *s, const char *ca_id, int which,
                                  apr_int64_t *pcount, apr_pool_t *p)
{
    sq_call_t call;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;

    *pcount = 0;
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "cert_count", p));
    SQ_OK(acmpca_sqlite_stmt_prep(
        &call, &stmt, which == ACMPCA_CERT_ITER_REVOKED ? ST_CERT_COUNT_REVOKED : ST_CERT_COUNT,
        "s", ca_id));
    rv = count_of(&call, stmt, pcount);
leave:
    return acmpca_sqlite_call_end(&call, rv);
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
    SQ_OK(acmpca_sqlite_call_begin(&call, s, "cert_iter", p));
    if (which == ACMPCA_CERT_ITER_CRL) {
        int done = 0;

        SQ_OK(acmpca_sqlite_chunk_iter(&call, ca_id, cb, baton, &done, &stop));
        if (done || stop) {
            rv = stop ? stop : APR_SUCCESS;
            goto leave;
        }
    }
    SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, stmts[which], "s", ca_id));
    SQ_OK(apr_pool_create(&ptemp, p));
    while (!stop && (rv = acmpca_sqlite_stmt_step(&call, stmt, &row)) == APR_SUCCESS && row) {
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
    return acmpca_sqlite_call_end(&call, rv);
}

/**************************************************************************************
 * Reports, counters and locks
 */

static acmpca_report_rec_t *report_read(sqlite3_stmt *stmt, apr_pool_t *p)
{
    acmpca_report_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->ca_id = acmpca_sqlite_col_str(stmt, 0, p);
    rec->id = acmpca_sqlite_col_str(stmt, 1, p);
    rec->status = acmpca_sqlite_col_str(stmt, 2, p);
    rec->bucket = acmpca_sqlite_col_str(stmt, 3, p);
    rec->key = acmpca_sqlite_col_str(stmt, 4, p);
    rec->format = acmpca_sqlite_col_str(stmt, 5, p);
    rec->created_at = sqlite3_column_int64(stmt, 6);
    return rec;
}

static apr_status_t report_put_write(sq_call_t *call, void *baton)
{
    const acmpca_report_rec_t *rec = baton;

    return acmpca_sqlite_exec(call, ST_REPORT_PUT, "ssssssi", rec->ca_id, rec->id, rec->status,
                              rec->bucket, rec->key, rec->format, (apr_int64_t)rec->created_at);
}

static apr_status_t sq_report_put(acmpca_store_t *s, const acmpca_report_rec_t *rec, apr_pool_t *p)
{
    return acmpca_sqlite_group_write(s, "report_put", SQ_WRITES_OTHER, report_put_write,
                                     (void *)rec, p);
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
    SQ_OK(acmpca_sqlite_call_begin(&call, s, op, p));
    if (id) {
        SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_REPORT_GET, "ss", ca_id, id));
    }
    else {
        SQ_OK(acmpca_sqlite_stmt_prep(&call, &stmt, ST_REPORT_LATEST, "s", ca_id));
    }
    SQ_OK(acmpca_sqlite_stmt_step(&call, stmt, &row));
    if (!row) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = report_read(stmt, p);
leave:
    return acmpca_sqlite_call_end(&call, rv);
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

    SQ_OK(acmpca_sqlite_stmt_prep(call, &stmt, ST_COUNTER_NEXT, "s", a->name));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    if (row) {
        a->value = sqlite3_column_int64(stmt, 0);
    }
    SQ_OK(acmpca_sqlite_stmt_run(call, stmt));
    rv = row ? APR_SUCCESS : APR_EGENERAL;
leave:
    return rv;
}

static apr_status_t sq_counter_next(acmpca_store_t *s, const char *name, apr_int64_t *pvalue,
                                    apr_pool_t *p)
{
    counter_args a = {name, 0};
    apr_status_t rv =
        acmpca_sqlite_group_write(s, "counter_next", SQ_WRITES_OTHER, counter_write, &a, p);

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

    SQ_OK(acmpca_sqlite_exec(
        call, ST_LOCK_ACQUIRE, "sssii", a->ca_id, a->name, a->owner,
        (apr_int64_t)(now + (apr_time_t)(a->ttl_ms > 0 ? a->ttl_ms : 1) * 1000), (apr_int64_t)now));
    a->busy = acmpca_sqlite_changes(call) == 0;
    if (a->busy && a->want) {
        rv = acmpca_sqlite_exec(call, ST_LOCK_WANT, "ss", a->ca_id, a->name);
    }
leave:
    return rv;
}

static apr_status_t sq_lock_acquire(acmpca_store_t *s, const char *ca_id, const char *name,
                                    const char *owner, int ttl_ms, int want, apr_pool_t *p)
{
    lock_args a = {ca_id, name, owner, ttl_ms, want, 0, 0, 0};
    apr_status_t rv =
        acmpca_sqlite_group_write(s, "lock_acquire", SQ_WRITES_UNSYNCED, lock_acquire_write, &a, p);

    return rv == APR_SUCCESS && a.busy ? APR_EBUSY : rv;
}

static apr_status_t lock_release_write(sq_call_t *call, void *baton)
{
    lock_args *a = baton;
    sqlite3_stmt *stmt = NULL;
    apr_status_t rv;
    int row;

    SQ_OK(
        acmpca_sqlite_stmt_prep(call, &stmt, ST_LOCK_RELEASE, "sss", a->ca_id, a->name, a->owner));
    SQ_OK(acmpca_sqlite_stmt_step(call, stmt, &row));
    if (row) {
        a->found = 1;
        a->wanted = sqlite3_column_int(stmt, 0) != 0;
    }
    rv = acmpca_sqlite_stmt_run(call, stmt);
leave:
    return rv;
}

static apr_status_t sq_lock_release(acmpca_store_t *s, const char *ca_id, const char *name,
                                    const char *owner, int *pwanted, apr_pool_t *p)
{
    lock_args a = {ca_id, name, owner, 0, 0, 0, 0, 0};
    apr_status_t rv =
        acmpca_sqlite_group_write(s, "lock_release", SQ_WRITES_UNSYNCED, lock_release_write, &a, p);

    if (pwanted) {
        *pwanted = rv == APR_SUCCESS && a.wanted;
    }
    return rv == APR_SUCCESS && !a.found ? APR_NOTFOUND : rv;
}

const acmpca_store_provider_t acmpca_store_sqlite = {
    .name = "sqlite",
    .flags = 0,
    .create = sq_create,
    .open = acmpca_sqlite_open,
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
    .crl_index = acmpca_sqlite_crl_index,
    .idem_claim = sq_idem_claim,
    .idem_get = sq_idem_get,
    .object_put = acmpca_sqlite_object_put,
    .object_get = acmpca_sqlite_object_get,
    .report_put = sq_report_put,
    .report_get = sq_report_get,
    .report_latest = sq_report_latest,
    .counter_next = sq_counter_next,
    .lock_acquire = sq_lock_acquire,
    .lock_release = sq_lock_release,
    .dump = acmpca_sqlite_dump,
    .load = acmpca_sqlite_load,
};
