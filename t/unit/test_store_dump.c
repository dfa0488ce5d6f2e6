/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The store's migration operations (dump, load) and their JSON-lines format: a store
 * filled through the provider interface, dumped, loaded into fresh stores of either
 * provider and dumped again, record by record. Redis cases run when scripts/redis-server.sh
 * exports ACMPCA_TEST_REDIS (they use databases 6 to 8 of that server, and its unix socket
 * when ACMPCA_TEST_REDIS_UNIX names it). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <hiredis/hiredis.h>

#include "acmpca/dump.h"
#include "acmpca/log.h"
#include "acmpca/store.h"

#define ACCOUNT "123456789012"
#define CA_A    "aaaaaaaa-0000-4000-8000-000000000001"
#define CA_B    "bbbbbbbb-0000-4000-8000-000000000002"
#define CA_GONE "cccccccc-0000-4000-8000-000000000003"
#define T0      (APR_TIME_C(1700000000) * APR_USEC_PER_SEC)

/**************************************************************************************
 * Stores
 */

typedef struct fx_t {
    apr_pool_t *p;
    const char *tmpdir;
    int n; /* stores made so far: each gets a file or a database of its own */
} fx_t;

/* A redis spec of database db on the test server, emptied. */
static const char *redis_db(int db, apr_pool_t *p)
{
    const char *base = getenv("ACMPCA_TEST_REDIS");
    struct timeval tv = {5, 0};
    char host[128];
    int port = 0;
    redisContext *ctx;
    redisReply *r;

    if (!base || sscanf(base, "redis://%127[^:]:%d/", host, &port) != 2) {
        fail_msg("cannot parse ACMPCA_TEST_REDIS");
    }
    ctx = redisConnectWithTimeout(host, port, tv);
    assert_true(ctx && !ctx->err);
    r = redisCommand(ctx, "SELECT %d", db);
    freeReplyObject(r);
    r = redisCommand(ctx, "FLUSHDB");
    assert_true(r && r->type != REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(ctx);
    return apr_psprintf(p, "redis://%s:%d/%d", host, port, db);
}

/* A fresh, opened store: "sqlite" (a new file), "redis" (database 6, then 7, ...) or
 * "unix" (the same through the server's unix socket, when it has one). */
static acmpca_store_t *store_new(fx_t *fx, const char *kind)
{
    const char *sock = getenv("ACMPCA_TEST_REDIS_UNIX");
    acmpca_store_t *s;
    const char *spec, *err;

    fx->n++;
    if (!strcmp(kind, "sqlite")) {
        spec = apr_psprintf(fx->p, "sqlite:%s/store%d/acmpca.db", fx->tmpdir, fx->n);
    }
    else {
        spec = redis_db(5 + fx->n, fx->p);
        if (!strcmp(kind, "unix") && sock && *sock) {
            spec = apr_psprintf(fx->p, "%s?db=%d", sock, 5 + fx->n);
        }
    }
    if ((err = acmpca_store_create(&s, spec, fx->p)) != NULL) {
        fail_msg("%s: %s", spec, err);
    }
    assert_int_equal(s->provider->open(s, -1, -1, fx->p), APR_SUCCESS);
    return s;
}

static int redis_runs(void)
{
    const char *v = getenv("ACMPCA_TEST_REDIS");

    return v && *v;
}

static void log_stderr(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                       apr_pool_t *p, const char *msg, void *baton)
{
    (void)p;
    (void)baton;
    fprintf(stderr, "[%d] %s:%d: %s (%d)\n", level, file, line, msg, rv);
}

static int fx_setup(void **state)
{
    fx_t *fx;
    apr_pool_t *p;
    const char *base;
    char *dir;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS || apr_temp_dir_get(&base, p) != APR_SUCCESS) {
        return -1;
    }
    dir = apr_pstrcat(p, base, "/test_store_dump.XXXXXX", NULL);
    if (!mkdtemp(dir)) {
        return -1;
    }
    fx = apr_pcalloc(p, sizeof(*fx));
    fx->p = p;
    fx->tmpdir = dir;
    acmpca_log_set(log_stderr, ACMPCA_LOG_WARNING, NULL);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmpdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", fx->tmpdir);
    }
    apr_pool_destroy(fx->p);
    return 0;
}

/**************************************************************************************
 * A store with every kind of record
 */

static acmpca_cert_rec_t cert_of(const char *ca_id, const char *serial, apr_time_t revoked_at)
{
    acmpca_cert_rec_t c;

    memset(&c, 0, sizeof(c));
    c.ca_id = ca_id;
    c.serial = serial;
    c.pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    c.subject = "CN=leaf \"quoted\",O=Ex\\,ample";
    c.not_before = T0;
    c.not_after = T0 + APR_TIME_C(86400) * APR_USEC_PER_SEC;
    c.issued_at = T0 + 1;
    c.requested_by = "arn:aws:iam::123456789012:user/alice";
    if (revoked_at) {
        c.revoked_at = revoked_at;
        c.revocation_reason = "KEY_COMPROMISE";
    }
    return c;
}

#define BIG_LEN (1536 * 1024 + 3)

static void fill(acmpca_store_t *s, apr_pool_t *p)
{
    const acmpca_store_provider_t *api = s->provider;
    static const unsigned char key[] = {0x00, 0x01, 0xfe, 0xff, 0x00, 0x42};
    static const unsigned char crl[] = {0x30, 0x82, 0x00, 0x00, 0x0a, 0x00};
    acmpca_ca_rec_t a = {CA_A, ACCOUNT, 0, 0, "{\"Status\":\"ACTIVE\",\"n\":\"\\u00e9\"}"};
    acmpca_ca_rec_t b = {CA_B, "210987654321", 0, 0, "{\"Status\":\"PENDING_CERTIFICATE\"}"};
    acmpca_ca_rec_t gone = {CA_GONE, ACCOUNT, 0, 0, "{}"};
    acmpca_idem_t live = {"IssueCertificate:" CA_A, "tok-1",
                          apr_time_now() + apr_time_from_sec(3600), NULL};
    acmpca_idem_t dead = {"IssueCertificate:" CA_A, "tok-old", apr_time_now() + 1000, NULL};
    acmpca_report_rec_t r1 = {CA_A, "r-1", "SUCCESS", "bkt", "audit/r-1.json", "JSON", T0};
    acmpca_report_rec_t r0 = {CA_A, "r-0", "CREATING", NULL, NULL, "CSV", T0};
    acmpca_object_t obj = {
        "bkt", "crl/" CA_A ".crl", "application/pkix-crl", crl, sizeof(crl), T0 + 5, NULL, NULL, 0};
    acmpca_cert_rec_t c;
    apr_int64_t v;

    assert_int_equal(api->ca_create(s, &a, key, sizeof(key), NULL, NULL, p), APR_SUCCESS);
    assert_int_equal(api->ca_update(s, &a, p), APR_SUCCESS); /* version 2 */
    assert_int_equal(api->ca_create(s, &b, NULL, 0, NULL, NULL, p), APR_SUCCESS);
    /* The newest CA purged: its seq stays used (CA_SEQ above every CA's). */
    assert_int_equal(api->ca_create(s, &gone, key, 1, NULL, NULL, p), APR_SUCCESS);
    assert_int_equal(api->ca_purge(s, CA_GONE, p), APR_SUCCESS);
    c = cert_of(CA_A, "01ab", 0);
    assert_int_equal(api->cert_put(s, &c, NULL, 0, 0, p), APR_SUCCESS);
    c = cert_of(CA_A, "02cd", T0 + 99);
    assert_int_equal(api->cert_put(s, &c, NULL, 0, 0, p), APR_SUCCESS);
    c = cert_of(CA_A, "03ef", 0);
    c.subject = NULL;
    assert_int_equal(api->cert_put(s, &c, &live, 0, 0, p), APR_SUCCESS);
    assert_int_equal(api->cert_revoke(s, CA_A, "03ef", T0 + 7, "SUPERSEDED", p), APR_SUCCESS);
    c = cert_of(CA_B, "7f", 0);
    assert_int_equal(api->cert_put(s, &c, NULL, 0, 0, p), APR_SUCCESS);
    /* Two reports with one created_at: the one written last is the latest. */
    assert_int_equal(api->report_put(s, &r1, p), APR_SUCCESS);
    assert_int_equal(api->report_put(s, &r0, p), APR_SUCCESS);
    assert_int_equal(api->idem_claim(s, &dead, "gone", p), APR_SUCCESS);
    assert_int_equal(api->object_put(s, &obj, p), APR_SUCCESS);
    /* A big CRL: the sqlite provider keeps it in a file of its own, which the dump reads. */
    {
        apr_size_t i;
        unsigned char *big = apr_palloc(p, BIG_LEN);

        for (i = 0; i < BIG_LEN; i++) {
            big[i] = (unsigned char)(i * 7 + i / 1000);
        }
        obj.key = "crl/big.crl";
        obj.data = big;
        obj.len = BIG_LEN;
        assert_int_equal(api->object_put(s, &obj, p), APR_SUCCESS);
    }
    assert_int_equal(api->counter_next(s, "crl:" CA_A, &v, p), APR_SUCCESS);
    assert_int_equal(api->counter_next(s, "crl:" CA_A, &v, p), APR_SUCCESS);
    /* Coordination only: never dumped. */
    assert_int_equal(api->lock_acquire(s, CA_A, "crl", "me", 60000, 0, p), APR_SUCCESS);
    usleep(2000); /* the short claim expires: not in the dump */
}

/**************************************************************************************
 * Dumps as lines
 */

typedef struct lines_t {
    apr_array_header_t *lines;
    apr_pool_t *p;
    int stop_after; /* 0: never */
} lines_t;

static int collect(void *baton, const acmpca_dump_rec_t *rec)
{
    lines_t *l = baton;
    const char *line = acmpca_dump_to_json(rec, l->p);

    assert_non_null(line);
    APR_ARRAY_PUSH(l->lines, const char *) = line;
    return l->stop_after && l->lines->nelts >= l->stop_after ? 42 : 0;
}

static apr_array_header_t *dump_lines(acmpca_store_t *s, apr_pool_t *p)
{
    lines_t l = {apr_array_make(p, 16, sizeof(const char *)), p, 0};

    assert_int_equal(s->provider->dump(s, collect, &l, p), APR_SUCCESS);
    return l.lines;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The same records, whatever the order each provider dumps them in. */
static void assert_same_records(apr_array_header_t *a, apr_array_header_t *b)
{
    int i;

    qsort(a->elts, (size_t)a->nelts, sizeof(const char *), cmp_str);
    qsort(b->elts, (size_t)b->nelts, sizeof(const char *), cmp_str);
    assert_int_equal(a->nelts, b->nelts);
    for (i = 0; i < a->nelts; ++i) {
        assert_string_equal(APR_ARRAY_IDX(a, i, const char *), APR_ARRAY_IDX(b, i, const char *));
    }
}

/* Load the lines of a dump into s, in batches of two (several load calls). */
static void load_lines(acmpca_store_t *s, apr_array_header_t *lines, apr_pool_t *p)
{
    acmpca_dump_rec_t recs[2];
    const char *err = NULL;
    int i, n = 0;

    for (i = 0; i < lines->nelts; ++i) {
        const char *line = APR_ARRAY_IDX(lines, i, const char *);
        if (acmpca_dump_from_json(&recs[n++], line, strlen(line), &err, p) != APR_SUCCESS) {
            fail_msg("%s: %s", line, err);
        }
        if (n == 2 || i == lines->nelts - 1) {
            assert_int_equal(s->provider->load(s, recs, n, p), APR_SUCCESS);
            n = 0;
        }
    }
}

static int count_type(apr_array_header_t *lines, const char *type)
{
    const char *tag = apr_psprintf(lines->pool, "{\"t\":\"%s\"", type);
    int i, n = 0;

    for (i = 0; i < lines->nelts; ++i) {
        n += !strncmp(APR_ARRAY_IDX(lines, i, const char *), tag, strlen(tag));
    }
    return n;
}

/* What the served operations read from a store loaded from fill()'s records. */
static void assert_serves(acmpca_store_t *s, apr_pool_t *p)
{
    const acmpca_store_provider_t *api = s->provider;
    acmpca_ca_rec_t *got, fresh = {"dddddddd-0000-4000-8000-000000000004", ACCOUNT, 0, 0, "{}"};
    const unsigned char *key;
    acmpca_report_rec_t *rep;
    acmpca_object_t *obj;
    acmpca_cert_rec_t *c;
    const char *result;
    apr_size_t keylen;
    apr_int64_t n;

    assert_int_equal(api->ca_get(s, CA_A, &got, p), APR_SUCCESS);
    assert_int_equal(got->version, 2);
    assert_int_equal(api->ca_key_get(s, CA_A, &key, &keylen, p), APR_SUCCESS);
    assert_int_equal(keylen, 6);
    assert_memory_equal(key, "\x00\x01\xfe\xff\x00\x42", 6);
    assert_int_equal(api->ca_key_get(s, CA_B, &key, &keylen, p), APR_NOTFOUND);
    assert_int_equal(api->ca_count(s, ACCOUNT, &n, p), APR_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(api->cert_count(s, CA_A, ACMPCA_CERT_ITER_ALL, &n, p), APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_int_equal(api->cert_count(s, CA_A, ACMPCA_CERT_ITER_REVOKED, &n, p), APR_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(api->cert_get(s, CA_A, "03ef", &c, p), APR_SUCCESS);
    assert_null(c->subject);
    assert_int_equal(c->revoked_at, T0 + 7);
    assert_string_equal(c->revocation_reason, "SUPERSEDED");
    assert_int_equal(api->cert_revoke(s, CA_A, "01ab", T0 + 8, NULL, p), APR_SUCCESS);
    assert_int_equal(api->report_latest(s, CA_A, &rep, p), APR_SUCCESS);
    assert_string_equal(rep->id, "r-0");
    assert_int_equal(
        api->idem_get(s, "IssueCertificate:" CA_A, "tok-1", apr_time_now(), &result, p),
        APR_SUCCESS);
    assert_string_equal(result, "03ef");
    assert_int_equal(api->object_get(s, "bkt", "crl/" CA_A ".crl", &obj, p), APR_SUCCESS);
    assert_int_equal(obj->len, 6);
    assert_int_equal(obj->modified, T0 + 5);
    assert_int_equal(api->object_get(s, "bkt", "crl/big.crl", &obj, p), APR_SUCCESS);
    assert_int_equal(obj->len, BIG_LEN);
    assert_int_equal(obj->data[BIG_LEN - 1],
                     (unsigned char)((BIG_LEN - 1) * 7 + (BIG_LEN - 1) / 1000));
    /* Numbers go on from where the source left them. */
    assert_int_equal(api->counter_next(s, "crl:" CA_A, &n, p), APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_int_equal(api->ca_create(s, &fresh, NULL, 0, NULL, NULL, p), APR_SUCCESS);
    assert_true(fresh.seq > 3);
    /* No lock came along: a new owner takes it at once. */
    assert_int_equal(api->lock_acquire(s, CA_A, "crl", "other", 1000, 0, p), APR_SUCCESS);
}

/**************************************************************************************
 * Tests
 */

static void test_json_roundtrip(void **state)
{
    apr_pool_t *p = *state;
    acmpca_dump_rec_t rec, back;
    const char *line, *err;

    memset(&rec, 0, sizeof(rec));
    rec.type = ACMPCA_DUMP_OBJECT;
    rec.object.bucket = "b";
    rec.object.key = "k/\"x\"\n";
    rec.object.data = (const unsigned char *)"\0\1\2";
    rec.object.len = 3;
    rec.object.modified = APR_INT64_C(1764441135123457); /* more digits than %.15g keeps */
    rec.object.etag = "\"e\"";
    line = acmpca_dump_to_json(&rec, p);
    assert_string_equal(line,
                        "{\"t\":\"object\",\"bucket\":\"b\",\"key\":\"k/\\\"x\\\"\\n\","
                        "\"data\":\"AAEC\",\"modified\":1764441135123457,\"etag\":\"\\\"e\\\"\"}");
    assert_int_equal(acmpca_dump_from_json(&back, line, strlen(line), &err, p), APR_SUCCESS);
    assert_int_equal(back.type, ACMPCA_DUMP_OBJECT);
    assert_string_equal(back.object.key, rec.object.key);
    assert_null(back.object.content_type);
    assert_int_equal(back.object.len, 3);
    assert_memory_equal(back.object.data, "\0\1\2", 3);
    assert_int_equal(back.object.modified, rec.object.modified);

    /* What a damaged or foreign line gets: a reason, never a half record. */
    assert_int_equal(acmpca_dump_from_json(&back, "{\"t\":\"cert\"}", 12, &err, p), APR_EINVAL);
    assert_string_equal(err, "\"ca_id\" is missing");
    line = "{\"t\":\"counter\",\"name\":\"n\",\"value\":1.5}";
    assert_int_equal(acmpca_dump_from_json(&back, line, strlen(line), &err, p), APR_EINVAL);
    assert_string_equal(err, "\"value\" is not an integer");
    line = "{\"t\":\"ca\",\"id\":\"i\",\"account\":\"a\",\"seq\":1,\"version\":1,\"doc\":\"{}\","
           "\"key\":\"***\"}";
    assert_int_equal(acmpca_dump_from_json(&back, line, strlen(line), &err, p), APR_EINVAL);
    assert_string_equal(err, "\"key\" is not base64");
    assert_int_equal(acmpca_dump_from_json(&back, "{\"t\":\"lock\"}", 12, &err, p), APR_EINVAL);
    assert_int_equal(acmpca_dump_from_json(&back, "[1]", 3, &err, p), APR_EINVAL);
}

/* Dump, load into a fresh store of kind `to`, dump again: the same records; and the
 * copy serves what the source served. */
static void roundtrip(fx_t *fx, const char *from, const char *to)
{
    acmpca_store_t *src = store_new(fx, from), *dst = store_new(fx, to);
    apr_array_header_t *a, *b;

    fill(src, fx->p);
    a = dump_lines(src, fx->p);
    assert_int_equal(count_type(a, "ca_seq"), 1);
    assert_int_equal(count_type(a, "ca"), 2);
    assert_int_equal(count_type(a, "cert"), 4);
    assert_int_equal(count_type(a, "report"), 2);
    assert_int_equal(count_type(a, "idem"), 1);
    assert_int_equal(count_type(a, "object"), 2);
    assert_int_equal(count_type(a, "counter"), 1);
    assert_int_equal(a->nelts, 13);
    load_lines(dst, a, fx->p);
    b = dump_lines(dst, fx->p);
    assert_same_records(apr_array_copy(fx->p, a), b);
    /* Loading again replaces each record by itself (store-migrate --force). */
    load_lines(dst, a, fx->p);
    assert_same_records(apr_array_copy(fx->p, a), dump_lines(dst, fx->p));
    assert_serves(dst, fx->p);
}

static void test_sqlite_to_sqlite(void **state)
{
    roundtrip(*state, "sqlite", "sqlite");
}

static void test_redis_to_redis(void **state)
{
    if (!redis_runs()) {
        skip();
    }
    roundtrip(*state, "redis", "unix");
}

/* The migration itself: sqlite -> redis -> sqlite, the first and last dumps line for line
 * in the same order (the sqlite dump's order depends on the records only). */
static void test_sqlite_redis_sqlite(void **state)
{
    fx_t *fx = *state;
    acmpca_store_t *a, *r, *b;
    apr_array_header_t *la, *lb;
    int i;

    if (!redis_runs()) {
        skip();
    }
    a = store_new(fx, "sqlite");
    r = store_new(fx, "redis");
    b = store_new(fx, "sqlite");
    fill(a, fx->p);
    la = dump_lines(a, fx->p);
    load_lines(r, la, fx->p);
    load_lines(b, dump_lines(r, fx->p), fx->p);
    lb = dump_lines(b, fx->p);
    assert_int_equal(la->nelts, lb->nelts);
    for (i = 0; i < la->nelts; ++i) {
        assert_string_equal(APR_ARRAY_IDX(la, i, const char *), APR_ARRAY_IDX(lb, i, const char *));
    }
    assert_serves(r, fx->p);
}

static void stop_and_orphans(fx_t *fx, const char *kind)
{
    acmpca_store_t *s = store_new(fx, kind);
    lines_t l = {apr_array_make(fx->p, 4, sizeof(const char *)), fx->p, 2};
    acmpca_dump_rec_t rec;
    const char *err;
    const char *orphan = "{\"t\":\"cert\",\"ca_id\":\"nope\",\"serial\":\"01\",\"pem\":\"x\","
                         "\"not_before\":0,\"not_after\":0,\"issued_at\":0,\"revoked_at\":0}";

    fill(s, fx->p);
    /* The callback's non-zero answer ends the dump and is returned as is. */
    assert_int_equal(s->provider->dump(s, collect, &l, fx->p), 42);
    assert_int_equal(l.lines->nelts, 2);
    /* A certificate of no CA is refused, as the served cert_put refuses it. */
    assert_int_equal(acmpca_dump_from_json(&rec, orphan, strlen(orphan), &err, fx->p), APR_SUCCESS);
    assert_int_equal(s->provider->load(s, &rec, 1, fx->p), APR_NOTFOUND);
}

static void test_stop_and_orphans_sqlite(void **state)
{
    stop_and_orphans(*state, "sqlite");
}

static void test_stop_and_orphans_redis(void **state)
{
    if (!redis_runs()) {
        skip();
    }
    stop_and_orphans(*state, "redis");
}

/* A dump never makes the file it was asked to read. */
static void test_sqlite_missing(void **state)
{
    fx_t *fx = *state;
    const char *path = apr_pstrcat(fx->p, fx->tmpdir, "/none/acmpca.db", NULL);
    lines_t l = {apr_array_make(fx->p, 4, sizeof(const char *)), fx->p, 0};
    apr_finfo_t fi;
    acmpca_store_t *s;

    assert_null(acmpca_store_create(&s, apr_pstrcat(fx->p, "sqlite:", path, NULL), fx->p));
    assert_true(APR_STATUS_IS_ENOENT(s->provider->dump(s, collect, &l, fx->p)));
    assert_true(APR_STATUS_IS_ENOENT(apr_stat(&fi, path, APR_FINFO_TYPE, fx->p)));
}

#define DUMP_TEST(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_json_roundtrip),          DUMP_TEST(test_sqlite_to_sqlite),
        DUMP_TEST(test_redis_to_redis),          DUMP_TEST(test_sqlite_redis_sqlite),
        DUMP_TEST(test_stop_and_orphans_sqlite), DUMP_TEST(test_stop_and_orphans_redis),
        DUMP_TEST(test_sqlite_missing),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("store dump and load", tests, unit_group_setup,
                                       unit_group_teardown);
}
