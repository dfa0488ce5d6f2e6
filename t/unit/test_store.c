/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Store contract tests, written against the provider interface and run once per backend
 * (the table below), each test on a fresh, empty store. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include "acmpca/err.h"
#include "acmpca/log.h"
#include "acmpca/store.h"
#include "../../src/store/sqlite_int.h"

/**************************************************************************************
 * Backends and the fixture
 */

/* A backend gives the spec of a fresh, empty store. It runs when env (the variable
 * scripts/redis-server.sh exports for its private server) is set, or always when NULL. */
typedef struct backend_t {
    const char *name;
    const char *env;
    const char *(*spec)(const char *tmpdir, apr_pool_t *p);
} backend_t;

static const char *sqlite_spec(const char *tmpdir, apr_pool_t *p)
{
    /* A directory that open() must create. */
    return apr_psprintf(p, "sqlite:%s/data/acmpca.db", tmpdir);
}

/* A direct connection to the test server, bypassing the provider: "redis://host:port/db"
 * (no password) or "unix:/path". */
static redisContext *redis_direct(const char *spec)
{
    struct timeval tv = {5, 0};
    char host[128];
    int port = 0, db = 0;
    redisContext *ctx;
    redisReply *r;

    if (!strncmp(spec, "unix:", 5)) {
        char path[256];
        snprintf(path, sizeof(path), "%s", spec + 5);
        path[strcspn(path, "?")] = '\0';
        ctx = redisConnectUnixWithTimeout(path, tv);
    }
    else {
        if (sscanf(spec, "redis://%127[^:]:%d/%d", host, &port, &db) < 2) {
            fail_msg("cannot parse %s", spec);
        }
        ctx = redisConnectWithTimeout(host, port, tv);
    }
    if (!ctx || ctx->err) {
        fail_msg("cannot connect to %s: %s", spec, ctx ? ctx->errstr : "out of memory");
    }
    r = redisCommand(ctx, "SELECT %d", db);
    assert_non_null(r);
    freeReplyObject(r);
    return ctx;
}

/* One command on the test server; the reply's integer (or 0). */
static long long redis_do(const char *spec, const char *fmt, ...)
{
    redisContext *ctx = redis_direct(spec);
    redisReply *r;
    long long v;
    va_list ap;

    va_start(ap, fmt);
    r = redisvCommand(ctx, fmt, ap);
    va_end(ap);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fail_msg("redis %s: %s", fmt, r ? r->str : ctx->errstr);
    }
    v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    redisFree(ctx);
    return v;
}

static const char *redis_spec_env(const char *name)
{
    const char *spec = getenv(name);

    redis_do(spec, "FLUSHDB");
    return spec;
}

static const char *redis_spec(const char *tmpdir, apr_pool_t *p)
{
    (void)tmpdir;
    (void)p;
    return redis_spec_env("ACMPCA_TEST_REDIS");
}

static const char *redis_unix_spec(const char *tmpdir, apr_pool_t *p)
{
    (void)tmpdir;
    (void)p;
    return redis_spec_env("ACMPCA_TEST_REDIS_UNIX");
}

/* The master's "redis://127.0.0.1:<port>/0" now, as the first sentinel of a
 * "redis-sentinel://127.0.0.1:<port>,.../acmpca/0" spec (scripts/redis-sentinel.sh) says. */
static const char *sentinel_master(const char *spec, apr_pool_t *p)
{
    struct timeval tv = {5, 0};
    redisContext *ctx;
    redisReply *r;
    const char *master;
    int port;

    if (sscanf(spec, "redis-sentinel://127.0.0.1:%d", &port) != 1) {
        fail_msg("cannot parse %s", spec);
    }
    ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
    assert_true(ctx && !ctx->err);
    r = redisCommand(ctx, "SENTINEL get-master-addr-by-name acmpca");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    master = apr_psprintf(p, "redis://%s:%s/0", r->element[0]->str, r->element[1]->str);
    freeReplyObject(r);
    redisFree(ctx);
    return master;
}

static const char *sentinel_spec(const char *tmpdir, apr_pool_t *p)
{
    const char *spec = getenv("ACMPCA_TEST_SENTINEL");

    (void)tmpdir;
    redis_do(sentinel_master(spec, p), "FLUSHDB");
    return spec;
}

static const backend_t backends[] = {
    {"sqlite", NULL, sqlite_spec},
    {"redis", "ACMPCA_TEST_REDIS", redis_spec},
    {"redis (unix socket)", "ACMPCA_TEST_REDIS_UNIX", redis_unix_spec},
    {"redis (sentinel)", "ACMPCA_TEST_SENTINEL", sentinel_spec},
};

#define BE_REDIS    (&backends[1])
#define BE_SENTINEL (&backends[3])

static int backend_runs(const backend_t *be)
{
    const char *v = be->env ? getenv(be->env) : "always";

    return be->spec && v && *v;
}

typedef struct fx_t {
    const backend_t *be;
    apr_pool_t *p;  /* the test's pool */
    apr_pool_t *sp; /* the store's pool: destroying it closes the store */
    const char *tmpdir;
    const char *spec;
    acmpca_store_t *s;
    const acmpca_store_provider_t *api;
} fx_t;

static void log_stderr(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                       apr_pool_t *p, const char *msg, void *baton)
{
    char buf[256];

    (void)p;
    (void)baton;
    fprintf(stderr, "[%d] %s:%d: %s (%s)\n", level, file, line, msg,
            apr_strerror(rv, buf, sizeof(buf)));
}

static void fx_open(fx_t *fx)
{
    const char *err;

    assert_int_equal(apr_pool_create(&fx->sp, fx->p), APR_SUCCESS);
    err = acmpca_store_create(&fx->s, fx->spec, fx->sp);
    if (err) {
        fail_msg("%s: %s", fx->spec, err);
    }
    fx->api = fx->s->provider;
    assert_int_equal(fx->api->open(fx->s, -1, -1, fx->sp), APR_SUCCESS);
}

/* Close every connection and open the store again from its spec. */
static void fx_reopen(fx_t *fx)
{
    apr_pool_destroy(fx->sp);
    fx_open(fx);
}

static int fx_setup(void **state)
{
    const backend_t *be = *state;
    apr_pool_t *p;
    fx_t *fx;
    char *tmpdir;
    const char *base;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    fx = apr_pcalloc(p, sizeof(*fx));
    fx->be = be;
    fx->p = p;
    if (apr_temp_dir_get(&base, p) != APR_SUCCESS) {
        return -1;
    }
    tmpdir = apr_pstrcat(p, base, "/test_store.XXXXXX", NULL);
    if (!mkdtemp(tmpdir)) {
        return -1;
    }
    fx->tmpdir = tmpdir;
    fx->spec = be->spec(tmpdir, p);
    fx_open(fx);
    *state = fx;
    return 0;
}

static void rm_tree(const char *path, apr_pool_t *p)
{
    apr_dir_t *dir;
    apr_finfo_t fi;

    if (apr_dir_open(&dir, path, p) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) == APR_SUCCESS) {
            const char *child = apr_pstrcat(p, path, "/", fi.name, NULL);
            if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
                continue;
            }
            if (fi.filetype == APR_DIR) {
                rm_tree(child, p);
            }
            else {
                apr_file_remove(child, p);
            }
        }
        apr_dir_close(dir);
    }
    apr_dir_remove(path, p);
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;

    apr_pool_destroy(fx->sp);
    rm_tree(fx->tmpdir, fx->p);
    apr_pool_destroy(fx->p);
    return 0;
}

/* Helpers that build records with stable test values. */

static void ca_make(fx_t *fx, acmpca_ca_rec_t *rec, const char *id, const char *account)
{
    apr_status_t rv;

    memset(rec, 0, sizeof(*rec));
    rec->id = id;
    rec->account = account;
    rec->doc = apr_psprintf(fx->p, "{\"id\":\"%s\"}", id);
    rv = fx->api->ca_create(fx->s, rec, (const unsigned char *)"k", 1, NULL, NULL, fx->p);
    assert_int_equal(rv, APR_SUCCESS);
}

static acmpca_cert_rec_t cert_rec(const char *ca_id, const char *serial)
{
    acmpca_cert_rec_t rec;

    memset(&rec, 0, sizeof(rec));
    rec.ca_id = ca_id;
    rec.serial = serial;
    rec.pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    rec.subject = "CN=leaf,O=Example";
    rec.template_arn = "arn:aws:acm-pca:::template/EndEntityCertificate/V1";
    rec.not_before = APR_TIME_C(1700000000) * APR_USEC_PER_SEC;
    rec.not_after = APR_TIME_C(1800000000) * APR_USEC_PER_SEC;
    rec.issued_at = APR_TIME_C(1700000001) * APR_USEC_PER_SEC;
    rec.requested_by = "arn:aws:iam::123456789012:user/alice";
    return rec;
}

/**************************************************************************************
 * Registry
 */

static void test_registry(void **state)
{
    apr_pool_t *p = *state;
    acmpca_store_t *s;
    const char *err;

    assert_ptr_equal(acmpca_store_providers[0], &acmpca_store_sqlite);
    err = acmpca_store_create(&s, "nosuch:x", p);
    assert_non_null(err);
    assert_null(s);
    assert_non_null(strstr(err, "'nosuch'"));
    assert_non_null(strstr(err, "sqlite"));
    assert_non_null(strstr(err, "redis"));
    assert_non_null(acmpca_store_create(&s, "", p));
    assert_non_null(acmpca_store_create(&s, "sqlite", p));
    assert_non_null(acmpca_store_create(&s, "sqlite:", p));
    assert_non_null(acmpca_store_create(&s, "sqlite:relative/acmpca.db", p));
    assert_non_null(acmpca_store_create(&s, "sqlite:/var/lib/acmpca/", p));
    /* Only the first ':' separates: the rest belongs to the provider. */
    assert_null(acmpca_store_create(&s, "sqlite:/tmp/a:b.db", p));
    assert_ptr_equal(s->provider, &acmpca_store_sqlite);
    assert_string_equal(s->args, "/tmp/a:b.db");
}

/**************************************************************************************
 * Certificate authorities
 */

static void test_ca_create_get(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, dup, *got;
    apr_status_t rv;

    ca_make(fx, &rec, "11111111-1111-1111-1111-111111111111", "123456789012");
    assert_true(rec.seq > 0);
    assert_int_equal(rec.version, 1);

    assert_int_equal(fx->api->ca_get(fx->s, rec.id, &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->id, rec.id);
    assert_string_equal(got->account, "123456789012");
    assert_string_equal(got->doc, rec.doc);
    assert_int_equal(got->seq, rec.seq);
    assert_int_equal(got->version, 1);

    rv = fx->api->ca_get(fx->s, "22222222-2222-2222-2222-222222222222", &got, fx->p);
    assert_int_equal(rv, APR_NOTFOUND);
    assert_null(got);

    /* The id is unique. */
    dup = rec;
    rv = fx->api->ca_create(fx->s, &dup, NULL, 0, NULL, NULL, fx->p);
    assert_int_equal(rv, APR_EEXIST);
}

/* ca_version: the version ca_get reads, without the document, and what another process
 * wrote is seen by the very next call (the CRL and OCSP caches rely on it). */
static void test_ca_version(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, *got;
    apr_proc_t proc;
    apr_exit_why_e why;
    apr_int64_t v = -1;
    apr_status_t rv;
    int code;

    ca_make(fx, &rec, "ca-v", "111111111111");
    assert_int_equal(fx->api->ca_version(fx->s, "ca-v", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 1);
    rec.doc = "{\"v\":2}";
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_version(fx->s, "ca-v", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 2);

    /* Another process writes: this one's next read has it (no cache in between). */
    rv = apr_proc_fork(&proc, fx->p);
    if (rv == APR_INCHILD) {
        acmpca_ca_rec_t *cur;
        apr_pool_t *pchild;
        if (apr_pool_create(&pchild, NULL) != APR_SUCCESS
            || fx->api->ca_get(fx->s, "ca-v", &cur, pchild) != APR_SUCCESS) {
            _exit(1);
        }
        cur->doc = "{\"v\":3}";
        _exit(fx->api->ca_update(fx->s, cur, pchild) == APR_SUCCESS ? 0 : 2);
    }
    assert_int_equal(rv, APR_INPARENT);
    assert_int_equal(apr_proc_wait(&proc, &code, &why, APR_WAIT), APR_CHILD_DONE);
    assert_int_equal(why, APR_PROC_EXIT);
    assert_int_equal(code, 0);
    assert_int_equal(fx->api->ca_version(fx->s, "ca-v", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 3);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-v", &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->version, v);

    v = -1;
    assert_int_equal(fx->api->ca_version(fx->s, "no-such-ca", &v, fx->p), APR_NOTFOUND);
    assert_int_equal(v, 0);
    assert_int_equal(fx->api->ca_purge(fx->s, "ca-v", fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_version(fx->s, "ca-v", &v, fx->p), APR_NOTFOUND);
}

static void test_ca_update_conflict(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, stale, gone, *got;

    ca_make(fx, &rec, "ca-1", "111111111111");
    stale = rec;

    rec.doc = "{\"v\":2}";
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), APR_SUCCESS);
    assert_int_equal(rec.version, 2);

    /* A writer that read version 1 lost the race. */
    stale.doc = "{\"lost\":true}";
    assert_int_equal(fx->api->ca_update(fx->s, &stale, fx->p), ACMPCA_ECONFLICT);
    assert_int_equal(stale.version, 1);

    assert_int_equal(fx->api->ca_get(fx->s, "ca-1", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->doc, "{\"v\":2}");
    assert_int_equal(got->version, 2);

    gone = rec;
    gone.id = "no-such-ca";
    assert_int_equal(fx->api->ca_update(fx->s, &gone, fx->p), APR_NOTFOUND);
}

static void assert_ids(apr_array_header_t *recs, const char *const *ids, int n)
{
    int i;

    assert_int_equal(recs->nelts, n);
    for (i = 0; i < n; ++i) {
        acmpca_ca_rec_t *rec = APR_ARRAY_IDX(recs, i, acmpca_ca_rec_t *);
        assert_string_equal(rec->id, ids[i]);
        if (i > 0) {
            assert_true(rec->seq > APR_ARRAY_IDX(recs, i - 1, acmpca_ca_rec_t *)->seq);
        }
    }
}

static apr_int64_t last_seq(apr_array_header_t *recs)
{
    return APR_ARRAY_IDX(recs, recs->nelts - 1, acmpca_ca_rec_t *)->seq;
}

static void test_ca_list_paging(void **state)
{
    static const char *const all[] = {"a1", "b1", "a2", "a3", "b2"};
    static const char *const a_page1[] = {"a1", "a2"}, *const a_page2[] = {"a3"};
    static const char *const b_all[] = {"b1", "b2"};
    fx_t *fx = *state;
    acmpca_ca_rec_t rec;
    apr_array_header_t *recs;
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); ++i) {
        ca_make(fx, &rec, all[i], all[i][0] == 'a' ? "111111111111" : "222222222222");
    }
    assert_int_equal(fx->api->ca_list(fx->s, NULL, 0, 0, &recs, fx->p), APR_SUCCESS);
    assert_ids(recs, all, 5);

    /* Pages of two for account A, as ListCertificateAuthorities with MaxResults=2. */
    assert_int_equal(fx->api->ca_list(fx->s, "111111111111", 0, 2, &recs, fx->p), APR_SUCCESS);
    assert_ids(recs, a_page1, 2);
    assert_int_equal(fx->api->ca_list(fx->s, "111111111111", last_seq(recs), 2, &recs, fx->p),
                     APR_SUCCESS);
    assert_ids(recs, a_page2, 1);
    assert_int_equal(fx->api->ca_list(fx->s, "111111111111", last_seq(recs), 2, &recs, fx->p),
                     APR_SUCCESS);
    assert_int_equal(recs->nelts, 0);

    assert_int_equal(fx->api->ca_list(fx->s, "222222222222", 0, 10, &recs, fx->p), APR_SUCCESS);
    assert_ids(recs, b_all, 2);
    assert_int_equal(fx->api->ca_list(fx->s, "333333333333", 0, 10, &recs, fx->p), APR_SUCCESS);
    assert_int_equal(recs->nelts, 0);
}

static void test_ca_count(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec;
    apr_int64_t n = -1;

    assert_int_equal(fx->api->ca_count(fx->s, NULL, &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, 0);
    ca_make(fx, &rec, "a1", "111111111111");
    ca_make(fx, &rec, "a2", "111111111111");
    ca_make(fx, &rec, "b1", "222222222222");
    assert_int_equal(fx->api->ca_count(fx->s, "111111111111", &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(fx->api->ca_count(fx->s, "222222222222", &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(fx->api->ca_count(fx->s, NULL, &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_int_equal(fx->api->ca_count(fx->s, "333333333333", &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, 0);
}

static void test_ca_key_get(void **state)
{
    /* Wrapped keys are binary: NULs and high bytes must come back unchanged. */
    static const unsigned char wrapped[] = {0x00, 0x01, 0xff, 0x00, 0x7f, 0x80, 0x00};
    fx_t *fx = *state;
    acmpca_ca_rec_t rec = {0};
    const unsigned char *key;
    apr_size_t len;

    rec.id = "ca-key";
    rec.account = "111111111111";
    rec.doc = "{}";
    assert_int_equal(fx->api->ca_create(fx->s, &rec, wrapped, sizeof(wrapped), NULL, NULL, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->ca_key_get(fx->s, "ca-key", &key, &len, fx->p), APR_SUCCESS);
    assert_int_equal(len, sizeof(wrapped));
    assert_memory_equal(key, wrapped, sizeof(wrapped));
    assert_int_equal(fx->api->ca_key_get(fx->s, "no-such-ca", &key, &len, fx->p), APR_NOTFOUND);
}

static void test_ca_purge(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, *got;
    acmpca_cert_rec_t cert = cert_rec("ca-p", "01");
    acmpca_cert_rec_t *gotc;
    const unsigned char *key;
    apr_size_t len;
    apr_int64_t seq;

    ca_make(fx, &rec, "ca-p", "111111111111");
    seq = rec.seq;
    assert_int_equal(fx->api->cert_put(fx->s, &cert, NULL, 0, 0, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_purge(fx->s, "ca-p", fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-p", &got, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->ca_key_get(fx->s, "ca-p", &key, &len, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->cert_get(fx->s, "ca-p", "01", &gotc, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->ca_purge(fx->s, "ca-p", fx->p), APR_NOTFOUND);

    /* A seq is never handed out twice, even after its CA is gone: a NextToken that
     * points past it must not skip the next CA. */
    ca_make(fx, &rec, "ca-q", "111111111111");
    assert_true(rec.seq > seq);
}

/**************************************************************************************
 * Idempotency
 */

static void test_idem_ca_create(void **state)
{
    fx_t *fx = *state;
    apr_time_t now = apr_time_now();
    acmpca_ca_rec_t first = {0}, second = {0}, *got;
    acmpca_idem_t idem = {0};
    const char *result;

    idem.scope = "CreateCertificateAuthority:111111111111";
    idem.token = "token-1";
    idem.expires = now + apr_time_from_sec(300);
    first.id = "ca-first";
    first.account = "111111111111";
    first.doc = "{}";
    assert_int_equal(
        fx->api->ca_create(fx->s, &first, (const unsigned char *)"k", 1, &idem, "arn:first", fx->p),
        APR_SUCCESS);

    /* A retry with the same token creates nothing and learns the first result. */
    second = first;
    second.id = "ca-second";
    assert_int_equal(fx->api->ca_create(fx->s, &second, (const unsigned char *)"k", 1, &idem,
                                        "arn:second", fx->p),
                     APR_EEXIST);
    assert_non_null(idem.existing);
    assert_string_equal(idem.existing, "arn:first");
    assert_int_equal(fx->api->ca_get(fx->s, "ca-second", &got, fx->p), APR_NOTFOUND);

    assert_int_equal(fx->api->idem_get(fx->s, idem.scope, idem.token, now, &result, fx->p),
                     APR_SUCCESS);
    assert_string_equal(result, "arn:first");
    /* After it expires, the claim is gone... */
    assert_int_equal(
        fx->api->idem_get(fx->s, idem.scope, idem.token, idem.expires + 1, &result, fx->p),
        APR_NOTFOUND);
    /* ...and another scope never saw it. */
    assert_int_equal(fx->api->idem_get(fx->s, "CreateCertificateAuthority:222222222222", idem.token,
                                       now, &result, fx->p),
                     APR_NOTFOUND);
}

static void test_idem_expired_reuse(void **state)
{
    fx_t *fx = *state;
    apr_time_t now = apr_time_now();
    acmpca_ca_rec_t first = {0}, second = {0};
    acmpca_idem_t idem = {0};
    const char *result;

    idem.scope = "CreateCertificateAuthority:111111111111";
    idem.token = "token-2";
    idem.expires = now - 1; /* already expired when the second call comes */
    first.id = "ca-old";
    first.account = "111111111111";
    first.doc = "{}";
    assert_int_equal(fx->api->ca_create(fx->s, &first, NULL, 0, &idem, "arn:old", fx->p),
                     APR_SUCCESS);

    second = first;
    second.id = "ca-new";
    idem.expires = now + apr_time_from_sec(300);
    assert_int_equal(fx->api->ca_create(fx->s, &second, NULL, 0, &idem, "arn:new", fx->p),
                     APR_SUCCESS);
    assert_null(idem.existing);
    assert_int_equal(fx->api->idem_get(fx->s, idem.scope, idem.token, now, &result, fx->p),
                     APR_SUCCESS);
    assert_string_equal(result, "arn:new");
}

static void test_idem_cert_put(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t c1 = cert_rec("ca-i", "0a"), c2 = cert_rec("ca-i", "0b"), *got;
    acmpca_idem_t idem = {0};

    ca_make(fx, &ca, "ca-i", "111111111111");
    idem.scope = "issue:ca-i";
    idem.token = "issue-token";
    idem.expires = apr_time_now() + apr_time_from_sec(60);
    assert_int_equal(fx->api->cert_put(fx->s, &c1, &idem, 0, 0, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_put(fx->s, &c2, &idem, 0, 0, fx->p), APR_EEXIST);
    assert_string_equal(idem.existing, "0a");
    assert_int_equal(fx->api->cert_get(fx->s, "ca-i", "0b", &got, fx->p), APR_NOTFOUND);
}

/* A claim on its own (IssueCertificate claims before it signs): taken once, refused
 * with the first result while it lasts, taken over once it has expired. */
static void test_idem_claim(void **state)
{
    fx_t *fx = *state;
    acmpca_idem_t idem = {0};
    const char *result;
    apr_time_t now = apr_time_now();

    idem.scope = "IssueCertificate:111111111111:ca-c";
    idem.token = "claim-token";
    idem.expires = now + apr_time_from_sec(60);
    assert_int_equal(fx->api->idem_claim(fx->s, &idem, "0c", fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->idem_claim(fx->s, &idem, "0d", fx->p), APR_EEXIST);
    assert_string_equal(idem.existing, "0c");
    assert_int_equal(fx->api->idem_get(fx->s, idem.scope, idem.token, now, &result, fx->p),
                     APR_SUCCESS);
    assert_string_equal(result, "0c");

    idem.token = "lapsed-token";
    idem.expires = now - 1;
    assert_int_equal(fx->api->idem_claim(fx->s, &idem, "0e", fx->p), APR_SUCCESS);
    idem.expires = now + apr_time_from_sec(60);
    assert_int_equal(fx->api->idem_claim(fx->s, &idem, "0f", fx->p), APR_SUCCESS);
    assert_null(idem.existing);
}

/**************************************************************************************
 * Certificates
 */

static void test_cert_put_duplicate(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t c = cert_rec("ca-d", "7f01");
    acmpca_cert_rec_t other = cert_rec("ca-e", "7f01");

    ca_make(fx, &ca, "ca-d", "111111111111");
    ca_make(fx, &ca, "ca-e", "111111111111");
    assert_int_equal(fx->api->cert_put(fx->s, &c, NULL, 0, 0, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_put(fx->s, &c, NULL, 0, 0, fx->p), APR_EEXIST);
    /* Serials are unique per CA, not across CAs. */
    assert_int_equal(fx->api->cert_put(fx->s, &other, NULL, 0, 0, fx->p), APR_SUCCESS);
    /* No such CA: APR_NOTFOUND (sqlite's foreign key, the script's check). */
    other = cert_rec("ca-none", "7f01");
    assert_int_equal(fx->api->cert_put(fx->s, &other, NULL, 0, 0, fx->p), APR_NOTFOUND);
}

/* cert_put's limit counts the CA's certificates, revoked ones too, in the write itself:
 * a refused put stores nothing, and other CAs are not counted. */
static void test_cert_put_limit(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t c1 = cert_rec("ca-q", "01"), c2 = cert_rec("ca-q", "02");
    acmpca_cert_rec_t c3 = cert_rec("ca-q", "03"), other = cert_rec("ca-o", "01"), *got;
    apr_int64_t n = -1;

    ca_make(fx, &ca, "ca-q", "111111111111");
    ca_make(fx, &ca, "ca-o", "111111111111");
    assert_int_equal(fx->api->cert_put(fx->s, &other, NULL, 0, 0, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_put(fx->s, &c1, NULL, 2, 0, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_revoke(fx->s, "ca-q", "01", apr_time_now(), "SUPERSEDED", fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->cert_put(fx->s, &c2, NULL, 2, 0, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_put(fx->s, &c3, NULL, 2, 0, fx->p), APR_ENOSPC);
    assert_int_equal(fx->api->cert_get(fx->s, "ca-q", "03", &got, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->cert_count(fx->s, "ca-q", ACMPCA_CERT_ITER_ALL, &n, fx->p),
                     APR_SUCCESS);
    assert_int_equal(n, 2);
    /* A higher limit, or none, lets it in. */
    assert_int_equal(fx->api->cert_put(fx->s, &c3, NULL, 3, 0, fx->p), APR_SUCCESS);
}

/* cert_put's CA version: the certificate is written only while the CA is at the version
 * its issuance was decided with; ACMPCA_ECONFLICT, and nothing written, once it moved on
 * or is gone. */
static void test_cert_put_ca_version(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t c1 = cert_rec("ca-cv", "01"), c2 = cert_rec("ca-cv", "02");
    acmpca_cert_rec_t gone = cert_rec("ca-none", "01"), *got;
    apr_int64_t v;

    ca_make(fx, &ca, "ca-cv", "111111111111");
    v = ca.version;
    assert_true(v > 0);
    assert_int_equal(fx->api->cert_put(fx->s, &c1, NULL, 0, v, fx->p), APR_SUCCESS);
    ca.doc = "{\"id\":\"ca-cv\",\"changed\":true}";
    assert_int_equal(fx->api->ca_update(fx->s, &ca, fx->p), APR_SUCCESS);
    assert_true(ca.version > v);
    assert_int_equal(fx->api->cert_put(fx->s, &c2, NULL, 0, v, fx->p), ACMPCA_ECONFLICT);
    assert_int_equal(fx->api->cert_get(fx->s, "ca-cv", "02", &got, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->cert_put(fx->s, &c2, NULL, 1, ca.version, fx->p), APR_ENOSPC);
    assert_int_equal(fx->api->cert_put(fx->s, &c2, NULL, 0, ca.version, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_put(fx->s, &gone, NULL, 0, v, fx->p), ACMPCA_ECONFLICT);
}

static void test_cert_get_revoke(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t c = cert_rec("ca-r", "01ab"), *got;
    apr_time_t when = APR_TIME_C(1750000000) * APR_USEC_PER_SEC;
    apr_int64_t n;

    ca_make(fx, &ca, "ca-r", "111111111111");
    assert_int_equal(fx->api->cert_get(fx->s, "ca-r", "01ab", &got, fx->p), APR_NOTFOUND);
    assert_null(got);
    assert_int_equal(fx->api->cert_put(fx->s, &c, NULL, 0, 0, fx->p), APR_SUCCESS);

    assert_int_equal(fx->api->cert_get(fx->s, "ca-r", "01ab", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->ca_id, "ca-r");
    assert_string_equal(got->serial, "01ab");
    assert_string_equal(got->pem, c.pem);
    assert_string_equal(got->subject, c.subject);
    assert_string_equal(got->template_arn, c.template_arn);
    assert_string_equal(got->requested_by, c.requested_by);
    assert_int_equal(got->not_before, c.not_before);
    assert_int_equal(got->not_after, c.not_after);
    assert_int_equal(got->issued_at, c.issued_at);
    assert_int_equal(got->revoked_at, 0);
    assert_null(got->revocation_reason);

    assert_int_equal(fx->api->cert_revoke(fx->s, "ca-r", "ffff", when, "KEY_COMPROMISE", fx->p),
                     APR_NOTFOUND);
    assert_int_equal(fx->api->cert_revoke(fx->s, "ca-r", "01ab", when, "KEY_COMPROMISE", fx->p),
                     APR_SUCCESS);
    /* RevokeCertificate on a revoked certificate is RequestAlreadyProcessedException. */
    assert_int_equal(fx->api->cert_revoke(fx->s, "ca-r", "01ab", when + 1, "SUPERSEDED", fx->p),
                     APR_EEXIST);

    assert_int_equal(fx->api->cert_get(fx->s, "ca-r", "01ab", &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->revoked_at, when);
    assert_string_equal(got->revocation_reason, "KEY_COMPROMISE");

    assert_int_equal(fx->api->cert_count(fx->s, "ca-r", ACMPCA_CERT_ITER_ALL, &n, fx->p),
                     APR_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(fx->api->cert_count(fx->s, "ca-r", ACMPCA_CERT_ITER_REVOKED, &n, fx->p),
                     APR_SUCCESS);
    assert_int_equal(n, 1);
}

typedef struct collect_t {
    apr_pool_t *p;
    apr_array_header_t *serials;
    int stop_after; /* 0: never stop */
} collect_t;

static int collect(void *baton, const acmpca_cert_rec_t *rec)
{
    collect_t *c = baton;

    APR_ARRAY_PUSH(c->serials, const char *) = apr_pstrdup(c->p, rec->serial);
    return c->stop_after && c->serials->nelts >= c->stop_after ? 42 : 0;
}

/* collect, checking the columns ACMPCA_CERT_ITER_CRL promises (test_cert_iter revokes
 * "02" at 2 and "04" at 1, as UNSPECIFIED). */
static int crl_check(void *baton, const acmpca_cert_rec_t *rec)
{
    acmpca_cert_rec_t want = cert_rec("ca-it", rec->serial);

    assert_string_equal(rec->ca_id, "ca-it");
    assert_true(rec->not_after == want.not_after);
    assert_true(rec->revoked_at == (strcmp(rec->serial, "02") ? 1 : 2));
    assert_string_equal(rec->revocation_reason, "UNSPECIFIED");
    return collect(baton, rec);
}

static void assert_serials(apr_array_header_t *got, const char *const *want, int n)
{
    int i;

    assert_int_equal(got->nelts, n);
    for (i = 0; i < n; ++i) {
        assert_string_equal(APR_ARRAY_IDX(got, i, const char *), want[i]);
    }
}

/* cert_status: one certificate's revocation state and its CA's version in one read. */
static void test_cert_status(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec;
    acmpca_cert_rec_t cert = cert_rec("ca-s", "0a");
    apr_int64_t version, v;
    apr_time_t revoked_at;
    const char *reason;
    int found;

    assert_int_equal(
        fx->api->cert_status(fx->s, "ca-s", "0a", &version, &found, &revoked_at, &reason, fx->p),
        APR_NOTFOUND);
    ca_make(fx, &rec, "ca-s", "111111111111");
    assert_int_equal(
        fx->api->cert_status(fx->s, "ca-s", "0a", &version, &found, &revoked_at, &reason, fx->p),
        APR_SUCCESS);
    assert_int_equal(fx->api->ca_version(fx->s, "ca-s", &v, fx->p), APR_SUCCESS);
    assert_int_equal(version, v);
    assert_int_equal(found, 0);
    assert_int_equal(revoked_at, 0);
    assert_null(reason);

    assert_int_equal(fx->api->cert_put(fx->s, &cert, NULL, 0, 0, fx->p), APR_SUCCESS);
    assert_int_equal(
        fx->api->cert_status(fx->s, "ca-s", "0a", &version, &found, &revoked_at, &reason, fx->p),
        APR_SUCCESS);
    assert_int_equal(found, 1);
    assert_int_equal(revoked_at, 0);
    assert_null(reason);

    assert_int_equal(
        fx->api->cert_revoke(fx->s, "ca-s", "0a", 1700000000000000, "KEY_COMPROMISE", fx->p),
        APR_SUCCESS);
    rec.doc = "{\"v\":2}";
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), APR_SUCCESS);
    assert_int_equal(
        fx->api->cert_status(fx->s, "ca-s", "0a", &version, &found, &revoked_at, &reason, fx->p),
        APR_SUCCESS);
    assert_int_equal(version, rec.version);
    assert_int_equal(found, 1);
    assert_int_equal(revoked_at, 1700000000000000);
    assert_string_equal(reason, "KEY_COMPROMISE");
    /* another certificate of the same CA: absent */
    assert_int_equal(
        fx->api->cert_status(fx->s, "ca-s", "0b", &version, &found, &revoked_at, &reason, fx->p),
        APR_SUCCESS);
    assert_int_equal(found, 0);
}

static void test_cert_iter(void **state)
{
    static const char *const serials[] = {"05", "01", "04", "02", "03"};
    static const char *const all[] = {"01", "02", "03", "04", "05"};
    static const char *const revoked[] = {"02", "04"};
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    collect_t c = {fx->p, NULL, 0};
    apr_int64_t n;
    size_t i;

    ca_make(fx, &ca, "ca-it", "111111111111");
    ca_make(fx, &ca, "ca-other", "111111111111");
    for (i = 0; i < 5; ++i) {
        acmpca_cert_rec_t rec = cert_rec("ca-it", serials[i]);
        assert_int_equal(fx->api->cert_put(fx->s, &rec, NULL, 0, 0, fx->p), APR_SUCCESS);
    }
    {
        acmpca_cert_rec_t rec = cert_rec("ca-other", "09");
        assert_int_equal(fx->api->cert_put(fx->s, &rec, NULL, 0, 0, fx->p), APR_SUCCESS);
    }
    assert_int_equal(fx->api->cert_revoke(fx->s, "ca-it", "04", 1, "UNSPECIFIED", fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->cert_revoke(fx->s, "ca-it", "02", 2, "UNSPECIFIED", fx->p),
                     APR_SUCCESS);

    c.serials = apr_array_make(fx->p, 8, sizeof(const char *));
    assert_int_equal(fx->api->cert_iter(fx->s, "ca-it", ACMPCA_CERT_ITER_ALL, collect, &c, fx->p),
                     APR_SUCCESS);
    assert_serials(c.serials, all, 5);

    c.serials = apr_array_make(fx->p, 8, sizeof(const char *));
    assert_int_equal(
        fx->api->cert_iter(fx->s, "ca-it", ACMPCA_CERT_ITER_REVOKED, collect, &c, fx->p),
        APR_SUCCESS);
    assert_serials(c.serials, revoked, 2);
    assert_int_equal(fx->api->cert_count(fx->s, "ca-it", ACMPCA_CERT_ITER_REVOKED, &n, fx->p),
                     APR_SUCCESS);
    assert_int_equal(n, 2);

    /* The CRL walk: the revoked ones again, with what a CRL entry needs. */
    c.serials = apr_array_make(fx->p, 8, sizeof(const char *));
    assert_int_equal(fx->api->cert_iter(fx->s, "ca-it", ACMPCA_CERT_ITER_CRL, crl_check, &c, fx->p),
                     APR_SUCCESS);
    assert_serials(c.serials, revoked, 2);

    /* The callback's non-zero value stops the walk and comes back as is. */
    c.serials = apr_array_make(fx->p, 8, sizeof(const char *));
    c.stop_after = 2;
    assert_int_equal(fx->api->cert_iter(fx->s, "ca-it", ACMPCA_CERT_ITER_ALL, collect, &c, fx->p),
                     42);
    assert_serials(c.serials, all, 2);

    /* The store is usable after an early stop (the statement was reset). */
    c.serials = apr_array_make(fx->p, 8, sizeof(const char *));
    c.stop_after = 0;
    assert_int_equal(
        fx->api->cert_iter(fx->s, "no-such-ca", ACMPCA_CERT_ITER_ALL, collect, &c, fx->p),
        APR_SUCCESS);
    assert_int_equal(c.serials->nelts, 0);
}

/**************************************************************************************
 * Objects, reports, counters
 */

/* The CRL walk of many revocations, in whatever order they came, against the full rows
 * of ITER_REVOKED: the same entries, fields and order (the sqlite provider reads its
 * chunked CRL entry table, which revocations split as it grows). A revoked certificate
 * that came in some other way (a load: cert_put with revoked_at) is there too, before
 * and after crl_index. */
typedef struct crl_row_t {
    apr_pool_t *p;
    apr_array_header_t *rows; /* "serial revoked_at not_after reason" */
} crl_row_t;

static int crl_rows(void *baton, const acmpca_cert_rec_t *rec)
{
    crl_row_t *c = baton;

    APR_ARRAY_PUSH(c->rows, const char *) = apr_psprintf(
        c->p, "%s %" APR_TIME_T_FMT " %" APR_TIME_T_FMT " %s", rec->serial, rec->revoked_at,
        rec->not_after, rec->revocation_reason ? rec->revocation_reason : "-");
    return 0;
}

static void assert_crl_walk(fx_t *fx, const char *ca_id, int want)
{
    crl_row_t ref = {fx->p, apr_array_make(fx->p, 64, sizeof(const char *))};
    crl_row_t got = {fx->p, apr_array_make(fx->p, 64, sizeof(const char *))};
    int i;

    assert_int_equal(
        fx->api->cert_iter(fx->s, ca_id, ACMPCA_CERT_ITER_REVOKED, crl_rows, &ref, fx->p),
        APR_SUCCESS);
    assert_int_equal(fx->api->cert_iter(fx->s, ca_id, ACMPCA_CERT_ITER_CRL, crl_rows, &got, fx->p),
                     APR_SUCCESS);
    assert_int_equal(ref.rows->nelts, want);
    assert_int_equal(got.rows->nelts, want);
    for (i = 0; i < want; i++) {
        assert_string_equal(APR_ARRAY_IDX(got.rows, i, const char *),
                            APR_ARRAY_IDX(ref.rows, i, const char *));
    }
}

static void test_crl_entries_bulk(void **state)
{
    static const char *const reasons[] = {"KEY_COMPROMISE", "SUPERSEDED", "UNSPECIFIED",
                                          "A_A_COMPROMISE", NULL};
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    const char **serials;
    int i, n = 3300, revoked = 0; /* revoked: more than one batch of RD_CRL_BATCH */

    ca_make(fx, &ca, "ca-bulk", "111111111111");
    serials = apr_pcalloc(fx->p, (size_t)(n + 1) * sizeof(*serials));
    for (i = 0; i < n; i++) {
        acmpca_cert_rec_t rec;

        /* Mostly 16 octets like the module's, some short ones among them. */
        serials[i] = i % 50 == 7 ? apr_psprintf(fx->p, "%02x", (unsigned)(i % 256))
                                 : apr_psprintf(fx->p, "%02x%030x", 0x40 | (unsigned)(i % 64),
                                                (unsigned)(i * 7919u % 100003u));
        rec = cert_rec("ca-bulk", serials[i]);
        rec.not_after += apr_time_from_sec(i);
        assert_int_equal(fx->api->cert_put(fx->s, &rec, NULL, 0, 0, fx->p), APR_SUCCESS);
    }
    /* Revoked in an order unrelated to the serials'. */
    for (i = 0; i < n; i++) {
        int k = (i * 389) % n;

        if (k % 3 == 1) {
            continue;
        }
        assert_int_equal(fx->api->cert_revoke(fx->s, "ca-bulk", serials[k],
                                              apr_time_from_sec(1700000000 + k), reasons[k % 5],
                                              fx->p),
                         APR_SUCCESS);
        revoked++;
    }
    assert_crl_walk(fx, "ca-bulk", revoked);
    if (!strcmp(fx->be->name, "sqlite")) { /* ... from chunks, several of them */
        sqlite3 *db;
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_open(apr_pstrcat(fx->p, fx->tmpdir, "/data/acmpca.db", NULL), &db),
                         SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT count(*), sum(n), (SELECT crl_entries FROM"
                                            " cert_counts WHERE ca_id = 'ca-bulk') FROM crl_chunks"
                                            " WHERE ca_id = 'ca-bulk'",
                                            -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_true(sqlite3_column_int(st, 0) > 3);
        assert_int_equal(sqlite3_column_int(st, 1), revoked);
        assert_int_equal(sqlite3_column_int(st, 2), revoked);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }

    /* One revoked certificate loaded as it is. */
    {
        acmpca_cert_rec_t rec = cert_rec("ca-bulk", "7fffffffffffffffffffffffffffffff");

        rec.revoked_at = apr_time_from_sec(1750000000);
        rec.revocation_reason = "CESSATION_OF_OPERATION";
        assert_int_equal(fx->api->cert_put(fx->s, &rec, NULL, 0, 0, fx->p), APR_SUCCESS);
    }
    assert_crl_walk(fx, "ca-bulk", revoked + 1);
    if (fx->api->crl_index) {
        assert_int_equal(fx->api->crl_index(fx->s, "ca-bulk", fx->p), APR_SUCCESS);
        assert_int_equal(fx->api->crl_index(fx->s, "ca-bulk", fx->p), APR_SUCCESS);
    }
    assert_crl_walk(fx, "ca-bulk", revoked + 1);
    assert_int_equal(
        fx->api->cert_revoke(fx->s, "ca-bulk", serials[1], apr_time_from_sec(1), NULL, fx->p),
        APR_SUCCESS);
    assert_crl_walk(fx, "ca-bulk", revoked + 2);
    /* The callback's non-zero value stops the walk and comes back as is. */
    {
        collect_t c = {fx->p, apr_array_make(fx->p, 8, sizeof(const char *)), 3};

        assert_int_equal(
            fx->api->cert_iter(fx->s, "ca-bulk", ACMPCA_CERT_ITER_CRL, collect, &c, fx->p), 42);
        assert_int_equal(c.serials->nelts, 3);
    }
    /* A CA without revocations walks nothing. */
    assert_crl_walk(fx, "no-such-ca", 0);
}

static void test_objects(void **state)
{
    static const unsigned char crl1[] = {0x30, 0x82, 0x00, 0x01, 0xff};
    static const unsigned char crl2[] = {0x30, 0x03, 0x02, 0x01, 0x00, 0x42};
    fx_t *fx = *state;
    acmpca_object_t obj = {0}, *got;
    const char *etag1;

    obj.bucket = "my-crl-bucket";
    obj.key = "crl/ca-1.crl";
    obj.content_type = "application/pkix-crl";
    obj.data = crl1;
    obj.len = sizeof(crl1);
    assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
    assert_non_null(obj.etag);
    assert_int_equal(strlen(obj.etag), 34);
    assert_true(obj.etag[0] == '"' && obj.etag[33] == '"');
    assert_true(obj.modified > 0);
    etag1 = obj.etag;

    assert_int_equal(fx->api->object_get(fx->s, obj.bucket, obj.key, &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->content_type, "application/pkix-crl");
    assert_int_equal(got->len, sizeof(crl1));
    assert_memory_equal(got->data, crl1, sizeof(crl1));
    assert_string_equal(got->etag, etag1);
    assert_int_equal(got->modified, obj.modified);

    /* A put replaces; a given modified time is kept. */
    obj.data = crl2;
    obj.len = sizeof(crl2);
    obj.modified = APR_TIME_C(1700000000) * APR_USEC_PER_SEC;
    assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
    assert_string_not_equal(obj.etag, etag1);
    assert_int_equal(fx->api->object_get(fx->s, obj.bucket, obj.key, &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->len, sizeof(crl2));
    assert_memory_equal(got->data, crl2, sizeof(crl2));
    assert_int_equal(got->modified, obj.modified);
    assert_string_equal(got->etag, obj.etag);

    /* Empty objects are objects. */
    obj.key = "empty";
    obj.data = NULL;
    obj.len = 0;
    assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->object_get(fx->s, obj.bucket, "empty", &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->len, 0);
    assert_non_null(got->data);

    /* Several MiB, not a whole number of the chunks sqlite writes and reads them in. */
    {
        apr_size_t i, n = 3 * 1024 * 1024 + 12345;
        unsigned char *big = apr_palloc(fx->p, n);

        for (i = 0; i < n; i++) {
            big[i] = (unsigned char)(i * 131 + i / 4096);
        }
        obj.key = "crl/big.crl";
        obj.data = big;
        obj.len = n;
        assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
        assert_int_equal(fx->api->object_get(fx->s, obj.bucket, obj.key, &got, fx->p), APR_SUCCESS);
        assert_int_equal(got->len, n);
        assert_memory_equal(got->data, big, n);
        assert_string_equal(got->etag, obj.etag);

        /* sqlite keeps it in a file beside the database; a replacement leaves one file,
         * the new one. */
        big[0] ^= 0xff;
        assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
        assert_int_equal(fx->api->object_get(fx->s, obj.bucket, obj.key, &got, fx->p), APR_SUCCESS);
        assert_int_equal(got->len, n);
        assert_memory_equal(got->data, big, n);
        if (!strcmp(fx->be->name, "sqlite")) {
            const char *dir = apr_pstrcat(fx->p, fx->tmpdir, "/data/acmpca.db-objects", NULL);
            apr_dir_t *d;
            apr_finfo_t fi;
            int files = 0;

            assert_int_equal(apr_dir_open(&d, dir, fx->p), APR_SUCCESS);
            while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
                files += fi.filetype == APR_REG;
            }
            apr_dir_close(d);
            assert_int_equal(files, 1);

            /* Files of puts that died before their commit: the old ones go when the
             * store is opened, a recent one (a put under way) and the object's stay. */
            {
                const char *stale[] = {"dead.obj", "dead.obj.tmp"};
                struct timeval old[2] = {{1000000000, 0}, {1000000000, 0}};
                size_t k;
                FILE *f;

                for (k = 0; k < 2; k++) {
                    const char *path = apr_pstrcat(fx->p, dir, "/", stale[k], NULL);
                    assert_non_null(f = fopen(path, "w"));
                    fclose(f);
                    assert_int_equal(utimes(path, old), 0);
                }
                assert_non_null(f = fopen(apr_pstrcat(fx->p, dir, "/young.obj", NULL), "w"));
                fclose(f);
                assert_int_equal(fx->api->open(fx->s, -1, -1, fx->p), APR_SUCCESS);
                files = 0;
                assert_int_equal(apr_dir_open(&d, dir, fx->p), APR_SUCCESS);
                while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
                    files += fi.filetype == APR_REG;
                    assert_true(strncmp(fi.name, "dead", 4));
                }
                apr_dir_close(d);
                assert_int_equal(files, 2);
                assert_int_equal(fx->api->object_get(fx->s, obj.bucket, obj.key, &got, fx->p),
                                 APR_SUCCESS);
                assert_int_equal(got->len, n);
            }
        }
    }

    /* An ETag basis (a CRL's signature) is hashed instead of the bytes. */
    {
        static const unsigned char basis[] = {0x03, 0x02, 0x00, 0x2a};
        const char *etag_b;

        obj.key = "basis";
        obj.data = basis;
        obj.len = sizeof(basis);
        obj.etag_basis = NULL;
        assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
        etag_b = obj.etag;
        obj.data = crl1;
        obj.len = sizeof(crl1);
        obj.etag_basis = basis;
        obj.etag_basis_len = sizeof(basis);
        assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
        assert_string_equal(obj.etag, etag_b);
        assert_int_equal(fx->api->object_get(fx->s, obj.bucket, "basis", &got, fx->p), APR_SUCCESS);
        assert_memory_equal(got->data, crl1, sizeof(crl1));
        assert_string_equal(got->etag, etag_b);
        obj.etag_basis = NULL;
    }

    assert_int_equal(fx->api->object_get(fx->s, obj.bucket, "missing", &got, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->object_get(fx->s, "other-bucket", "crl/ca-1.crl", &got, fx->p),
                     APR_NOTFOUND);
}

static void test_reports(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    acmpca_report_rec_t r1 = {0}, r2 = {0}, *got;

    ca_make(fx, &ca, "ca-a", "111111111111");
    ca_make(fx, &ca, "ca-b", "111111111111");
    r1.ca_id = "ca-a";
    r1.id = "report-1";
    r1.status = "CREATING";
    r1.bucket = "audit-bucket";
    r1.key = "audit-report/ca-a/report-1.json";
    r1.format = "JSON";
    r1.created_at = APR_TIME_C(1700000000) * APR_USEC_PER_SEC;
    r2 = r1;
    r2.id = "report-2";
    r2.format = "CSV";
    r2.created_at = r1.created_at + 1;
    assert_int_equal(fx->api->report_put(fx->s, &r1, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->report_put(fx->s, &r2, fx->p), APR_SUCCESS);

    assert_int_equal(fx->api->report_get(fx->s, "ca-a", "report-1", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->status, "CREATING");
    assert_string_equal(got->bucket, "audit-bucket");
    assert_string_equal(got->key, r1.key);
    assert_string_equal(got->format, "JSON");
    assert_int_equal(got->created_at, r1.created_at);

    assert_int_equal(fx->api->report_latest(fx->s, "ca-a", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->id, "report-2");

    /* A put of the same id updates it (CREATING -> SUCCESS). */
    r1.status = "SUCCESS";
    assert_int_equal(fx->api->report_put(fx->s, &r1, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->report_get(fx->s, "ca-a", "report-1", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->status, "SUCCESS");
    assert_int_equal(fx->api->report_latest(fx->s, "ca-a", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->id, "report-2");

    assert_int_equal(fx->api->report_get(fx->s, "ca-a", "report-3", &got, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->report_get(fx->s, "ca-b", "report-1", &got, fx->p), APR_NOTFOUND);
    assert_int_equal(fx->api->report_latest(fx->s, "ca-b", &got, fx->p), APR_NOTFOUND);
}

static void test_counters(void **state)
{
    fx_t *fx = *state;
    apr_int64_t v;
    int i;

    for (i = 1; i <= 3; ++i) {
        assert_int_equal(fx->api->counter_next(fx->s, "crl:ca-1", &v, fx->p), APR_SUCCESS);
        assert_int_equal(v, i);
    }
    assert_int_equal(fx->api->counter_next(fx->s, "crl:ca-2", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 1);
}

/* Locks for once-per-CA work: one owner at a time, busy for others, 'wanted' reported
 * to the holder on release, renewal by the holder, expiry, locks of distinct CAs or
 * names independent. */
static void test_locks(void **state)
{
    fx_t *fx = *state;
    int wanted = -1;

    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "a", 60000, 0, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "b", 60000, 0, fx->p), APR_EBUSY);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-2", "crl", "b", 60000, 0, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "report", "b", 60000, 0, fx->p),
                     APR_SUCCESS);
    /* Renewal by the holder; release by someone else does nothing. */
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "a", 60000, 0, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->lock_release(fx->s, "ca-1", "crl", "b", &wanted, fx->p),
                     APR_NOTFOUND);
    assert_int_equal(wanted, 0);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "b", 60000, 0, fx->p), APR_EBUSY);
    assert_int_equal(fx->api->lock_release(fx->s, "ca-1", "crl", "a", &wanted, fx->p), APR_SUCCESS);
    assert_int_equal(wanted, 0);
    /* Free again; a busy acquire with want is reported to the holder, once. */
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "b", 60000, 0, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "c", 60000, 1, fx->p), APR_EBUSY);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "b", 60000, 0, fx->p),
                     APR_SUCCESS); /* a renewal keeps the mark */
    assert_int_equal(fx->api->lock_release(fx->s, "ca-1", "crl", "b", &wanted, fx->p), APR_SUCCESS);
    assert_int_equal(wanted, 1);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "c", 60000, 0, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->lock_release(fx->s, "ca-1", "crl", "c", &wanted, fx->p), APR_SUCCESS);
    assert_int_equal(wanted, 0);
    /* Expiry: a holder that never releases keeps it ttl at most. */
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-3", "crl", "dead", 200, 0, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-3", "crl", "d", 200, 0, fx->p), APR_EBUSY);
    apr_sleep(apr_time_from_msec(400));
    assert_int_equal(fx->api->lock_acquire(fx->s, "ca-3", "crl", "d", 60000, 0, fx->p),
                     APR_SUCCESS);
    assert_int_equal(fx->api->lock_release(fx->s, "ca-3", "crl", "dead", NULL, fx->p),
                     APR_NOTFOUND);
    assert_int_equal(fx->api->lock_release(fx->s, "ca-3", "crl", "d", NULL, fx->p), APR_SUCCESS);
}

/**************************************************************************************
 * Life-cycle
 */

static void test_open_twice(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, *got;

    ca_make(fx, &rec, "ca-m", "111111111111");
    /* post_config runs twice at startup and on every restart. */
    assert_int_equal(fx->api->open(fx->s, -1, -1, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->open(fx->s, -1, -1, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->attach(fx->s, fx->sp), APR_SUCCESS);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-m", &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->seq, rec.seq);
}

static void test_persist_reopen(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, *got;
    acmpca_cert_rec_t cert = cert_rec("ca-keep", "0102"), *gotc;
    apr_int64_t v;

    ca_make(fx, &rec, "ca-keep", "111111111111");
    rec.doc = "{\"status\":\"ACTIVE\"}";
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_put(fx->s, &cert, NULL, 0, 0, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->counter_next(fx->s, "crl:ca-keep", &v, fx->p), APR_SUCCESS);

    fx_reopen(fx);
    assert_int_equal(fx->api->attach(fx->s, fx->sp), APR_SUCCESS);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-keep", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->doc, "{\"status\":\"ACTIVE\"}");
    assert_int_equal(got->version, 2);
    assert_int_equal(fx->api->cert_get(fx->s, "ca-keep", "0102", &gotc, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->counter_next(fx->s, "crl:ca-keep", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 2);
}

/**************************************************************************************
 * Concurrency: worker threads of one process, as under the worker and event MPMs
 */

#define N_THREADS    8
#define N_PER_THREAD 20
#define N_INCREMENTS 10

typedef struct worker_t {
    fx_t *fx;
    apr_pool_t *p; /* the thread's own pool: APR pools are not shared between threads */
    int n;
    apr_int64_t seqs[N_PER_THREAD];
    apr_int64_t counters[N_PER_THREAD];
    int conflicts;
    /* cert_writes: per round, whether this thread won the shared serial, claim and
     * revocation, and the result a lost claim answered with */
    int put_won[N_PER_THREAD], claim_won[N_PER_THREAD], revoke_won[N_PER_THREAD];
    const char *existing[N_PER_THREAD];
} worker_t;

static void *APR_THREAD_FUNC create_many(apr_thread_t *thd, void *data)
{
    worker_t *w = data;
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; i < N_PER_THREAD && rv == APR_SUCCESS; ++i) {
        acmpca_ca_rec_t rec = {0};
        rec.id = apr_psprintf(w->p, "ca-%d-%d", w->n, i);
        rec.account = w->n % 2 ? "111111111111" : "222222222222";
        rec.doc = "{}";
        rv = w->fx->api->ca_create(w->fx->s, &rec, (const unsigned char *)"key", 3, NULL, NULL,
                                   w->p);
        w->seqs[i] = rec.seq;
        if (rv == APR_SUCCESS) {
            rv = w->fx->api->counter_next(w->fx->s, "crl:shared", &w->counters[i], w->p);
        }
    }
    apr_thread_exit(thd, rv);
    return NULL;
}

/* Read-modify-write with retry on ECONFLICT, as the ops layer does. */
static void *APR_THREAD_FUNC update_many(apr_thread_t *thd, void *data)
{
    worker_t *w = data;
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; i < N_INCREMENTS && rv == APR_SUCCESS; ++i) {
        acmpca_ca_rec_t *rec;
        do {
            rv = w->fx->api->ca_get(w->fx->s, "ca-hot", &rec, w->p);
            if (rv == APR_SUCCESS) {
                rec->doc = apr_psprintf(w->p, "{\"by\":%d,\"i\":%d}", w->n, i);
                rv = w->fx->api->ca_update(w->fx->s, rec, w->p);
                w->conflicts += rv == ACMPCA_ECONFLICT;
            }
        } while (rv == ACMPCA_ECONFLICT);
    }
    apr_thread_exit(thd, rv);
    return NULL;
}

/* Writes that race with the other threads' on shared keys, mixed with writes of its own
 * and writes that fail: under sqlite they share commits (group commit), where each must
 * still decide and fail alone. */
static apr_status_t cert_round(worker_t *w, int i)
{
    const acmpca_store_provider_t *api = w->fx->api;
    acmpca_store_t *s = w->fx->s;
    acmpca_cert_rec_t own = cert_rec("ca-w", apr_psprintf(w->p, "%02x%02x", w->n + 1, i));
    acmpca_cert_rec_t shared = cert_rec("ca-w", apr_psprintf(w->p, "ff%02x", i));
    acmpca_idem_t idem = {"issue:ca-w", apr_psprintf(w->p, "token-%d", i),
                          apr_time_now() + apr_time_from_sec(60), NULL};
    apr_time_t when = APR_TIME_C(1750000000) * APR_USEC_PER_SEC;
    apr_status_t rv;

    if ((rv = api->cert_put(s, &own, NULL, 0, 0, w->p)) != APR_SUCCESS) {
        return rv;
    }
    rv = api->cert_put(s, &shared, NULL, 0, 0, w->p);
    w->put_won[i] = rv == APR_SUCCESS;
    if (rv != APR_SUCCESS && rv != APR_EEXIST) {
        return rv;
    }
    rv = api->idem_claim(s, &idem, apr_psprintf(w->p, "thread-%d", w->n), w->p);
    w->claim_won[i] = rv == APR_SUCCESS;
    w->existing[i] = idem.existing;
    if (rv != APR_SUCCESS && rv != APR_EEXIST) {
        return rv;
    }
    if ((rv = api->cert_revoke(s, "ca-w", "0bad", when, "SUPERSEDED", w->p)) != APR_NOTFOUND) {
        return APR_EGENERAL;
    }
    rv = api->cert_revoke(s, "ca-w", shared.serial, when, "SUPERSEDED", w->p);
    w->revoke_won[i] = rv == APR_SUCCESS;
    return rv == APR_EEXIST ? APR_SUCCESS : rv;
}

static void *APR_THREAD_FUNC cert_writes(apr_thread_t *thd, void *data)
{
    worker_t *w = data;
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; i < N_PER_THREAD && rv == APR_SUCCESS; ++i) {
        rv = cert_round(w, i);
    }
    apr_thread_exit(thd, rv);
    return NULL;
}

static void run_threads(fx_t *fx, worker_t *w, apr_thread_start_t fn)
{
    apr_thread_t *threads[N_THREADS];
    apr_status_t rv;
    int i;

    for (i = 0; i < N_THREADS; ++i) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].fx = fx;
        w[i].n = i;
        /* The test's pool, not a pool of their own destroyed after the join: what the
         * calls answered (a lost claim's existing result) lives there, and the checks
         * read it after the join. */
        assert_int_equal(apr_pool_create(&w[i].p, fx->p), APR_SUCCESS);
    }
    for (i = 0; i < N_THREADS; ++i) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, fn, &w[i], fx->p), APR_SUCCESS);
    }
    for (i = 0; i < N_THREADS; ++i) {
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
        assert_int_equal(rv, APR_SUCCESS);
    }
}

static int cmp_int64(const void *a, const void *b)
{
    apr_int64_t x = *(const apr_int64_t *)a, y = *(const apr_int64_t *)b;

    return x < y ? -1 : x > y;
}

static void assert_unique(apr_int64_t *v, int n)
{
    int i;

    qsort(v, (size_t)n, sizeof(*v), cmp_int64);
    for (i = 1; i < n; ++i) {
        assert_true(v[i] > v[i - 1]);
    }
}

static void test_concurrent_writers(void **state)
{
    fx_t *fx = *state;
    worker_t w[N_THREADS];
    apr_int64_t seqs[N_THREADS * N_PER_THREAD], counters[N_THREADS * N_PER_THREAD], n;
    apr_array_header_t *recs;
    int i, j;

    run_threads(fx, w, create_many);
    for (i = 0; i < N_THREADS; ++i) {
        for (j = 0; j < N_PER_THREAD; ++j) {
            seqs[i * N_PER_THREAD + j] = w[i].seqs[j];
            counters[i * N_PER_THREAD + j] = w[i].counters[j];
        }
    }
    assert_unique(seqs, N_THREADS * N_PER_THREAD);
    assert_unique(counters, N_THREADS * N_PER_THREAD);
    assert_int_equal(counters[0], 1);
    assert_int_equal(counters[N_THREADS * N_PER_THREAD - 1], N_THREADS * N_PER_THREAD);

    assert_int_equal(fx->api->ca_count(fx->s, NULL, &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, N_THREADS * N_PER_THREAD);
    assert_int_equal(fx->api->ca_list(fx->s, NULL, 0, 0, &recs, fx->p), APR_SUCCESS);
    assert_int_equal(recs->nelts, N_THREADS * N_PER_THREAD);
    for (i = 0; i < recs->nelts; ++i) {
        assert_int_equal(APR_ARRAY_IDX(recs, i, acmpca_ca_rec_t *)->seq, seqs[i]);
    }
}

static void test_concurrent_updates(void **state)
{
    fx_t *fx = *state;
    worker_t w[N_THREADS];
    acmpca_ca_rec_t rec, *got;

    ca_make(fx, &rec, "ca-hot", "111111111111");
    run_threads(fx, w, update_many);
    /* No update was lost: every one of them bumped the version exactly once. */
    assert_int_equal(fx->api->ca_get(fx->s, "ca-hot", &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->version, 1 + N_THREADS * N_INCREMENTS);
}

static void test_concurrent_cert_writes(void **state)
{
    fx_t *fx = *state;
    worker_t w[N_THREADS];
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t *got;
    apr_int64_t n;
    int i, j, puts, claims, revokes, winner;

    ca_make(fx, &ca, "ca-w", "111111111111");
    run_threads(fx, w, cert_writes);
    for (j = 0; j < N_PER_THREAD; ++j) {
        puts = claims = revokes = 0;
        winner = -1;
        for (i = 0; i < N_THREADS; ++i) {
            puts += w[i].put_won[j];
            revokes += w[i].revoke_won[j];
            if (w[i].claim_won[j]) {
                claims++;
                winner = i;
            }
        }
        assert_int_equal(puts, 1);
        assert_int_equal(claims, 1);
        assert_int_equal(revokes, 1);
        for (i = 0; i < N_THREADS; ++i) {
            if (i != winner) {
                assert_string_equal(w[i].existing[j], apr_psprintf(fx->p, "thread-%d", winner));
            }
        }
        assert_int_equal(
            fx->api->cert_get(fx->s, "ca-w", apr_psprintf(fx->p, "ff%02x", j), &got, fx->p),
            APR_SUCCESS);
        assert_int_not_equal(got->revoked_at, 0);
    }
    /* Every thread's own certificates, the shared ones once each; counts kept right. */
    assert_int_equal(fx->api->cert_count(fx->s, "ca-w", ACMPCA_CERT_ITER_ALL, &n, fx->p),
                     APR_SUCCESS);
    assert_int_equal(n, (N_THREADS + 1) * N_PER_THREAD);
    assert_int_equal(fx->api->cert_count(fx->s, "ca-w", ACMPCA_CERT_ITER_REVOKED, &n, fx->p),
                     APR_SUCCESS);
    assert_int_equal(n, N_PER_THREAD);
}

/**************************************************************************************
 * Concurrency: child processes, as under the prefork MPM
 */

#define N_CHILDREN 4

/* In the child: write without touching the parent's connections. Child 0 attaches as
 * child_init does; the others rely on the store noticing that it runs in a new process. */
static int child_writes(fx_t *fx, int n)
{
    apr_pool_t *pchild;
    int i;

    if (apr_pool_create(&pchild, NULL) != APR_SUCCESS) {
        return 1;
    }
    if (n == 0 && fx->api->attach(fx->s, pchild) != APR_SUCCESS) {
        return 2;
    }
    for (i = 0; i < N_PER_THREAD; ++i) {
        acmpca_ca_rec_t rec = {0};
        rec.id = apr_psprintf(pchild, "ca-child-%d-%d", n, i);
        rec.account = "111111111111";
        rec.doc = "{}";
        if (fx->api->ca_create(fx->s, &rec, NULL, 0, NULL, NULL, pchild) != APR_SUCCESS) {
            return 3;
        }
    }
    apr_pool_destroy(pchild);
    return 0;
}

static void test_child_processes(void **state)
{
    fx_t *fx = *state;
    apr_proc_t procs[N_CHILDREN];
    apr_exit_why_e why;
    acmpca_ca_rec_t rec, *got;
    apr_array_header_t *recs;
    apr_int64_t n;
    int i, code;

    /* The parent has used the store (post_config may), so its connections exist. */
    ca_make(fx, &rec, "ca-parent", "111111111111");
    for (i = 0; i < N_CHILDREN; ++i) {
        apr_status_t rv = apr_proc_fork(&procs[i], fx->p);
        if (rv == APR_INCHILD) {
            _exit(child_writes(fx, i));
        }
        assert_int_equal(rv, APR_INPARENT);
    }
    for (i = 0; i < N_CHILDREN; ++i) {
        assert_int_equal(apr_proc_wait(&procs[i], &code, &why, APR_WAIT), APR_CHILD_DONE);
        assert_int_equal(why, APR_PROC_EXIT);
        assert_int_equal(code, 0);
    }
    /* The parent's connection still works and sees every child's writes. */
    assert_int_equal(fx->api->ca_get(fx->s, "ca-child-3-0", &got, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_count(fx->s, NULL, &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, 1 + N_CHILDREN * N_PER_THREAD);
    assert_int_equal(fx->api->ca_list(fx->s, NULL, 0, 0, &recs, fx->p), APR_SUCCESS);
    assert_int_equal(recs->nelts, 1 + N_CHILDREN * N_PER_THREAD);
}

/**************************************************************************************
 * sqlite only: what the file looks like
 */

static int sqlite_pragma_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    int v = -1;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        v = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

static void sqlite_exec(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_sqlite_file(void **state)
{
    fx_t *fx = *state;
    const char *path = fx->s->args;
    const char *dir = apr_pstrcat(fx->p, fx->tmpdir, "/data", NULL);
    acmpca_store_t *s2;
    acmpca_ca_rec_t *got;
    struct stat sb;
    int version;

    /* open() made the directory 0700 and the file 0600. */
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* Giving the files to the user they already belong to changes nothing. */
    assert_int_equal(fx->api->open(fx->s, (long)getuid(), (long)getgid(), fx->p), APR_SUCCESS);

    version = sqlite_pragma_int(path, "PRAGMA user_version");
    assert_true(version >= 1);
    assert_int_equal(sqlite_pragma_int(path, "SELECT journal_mode = 'wal' FROM "
                                             "pragma_journal_mode"),
                     1);
    assert_int_equal(fx->api->open(fx->s, -1, -1, fx->p), APR_SUCCESS);
    assert_int_equal(sqlite_pragma_int(path, "PRAGMA user_version"), version);

    /* A file from a newer module is refused, by open and by the workers' connections. */
    sqlite_exec(path, apr_psprintf(fx->p, "PRAGMA user_version = %d", version + 1));
    assert_null(acmpca_store_create(&s2, fx->spec, fx->p));
    assert_int_not_equal(s2->provider->open(s2, -1, -1, fx->p), APR_SUCCESS);
    assert_int_not_equal(s2->provider->ca_get(s2, "x", &got, fx->p), APR_SUCCESS);
    assert_int_not_equal(s2->provider->ca_get(s2, "x", &got, fx->p), APR_NOTFOUND);
    sqlite_exec(path, apr_psprintf(fx->p, "PRAGMA user_version = %d", version));
}

/* The memo of CA records (memo.c, sqlite_gen.c): another handle on the file, as another process
 * would be, writes; this one's next read has it. Writes of other tables (an issuance)
 * leave the memos: a change the provider did not make stays unseen through them. A
 * writer that died mid-write leaves the generation odd: reads go to the file, and see
 * even what the provider did not write. */
static void test_sqlite_memo(void **state)
{
    fx_t *fx = *state;
    const char *path = fx->s->args;
    acmpca_store_t *other;
    acmpca_ca_rec_t rec, *got, *cur;
    acmpca_cert_rec_t cert = cert_rec("ca-memo", "7f0a");
    volatile apr_uint64_t *gen;
    apr_uint64_t before;
    apr_int64_t v;
    int fd, i;

    ca_make(fx, &rec, "ca-memo", "111111111111");
    assert_null(acmpca_store_create(&other, fx->spec, fx->p));
    assert_int_equal(other->provider->open(other, -1, -1, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-memo", &got, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-memo", &got, fx->p), APR_SUCCESS); /* a hit */
    assert_int_equal(got->version, 1);
    assert_string_equal(got->doc, "{\"id\":\"ca-memo\"}");
    assert_string_equal(got->account, "111111111111");

    /* Behind the provider's back, then a certificate through it: the memo stays. */
    fd = open(apr_pstrcat(fx->p, path, "-writer", NULL), O_RDWR);
    assert_true(fd >= 0);
    assert_non_null(gen = acmpca_sqlite_gen_map(fd, fx->p));
    close(fd);
    before = *gen;
    sqlite_exec(path, "UPDATE cas SET doc = '{\"unseen\":1}' WHERE id = 'ca-memo'");
    assert_int_equal(other->provider->cert_put(other, &cert, NULL, 0, 0, fx->p), APR_SUCCESS);
    assert_int_equal(*gen, before);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-memo", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->doc, "{\"id\":\"ca-memo\"}");

    assert_int_equal(other->provider->ca_get(other, "ca-memo", &cur, fx->p), APR_SUCCESS);
    cur->doc = "{\"v\":2}";
    assert_int_equal(other->provider->ca_update(other, cur, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->ca_version(fx->s, "ca-memo", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 2);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-memo", &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->version, 2);
    assert_string_equal(got->doc, "{\"v\":2}");

    /* A writer died between its two steps: the generation stays odd. */
    acmpca_sqlite_gen_begin(gen);
    sqlite_exec(path, "UPDATE cas SET doc = '{\"v\":3}', version = 3 WHERE id = 'ca-memo'");
    assert_int_equal(fx->api->ca_get(fx->s, "ca-memo", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->doc, "{\"v\":3}");
    assert_int_equal(fx->api->ca_version(fx->s, "ca-memo", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 3);
    /* The next write through the provider makes it even again, and memos work again. */
    assert_int_equal(fx->api->ca_purge(fx->s, "ca-memo", fx->p), APR_SUCCESS);
    assert_false(*gen & 1);
    assert_int_equal(other->provider->ca_get(other, "ca-memo", &got, fx->p), APR_NOTFOUND);

    /* A store opened later on another file, perhaps at the address of one gone, with a
     * CA of the same id at the same generation: its own record, not the memo of the old. */
    for (i = 0; i < 2; i++) {
        acmpca_store_t *s;
        apr_pool_t *sp;

        assert_int_equal(apr_pool_create(&sp, fx->p), APR_SUCCESS);
        assert_null(acmpca_store_create(
            &s, apr_psprintf(sp, "sqlite:%s/data/other-%d.db", fx->tmpdir, i), sp));
        assert_int_equal(s->provider->open(s, -1, -1, sp), APR_SUCCESS);
        memset(&rec, 0, sizeof(rec));
        rec.id = "ca-same";
        rec.account = "111111111111";
        rec.doc = apr_psprintf(sp, "{\"file\":%d}", i);
        assert_int_equal(
            s->provider->ca_create(s, &rec, (const unsigned char *)"k", 1, NULL, NULL, sp),
            APR_SUCCESS);
        assert_int_equal(s->provider->ca_get(s, "ca-same", &got, sp), APR_SUCCESS);
        assert_int_equal(s->provider->ca_get(s, "ca-same", &got, sp), APR_SUCCESS);
        assert_string_equal(got->doc, apr_psprintf(sp, "{\"file\":%d}", i));
        apr_pool_destroy(sp);
    }
}

/* Every fdatasync of this process, SQLite's included (it calls libc's): the executable's
 * definition comes first. */
static int fdatasyncs;

int fdatasync(int fd)
{
    __atomic_add_fetch(&fdatasyncs, 1, __ATOMIC_RELAXED);
    return (int)syscall(SYS_fdatasync, fd);
}

static int fdatasyncs_now(void)
{
    return __atomic_load_n(&fdatasyncs, __ATOMIC_RELAXED);
}

/* Locks are coordination, not state: taking and releasing one commits without syncing
 * the WAL, and the connection syncs again for the next write (a counter), which makes
 * the lock's frames durable too. */
static void test_sqlite_unsynced_locks(void **state)
{
    fx_t *fx = *state;
    apr_int64_t v = 0;
    int before, round;

    /* The first write after the store's checkpoint restarts the WAL, which syncs its
     * header whatever the transaction. */
    assert_int_equal(fx->api->counter_next(fx->s, "unsynced", &v, fx->p), APR_SUCCESS);
    for (round = 0; round < 2; round++) {
        before = fdatasyncs_now();
        assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "a", 60000, 0, fx->p),
                         APR_SUCCESS);
        assert_int_equal(fx->api->lock_acquire(fx->s, "ca-1", "crl", "b", 60000, 1, fx->p),
                         APR_EBUSY);
        assert_int_equal(fx->api->lock_release(fx->s, "ca-1", "crl", "a", NULL, fx->p),
                         APR_SUCCESS);
        assert_int_equal(fdatasyncs_now(), before);
        assert_int_equal(fx->api->counter_next(fx->s, "unsynced", &v, fx->p), APR_SUCCESS);
        assert_int_equal(v, round + 2);
        assert_int_equal(fdatasyncs_now(), before + 1);
    }
}

/* A child whose user may only read the -writer file (made by root, not given to it)
 * still takes its turn at writing: it falls back to a read-only descriptor, whose lock
 * works the same, and moves the generation through the mapping it inherited. Root only:
 * the child becomes nobody. */
/* The WAL is checkpointed by the commit leaders (checkpoint_due), not inside a COMMIT:
 * after writes of far more pages than ACMPCA_SQLITE_CHECKPOINT_PAGES it stays near that
 * size, and the rows are in the database file itself. */
static void test_sqlite_checkpoint(void **state)
{
    enum { LIMIT = ACMPCA_SQLITE_CHECKPOINT_PAGES, PUTS = 3000 };
    fx_t *fx = *state;
    const char *path = fx->s->args;
    acmpca_ca_rec_t ca;
    apr_finfo_t fi;
    apr_size_t len = (apr_size_t)LIMIT / 1000 * 4000; /* a page or more per 1,000 of LIMIT */
    char *pem = apr_palloc(fx->p, len + 1);
    int i;

    ca_make(fx, &ca, "ca-wal", "111111111111");
    memset(pem, 'P', len);
    pem[len] = '\0';
    /* 3 * LIMIT pages in all. */
    for (i = 0; i < PUTS; i++) {
        acmpca_cert_rec_t c = cert_rec("ca-wal", apr_psprintf(fx->p, "%04x", i + 1));

        c.pem = pem;
        assert_int_equal(fx->api->cert_put(fx->s, &c, NULL, 0, 0, fx->p), APR_SUCCESS);
    }
    assert_int_equal(apr_stat(&fi, apr_pstrcat(fx->p, path, "-wal", NULL), APR_FINFO_SIZE, fx->p),
                     APR_SUCCESS);
    assert_true(fi.size < (apr_off_t)LIMIT * 3 / 2 * 4096); /* without checkpoints: 3 * LIMIT */
    assert_int_equal(apr_stat(&fi, path, APR_FINFO_SIZE, fx->p), APR_SUCCESS);
    assert_true(fi.size > (apr_off_t)LIMIT * 2 * 4096);
}

static void test_sqlite_writer_read_only(void **state)
{
    fx_t *fx = *state;
    const char *path = fx->s->args, *writer = apr_pstrcat(fx->p, path, "-writer", NULL);
    const char *const owned[] = {"", "-wal", "-shm"};
    const uid_t nobody = 65534;
    acmpca_ca_rec_t ca, *got;
    apr_int64_t v = 0;
    apr_uint64_t before;
    volatile apr_uint64_t *gen;
    char *dir = apr_pstrdup(fx->p, path);
    int fd, status;
    size_t i;
    pid_t pid;

    if (geteuid() != 0) {
        skip();
    }
    ca_make(fx, &ca, "ca-ro-writer", "111111111111");
    assert_int_equal(fx->api->counter_next(fx->s, "ro-writer", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 1);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(chmod(fx->tmpdir, 0711), 0); /* mkdtemp's 0700 would stop nobody */
    assert_int_equal(chown(dir, nobody, nobody), 0);
    for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        assert_int_equal(chown(apr_pstrcat(fx->p, path, owned[i], NULL), nobody, nobody), 0);
    }
    assert_int_equal(chown(writer, 0, 0), 0);
    assert_int_equal(chmod(writer, 0644), 0);
    assert_true((fd = open(writer, O_RDWR)) >= 0);
    assert_non_null(gen = acmpca_sqlite_gen_map(fd, fx->p));
    close(fd);
    before = *gen;

    fflush(NULL);
    if ((pid = fork()) == 0) {
        apr_pool_t *cp;
        apr_status_t rv;

        if (setgid(nobody) != 0 || setuid(nobody) != 0) {
            _exit(2);
        }
        if ((fd = open(writer, O_RDWR)) >= 0 || errno != EACCES) {
            _exit(3); /* the case under test needs a -writer this user cannot write */
        }
        apr_pool_create(&cp, NULL);
        rv = fx->api->counter_next(fx->s, "ro-writer", &v, cp);
        if (rv == APR_SUCCESS && v == 2
            && (rv = fx->api->ca_get(fx->s, "ca-ro-writer", &got, cp)) == APR_SUCCESS) {
            rv = fx->api->ca_update(fx->s, got, cp);
        }
        _exit(rv == APR_SUCCESS && v == 2 ? 0 : 1);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The child's writes are in the file, and its CA write moved the generation (memos
     * are dropped): this process reads the new version. */
    assert_int_equal(fx->api->counter_next(fx->s, "ro-writer", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 3);
    assert_true(*gen >= before + 2); /* the child's CA commit, odd then even */
    assert_false(*gen & 1);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-ro-writer", &got, fx->p), APR_SUCCESS);
    assert_int_equal(got->version, 2);
}

/**************************************************************************************
 * redis only: specs, layout, batches, lost connections, timeouts, AUTH, WAIT
 */

/* Specs are checked at config time, without a connection. */
static void test_redis_specs(void **state)
{
    static const char *const good[] = {
        "redis://127.0.0.1:6379/0",
        "redis://localhost",
        "redis://h:1/15",
        "redis://:pw@h:6379",
        "redis://user:p%40ss@h:6379/2?timeout=500&wait=1&wait_timeout=100",
        "redis://user:raw@and/slash@h:6379/1",
        "redis://[::1]:6379/0",
        "redis://[::1]",
        "redis:127.0.0.1:6379",
        "redis:unix:/run/redis/redis.sock?db=3",
        "unix:/run/redis/redis.sock",
        "unix:/run/redis.sock?db=1&timeout=100&wait=2&wait_timeout=50",
    };
    static const char *const bad[] = {
        "redis:",
        "redis://",
        "redis://:6379",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:12ab",
        "redis://h/x",
        "redis://user@h",
        "redis://u:@h",
        "redis://h?foo=1",
        "redis://h?timeout",
        "redis://h?timeout=0",
        "redis://h?wait_timeout=0",
        "redis://h?wait=-1",
        "redis://h/1?db=2",
        "redis://h?db=1&db=2",
        "redis://::1:6379",
        "redis://[::1",
        "redis://[::1]x",
        "unix:relative.sock",
        "unix:",
        "redis:unix:",
        "unix:/run/redis/",
        "unix:/run/redis.sock?port=1",
        "redis://u:p%zz@h",
        "redis://u:secretpw@h:99999",
    };
    apr_pool_t *p = *state;
    acmpca_store_t *s;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
        err = acmpca_store_create(&s, good[i], p);
        if (err) {
            fail_msg("%s: %s", good[i], err);
        }
        assert_ptr_equal(s->provider, strncmp(good[i], "unix:", 5) ? &acmpca_store_redis
                                                                   : &acmpca_store_redis_unix);
        assert_true(s->provider->flags & ACMPCA_STORE_F_MULTIHOST);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        err = acmpca_store_create(&s, bad[i], p);
        if (!err) {
            fail_msg("%s was accepted", bad[i]);
        }
        assert_null(s);
        /* The error names the forms that work, and never echoes a password. */
        assert_non_null(strstr(err, "redis://[user:password@]host[:port][/db]"));
        assert_non_null(strstr(err, "unix:/path/to/socket"));
        assert_null(strstr(err, "secretpw"));
    }
}

/* Every key of a CA carries its hash tag; the claims sit with their owner. */
static void test_redis_layout(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca = {0};
    acmpca_cert_rec_t cert = cert_rec("ca-lay", "0a0b");
    acmpca_report_rec_t rep = {0};
    acmpca_idem_t idem = {0}, idem2 = {0};
    redisContext *ctx;
    redisReply *r;
    size_t i;
    int tagged = 0;

    idem.scope = "CreateCertificateAuthority:111111111111";
    idem.token = "tok:with:colons";
    idem.expires = apr_time_now() + apr_time_from_sec(60);
    ca.id = "ca-lay";
    ca.account = "111111111111";
    ca.doc = "{}";
    assert_int_equal(
        fx->api->ca_create(fx->s, &ca, (const unsigned char *)"k", 1, &idem, "arn", fx->p),
        APR_SUCCESS);
    idem2 = idem;
    idem2.scope = "IssueCertificate:ca-lay";
    assert_int_equal(fx->api->cert_put(fx->s, &cert, &idem2, 0, 0, fx->p), APR_SUCCESS);
    rep.ca_id = "ca-lay";
    rep.id = "r1";
    rep.status = "SUCCESS";
    rep.created_at = 1;
    assert_int_equal(fx->api->report_put(fx->s, &rep, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->cert_revoke(fx->s, "ca-lay", "0a0b", 5, NULL, fx->p), APR_SUCCESS);

    ctx = redis_direct(fx->spec);
    r = redisCommand(ctx, "KEYS acmpca:*");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    for (i = 0; i < r->elements; ++i) {
        const char *k = r->element[i]->str;
        if (!strncmp(k, "acmpca:{ca-lay}:", 16)) {
            tagged++;
            continue;
        }
        /* The only keys without the CA's tag: the global ones and the account's. */
        if (strcmp(k, "acmpca:seq") && strcmp(k, "acmpca:cas") && strcmp(k, "acmpca:schema")
            && strncmp(k, "acmpca:{111111111111}:", 22)) {
            fail_msg("key %s is outside the layout", k);
        }
    }
    /* ca key cert:0a0b certs revoked report:r1 reports reportseq idem */
    assert_int_equal(tagged, 9);
    freeReplyObject(r);
    r = redisCommand(ctx, "ZSCORE acmpca:{111111111111}:cas ca-lay");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(apr_atoi64(r->str), ca.seq);
    freeReplyObject(r);
    r = redisCommand(ctx, "EXISTS %s",
                     "acmpca:{111111111111}:idem:39:"
                     "CreateCertificateAuthority:111111111111:tok:with:colons");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    r = redisCommand(ctx, "PTTL %s",
                     "acmpca:{ca-lay}:idem:23:IssueCertificate:ca-lay:"
                     "tok:with:colons");
    assert_true(r->integer > 0);
    freeReplyObject(r);
    redisFree(ctx);
}

#define N_MANY 1234 /* more than two batches of iteration and of purge */

static void test_redis_many(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t ca;
    collect_t c = {fx->p, NULL, 0};
    apr_int64_t n;
    char serial[16];
    int i;

    ca_make(fx, &ca, "ca-big", "111111111111");
    for (i = 0; i < N_MANY; ++i) {
        acmpca_cert_rec_t rec;
        snprintf(serial, sizeof(serial), "%06x", (unsigned)((i * 7919) % N_MANY));
        rec = cert_rec("ca-big", apr_pstrdup(fx->p, serial));
        assert_int_equal(fx->api->cert_put(fx->s, &rec, NULL, 0, 0, fx->p), APR_SUCCESS);
        if (i % 3 == 0) {
            assert_int_equal(fx->api->cert_revoke(fx->s, "ca-big", rec.serial, 1, "X", fx->p),
                             APR_SUCCESS);
        }
    }
    c.serials = apr_array_make(fx->p, N_MANY, sizeof(const char *));
    assert_int_equal(fx->api->cert_iter(fx->s, "ca-big", ACMPCA_CERT_ITER_ALL, collect, &c, fx->p),
                     APR_SUCCESS);
    assert_int_equal(c.serials->nelts, N_MANY);
    for (i = 0; i < N_MANY; ++i) {
        snprintf(serial, sizeof(serial), "%06x", (unsigned)i);
        assert_string_equal(APR_ARRAY_IDX(c.serials, i, const char *), serial);
    }
    c.serials = apr_array_make(fx->p, N_MANY, sizeof(const char *));
    assert_int_equal(
        fx->api->cert_iter(fx->s, "ca-big", ACMPCA_CERT_ITER_REVOKED, collect, &c, fx->p),
        APR_SUCCESS);
    assert_int_equal(fx->api->cert_count(fx->s, "ca-big", ACMPCA_CERT_ITER_REVOKED, &n, fx->p),
                     APR_SUCCESS);
    assert_int_equal(c.serials->nelts, n);
    assert_int_equal(n, (N_MANY + 2) / 3);

    /* The purge goes in batches and leaves nothing of the CA behind. */
    assert_int_equal(fx->api->ca_purge(fx->s, "ca-big", fx->p), APR_SUCCESS);
    assert_int_equal(
        redis_do(fx->spec, "EVAL %s 0", "return #redis.call('KEYS', 'acmpca:{ca-big}:*')"), 0);
    assert_int_equal(fx->api->ca_count(fx->s, NULL, &n, fx->p), APR_SUCCESS);
    assert_int_equal(n, 0);
}

/* The doc of CA id as the store at s reads it now. */
static const char *doc_now(acmpca_store_t *s, const char *id, apr_pool_t *p)
{
    acmpca_ca_rec_t *got;

    return s->provider->ca_get(s, id, &got, p) == APR_SUCCESS ? got->doc : "(none)";
}

/* Read through s until the doc of CA id is want, for up to ms: 1 when it was. */
static int doc_becomes(acmpca_store_t *s, const char *id, const char *want, int ms, apr_pool_t *p)
{
    int i;

    for (i = 0; i < ms / 10; i++) {
        if (!strcmp(doc_now(s, id, p), want)) {
            return 1;
        }
        apr_sleep(apr_time_from_msec(10));
    }
    return !strcmp(doc_now(s, id, p), want);
}

/* Whether reads of CA id come from a memo, tried for up to 3 s: the doc changed behind
 * the provider's back (a raw HSET, which publishes nothing) is not seen. */
static int memo_used(fx_t *fx, const char *id)
{
    const char *key = apr_psprintf(fx->p, "acmpca:{%s}:ca", id), *before;
    int i;

    for (i = 0; i < 300; i++) {
        before = doc_now(fx->s, id, fx->p);
        redis_do(fx->spec, "HSET %s doc {\"raw\":%d}", key, i);
        if (!strcmp(doc_now(fx->s, id, fx->p), before)) {
            return 1;
        }
        apr_sleep(apr_time_from_msec(10));
    }
    return 0;
}

/* The memo of CA records on redis (memo.c, redis_watch.c). A change made behind the
 * provider's back (a raw HSET, which publishes nothing) stays unseen through a memo, which
 * tells the memo is used; another store object, as another host, writes through the
 * provider and this one's reads have it once the notice arrives; this store's own writes
 * and the conflicts it meets show in its very next read; a watch that lost its
 * subscription stops the memos; cache=off never uses one. */
static void test_redis_memo(void **state)
{
    fx_t *fx = *state;
    acmpca_store_t *other, *plain;
    acmpca_ca_rec_t rec, *cur;
    apr_int64_t v;
    int i;

    ca_make(fx, &rec, "ca-memo", "111111111111");
    assert_null(acmpca_store_create(&other, fx->spec, fx->sp));
    assert_int_equal(other->provider->open(other, -1, -1, fx->p), APR_SUCCESS);

    /* The watch starts on first use and hears within a second or so. */
    assert_true(memo_used(fx, "ca-memo"));

    /* Another host's write: seen once its notice is in. */
    assert_int_equal(other->provider->ca_get(other, "ca-memo", &cur, fx->p), APR_SUCCESS);
    cur->doc = "{\"by\":\"other\"}";
    assert_int_equal(other->provider->ca_update(other, cur, fx->p), APR_SUCCESS);
    assert_true(doc_becomes(fx->s, "ca-memo", "{\"by\":\"other\"}", 2000, fx->p));
    assert_int_equal(fx->api->ca_version(fx->s, "ca-memo", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, cur->version);

    /* Its own write: seen at once. */
    rec.doc = "{\"by\":\"self\"}";
    rec.version = cur->version;
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), APR_SUCCESS);
    assert_string_equal(doc_now(fx->s, "ca-memo", fx->p), "{\"by\":\"self\"}");

    /* A version moved behind its back: the memo still says the old one (once it is made
     * again after the notice of its own write), the update is refused, and the next read
     * asks the server. */
    assert_true(memo_used(fx, "ca-memo"));
    redis_do(fx->spec, "HSET acmpca:{ca-memo}:ca doc {\"raw\":\"v\"} version %d",
             (int)rec.version + 1);
    assert_int_equal(fx->api->ca_version(fx->s, "ca-memo", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, rec.version);
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), ACMPCA_ECONFLICT);
    assert_string_equal(doc_now(fx->s, "ca-memo", fx->p), "{\"raw\":\"v\"}");

    /* The watch's subscription killed: reads go to the server until it hears again. */
    redis_do(fx->spec, "CLIENT KILL TYPE pubsub");
    redis_do(fx->spec, "HSET acmpca:{ca-memo}:ca doc {\"raw\":\"deaf\"}");
    assert_true(doc_becomes(fx->s, "ca-memo", "{\"raw\":\"deaf\"}", 2000, fx->p));

    /* cache=off: every read asks the server. */
    assert_null(acmpca_store_create(
        &plain, apr_pstrcat(fx->p, fx->spec, strchr(fx->spec, '?') ? "&" : "?", "cache=off", NULL),
        fx->sp));
    assert_int_equal(plain->provider->open(plain, -1, -1, fx->p), APR_SUCCESS);
    for (i = 0; i < 3; i++) {
        redis_do(fx->spec, "HSET acmpca:{ca-memo}:ca doc {\"off\":%d}", i);
        assert_string_equal(doc_now(plain, "ca-memo", fx->p),
                            apr_psprintf(fx->p, "{\"off\":%d}", i));
    }

    /* Purged by the other host: gone here too. */
    assert_int_equal(other->provider->ca_purge(other, "ca-memo", fx->p), APR_SUCCESS);
    for (i = 0; i < 200 && fx->api->ca_get(fx->s, "ca-memo", &cur, fx->p) != APR_NOTFOUND; i++) {
        apr_sleep(apr_time_from_msec(10));
    }
    assert_int_equal(fx->api->ca_get(fx->s, "ca-memo", &cur, fx->p), APR_NOTFOUND);
}

/* The server closes every client connection (as on a restart or an idle timeout). A read
 * reconnects and retries by itself; a write that cannot be repeated fails once, cleanly,
 * and the next call works. */
static void test_redis_connections_killed(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, *got;
    apr_int64_t v;

    ca_make(fx, &rec, "ca-k", "111111111111");
    assert_int_equal(fx->api->counter_next(fx->s, "crl:ca-k", &v, fx->p), APR_SUCCESS);

    redis_do(fx->spec, "CLIENT KILL TYPE normal SKIPME yes");
    assert_int_equal(fx->api->ca_get(fx->s, "ca-k", &got, fx->p), APR_SUCCESS);

    redis_do(fx->spec, "CLIENT KILL TYPE normal SKIPME yes");
    assert_int_not_equal(fx->api->counter_next(fx->s, "crl:ca-k", &v, fx->p), APR_SUCCESS);
    assert_int_equal(fx->api->counter_next(fx->s, "crl:ca-k", &v, fx->p), APR_SUCCESS);
    assert_int_equal(v, 2);

    /* A write made safe to repeat by its script (ca_update) goes through at once. */
    redis_do(fx->spec, "CLIENT KILL TYPE normal SKIPME yes");
    rec.doc = "{\"after\":\"kill\"}";
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), APR_SUCCESS);
    assert_int_equal(rec.version, 2);

    /* The scripts are gone too (as after a restart): EVAL takes over. */
    redis_do(fx->spec, "SCRIPT FLUSH");
    rec.doc = "{\"after\":\"flush\"}";
    assert_int_equal(fx->api->ca_update(fx->s, &rec, fx->p), APR_SUCCESS);
    assert_int_equal(rec.version, 3);
}

static void redis_ctl(const char *what)
{
    const char *ctl = getenv("ACMPCA_TEST_REDIS_CTL"), *dir = getenv("ACMPCA_TEST_REDIS_DIR");
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "sh '%s' %s '%s'", ctl, what, dir);
    assert_int_equal(system(cmd), 0);
}

/* The server stops and comes back: calls fail cleanly and fast meanwhile, and work again
 * afterwards without reopening the store; the data is still there (AOF). */
static void test_redis_restart(void **state)
{
    fx_t *fx = *state;
    acmpca_ca_rec_t rec, *got;
    apr_int64_t v;
    apr_time_t t0;
    apr_status_t rv;
    int i;

    if (!getenv("ACMPCA_TEST_REDIS_CTL") || !getenv("ACMPCA_TEST_REDIS_DIR")) {
        skip();
    }
    ca_make(fx, &rec, "ca-rs", "111111111111");
    assert_int_equal(fx->api->counter_next(fx->s, "crl:ca-rs", &v, fx->p), APR_SUCCESS);

    redis_ctl("restart");
    assert_int_equal(fx->api->ca_get(fx->s, "ca-rs", &got, fx->p), APR_SUCCESS);

    redis_ctl("stop");
    t0 = apr_time_now();
    rv = fx->api->ca_get(fx->s, "ca-rs", &got, fx->p);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_int_not_equal(rv, APR_NOTFOUND);
    assert_int_not_equal(fx->api->counter_next(fx->s, "crl:ca-rs", &v, fx->p), APR_SUCCESS);
    assert_true(apr_time_now() - t0 < apr_time_from_sec(2));
    redis_ctl("restart");

    /* The next call may fail; a later one succeeds. */
    for (i = 0; i < 3; ++i) {
        if ((rv = fx->api->counter_next(fx->s, "crl:ca-rs", &v, fx->p)) == APR_SUCCESS) {
            break;
        }
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_int_equal(v, 2);
    assert_int_equal(fx->api->ca_get(fx->s, "ca-rs", &got, fx->p), APR_SUCCESS);
}

/* A free loopback port: bound, then closed, so connecting is refused. With listen and
 * no accept, connecting succeeds but nothing ever answers. */
static int tcp_port(int *pfd, int do_listen)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    if (do_listen) {
        assert_int_equal(listen(fd, 16), 0);
        *pfd = fd;
    }
    else {
        close(fd);
    }
    return ntohs(sa.sin_port);
}

/* A store on spec whose calls must fail within max (and not with a record answer). */
static void assert_fails_within(const char *spec, apr_interval_time_t max, apr_pool_t *p)
{
    acmpca_store_t *s;
    acmpca_ca_rec_t *got;
    apr_int64_t v;
    apr_time_t t0;
    apr_status_t rv;
    int i;

    assert_null(acmpca_store_create(&s, spec, p));
    /* post_config lets httpd start without its Redis: the workers retry. */
    assert_int_equal(s->provider->open(s, -1, -1, p), APR_SUCCESS);
    for (i = 0; i < 2; ++i) {
        t0 = apr_time_now();
        rv = s->provider->ca_get(s, "x", &got, p);
        assert_int_not_equal(rv, APR_SUCCESS);
        assert_int_not_equal(rv, APR_NOTFOUND);
        rv = s->provider->counter_next(s, "x", &v, p);
        assert_int_not_equal(rv, APR_SUCCESS);
        if (apr_time_now() - t0 > max) {
            fail_msg("%s: %" APR_TIME_T_FMT " ms", spec, apr_time_as_msec(apr_time_now() - t0));
        }
    }
}

static void test_redis_unreachable(void **state)
{
    apr_pool_t *p = *state;
    int fd = -1;

    /* Refused: at once. */
    assert_fails_within(apr_psprintf(p, "redis://127.0.0.1:%d/0?timeout=300", tcp_port(NULL, 0)),
                        apr_time_from_msec(500), p);
    /* Accepted by the kernel, never answered: the command timeout (per call: open, two
     * calls; no retry on a fresh connection). */
    assert_fails_within(apr_psprintf(p, "redis://127.0.0.1:%d/0?timeout=300", tcp_port(&fd, 1)),
                        apr_time_from_msec(2 * 300 + 500), p);
    close(fd);
    /* An address nobody answers (TEST-NET-1): the connect timeout, or unreachable. */
    assert_fails_within("redis://192.0.2.1:6379/0?timeout=300", apr_time_from_msec(2 * 300 + 500),
                        p);
}

/* Log lines, kept to check what the provider said (and what it never says). */
static char log_seen[16384];

static void log_keep(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                     apr_pool_t *p, const char *msg, void *baton)
{
    (void)file;
    (void)line;
    (void)level;
    (void)rv;
    (void)p;
    (void)baton;
    if (strlen(log_seen) + strlen(msg) + 2 < sizeof(log_seen)) {
        strcat(log_seen, msg);
        strcat(log_seen, "\n");
    }
}

static void log_restore(void)
{
    acmpca_log_set(getenv("ACMPCA_TEST_LOG") ? log_stderr : NULL, ACMPCA_LOG_DEBUG, NULL);
}

/* A store on the test server as the ACL user of userinfo ("user:password"). */
static acmpca_store_t *store_as(fx_t *fx, const char *userinfo, apr_pool_t *pool)
{
    acmpca_store_t *s;

    assert_null(acmpca_store_create(
        &s, apr_pstrcat(fx->p, "redis://", userinfo, "@", strstr(fx->spec, "://") + 3, NULL),
        pool));
    return s;
}

/* An ACL user: the right password works, a wrong one is a clear failure (at post_config
 * and in the workers), and the password is never in the log. */
static void test_redis_auth(void **state)
{
    fx_t *fx = *state;
    acmpca_store_t *s;
    acmpca_ca_rec_t rec = {0}, *got;
    apr_status_t rv;

    redis_do(fx->spec, "ACL SETUSER acmpca-test reset on >s3cr3t-pw ~acmpca:* +@all");
    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);

    s = store_as(fx, "acmpca-test:s3cr3t%2Dpw", fx->p);
    assert_int_equal(s->provider->open(s, -1, -1, fx->p), APR_SUCCESS);
    rec.id = "ca-auth";
    rec.account = "111111111111";
    rec.doc = "{}";
    assert_int_equal(s->provider->ca_create(s, &rec, NULL, 0, NULL, NULL, fx->p), APR_SUCCESS);

    s = store_as(fx, "acmpca-test:wrong-pw", fx->p);
    assert_int_not_equal(s->provider->open(s, -1, -1, fx->p), APR_SUCCESS);
    rv = s->provider->ca_get(s, "ca-auth", &got, fx->p);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_int_not_equal(rv, APR_NOTFOUND);

    /* A user that may not touch our keys: a configuration error, found at post_config. */
    redis_do(fx->spec, "ACL SETUSER acmpca-test reset on >s3cr3t-pw ~other:* +@all");
    s = store_as(fx, "acmpca-test:s3cr3t-pw", fx->p);
    assert_int_equal(s->provider->open(s, -1, -1, fx->p), APR_EACCES);
    assert_non_null(strstr(log_seen, "ACMPCA0409: redis acmpca-test@"));

    log_restore();
    redis_do(fx->spec, "ACL DELUSER acmpca-test");
    assert_non_null(strstr(log_seen, "ACMPCA0402: redis AUTH as acmpca-test on"));
    assert_null(strstr(log_seen, "wrong-pw"));
    assert_null(strstr(log_seen, "s3cr3t"));
}

/* An ACL user that may subscribe but not publish: its writes still go through (the
 * notice is published with redis.pcall), and since its watch never gets its own test
 * notice back, its reads never come from a memo, which the notices of its own writes
 * would not keep fresh. The log says so once. */
static void test_redis_memo_no_publish(void **state)
{
    fx_t *fx = *state;
    acmpca_store_t *s;
    acmpca_ca_rec_t rec = {0}, *got;
    int i;

    redis_do(fx->spec, "ACL SETUSER acmpca-test reset on >s3cr3t-pw ~acmpca:* &* +@all -publish");
    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
    s = store_as(fx, "acmpca-test:s3cr3t-pw", fx->sp);
    assert_int_equal(s->provider->open(s, -1, -1, fx->p), APR_SUCCESS);
    rec.id = "ca-nopub";
    rec.account = "111111111111";
    rec.doc = "{}";
    assert_int_equal(s->provider->ca_create(s, &rec, NULL, 0, NULL, NULL, fx->p), APR_SUCCESS);
    rec.doc = "{\"updated\":1}";
    assert_int_equal(s->provider->ca_update(s, &rec, fx->p), APR_SUCCESS);

    /* Longer than the watch takes to give up on its test notice. */
    for (i = 0; i < 150; i++) {
        assert_int_equal(s->provider->ca_get(s, "ca-nopub", &got, fx->p), APR_SUCCESS);
        redis_do(fx->spec, "HSET acmpca:{ca-nopub}:ca doc {\"raw\":%d}", i);
        assert_int_equal(s->provider->ca_get(s, "ca-nopub", &got, fx->p), APR_SUCCESS);
        assert_string_equal(got->doc, apr_psprintf(fx->p, "{\"raw\":%d}", i));
        apr_sleep(apr_time_from_msec(10));
    }
    log_restore();
    redis_do(fx->spec, "ACL DELUSER acmpca-test");
    assert_non_null(strstr(log_seen, "ACMPCA0454: redis acmpca-test@"));
}

/* wait=1 without a replica: every write fails (after wait_timeout), reads still work. */
static void test_redis_wait(void **state)
{
    fx_t *fx = *state;
    acmpca_store_t *s;
    acmpca_ca_rec_t rec = {0}, *got;
    apr_int64_t v;
    apr_time_t t0;

    assert_null(acmpca_store_create(&s, apr_pstrcat(fx->p, fx->spec, "?wait=0", NULL), fx->p));
    assert_int_equal(s->provider->counter_next(s, "w", &v, fx->p), APR_SUCCESS);

    assert_null(acmpca_store_create(
        &s, apr_pstrcat(fx->p, fx->spec, "?wait=1&wait_timeout=200", NULL), fx->p));
    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
    rec.id = "ca-w";
    rec.account = "111111111111";
    rec.doc = "{}";
    t0 = apr_time_now();
    assert_int_not_equal(s->provider->ca_create(s, &rec, NULL, 0, NULL, NULL, fx->p), APR_SUCCESS);
    assert_true(apr_time_now() - t0 >= apr_time_from_msec(150));
    assert_true(apr_time_now() - t0 < apr_time_from_msec(1500));
    assert_int_not_equal(s->provider->counter_next(s, "w", &v, fx->p), APR_SUCCESS);
    log_restore();
    assert_non_null(strstr(log_seen, "ACMPCA0406: redis ca_create"));
    /* The write is on the master all the same (documented): a retry finds it. */
    assert_int_equal(s->provider->ca_get(s, "ca-w", &got, fx->p), APR_SUCCESS);

    /* Answers made of what an earlier write left, which no replica confirms, fail too:
     * "already revoked" and an object (a CRL a failover could drop). Without wait=N they
     * are answered. */
    {
        static const unsigned char bytes[] = {0x30, 0x00};
        acmpca_cert_rec_t c = cert_rec("ca-w2", "0a0b");
        acmpca_object_t obj = {0}, *o;
        acmpca_ca_rec_t ca;

        ca_make(fx, &ca, "ca-w2", "111111111111");
        assert_int_equal(fx->api->cert_put(fx->s, &c, NULL, 0, 0, fx->p), APR_SUCCESS);
        assert_int_equal(fx->api->cert_revoke(fx->s, "ca-w2", "0a0b", 1, "SUPERSEDED", fx->p),
                         APR_SUCCESS);
        obj.bucket = "wait-bucket";
        obj.key = "crl/w.crl";
        obj.data = bytes;
        obj.len = sizeof(bytes);
        assert_int_equal(fx->api->object_put(fx->s, &obj, fx->p), APR_SUCCESS);
        assert_int_equal(fx->api->cert_revoke(fx->s, "ca-w2", "0a0b", 2, "SUPERSEDED", fx->p),
                         APR_EEXIST);
        assert_int_equal(fx->api->object_get(fx->s, "wait-bucket", "crl/w.crl", &o, fx->p),
                         APR_SUCCESS);
        acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
        assert_int_not_equal(s->provider->cert_revoke(s, "ca-w2", "0a0b", 2, "SUPERSEDED", fx->p),
                             APR_EEXIST);
        assert_int_not_equal(s->provider->object_get(s, "wait-bucket", "crl/w.crl", &o, fx->p),
                             APR_SUCCESS);
        log_restore();
    }
}

/* Blocks the server for 700 ms: a script that spins (DEBUG SLEEP is disabled by default). */
static void *APR_THREAD_FUNC redis_busy(apr_thread_t *thd, void *data)
{
    redis_do(data, "EVAL %s 0",
             "local t = redis.call('TIME') "
             "local t0 = t[1] * 1000000 + t[2] "
             "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - t0 > 700000 "
             "return 1");
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

/* A command that timed out leaves its reply on the way: the connection is closed, so
 * that the reply never answers the next command of the pool. */
static void test_redis_late_reply(void **state)
{
    fx_t *fx = *state;
    acmpca_store_t *s;
    acmpca_ca_rec_t a, b, *got;
    apr_thread_t *busy;
    apr_status_t rv;

    assert_null(acmpca_store_create(&s, apr_pstrcat(fx->p, fx->spec, "?timeout=200", NULL), fx->p));
    ca_make(fx, &a, "ca-late-a", "111111111111");
    ca_make(fx, &b, "ca-late-b", "111111111111");
    /* The pool's connection exists before the server stalls. */
    assert_int_equal(s->provider->ca_get(s, "ca-late-b", &got, fx->p), APR_SUCCESS);

    assert_int_equal(apr_thread_create(&busy, NULL, redis_busy, (void *)fx->spec, fx->p),
                     APR_SUCCESS);
    apr_sleep(apr_time_from_msec(150));
    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
    assert_int_equal(s->provider->ca_get(s, "ca-late-a", &got, fx->p), APR_TIMEUP);
    log_restore();
    assert_non_null(strstr(log_seen, "ACMPCA0404: redis ca_get"));
    assert_int_equal(apr_thread_join(&rv, busy), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(100)); /* the late replies have arrived by now */

    assert_int_equal(s->provider->ca_get(s, "ca-late-b", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->id, "ca-late-b");
    assert_int_equal(s->provider->ca_get(s, "ca-late-a", &got, fx->p), APR_SUCCESS);
    assert_string_equal(got->id, "ca-late-a");
}

/* A certificate whose reply is lost (its connection timed out while the server was busy,
 * after it had the script) is sent again on a new connection: the script finds its own
 * nonce on the certificate and answers success, not "serial taken". */
static void test_redis_lost_reply_retry(void **state)
{
    fx_t *fx = *state;
    acmpca_store_t *s;
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t first = cert_rec("ca-lost", "0c0c"), c = cert_rec("ca-lost", "0c0d"), *back;
    apr_thread_t *busy;
    apr_status_t rv;

    assert_null(acmpca_store_create(&s, apr_pstrcat(fx->p, fx->spec, "?timeout=400", NULL), fx->p));
    ca_make(fx, &ca, "ca-lost", "111111111111");
    /* The pool's connection exists and has the script before the server stalls: the
     * first attempt sends the write itself, and its loss is not a first connect. */
    assert_int_equal(s->provider->cert_put(s, &first, NULL, 0, 0, fx->p), APR_SUCCESS);

    assert_int_equal(apr_thread_create(&busy, NULL, redis_busy, (void *)fx->spec, fx->p),
                     APR_SUCCESS);
    apr_sleep(apr_time_from_msec(150));
    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
    assert_int_equal(s->provider->cert_put(s, &c, NULL, 0, 0, fx->p), APR_SUCCESS);
    log_restore();
    assert_non_null(strstr(log_seen, "ACMPCA0412: redis cert_put"));
    assert_int_equal(apr_thread_join(&rv, busy), APR_SUCCESS);
    assert_int_equal(fx->api->cert_get(fx->s, "ca-lost", "0c0d", &back, fx->p), APR_SUCCESS);
    /* A new call with the same serial is refused: the nonce is the call's own. */
    assert_int_equal(s->provider->cert_put(s, &c, NULL, 0, 0, fx->p), APR_EEXIST);
}

/**************************************************************************************
 * redis via Sentinel: specs, sentinels that cannot answer, a failover under writes
 */

static void test_sentinel_specs(void **state)
{
    static const char *const good[] = {
        "redis-sentinel://127.0.0.1:26379/mymaster",
        "redis-sentinel://h1,h2:26380,[::1]:26381/mymaster/2?wait=1&failover_wait=0",
        "redis-sentinel://user:p%40ss@h1:26379,h2/m?timeout=100&failover_wait=5000",
        "redis-sentinel:h1/m",
        "redis-sentinel://h1/m?sentinel_password=s%26cret",
        "redis-sentinel://u:p@h1/m?sentinel_user=watcher&sentinel_password=secretpw&wait=1",
    };
    static const char *const bad[] = {
        "redis-sentinel:",
        "redis-sentinel://h1",
        "redis-sentinel://h1/",
        "redis-sentinel://h1//m",
        "redis-sentinel:///m",
        "redis-sentinel://h1,/m",
        "redis-sentinel://,h1/m",
        "redis-sentinel://h1:0/m",
        "redis-sentinel://h1/m/x",
        "redis-sentinel://h1/m?failover_wait=-1",
        "redis-sentinel://h1/m?failover_wait=1&failover_wait=2",
        "redis-sentinel://::1/m",
        "redis-sentinel://u:secretpw@h1:99999/m",
        "redis://h?failover_wait=100",
        "redis://h?sentinel_password=secretpw",
        "redis-sentinel://h1/m?sentinel_user=watcher",
        "redis-sentinel://h1/m?sentinel_password=",
        "redis-sentinel://h1/m?sentinel_password=secretpw%zz",
        "redis-sentinel://h1/m?sentinel_password=a&sentinel_password=secretpw",
    };
    apr_pool_t *p = *state;
    acmpca_store_t *s;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
        err = acmpca_store_create(&s, good[i], p);
        if (err) {
            fail_msg("%s: %s", good[i], err);
        }
        assert_ptr_equal(s->provider, &acmpca_store_redis_sentinel);
        assert_true(s->provider->flags & ACMPCA_STORE_F_MULTIHOST);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        err = acmpca_store_create(&s, bad[i], p);
        if (!err) {
            fail_msg("%s was accepted", bad[i]);
        }
        assert_null(s);
        assert_non_null(strstr(err, "redis-sentinel://[user:password@]host[:port][,host"));
        assert_null(strstr(err, "secretpw"));
    }
    /* The password is redacted for the log like a redis:// one. */
    assert_string_equal(acmpca_store_redact("redis-sentinel://u:secretpw@h1,h2/m", p),
                        "redis-sentinel://***@h1,h2/m");
    /* So are the sentinels' password and a data password holding a raw '/' or '@'. */
    assert_string_equal(
        acmpca_store_redact("redis-sentinel://h1/m?wait=1&sentinel_password=secretpw"
                            "&sentinel_user=w",
                            p),
        "redis-sentinel://h1/m?wait=1&sentinel_password=***&sentinel_user=w");
    assert_string_equal(acmpca_store_redact("redis://u:se/cr@t@h:1/0?sentinel_password=x", p),
                        "redis://***@h:1/0?sentinel_password=***");
    assert_string_equal(acmpca_store_redact("redis://h:1/0?db=2", p), "redis://h:1/0?db=2");
    assert_string_equal(acmpca_store_redact("sqlite:/var/a@b/acmpca.db", p),
                        "sqlite:/var/a@b/acmpca.db");
}

/* No sentinel answers: a call fails (never as "not found") once failover_wait is spent,
 * and the log says why. */
static void test_sentinel_unreachable(void **state)
{
    apr_pool_t *p = *state;

    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
    assert_fails_within(apr_psprintf(p,
                                     "redis-sentinel://127.0.0.1:%d,127.0.0.1:%d/acmpca"
                                     "?timeout=300&failover_wait=400",
                                     tcp_port(NULL, 0), tcp_port(NULL, 0)),
                        apr_time_from_msec(2000), p);
    log_restore();
    assert_non_null(strstr(log_seen, "ACMPCA0440: redis sentinel: no sentinel of acmpca ("));
    assert_non_null(strstr(log_seen, "ACMPCA0444: redis ca_get"));
}

/* Real sentinels that watch no master of that name. */
static void test_sentinel_unknown_name(void **state)
{
    fx_t *fx = *state;
    const char *spec = apr_pstrdup(fx->p, fx->spec);
    char *name = strstr(spec, "/acmpca/");

    assert_non_null(name);
    memcpy(name, "/nosuch/", 8);
    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
    assert_fails_within(apr_pstrcat(fx->p, spec, "?timeout=500&failover_wait=200", NULL),
                        apr_time_from_msec(3000), fx->p);
    log_restore();
    assert_non_null(strstr(log_seen, "does not know a master 'nosuch'"));
}

/* Sentinels with a password of their own (requirepass): sentinel_password logs in to
 * them; without it, or with a wrong one, calls fail and the log says why, never with the
 * password. The guarded sentinel watches the set's master (redis-sentinel.sh guarded). */
static void test_sentinel_auth(void **state)
{
    fx_t *fx = *state;
    const char *ctl = getenv("ACMPCA_TEST_SENTINEL_CTL"), *dir = getenv("ACMPCA_TEST_SENTINEL_DIR");
    const char *base;
    acmpca_store_t *s;
    apr_int64_t v = 0;
    char cmd[1024], line[32] = "";
    FILE *f;

    if (!ctl || !dir) {
        skip();
    }
    snprintf(cmd, sizeof(cmd), "sh '%s' guarded '%s' 'g@rd/pw'", ctl, dir);
    assert_non_null(f = popen(cmd, "r"));
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(pclose(f), 0);
    base = apr_psprintf(fx->p, "redis-sentinel://127.0.0.1:%d/guarded/0?timeout=500", atoi(line));

    assert_null(acmpca_store_create(
        &s, apr_pstrcat(fx->p, base, "&sentinel_password=g%40rd%2Fpw", NULL), fx->p));
    assert_int_equal(s->provider->open(s, -1, -1, fx->p), APR_SUCCESS);
    assert_int_equal(s->provider->counter_next(s, "sentinel-auth", &v, fx->p), APR_SUCCESS);
    assert_true(v >= 1);

    log_seen[0] = '\0';
    acmpca_log_set(log_keep, ACMPCA_LOG_DEBUG, NULL);
    assert_fails_within(apr_pstrcat(fx->p, base, "&failover_wait=200", NULL),
                        apr_time_from_msec(3000), fx->p);
    assert_non_null(strstr(log_seen, "NOAUTH"));
    log_seen[0] = '\0';
    assert_fails_within(
        apr_pstrcat(fx->p, base, "&failover_wait=200&sentinel_password=wrong-secret", NULL),
        apr_time_from_msec(3000), fx->p);
    log_restore();
    assert_non_null(strstr(log_seen, "refused AUTH"));
    assert_null(strstr(log_seen, "wrong-secret"));

    snprintf(cmd, sizeof(cmd), "kill $(cat '%s/sentinel-guarded/run.pid')", dir);
    assert_int_equal(system(cmd), 0);
}

/* Only the sentinel's notices: a failover makes many error lines, which could fill
 * log_seen before the one we look for. */
static void log_keep_moves(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                           apr_pool_t *p, const char *msg, void *baton)
{
    if (strstr(msg, "ACMPCA0441")) {
        log_keep(file, line, level, rv, p, msg, baton);
    }
}

#define N_FAILOVER_MAX 100000

typedef struct failover_writer_t {
    acmpca_store_t *s;
    apr_pool_t *p;
    volatile int stop;
    int tried;
    int failed;
    char acked[N_FAILOVER_MAX]; /* serial i was acknowledged */
} failover_writer_t;

/* Certificates 0, 1, 2... one after the other, each tried once, as a client that gets a
 * 503 would move on; what was acknowledged is noted. */
static void *APR_THREAD_FUNC failover_write(apr_thread_t *thd, void *data)
{
    failover_writer_t *w = data;
    apr_pool_t *p;

    apr_pool_create(&p, w->p);
    while (!w->stop && w->tried < N_FAILOVER_MAX) {
        char serial[16];
        acmpca_cert_rec_t rec;

        apr_pool_clear(p);
        snprintf(serial, sizeof(serial), "%08x", (unsigned)w->tried);
        rec = cert_rec("ca-fo", serial);
        if (w->s->provider->cert_put(w->s, &rec, NULL, 0, 0, p) == APR_SUCCESS) {
            w->acked[w->tried] = 1;
        }
        else {
            w->failed++;
        }
        w->tried++;
        apr_sleep(apr_time_from_msec(5));
    }
    apr_pool_destroy(p);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

/* SENTINEL FAILOVER while a thread writes with wait=1: the store follows the new master
 * without being reopened, and every write it acknowledged is on the new master. */
static void test_sentinel_failover(void **state)
{
    fx_t *fx = *state;
    const char *ctl = getenv("ACMPCA_TEST_SENTINEL_CTL"), *dir = getenv("ACMPCA_TEST_SENTINEL_DIR");
    failover_writer_t *w = apr_pcalloc(fx->p, sizeof(*w));
    const char *before, *after;
    acmpca_ca_rec_t ca;
    acmpca_cert_rec_t *got;
    apr_thread_t *thd;
    apr_status_t trv;
    int i, acked = 0, missing = 0;
    char cmd[1024];

    if (!ctl || !dir) {
        skip();
    }
    assert_null(acmpca_store_create(
        &w->s, apr_pstrcat(fx->p, fx->spec, "?wait=1&wait_timeout=500&failover_wait=5000", NULL),
        fx->p));
    w->p = fx->p;
    ca_make(fx, &ca, "ca-fo", "111111111111");
    before = sentinel_master(fx->spec, fx->p);
    log_seen[0] = '\0';
    acmpca_log_set(log_keep_moves, ACMPCA_LOG_NOTICE, NULL);
    assert_int_equal(apr_thread_create(&thd, NULL, failover_write, w, fx->p), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(300));
    snprintf(cmd, sizeof(cmd), "sh '%s' failover '%s' >/dev/null", ctl, dir);
    assert_int_equal(system(cmd), 0);
    i = w->tried;
    while (w->tried < i + 20) { /* some writes on the new master, settled */
        apr_sleep(apr_time_from_msec(20));
    }
    w->stop = 1;
    apr_thread_join(&trv, thd);
    log_restore();

    after = sentinel_master(fx->spec, fx->p);
    assert_string_not_equal(before, after);
    for (i = 0; i < w->tried; ++i) {
        char serial[16];
        if (!w->acked[i]) {
            continue;
        }
        acked++;
        snprintf(serial, sizeof(serial), "%08x", (unsigned)i);
        if (w->s->provider->cert_get(w->s, "ca-fo", serial, &got, fx->p) != APR_SUCCESS
            || redis_do(after, "EXISTS acmpca:{ca-fo}:cert:%s", serial) != 1) {
            missing++;
        }
    }
    fprintf(stderr, "[  INFO    ] failover %s -> %s: %d writes, %d acknowledged, %d failed\n",
            before, after, w->tried, acked, w->failed);
    assert_int_equal(missing, 0);
    assert_true(acked > 20);
    /* The writes after the switch went through: the last ones were acknowledged. */
    assert_true(w->acked[w->tried - 1] || w->acked[w->tried - 2]);
    assert_non_null(strstr(log_seen, "ACMPCA0441: redis sentinel: master acmpca is now at"));
}

/**************************************************************************************
 * main: the contract tests once per backend
 */

#define STORE_TEST(f, be) cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, be)

int main(void)
{
    const struct CMUnitTest registry_tests[] = {
        UNIT_TEST(test_registry),
        UNIT_TEST(test_redis_specs),
        UNIT_TEST(test_redis_unreachable),
        UNIT_TEST(test_sentinel_specs),
        UNIT_TEST(test_sentinel_unreachable),
    };
    const struct CMUnitTest sqlite_tests[] = {
        STORE_TEST(test_sqlite_file, (void *)&backends[0]),
        STORE_TEST(test_sqlite_memo, (void *)&backends[0]),
        STORE_TEST(test_sqlite_checkpoint, (void *)&backends[0]),
        STORE_TEST(test_sqlite_unsynced_locks, (void *)&backends[0]),
        STORE_TEST(test_sqlite_writer_read_only, (void *)&backends[0]),
    };
    const struct CMUnitTest redis_tests[] = {
        STORE_TEST(test_redis_layout, (void *)BE_REDIS),
        STORE_TEST(test_redis_many, (void *)BE_REDIS),
        STORE_TEST(test_redis_connections_killed, (void *)BE_REDIS),
        STORE_TEST(test_redis_memo, (void *)BE_REDIS),
        STORE_TEST(test_redis_memo_no_publish, (void *)BE_REDIS),
        STORE_TEST(test_redis_lost_reply_retry, (void *)BE_REDIS),
        STORE_TEST(test_redis_restart, (void *)BE_REDIS),
        STORE_TEST(test_redis_auth, (void *)BE_REDIS),
        STORE_TEST(test_redis_wait, (void *)BE_REDIS),
        STORE_TEST(test_redis_late_reply, (void *)BE_REDIS),
    };
    const struct CMUnitTest sentinel_tests[] = {
        STORE_TEST(test_sentinel_unknown_name, (void *)BE_SENTINEL),
        STORE_TEST(test_sentinel_auth, (void *)BE_SENTINEL),
        STORE_TEST(test_sentinel_failover, (void *)BE_SENTINEL),
    };
    int failed = 0;
    size_t i;

    /* As httpd does: a write to a connection the server closed is an error, not a
     * signal that ends the process. */
    signal(SIGPIPE, SIG_IGN);
    log_restore();
    failed += cmocka_run_group_tests_name("store registry", registry_tests, unit_group_setup,
                                          unit_group_teardown);
    for (i = 0; i < sizeof(backends) / sizeof(backends[0]); ++i) {
        void *be = (void *)&backends[i];
        const struct CMUnitTest tests[] = {
            STORE_TEST(test_ca_create_get, be),
            STORE_TEST(test_ca_version, be),
            STORE_TEST(test_ca_update_conflict, be),
            STORE_TEST(test_ca_list_paging, be),
            STORE_TEST(test_ca_count, be),
            STORE_TEST(test_ca_key_get, be),
            STORE_TEST(test_ca_purge, be),
            STORE_TEST(test_idem_ca_create, be),
            STORE_TEST(test_idem_expired_reuse, be),
            STORE_TEST(test_idem_cert_put, be),
            STORE_TEST(test_idem_claim, be),
            STORE_TEST(test_cert_put_duplicate, be),
            STORE_TEST(test_cert_put_limit, be),
            STORE_TEST(test_cert_put_ca_version, be),
            STORE_TEST(test_cert_get_revoke, be),
            STORE_TEST(test_cert_iter, be),
            STORE_TEST(test_crl_entries_bulk, be),
            STORE_TEST(test_cert_status, be),
            STORE_TEST(test_objects, be),
            STORE_TEST(test_reports, be),
            STORE_TEST(test_counters, be),
            STORE_TEST(test_locks, be),
            STORE_TEST(test_open_twice, be),
            STORE_TEST(test_persist_reopen, be),
            STORE_TEST(test_concurrent_writers, be),
            STORE_TEST(test_concurrent_updates, be),
            STORE_TEST(test_concurrent_cert_writes, be),
            STORE_TEST(test_child_processes, be),
        };
        if (!backend_runs(&backends[i])) {
            fprintf(stderr, "[  SKIPPED ] %s: %s is not set (see scripts/redis-server.sh)\n",
                    backends[i].name, backends[i].env);
            continue;
        }
        failed += cmocka_run_group_tests_name(backends[i].name, tests, unit_group_setup,
                                              unit_group_teardown);
    }
    failed += cmocka_run_group_tests_name("sqlite file", sqlite_tests, unit_group_setup,
                                          unit_group_teardown);
    if (backend_runs(BE_REDIS)) {
        failed += cmocka_run_group_tests_name("redis only", redis_tests, unit_group_setup,
                                              unit_group_teardown);
    }
    if (backend_runs(BE_SENTINEL)) {
        failed += cmocka_run_group_tests_name("redis sentinel", sentinel_tests, unit_group_setup,
                                              unit_group_teardown);
    }
    return failed ? 1 : 0;
}
