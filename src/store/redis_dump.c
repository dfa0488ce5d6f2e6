/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's migration operations: every record out (dump) and in (load),
 * verbatim, pipelined on one connection borrowed from the provider (redis_int.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include <hiredis/hiredis.h>

#include "acmpca/log.h"
#include "acmpca/store.h"
#include "redis_cmd.h"
#include "redis_int.h"
#include "store_int.h"

/* Batches bound the memory of a dump and the size of one pipeline. */
#define RX_PAGE  256 /* CA ids per index page */
#define RX_BATCH 500 /* certificates per round trip */
#define RX_SCAN  1000

/**************************************************************************************
 * A connection and its commands
 */

typedef struct rx_t {
    acmpca_redis_conn_t *conn;
    redisContext *ctx;
    const char *target; /* the spec without its password, for the log */
    apr_pool_t *p;
} rx_t;

static apr_status_t reply_cleanup(void *data)
{
    freeReplyObject(data);
    return APR_SUCCESS;
}

static apr_status_t rx_io_failed(rx_t *x)
{
    apr_status_t rv = x->ctx->err == REDIS_ERR_EOF ? APR_EOF : APR_EGENERAL;

    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, x->p, "ACMPCA0450: redis %s: %s", x->target,
               x->ctx->errstr);
    return rv;
}

static apr_status_t rx_bad(rx_t *x, const redisReply *r, const char *what)
{
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, x->p, "ACMPCA0451: redis %s: %s: %s",
               x->target, what, r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    return APR_EGENERAL;
}

/* Queue a command: hiredis buffers it until the next reply is read, so commands sent
 * before reading their replies travel in one round trip. */
static apr_status_t rx_send(rx_t *x, rd_cmd_t *cmd)
{
    if (cmd->overflow) {
        return rx_bad(x, NULL, "too many arguments");
    }
    if (redisAppendCommandArgv(x->ctx, cmd->argc, cmd->argv, cmd->len) != REDIS_OK) {
        return rx_io_failed(x);
    }
    return APR_SUCCESS;
}

/* The next reply, owned by pool; an error reply is a failure. */
static apr_status_t rx_reply(rx_t *x, apr_pool_t *pool, redisReply **pr)
{
    void *r = NULL;

    if (redisGetReply(x->ctx, &r) != REDIS_OK || !r) {
        return rx_io_failed(x);
    }
    apr_pool_cleanup_register(pool, r, reply_cleanup, apr_pool_cleanup_null);
    *pr = r;
    return ((redisReply *)r)->type == REDIS_REPLY_ERROR ? rx_bad(x, r, "command") : APR_SUCCESS;
}

static apr_status_t rx_cmd(rx_t *x, rd_cmd_t *cmd, apr_pool_t *pool, redisReply **pr)
{
    apr_status_t rv = rx_send(x, cmd);

    return rv == APR_SUCCESS ? rx_reply(x, pool, pr) : rv;
}

static apr_status_t rx_open(rx_t *x, acmpca_store_t *s, apr_pool_t *p)
{
    memset(x, 0, sizeof(*x));
    x->p = p;
    x->target = acmpca_store_redact(apr_pstrcat(p, s->provider->name, ":", s->args, NULL), p);
    return acmpca_redis_conn_get(s, &x->conn, &x->ctx, p);
}

/* The connection goes back; after a failure it is closed (replies may be left unread). */
static void rx_close(rx_t *x, apr_status_t rv)
{
    if (x->conn) {
        acmpca_redis_conn_put(x->conn, rv != APR_SUCCESS);
        x->conn = NULL;
        x->ctx = NULL;
    }
}

static const unsigned char *str_bytes(const redisReply *r, apr_size_t *plen, apr_pool_t *p)
{
    *plen = r->len;
    return r->len ? apr_pmemdup(p, r->str, r->len) : apr_pcalloc(p, 1);
}

/**************************************************************************************
 * Dump: CAs by their index, then each CA's certificates and reports, then what only a
 * SCAN finds. Not a snapshot: run it while no server writes.
 */

typedef struct dump_t {
    rx_t x;
    acmpca_dump_cb *cb;
    void *baton;
    int stop;
} dump_t;

static apr_status_t emit(dump_t *d, const acmpca_dump_rec_t *rec)
{
    d->stop = d->cb(d->baton, rec);
    return d->stop ? d->stop : APR_SUCCESS;
}

/* The highest CA seq ever handed out, when there is one. */
static apr_status_t dump_seq(dump_t *d, apr_pool_t *pool)
{
    acmpca_dump_rec_t rec;
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv;

    cmd_init(&cmd, "GET", pool);
    cmd_str(&cmd, acmpca_redis_key_seq());
    if ((rv = rx_cmd(&d->x, &cmd, pool, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type == REDIS_REPLY_STRING && apr_atoi64(r->str) > 0) {
        memset(&rec, 0, sizeof(rec));
        rec.type = ACMPCA_DUMP_CA_SEQ;
        rec.value = apr_atoi64(r->str);
        return emit(d, &rec);
    }
    return APR_SUCCESS;
}

/* One page of the global index after *pafter: its ids in *pids (WITHSCORES pairs). */
static apr_status_t index_page(dump_t *d, apr_int64_t *pafter, redisReply **pids, apr_pool_t *pool)
{
    rd_cmd_t cmd;
    apr_status_t rv;
    redisReply *r;

    cmd_init(&cmd, "ZRANGEBYSCORE", pool);
    cmd_str(&cmd, acmpca_redis_key_all());
    cmd_str(&cmd, apr_psprintf(pool, "(%" APR_INT64_T_FMT, *pafter));
    cmd_str(&cmd, "+inf");
    cmd_str(&cmd, "WITHSCORES");
    cmd_str(&cmd, "LIMIT");
    cmd_str(&cmd, "0");
    cmd_i64(&cmd, RX_PAGE);
    if ((rv = rx_cmd(&d->x, &cmd, pool, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        return rx_bad(&d->x, r, "ZRANGEBYSCORE");
    }
    if (r->elements) {
        *pafter = elem_i64(r, r->elements - 1);
    }
    *pids = r;
    return APR_SUCCESS;
}

/* The CA records of one index page: HMGET and GET per CA, in one round trip. */
static apr_status_t dump_cas(dump_t *d, const redisReply *ids, apr_pool_t *pool)
{
    size_t n = ids->elements / 2, i;
    acmpca_dump_rec_t rec;
    redisReply *ca, *key;
    rd_cmd_t cmd;
    apr_status_t rv;

    for (i = 0; i < n; ++i) {
        const char *id = elem_str(ids, 2 * i, pool);
        cmd_init(&cmd, "HMGET", pool);
        cmd_str(&cmd, acmpca_redis_key_ca(id, "ca", pool));
        cmd_str(&cmd, "id");
        cmd_str(&cmd, "account");
        cmd_str(&cmd, "seq");
        cmd_str(&cmd, "version");
        cmd_str(&cmd, "doc");
        if ((rv = rx_send(&d->x, &cmd)) != APR_SUCCESS) {
            return rv;
        }
        cmd_init(&cmd, "GET", pool);
        cmd_str(&cmd, acmpca_redis_key_ca(id, "key", pool));
        if ((rv = rx_send(&d->x, &cmd)) != APR_SUCCESS) {
            return rv;
        }
    }
    for (i = 0; i < n; ++i) {
        if ((rv = rx_reply(&d->x, pool, &ca)) != APR_SUCCESS
            || (rv = rx_reply(&d->x, pool, &key)) != APR_SUCCESS) {
            return rv;
        }
        if (d->stop || !elem_str(ca, 0, NULL) || !elem_str(ca, 4, NULL)) {
            continue; /* purged since the index was read; or read the replies out */
        }
        memset(&rec, 0, sizeof(rec));
        rec.type = ACMPCA_DUMP_CA;
        rec.ca.id = elem_str(ca, 0, pool);
        rec.ca.account = elem_str(ca, 1, pool);
        rec.ca.seq = elem_i64(ca, 2);
        rec.ca.version = elem_i64(ca, 3);
        rec.ca.doc = elem_str(ca, 4, pool);
        if (key->type == REDIS_REPLY_STRING) {
            rec.key = str_bytes(key, &rec.keylen, pool);
        }
        emit(d, &rec);
    }
    return d->stop ? d->stop : APR_SUCCESS;
}

/* The certificates of one CA, RX_BATCH at a time in serial order, in a pool per batch. */
static apr_status_t dump_certs(dump_t *d, const char *ca_id, apr_pool_t *pool)
{
    const char *index = acmpca_redis_key_ca(ca_id, "certs", pool), *min = "-";
    acmpca_dump_rec_t rec;
    redisReply *serials, *f;
    apr_pool_t *batch;
    rd_cmd_t cmd;
    apr_status_t rv;
    size_t i, j;

    if ((rv = apr_pool_create(&batch, pool)) != APR_SUCCESS) {
        return rv;
    }
    do {
        apr_pool_clear(batch);
        cmd_init(&cmd, "ZRANGEBYLEX", batch);
        cmd_str(&cmd, index);
        cmd_str(&cmd, min);
        cmd_str(&cmd, "+");
        cmd_str(&cmd, "LIMIT");
        cmd_str(&cmd, "0");
        cmd_i64(&cmd, RX_BATCH);
        if ((rv = rx_cmd(&d->x, &cmd, batch, &serials)) != APR_SUCCESS) {
            break;
        }
        for (i = 0; i < serials->elements; ++i) {
            cmd_init(&cmd, "HMGET", batch);
            cmd_str(&cmd, acmpca_redis_key_cert(ca_id, elem_str(serials, i, batch), batch));
            for (j = 0; j < ACMPCA_REDIS_CERT_NFIELDS; ++j) {
                cmd_str(&cmd, acmpca_redis_cert_fields()[j]);
            }
            if ((rv = rx_send(&d->x, &cmd)) != APR_SUCCESS) {
                break;
            }
        }
        for (i = 0; rv == APR_SUCCESS && i < serials->elements; ++i) {
            if ((rv = rx_reply(&d->x, batch, &f)) != APR_SUCCESS) {
                break;
            }
            if (d->stop || !elem_str(f, 0, NULL)) {
                continue;
            }
            memset(&rec, 0, sizeof(rec));
            rec.type = ACMPCA_DUMP_CERT;
            rec.cert.ca_id = ca_id;
            rec.cert.serial = elem_str(serials, i, NULL);
            rec.cert.pem = elem_str(f, 0, NULL);
            rec.cert.subject = elem_str(f, 1, NULL);
            rec.cert.template_arn = elem_str(f, 2, NULL);
            rec.cert.not_before = elem_i64(f, 3);
            rec.cert.not_after = elem_i64(f, 4);
            rec.cert.issued_at = elem_i64(f, 5);
            rec.cert.revoked_at = elem_i64(f, 6);
            rec.cert.revocation_reason = elem_str(f, 7, NULL);
            rec.cert.requested_by = elem_str(f, 8, NULL);
            emit(d, &rec);
        }
        if (rv == APR_SUCCESS && d->stop) {
            rv = d->stop;
        }
        if (rv == APR_SUCCESS && serials->elements) {
            min = apr_pstrcat(pool, "(", elem_str(serials, serials->elements - 1, NULL), NULL);
        }
    } while (rv == APR_SUCCESS && serials->elements == RX_BATCH);
    apr_pool_destroy(batch);
    return rv;
}

typedef struct report_ord_t {
    apr_int64_t ord;
    acmpca_dump_rec_t rec;
} report_ord_t;

static int report_cmp(const void *a, const void *b)
{
    apr_int64_t x = ((const report_ord_t *)a)->ord, y = ((const report_ord_t *)b)->ord;

    return x < y ? -1 : x > y;
}

/* The reports of one CA (a few: one per audit request) in the order they were first
 * written, their 'ord'. */
static apr_status_t dump_reports(dump_t *d, const char *ca_id, apr_pool_t *pool)
{
    redisReply *ids, *f;
    report_ord_t *all;
    rd_cmd_t cmd;
    apr_status_t rv;
    size_t i, n = 0;

    cmd_init(&cmd, "ZRANGE", pool);
    cmd_str(&cmd, acmpca_redis_key_ca(ca_id, "reports", pool));
    cmd_str(&cmd, "0");
    cmd_str(&cmd, "-1");
    if ((rv = rx_cmd(&d->x, &cmd, pool, &ids)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < ids->elements; ++i) {
        cmd_init(&cmd, "HMGET", pool);
        cmd_str(&cmd, acmpca_redis_key_report(ca_id, elem_str(ids, i, pool), pool));
        cmd_str(&cmd, "status");
        cmd_str(&cmd, "bucket");
        cmd_str(&cmd, "key");
        cmd_str(&cmd, "format");
        cmd_str(&cmd, "created");
        cmd_str(&cmd, "ord");
        if ((rv = rx_send(&d->x, &cmd)) != APR_SUCCESS) {
            return rv;
        }
    }
    all = apr_pcalloc(pool, sizeof(*all) * (ids->elements + 1));
    for (i = 0; i < ids->elements; ++i) {
        acmpca_report_rec_t *r = &all[n].rec.report;
        if ((rv = rx_reply(&d->x, pool, &f)) != APR_SUCCESS) {
            return rv;
        }
        if (!elem_str(f, 0, NULL)) {
            continue;
        }
        all[n].ord = elem_i64(f, 5);
        all[n].rec.type = ACMPCA_DUMP_REPORT;
        r->ca_id = ca_id;
        r->id = elem_str(ids, i, NULL);
        r->status = elem_str(f, 0, NULL);
        r->bucket = elem_str(f, 1, NULL);
        r->key = elem_str(f, 2, NULL);
        r->format = elem_str(f, 3, NULL);
        r->created_at = elem_i64(f, 4);
        n++;
    }
    qsort(all, n, sizeof(*all), report_cmp);
    for (i = 0; i < n && rv == APR_SUCCESS; ++i) {
        rv = emit(d, &all[i].rec);
    }
    return rv;
}

/* Pass over the index: the CA records (first) or every CA's certificates and reports. */
static apr_status_t dump_index(dump_t *d, int records, apr_pool_t *p)
{
    apr_int64_t after = 0;
    apr_pool_t *page, *one;
    redisReply *ids;
    apr_status_t rv;
    size_t i;

    if ((rv = apr_pool_create(&page, p)) != APR_SUCCESS) {
        return rv;
    }
    do {
        apr_pool_clear(page);
        if ((rv = apr_pool_create(&one, page)) != APR_SUCCESS
            || (rv = index_page(d, &after, &ids, page)) != APR_SUCCESS) {
            break;
        }
        if (records) {
            rv = dump_cas(d, ids, page);
            continue;
        }
        for (i = 0; rv == APR_SUCCESS && i < ids->elements; i += 2) {
            const char *id = elem_str(ids, i, page);
            apr_pool_clear(one);
            if ((rv = dump_certs(d, id, one)) == APR_SUCCESS) {
                rv = dump_reports(d, id, one);
            }
        }
    } while (rv == APR_SUCCESS && ids->elements == 2 * RX_PAGE);
    apr_pool_destroy(page);
    return rv;
}

/* "<len>:<a>:<b>" at s: a of len bytes, b the rest (a key part we made; NULL if not). */
static int split_len(const char *s, const char **pa, const char **pb, apr_pool_t *p)
{
    char *end;
    long len = strtol(s, &end, 10);

    if (end == s || *end != ':' || len < 0 || strlen(end + 1) < (size_t)len + 1
        || end[1 + len] != ':') {
        return 0;
    }
    *pa = apr_pstrmemdup(p, end + 1, (apr_size_t)len);
    *pb = apr_pstrdup(p, end + 2 + len);
    return 1;
}

/* A record from a key SCAN found and its fetched value (rec untouched: not ours). */
typedef int scan_parse_fn(acmpca_dump_rec_t *rec, const char *key, const redisReply *v,
                          apr_pool_t *p);

static int parse_idem(acmpca_dump_rec_t *rec, const char *key, const redisReply *v, apr_pool_t *p)
{
    const char *at = strstr(key, "}:idem:");

    if (!at || !split_len(at + 7, &rec->idem.scope, &rec->idem.token, p) || !elem_str(v, 0, NULL)
        || elem_i64(v, 1) <= apr_time_now()) {
        return 0; /* not a claim, or one that expired: dead, as in the sqlite dump */
    }
    rec->type = ACMPCA_DUMP_IDEM;
    rec->result = elem_str(v, 0, p);
    rec->idem.expires = elem_i64(v, 1);
    return 1;
}

static int parse_object(acmpca_dump_rec_t *rec, const char *key, const redisReply *v, apr_pool_t *p)
{
    acmpca_object_t *o = &rec->object;

    if (!split_len(key + strlen("acmpca:obj:"), &o->bucket, &o->key, p) || !elem_str(v, 0, NULL)) {
        return 0;
    }
    rec->type = ACMPCA_DUMP_OBJECT;
    o->data = str_bytes(v->element[0], &o->len, p);
    o->content_type = elem_str(v, 1, p);
    o->modified = elem_i64(v, 2);
    o->etag = elem_str(v, 3, p);
    return 1;
}

static int parse_counter(acmpca_dump_rec_t *rec, const char *key, const redisReply *v,
                         apr_pool_t *p)
{
    if (v->type != REDIS_REPLY_STRING) {
        return 0;
    }
    rec->type = ACMPCA_DUMP_COUNTER;
    rec->name = apr_pstrdup(p, key + strlen("acmpca:counter:"));
    rec->value = apr_atoi64(v->str);
    return 1;
}

static const struct {
    const char *match;
    const char *const *fetch; /* HMGET fields, or NULL for GET */
    scan_parse_fn *parse;
} scans[] = {
    {"acmpca:{*}:idem:*", (const char *const[]){"result", "expires", NULL}, parse_idem},
    {"acmpca:obj:*", (const char *const[]){"data", "ct", "modified", "etag", NULL}, parse_object},
    {"acmpca:counter:*", NULL, parse_counter},
};

/* Every key of one kind. SCAN may return a key twice (while the keyspace is rehashed):
 * the keys seen are remembered, the values not. */
static apr_status_t dump_scan(dump_t *d, size_t k, apr_pool_t *p)
{
    const char *cursor = "0";
    apr_hash_t *seen = apr_hash_make(p);
    acmpca_dump_rec_t rec;
    apr_pool_t *batch;
    redisReply *r, *keys, *v;
    rd_cmd_t cmd;
    apr_status_t rv;
    size_t i, j;

    if ((rv = apr_pool_create(&batch, p)) != APR_SUCCESS) {
        return rv;
    }
    do {
        apr_pool_clear(batch);
        cmd_init(&cmd, "SCAN", batch);
        cmd_str(&cmd, cursor);
        cmd_str(&cmd, "MATCH");
        cmd_str(&cmd, scans[k].match);
        cmd_str(&cmd, "COUNT");
        cmd_i64(&cmd, RX_SCAN);
        if ((rv = rx_cmd(&d->x, &cmd, batch, &r)) != APR_SUCCESS) {
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !elem_str(r, 0, NULL)
            || r->element[1]->type != REDIS_REPLY_ARRAY) {
            rv = rx_bad(&d->x, r, "SCAN");
            break;
        }
        cursor = elem_str(r, 0, p);
        keys = r->element[1];
        for (i = 0; rv == APR_SUCCESS && i < keys->elements; ++i) {
            cmd_init(&cmd, scans[k].fetch ? "HMGET" : "GET", batch);
            cmd_str(&cmd, elem_str(keys, i, NULL));
            for (j = 0; scans[k].fetch && scans[k].fetch[j]; ++j) {
                cmd_str(&cmd, scans[k].fetch[j]);
            }
            rv = rx_send(&d->x, &cmd);
        }
        for (i = 0; rv == APR_SUCCESS && i < keys->elements; ++i) {
            const char *key = elem_str(keys, i, batch);
            if ((rv = rx_reply(&d->x, batch, &v)) != APR_SUCCESS) {
                break;
            }
            if (d->stop || apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
                continue;
            }
            apr_hash_set(seen, apr_pstrdup(p, key), APR_HASH_KEY_STRING, "");
            memset(&rec, 0, sizeof(rec));
            if (scans[k].parse(&rec, key, v, batch)) {
                emit(d, &rec);
            }
        }
        if (rv == APR_SUCCESS && d->stop) {
            rv = d->stop;
        }
    } while (rv == APR_SUCCESS && strcmp(cursor, "0"));
    apr_pool_destroy(batch);
    return rv;
}

apr_status_t acmpca_redis_dump(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p)
{
    dump_t d;
    apr_pool_t *ptemp;
    apr_status_t rv;
    size_t k;

    memset(&d, 0, sizeof(d));
    d.cb = cb;
    d.baton = baton;
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = rx_open(&d.x, s, ptemp)) == APR_SUCCESS && (rv = dump_seq(&d, ptemp)) == APR_SUCCESS
        && (rv = dump_index(&d, 1, ptemp)) == APR_SUCCESS) {
        rv = dump_index(&d, 0, ptemp);
    }
    for (k = 0; rv == APR_SUCCESS && k < sizeof(scans) / sizeof(scans[0]); ++k) {
        apr_pool_t *one;
        if ((rv = apr_pool_create(&one, ptemp)) == APR_SUCCESS) {
            rv = dump_scan(&d, k, one);
            apr_pool_destroy(one);
        }
    }
    rx_close(&d.x, rv);
    apr_pool_destroy(ptemp);
    return rv;
}

/**************************************************************************************
 * Load: one pipeline per call, one script per record (each atomic on its own)
 */

typedef enum { LX_SEQ, LX_CA, LX_CERT, LX_REPORT, LX_IDEM, LX_OBJECT, LX_COUNT } load_script_id;

/* Verbatim writes, replacing a record already there (store-migrate --force); no nonce,
 * which only the retry of a served call looks for. Every script answers {code}: 0, or 2
 * when the CA of the record is missing (as sqlite's foreign key). */
/* clang-format off */
static const char *const load_src[LX_COUNT] = {
    /* KEYS: seq. ARGV: value. The seq never goes down. */
    [LX_SEQ] =
        "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then"
        "  redis.call('SET', KEYS[1], ARGV[1]) "
        "end "
        "return {0}",

    /* KEYS: ca, key, account index, global index, seq
     * ARGV: id, account, seq, version, doc, has_key, wrapped */
    [LX_CA] =
        "local old = redis.call('HGET', KEYS[1], 'account') "
        "if old and old ~= ARGV[2] then"
        "  redis.call('ZREM', 'acmpca:{' .. old .. '}:cas', ARGV[1]) "
        "end "
        "redis.call('DEL', KEYS[1]) "
        "redis.call('HSET', KEYS[1], 'id', ARGV[1], 'account', ARGV[2], 'seq', ARGV[3],"
        "  'version', ARGV[4], 'doc', ARGV[5]) "
        "if ARGV[6] == '1' then redis.call('SET', KEYS[2], ARGV[7])"
        "  else redis.call('DEL', KEYS[2]) end "
        "redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1]) "
        "redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1]) "
        "if tonumber(redis.call('GET', KEYS[5]) or '0') < tonumber(ARGV[3]) then"
        "  redis.call('SET', KEYS[5], ARGV[3]) "
        "end "
        ACMPCA_REDIS_LUA_CA_CHANGED("ARGV[1]")
        "return {0}",

    /* KEYS: cert, certs, revoked, ca. ARGV: serial, revoked, field/value... */
    [LX_CERT] =
        "if redis.call('EXISTS', KEYS[4]) == 0 then return {2} end "
        "redis.call('DEL', KEYS[1]) "
        "redis.call('HSET', KEYS[1], unpack(ARGV, 3)) "
        "redis.call('ZADD', KEYS[2], 0, ARGV[1]) "
        "if ARGV[2] == '1' then redis.call('ZADD', KEYS[3], 0, ARGV[1])"
        "  else redis.call('ZREM', KEYS[3], ARGV[1]) end "
        "return {0}",

    /* As redis_object.c's report_put: the first write's ord is kept, a new report takes the
     * next, so reports loaded in dump order keep their order.
     * KEYS: report, reports, reportseq, ca. ARGV: id, created, field/value... */
    [LX_REPORT] =
        ACMPCA_REDIS_LUA_REPORT_PUT,

    /* KEYS: idem. ARGV: result, expires, pexpireat (a minute after it lapses, as served) */
    [LX_IDEM] =
        "redis.call('DEL', KEYS[1]) "
        "redis.call('HSET', KEYS[1], 'result', ARGV[1], 'expires', ARGV[2]) "
        "redis.call('PEXPIREAT', KEYS[1], ARGV[3]) "
        "return {0}",

    /* KEYS: obj. ARGV: field/value... */
    [LX_OBJECT] =
        "redis.call('DEL', KEYS[1]) "
        "redis.call('HSET', KEYS[1], unpack(ARGV)) "
        "return {0}",
};
/* clang-format on */

typedef struct load_t {
    rx_t x;
    char sha[LX_COUNT][41];
} load_t;

static apr_status_t load_scripts(load_t *l, apr_pool_t *pool)
{
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv;
    int i;

    for (i = 0; i < LX_COUNT; ++i) {
        cmd_init(&cmd, "SCRIPT", pool);
        cmd_str(&cmd, "LOAD");
        cmd_str(&cmd, load_src[i]);
        if ((rv = rx_send(&l->x, &cmd)) != APR_SUCCESS) {
            return rv;
        }
    }
    for (i = 0; i < LX_COUNT; ++i) {
        if ((rv = rx_reply(&l->x, pool, &r)) != APR_SUCCESS) {
            return rv;
        }
        if (r->type != REDIS_REPLY_STRING || r->len != 40) {
            return rx_bad(&l->x, r, "SCRIPT LOAD");
        }
        memcpy(l->sha[i], r->str, 41);
    }
    return APR_SUCCESS;
}

static void script_init(load_t *l, rd_cmd_t *cmd, load_script_id id, int numkeys, apr_pool_t *p)
{
    cmd_init(cmd, "EVALSHA", p);
    cmd_str(cmd, l->sha[id]);
    cmd_i64(cmd, numkeys);
}

/* The command that writes rec, in the key layout of redis_keys.c. */
static apr_status_t load_cmd(load_t *l, rd_cmd_t *cmd, const acmpca_dump_rec_t *rec, apr_pool_t *p)
{
    const acmpca_cert_rec_t *c = &rec->cert;
    const acmpca_report_rec_t *r = &rec->report;
    const acmpca_object_t *o = &rec->object;

    switch (rec->type) {
    case ACMPCA_DUMP_CA_SEQ:
        script_init(l, cmd, LX_SEQ, 1, p);
        cmd_str(cmd, acmpca_redis_key_seq());
        cmd_i64(cmd, rec->value);
        return APR_SUCCESS;
    case ACMPCA_DUMP_CA:
        script_init(l, cmd, LX_CA, 5, p);
        cmd_str(cmd, acmpca_redis_key_ca(rec->ca.id, "ca", p));
        cmd_str(cmd, acmpca_redis_key_ca(rec->ca.id, "key", p));
        cmd_str(cmd, acmpca_redis_key_account(rec->ca.account, p));
        cmd_str(cmd, acmpca_redis_key_all());
        cmd_str(cmd, acmpca_redis_key_seq());
        cmd_str(cmd, rec->ca.id);
        cmd_str(cmd, rec->ca.account);
        cmd_i64(cmd, rec->ca.seq);
        cmd_i64(cmd, rec->ca.version);
        cmd_str(cmd, rec->ca.doc);
        cmd_str(cmd, rec->key ? "1" : "0");
        cmd_mem(cmd, rec->key, rec->key ? rec->keylen : 0);
        return APR_SUCCESS;
    case ACMPCA_DUMP_CERT:
        script_init(l, cmd, LX_CERT, 4, p);
        cmd_str(cmd, acmpca_redis_key_cert(c->ca_id, c->serial, p));
        cmd_str(cmd, acmpca_redis_key_ca(c->ca_id, "certs", p));
        cmd_str(cmd, acmpca_redis_key_ca(c->ca_id, "revoked", p));
        cmd_str(cmd, acmpca_redis_key_ca(c->ca_id, "ca", p));
        cmd_str(cmd, c->serial);
        cmd_str(cmd, c->revoked_at ? "1" : "0");
        cmd_field(cmd, "pem", c->pem);
        cmd_field(cmd, "subject", c->subject);
        cmd_field(cmd, "tmpl", c->template_arn);
        cmd_field(cmd, "nb", i64_str(c->not_before, p));
        cmd_field(cmd, "na", i64_str(c->not_after, p));
        cmd_field(cmd, "ia", i64_str(c->issued_at, p));
        cmd_field(cmd, "ra", c->revoked_at ? i64_str(c->revoked_at, p) : NULL);
        cmd_field(cmd, "rr", c->revocation_reason);
        cmd_field(cmd, "rb", c->requested_by);
        return APR_SUCCESS;
    case ACMPCA_DUMP_REPORT:
        script_init(l, cmd, LX_REPORT, 4, p);
        cmd_str(cmd, acmpca_redis_key_report(r->ca_id, r->id, p));
        cmd_str(cmd, acmpca_redis_key_ca(r->ca_id, "reports", p));
        cmd_str(cmd, acmpca_redis_key_ca(r->ca_id, "reportseq", p));
        cmd_str(cmd, acmpca_redis_key_ca(r->ca_id, "ca", p));
        cmd_str(cmd, r->id);
        cmd_i64(cmd, r->created_at);
        cmd_field(cmd, "status", r->status);
        cmd_field(cmd, "bucket", r->bucket);
        cmd_field(cmd, "key", r->key);
        cmd_field(cmd, "format", r->format);
        return APR_SUCCESS;
    case ACMPCA_DUMP_IDEM:
        script_init(l, cmd, LX_IDEM, 1, p);
        cmd_str(cmd, acmpca_redis_key_idem(rec->idem.scope, rec->idem.token, p));
        cmd_str(cmd, rec->result);
        cmd_i64(cmd, rec->idem.expires);
        cmd_i64(cmd, apr_time_as_msec(rec->idem.expires) + 60000);
        return APR_SUCCESS;
    case ACMPCA_DUMP_OBJECT:
        script_init(l, cmd, LX_OBJECT, 1, p);
        cmd_str(cmd, acmpca_redis_key_object(o->bucket, o->key, p));
        cmd_str(cmd, "data");
        cmd_mem(cmd, o->data, o->len);
        cmd_field(cmd, "ct", o->content_type);
        cmd_field(cmd, "modified", i64_str(o->modified, p));
        cmd_field(cmd, "etag", o->etag);
        return APR_SUCCESS;
    case ACMPCA_DUMP_COUNTER:
        cmd_init(cmd, "SET", p);
        cmd_str(cmd, acmpca_redis_key_counter(rec->name, p));
        cmd_i64(cmd, rec->value);
        return APR_SUCCESS;
    default:
        return APR_EINVAL;
    }
}

apr_status_t acmpca_redis_load(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n,
                               apr_pool_t *p)
{
    apr_pool_t *ptemp;
    apr_status_t rv, first = APR_SUCCESS;
    redisReply *r;
    rd_cmd_t cmd;
    load_t l;
    int i, sent = 0;

    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    memset(&l, 0, sizeof(l));
    if ((rv = rx_open(&l.x, s, ptemp)) == APR_SUCCESS) {
        rv = load_scripts(&l, ptemp);
    }
    for (i = 0; rv == APR_SUCCESS && i < n; ++i) {
        if ((rv = load_cmd(&l, &cmd, &recs[i], ptemp)) == APR_SUCCESS
            && (rv = rx_send(&l.x, &cmd)) == APR_SUCCESS) {
            sent++;
        }
    }
    /* Every reply is read, so that the first failure is the one reported. */
    for (i = 0; i < sent; ++i) {
        apr_status_t one = rx_reply(&l.x, ptemp, &r);
        if (one == APR_SUCCESS && r->type == REDIS_REPLY_ARRAY && r->elements >= 1
            && r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 2) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_NOTFOUND, ptemp,
                       "ACMPCA0453: redis %s: record %d of a load refers to a CA that is not there",
                       l.x.target, i + 1);
            one = APR_NOTFOUND;
        }
        if (first == APR_SUCCESS) {
            first = one;
        }
        if (one != APR_SUCCESS && l.x.ctx->err) {
            break; /* the connection is gone: no more replies */
        }
    }
    if (rv == APR_SUCCESS) {
        rv = first;
    }
    rx_close(&l.x, rv);
    apr_pool_destroy(ptemp);
    return rv;
}
