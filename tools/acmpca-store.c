/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * acmpca-store: every record of a store out as JSON lines, in, or straight into another
 * store (the engine of scripts/store-migrate). Streams: a batch of records in memory at
 * most, whatever the size of the store.
 *
 *   acmpca-store dump SPEC                       JSON lines on stdout
 *   acmpca-store load [OPTIONS] SPEC             JSON lines from stdin
 *   acmpca-store copy [OPTIONS] SRC-SPEC DST-SPEC
 *
 * OPTIONS: --force (load into a store that holds records: records with the same key are
 * replaced), --owner USER[:GROUP] (of a sqlite destination's files; see owner_default).
 * SPEC as ACMPCAStore takes it. Counts per record type go to stderr for dump, stdout
 * otherwise; any failure exits non-zero. */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "acmpca/dump.h"
#include "acmpca/log.h"
#include "acmpca/store.h"

/* Records per load call (one sqlite transaction, one redis pipeline), and the bytes a
 * batch may hold before it is written regardless (objects can be large). */
#define BATCH_RECORDS 1000
#define BATCH_BYTES   (8 * 1024 * 1024)

static const char *progname = "acmpca-store";

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
    fprintf(stderr,
            "usage: %s dump SPEC\n"
            "       %s load [--force] [--owner USER[:GROUP]] SPEC\n"
            "       %s copy [--force] [--owner USER[:GROUP]] SRC-SPEC DST-SPEC\n"
            "SPEC as ACMPCAStore takes it: sqlite:/path/acmpca.db, redis://host:port/db, ...\n",
            progname, progname, progname);
    exit(2);
}

static void log_stderr(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                       apr_pool_t *p, const char *msg, void *baton)
{
    char buf[256];

    (void)file;
    (void)line;
    (void)level;
    (void)p;
    (void)baton;
    if (rv) {
        fprintf(stderr, "%s: %s (%s)\n", progname, msg, apr_strerror(rv, buf, sizeof(buf)));
    }
    else {
        fprintf(stderr, "%s: %s\n", progname, msg);
    }
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static const char *errtext(apr_status_t rv, apr_pool_t *p)
{
    char buf[256];

    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

/**************************************************************************************
 * Stores, owners, counts
 */

typedef struct opts_t {
    int force;
    const char *owner; /* USER[:GROUP] or NULL */
} opts_t;

static acmpca_store_t *store_make(const char *spec, apr_pool_t *p)
{
    acmpca_store_t *s;
    const char *err = acmpca_store_create(&s, spec, p);

    if (err) {
        fail("%s", err);
        return NULL;
    }
    return s;
}

static int is_sqlite(const acmpca_store_t *s)
{
    return s->provider == &acmpca_store_sqlite;
}

/* USER[:GROUP], by name or number; the group defaults to the user's. */
static int owner_parse(const char *spec, long *puid, long *pgid, apr_pool_t *p)
{
    char *user = apr_pstrdup(p, spec), *group = strchr(user, ':'), *end;
    struct passwd *pw;
    struct group *gr;

    if (group) {
        *group++ = '\0';
    }
    if ((pw = getpwnam(user)) != NULL) {
        *puid = (long)pw->pw_uid;
        *pgid = (long)pw->pw_gid;
    }
    else if (*user && (*puid = strtol(user, &end, 10)) >= 0 && !*end) {
        *pgid = -1;
    }
    else {
        return fail("--owner: no user '%s'", user);
    }
    if (group && *group) {
        if ((gr = getgrnam(group)) != NULL) {
            *pgid = (long)gr->gr_gid;
        }
        else if ((*pgid = strtol(group, &end, 10)) < 0 || *end) {
            return fail("--owner: no group '%s'", group);
        }
    }
    return 0;
}

static int owner_of(const char *path, long *puid, long *pgid)
{
    struct stat sb;

    if (stat(path, &sb) != 0) {
        return 0;
    }
    *puid = (long)sb.st_uid;
    *pgid = (long)sb.st_gid;
    return 1;
}

/* Who gets a sqlite destination's files (the provider's open() hands them over, as in
 * httpd's post_config). Only root can give files away, so others keep their own. As
 * root, without --owner: the destination file's owner when it exists, else the owner of
 * a sqlite source (the module's worker user, which httpd gave it), else the owner of the
 * destination's directory; httpd's own open() gives them to its workers at its next
 * start anyway. */
static int owner_default(const opts_t *o, const acmpca_store_t *src, const acmpca_store_t *dst,
                         long *puid, long *pgid, apr_pool_t *p)
{
    char *dir;

    *puid = *pgid = -1;
    if (!is_sqlite(dst)) {
        return o->owner ? fail("--owner is for a sqlite destination") : 0;
    }
    if (o->owner) {
        return owner_parse(o->owner, puid, pgid, p);
    }
    if (geteuid() != 0) {
        return 0;
    }
    dir = dirname(apr_pstrdup(p, dst->args));
    if (!owner_of(dst->args, puid, pgid)
        && !(src && is_sqlite(src) && owner_of(src->args, puid, pgid))) {
        owner_of(dir, puid, pgid);
    }
    return 0;
}

typedef struct counts_t {
    apr_int64_t n[ACMPCA_DUMP_NTYPES];
    apr_int64_t total;
} counts_t;

static void counts_print(FILE *out, const char *what, const counts_t *c)
{
    int t;

    fprintf(out, "%s %" APR_INT64_T_FMT " records\n", what, c->total);
    for (t = 1; t < ACMPCA_DUMP_NTYPES; ++t) {
        fprintf(out, "  %-8s %" APR_INT64_T_FMT "\n", acmpca_dump_type_name(t), c->n[t]);
    }
}

static int first_record(void *baton, const acmpca_dump_rec_t *rec)
{
    (void)baton;
    (void)rec;
    return 1;
}

/* The destination, opened as the module opens it (a sqlite file and schema are made),
 * and refused when it holds records, unless --force. */
static int dst_open(acmpca_store_t *dst, const acmpca_store_t *src, const opts_t *o, apr_pool_t *p)
{
    long uid, gid;
    apr_status_t rv;

    if (owner_default(o, src, dst, &uid, &gid, p)) {
        return 1;
    }
    if ((rv = dst->provider->open(dst, uid, gid, p)) != APR_SUCCESS) {
        return fail(
            "cannot open the destination %s: %s",
            acmpca_store_redact(apr_pstrcat(p, dst->provider->name, ":", dst->args, NULL), p),
            errtext(rv, p));
    }
    rv = dst->provider->dump(dst, first_record, NULL, p);
    if (rv == 1 && !o->force) {
        return fail("the destination holds records already; --force loads into it, replacing "
                    "records with the same key");
    }
    if (rv != 1 && rv != APR_SUCCESS) {
        return fail("cannot read the destination: %s", errtext(rv, p));
    }
    return 0;
}

/**************************************************************************************
 * Batches of records for load
 */

typedef struct batch_t {
    acmpca_store_t *dst;
    apr_pool_t *pool; /* the batch's values; cleared after each load */
    acmpca_dump_rec_t *recs;
    int n;
    apr_size_t bytes;
    apr_status_t rv;
    counts_t counts;
} batch_t;

static apr_status_t batch_flush(batch_t *b)
{
    if (b->n && b->rv == APR_SUCCESS) {
        b->rv = b->dst->provider->load(b->dst, b->recs, b->n, b->pool);
    }
    b->n = 0;
    b->bytes = 0;
    apr_pool_clear(b->pool);
    return b->rv;
}

static apr_size_t rec_bytes(const acmpca_dump_rec_t *rec)
{
    return rec->keylen + rec->object.len + (rec->cert.pem ? strlen(rec->cert.pem) : 0)
           + (rec->ca.doc ? strlen(rec->ca.doc) : 0);
}

/* Records from a dump callback live until it returns: the batch keeps copies. */
static apr_status_t batch_add(batch_t *b, const acmpca_dump_rec_t *rec, int copy)
{
    if (copy) {
        acmpca_dump_rec_copy(&b->recs[b->n], rec, b->pool);
    }
    else {
        b->recs[b->n] = *rec;
    }
    b->n++;
    b->bytes += rec_bytes(rec);
    b->counts.n[rec->type]++;
    b->counts.total++;
    if (b->n == BATCH_RECORDS || b->bytes >= BATCH_BYTES) {
        return batch_flush(b);
    }
    return b->rv;
}

static apr_status_t batch_init(batch_t *b, acmpca_store_t *dst, apr_pool_t *p)
{
    memset(b, 0, sizeof(*b));
    b->dst = dst;
    b->recs = apr_pcalloc(p, sizeof(*b->recs) * BATCH_RECORDS);
    return apr_pool_create(&b->pool, p);
}

/**************************************************************************************
 * Commands
 */

typedef struct dump_out_t {
    apr_pool_t *pool;
    counts_t counts;
    int write_failed;
} dump_out_t;

static int dump_line(void *baton, const acmpca_dump_rec_t *rec)
{
    dump_out_t *d = baton;
    const char *line;

    apr_pool_clear(d->pool);
    if ((line = acmpca_dump_to_json(rec, d->pool)) == NULL) {
        fail("a record of type %d cannot be written", (int)rec->type);
        return APR_EGENERAL;
    }
    if (fputs(line, stdout) == EOF || putchar('\n') == EOF) {
        d->write_failed = errno ? errno : EIO;
        return APR_FROM_OS_ERROR(d->write_failed);
    }
    d->counts.n[rec->type]++;
    d->counts.total++;
    return 0;
}

static int cmd_dump(const char *spec, apr_pool_t *p)
{
    acmpca_store_t *src = store_make(spec, p);
    dump_out_t d;
    apr_status_t rv;

    if (!src) {
        return 1;
    }
    memset(&d, 0, sizeof(d));
    apr_pool_create(&d.pool, p);
    printf("{\"format\":\"%s\",\"version\":%d}\n", ACMPCA_DUMP_FORMAT, ACMPCA_DUMP_VERSION);
    rv = src->provider->dump(src, dump_line, &d, p);
    if (rv != APR_SUCCESS) {
        return fail("dump of %s failed: %s", acmpca_store_redact(spec, p),
                    d.write_failed ? strerror(d.write_failed) : errtext(rv, p));
    }
    printf("{\"end\":%" APR_INT64_T_FMT "}\n", d.counts.total);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return fail("writing the dump failed: %s", strerror(errno));
    }
    counts_print(stderr, "dumped", &d.counts);
    return 0;
}

/* One line of stdin without its newline, in p; NULL at the end of the input. */
static char *read_line(FILE *in, apr_size_t *plen, apr_pool_t *p)
{
    static char *buf;
    static size_t cap;
    ssize_t n = getline(&buf, &cap, in);

    if (n < 0) {
        return NULL;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
    }
    *plen = (apr_size_t)n;
    return apr_pstrmemdup(p, buf, (apr_size_t)n);
}

static int cmd_load(const char *spec, const opts_t *o, apr_pool_t *p)
{
    acmpca_store_t *dst = store_make(spec, p);
    acmpca_dump_rec_t rec;
    apr_int64_t lineno = 1, end = -1;
    const char *err;
    apr_size_t len;
    apr_pool_t *line_pool;
    char *line, *tail;
    batch_t b;

    if (!dst || dst_open(dst, NULL, o, p) || batch_init(&b, dst, p) != APR_SUCCESS
        || apr_pool_create(&line_pool, p) != APR_SUCCESS) {
        return 1;
    }
    line = read_line(stdin, &len, line_pool);
    if (!line
        || !strstr(line, apr_psprintf(line_pool, "\"format\":\"%s\",\"version\":%d}",
                                      ACMPCA_DUMP_FORMAT, ACMPCA_DUMP_VERSION))) {
        return fail("the input is not an %s version %d", ACMPCA_DUMP_FORMAT, ACMPCA_DUMP_VERSION);
    }
    while (b.rv == APR_SUCCESS && end < 0) {
        apr_pool_clear(line_pool);
        lineno++;
        if ((line = read_line(stdin, &len, line_pool)) == NULL) {
            break;
        }
        if (!strncmp(line, "{\"end\":", 7)) {
            end = apr_strtoi64(line + 7, &tail, 10);
            continue;
        }
        /* The record's values are parsed into the batch's pool: no second copy. */
        if (acmpca_dump_from_json(&rec, line, len, &err, b.pool) != APR_SUCCESS) {
            return fail("line %" APR_INT64_T_FMT ": %s", lineno, err);
        }
        batch_add(&b, &rec, 0);
    }
    if (batch_flush(&b) != APR_SUCCESS) {
        return fail("load into %s failed at about line %" APR_INT64_T_FMT ": %s",
                    acmpca_store_redact(spec, p), lineno, errtext(b.rv, p));
    }
    if (ferror(stdin)) {
        return fail("reading the dump failed: %s", strerror(errno));
    }
    if (end != b.counts.total) {
        return fail(
            "the dump is cut short (%" APR_INT64_T_FMT " records, no end line that "
            "counts them): what it held is loaded; fix the cause and load again with --force",
            b.counts.total);
    }
    counts_print(stdout, "loaded", &b.counts);
    return 0;
}

static int copy_one(void *baton, const acmpca_dump_rec_t *rec)
{
    return batch_add(baton, rec, 1);
}

static int cmd_copy(const char *src_spec, const char *dst_spec, const opts_t *o, apr_pool_t *p)
{
    acmpca_store_t *src = store_make(src_spec, p), *dst = store_make(dst_spec, p);
    apr_status_t rv;
    batch_t b;

    if (!src || !dst) {
        return 1;
    }
    /* The source first: a mistyped one must not leave an empty destination behind. */
    rv = src->provider->dump(src, first_record, NULL, p);
    if (rv != APR_SUCCESS && rv != 1) {
        return fail("cannot read the source %s: %s", acmpca_store_redact(src_spec, p),
                    errtext(rv, p));
    }
    if (dst_open(dst, src, o, p) || batch_init(&b, dst, p) != APR_SUCCESS) {
        return 1;
    }
    rv = src->provider->dump(src, copy_one, &b, p);
    batch_flush(&b);
    if (b.rv != APR_SUCCESS) {
        return fail("load into %s failed: %s", acmpca_store_redact(dst_spec, p), errtext(b.rv, p));
    }
    if (rv != APR_SUCCESS) {
        return fail("dump of %s failed: %s", acmpca_store_redact(src_spec, p), errtext(rv, p));
    }
    counts_print(stdout, "copied", &b.counts);
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    opts_t o = {0, NULL};
    const char *cmd;
    int i = 2, rc;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS || apr_pool_create(&p, NULL)) {
        return 1;
    }
    atexit(apr_terminate);
    /* hiredis writes with write(2): a server that went away is an error, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    acmpca_log_set(log_stderr, ACMPCA_LOG_WARNING, NULL);
    if (argc < 3) {
        usage();
    }
    cmd = argv[1];
    for (; i < argc && !strncmp(argv[i], "--", 2); ++i) {
        if (!strcmp(argv[i], "--force")) {
            o.force = 1;
        }
        else if (!strcmp(argv[i], "--owner") && i + 1 < argc) {
            o.owner = argv[++i];
        }
        else {
            usage();
        }
    }
    if (!strcmp(cmd, "dump") && argc - i == 1 && !o.force && !o.owner) {
        rc = cmd_dump(argv[i], p);
    }
    else if (!strcmp(cmd, "load") && argc - i == 1) {
        rc = cmd_load(argv[i], &o, p);
    }
    else if (!strcmp(cmd, "copy") && argc - i == 2) {
        rc = cmd_copy(argv[i], argv[i + 1], &o, p);
    }
    else {
        usage();
    }
    /* The stores' connections close with the pool, before the exit: a sqlite file's -wal
     * is checkpointed and removed then. */
    apr_pool_destroy(p);
    return rc;
}
