/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's ACMPCAStore specs (redis://, unix:, redis-sentinel://): the forms
 * it accepts, read into the store's settings, and the error texts that list them. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/util.h"
#include "redis_int.h"
#include "redis_sentinel.h"

/**************************************************************************************
 * Specs
 *
 * ACMPCAStore values this provider accepts (the registry splits "name:args" at the first
 * ':', so "redis://h:6379/0" reaches us as name "redis", args "//h:6379/0"):
 *
 *   redis://[[user]:password@]host[:port][/db][?options]   TCP; port 6379, db 0 by default
 *   redis://[::1]:6379/0                                    IPv6 literals in brackets
 *   redis:host[:port][/db][?options]                        the same without "//"
 *   redis:unix:/path/to/redis.sock[?db=N&options]           a unix socket
 *   unix:/path/to/redis.sock[?db=N&options]                 the same: "unix" is an alias
 *                                                           provider, so the spec reads as
 *                                                           the socket's URL
 *   redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/name[/db][?options]
 *                                                           the master of the set called
 *                                                           name, as the sentinels at
 *                                                           host:port (26379 by default) say
 *
 * options: db=N, timeout=ms (connect and command timeout, default 2000),
 *          wait=N and wait_timeout=ms (durability, see "Durability" in redis_call.c;
 *          default 0 and 1000),
 *          failover_wait=ms (sentinel only, default 3000; see "Sentinel" in redis_call.c),
 *          sentinel_user and sentinel_password (sentinel only: AUTH to the sentinels,
 *          which have credentials of their own; percent-decoded).
 * user and password are percent-decoded; a password alone authenticates the default
 * user (AUTH password), user and password an ACL user (AUTH user password). The password
 * is never logged nor put into an error text (acmpca_store_redact hides both).
 */

#define RD_DEFAULT_PORT  6379
#define RD_SENTINEL_PORT 26379
#define RD_MAX_MS        600000

static const char *const rd_forms =
    "use redis://[user:password@]host[:port][/db][?options], redis:unix:/path/to/socket"
    "[?db=N&options], unix:/path/to/socket[?db=N&options] or "
    "redis-sentinel://[user:password@]host[:port][,host[:port]...]/master-name[/db][?options]; "
    "options: db=N, timeout=ms, wait=replicas, wait_timeout=ms, failover_wait=ms, "
    "sentinel_user=name and sentinel_password=secret (sentinel)";

static const char *spec_error(apr_pool_t *p, const char *what)
{
    return apr_pstrcat(p, what, "; ", rd_forms, NULL);
}

/* A decimal in [min, max]. */
int acmpca_redis_parse_int(const char *s, int min, int max, int *pv)
{
    apr_int64_t v = 0;

    if (!s || !*s) {
        return 0;
    }
    for (; *s; ++s) {
        if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > max) {
            return 0;
        }
    }
    if (v < min) {
        return 0;
    }
    *pv = (int)v;
    return 1;
}

/* Percent-decode s[0..len) (userinfo of a URL); NULL when malformed. */
static const char *pct_decode(const char *s, apr_size_t len, apr_pool_t *p)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (i + 2 >= len || acmpca_hex_digit(s[i + 1]) < 0 || acmpca_hex_digit(s[i + 2]) < 0) {
            return NULL;
        }
        *o++ = (char)(acmpca_hex_digit(s[i + 1]) * 16 + acmpca_hex_digit(s[i + 2]));
        i += 2;
    }
    *o = '\0';
    return out;
}

/* "[user]:password" before the '@'. A user alone cannot log in. */
static const char *spec_userinfo(rd_store_t *st, const char *s, apr_size_t len, apr_pool_t *p)
{
    const char *colon = memchr(s, ':', len);

    if (!colon) {
        return spec_error(p, "a user needs a password (redis://user:password@host)");
    }
    if (colon > s && !(st->user = pct_decode(s, (apr_size_t)(colon - s), p))) {
        return spec_error(p, "malformed %-escape in the user name");
    }
    st->password = pct_decode(colon + 1, len - (apr_size_t)(colon + 1 - s), p);
    if (!st->password) {
        return spec_error(p, "malformed %-escape in the password");
    }
    if (!*st->password) {
        return spec_error(p, "the password is empty");
    }
    return NULL;
}

/* "host[:port]" or "[v6]:port"; the port is defport when not given. */
static const char *spec_hostport(const char *s, apr_size_t len, int defport, const char **phost,
                                 int *pport, apr_pool_t *p)
{
    const char *end = s + len, *port = NULL, *host;

    if (len && *s == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close == s + 1 || (close + 1 < end && close[1] != ':')) {
            return spec_error(p, "malformed [IPv6] host");
        }
        host = apr_pstrmemdup(p, s + 1, (apr_size_t)(close - s - 1));
        port = close + 1 < end ? close + 2 : NULL;
    }
    else {
        const char *colon = memchr(s, ':', len);
        if (colon && memchr(colon + 1, ':', (apr_size_t)(end - colon - 1))) {
            return spec_error(p, "an IPv6 host goes in brackets ([::1]:6379)");
        }
        host = apr_pstrmemdup(p, s, colon ? (apr_size_t)(colon - s) : len);
        port = colon ? colon + 1 : NULL;
    }
    if (!*host) {
        return spec_error(p, "the host is missing");
    }
    *phost = host;
    *pport = defport;
    if (port
        && !acmpca_redis_parse_int(apr_pstrmemdup(p, port, (apr_size_t)(end - port)), 1, 65535,
                                   pport)) {
        return spec_error(p, "the port is not a number in 1..65535");
    }
    return NULL;
}

/* "/db" (slash at its '/'; nothing when NULL or "/"). */
static const char *spec_db(rd_store_t *st, const char *slash, int *pdb_set, apr_pool_t *p)
{
    if (slash && slash[1]) {
        if (!acmpca_redis_parse_int(slash + 1, 0, 1 << 20, &st->db)) {
            return spec_error(p, "the database is not a number");
        }
        *pdb_set = 1;
    }
    return NULL;
}

/* "host[:port][,host[:port]...]/name[/db]" of a sentinel spec, after the userinfo. */
static const char *spec_sentinels(rd_store_t *st, const char *s, int *pdb_set, apr_pool_t *p)
{
    const char *slash = strchr(s, '/'), *dbslash, *item_end, *comma, *name, *c, *err, *host;
    int port;

    if (!slash || !slash[1] || slash[1] == '/') {
        return spec_error(p, "the master name is missing (redis-sentinel://host:26379/name)");
    }
    dbslash = strchr(slash + 1, '/');
    name = dbslash ? apr_pstrmemdup(p, slash + 1, (apr_size_t)(dbslash - slash - 1)) : slash + 1;
    for (c = name; *c; ++c) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            return spec_error(p, "the master name has a space or a control character");
        }
    }
    if ((err = acmpca_sentinel_create(&st->sentinel, name, p)) != NULL) {
        return err;
    }
    for (;;) {
        comma = memchr(s, ',', (apr_size_t)(slash - s));
        item_end = comma ? comma : slash;
        if (item_end == s) {
            return spec_error(p, "a sentinel's host is missing");
        }
        err = spec_hostport(s, (apr_size_t)(item_end - s), RD_SENTINEL_PORT, &host, &port, p);
        if (err) {
            return err;
        }
        acmpca_sentinel_add(st->sentinel, host, port);
        if (!comma) {
            break;
        }
        s = comma + 1;
    }
    return spec_db(st, dbslash, pdb_set, p);
}

/* "[userinfo@]hostport[/db]" of a TCP spec, or "[userinfo@]sentinels/name[/db]". */
static const char *spec_tcp(rd_store_t *st, const char *s, int sentinel, int *pdb_set,
                            apr_pool_t *p)
{
    const char *at = strrchr(s, '@'), *slash, *err;

    /* The last '@' ends the userinfo (host and db have none), so a raw '@' or '/' in a
     * password still parses. */
    if (at) {
        if ((err = spec_userinfo(st, s, (apr_size_t)(at - s), p)) != NULL) {
            return err;
        }
        s = at + 1;
    }
    if (sentinel) {
        return spec_sentinels(st, s, pdb_set, p);
    }
    slash = strchr(s, '/');
    if ((err = spec_hostport(s, slash ? (apr_size_t)(slash - s) : strlen(s), RD_DEFAULT_PORT,
                             &st->host, &st->port, p))
        != NULL) {
        return err;
    }
    return spec_db(st, slash, pdb_set, p);
}

/* The percent-decoded value of a sentinel_user or sentinel_password option: NULL when
 * malformed or empty. */
static const char *spec_secret(const char *value, apr_pool_t *p)
{
    const char *v = pct_decode(value, strlen(value), p);

    return v && *v ? v : NULL;
}

/* The query's options, in the order of rd_option_names. */
enum {
    RD_OPT_DB,
    RD_OPT_TIMEOUT,
    RD_OPT_WAIT,
    RD_OPT_WAIT_TIMEOUT,
    RD_OPT_CACHE,
    RD_OPT_FAILOVER_WAIT, /* this one and those after it: sentinels only */
    RD_OPT_SENTINEL_USER,
    RD_OPT_SENTINEL_PASSWORD,
    RD_NOPTIONS
};
static const char *const rd_option_names[RD_NOPTIONS] = {
    "db",    "timeout",       "wait",          "wait_timeout",
    "cache", "failover_wait", "sentinel_user", "sentinel_password"};

/* What a query says beyond the store's own settings: the options it gave, and the
 * sentinels' credentials, handed to the sentinel set once all are read. */
typedef struct rd_query_t {
    int seen[RD_NOPTIONS];
    const char *sentinel_user;
    const char *sentinel_password;
} rd_query_t;

/* One "name=value" of the query. */
static const char *spec_option(rd_store_t *st, rd_query_t *q, const char *opt, apr_pool_t *p)
{
    const char *eq = strchr(opt, '=');
    int i, ok = 0;

    for (i = 0; i < RD_NOPTIONS; ++i) {
        if (eq && (size_t)(eq - opt) == strlen(rd_option_names[i])
            && !strncmp(opt, rd_option_names[i], strlen(rd_option_names[i]))) {
            break;
        }
    }
    if (i == RD_NOPTIONS) {
        return spec_error(p,
                          apr_psprintf(p, "unknown option '%s'",
                                       eq ? apr_pstrmemdup(p, opt, (apr_size_t)(eq - opt)) : opt));
    }
    if (q->seen[i]++) {
        return spec_error(p, apr_psprintf(p, "option '%s' given twice", rd_option_names[i]));
    }
    switch (i) {
    case RD_OPT_DB:
        ok = acmpca_redis_parse_int(eq + 1, 0, 1 << 20, &st->db);
        break;
    case RD_OPT_TIMEOUT:
        ok = acmpca_redis_parse_int(eq + 1, 1, RD_MAX_MS, &st->timeout_ms);
        break;
    case RD_OPT_WAIT:
        ok = acmpca_redis_parse_int(eq + 1, 0, 1000, &st->wait_replicas);
        break;
    case RD_OPT_WAIT_TIMEOUT: /* WAIT with 0 blocks for ever: never. */
        ok = acmpca_redis_parse_int(eq + 1, 1, RD_MAX_MS, &st->wait_timeout_ms);
        break;
    case RD_OPT_CACHE:
        ok = !strcmp(eq + 1, "on") || !strcmp(eq + 1, "off");
        st->no_cache = !strcmp(eq + 1, "off");
        break;
    case RD_OPT_FAILOVER_WAIT:
        ok = acmpca_redis_parse_int(eq + 1, 0, RD_MAX_MS, &st->failover_ms);
        break;
    case RD_OPT_SENTINEL_USER:
        ok = (q->sentinel_user = spec_secret(eq + 1, p)) != NULL;
        break;
    default: /* RD_OPT_SENTINEL_PASSWORD */
        ok = (q->sentinel_password = spec_secret(eq + 1, p)) != NULL;
        break;
    }
    return ok ? NULL
              : spec_error(p, apr_psprintf(p, "option '%s' has a bad value", rd_option_names[i]));
}

static const char *spec_query(rd_store_t *st, const char *query, int db_set, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, query), *last, *opt;
    rd_query_t q = {{0}, NULL, NULL};
    const char *err;
    int i;

    for (opt = apr_strtok(copy, "&", &last); opt; opt = apr_strtok(NULL, "&", &last)) {
        if ((err = spec_option(st, &q, opt, p)) != NULL) {
            return err;
        }
    }
    if (q.seen[RD_OPT_DB] && db_set) {
        return spec_error(p, "the database is given twice");
    }
    for (i = RD_OPT_FAILOVER_WAIT; i < RD_NOPTIONS; ++i) {
        if (q.seen[i] && !st->sentinel) {
            return spec_error(p, apr_psprintf(p, "option '%s' needs sentinels (redis-sentinel://)",
                                              rd_option_names[i]));
        }
    }
    if (q.sentinel_user && !q.sentinel_password) {
        return spec_error(p, "option 'sentinel_user' needs 'sentinel_password'");
    }
    if (st->sentinel) {
        acmpca_sentinel_auth(st->sentinel, q.sentinel_user, q.sentinel_password);
    }
    return NULL;
}

static const char *spec_target(const rd_store_t *st, apr_pool_t *p)
{
    const char *who = st->user ? apr_pstrcat(p, st->user, "@", NULL) : "";

    if (st->sock) {
        return apr_psprintf(p, "unix:%s%s?db=%d", who, st->sock, st->db);
    }
    if (st->sentinel) {
        return apr_psprintf(p, "%ssentinel master %s/%d", who,
                            acmpca_sentinel_describe(st->sentinel, p), st->db);
    }
    return apr_psprintf(p, "%s%s%s%s:%d/%d", who, strchr(st->host, ':') ? "[" : "", st->host,
                        strchr(st->host, ':') ? "]" : "", st->port, st->db);
}

/* Parse args into st. */
const char *acmpca_redis_spec_parse(rd_store_t *st, const char *args, rd_spec_kind kind,
                                    apr_pool_t *p)
{
    int unix_alias = kind == RD_SPEC_UNIX;
    const char *q, *base, *err;
    int db_set = 0;

    if (!args || !*args) {
        return spec_error(p, "the spec is empty");
    }
    q = strchr(args, '?');
    base = q ? apr_pstrmemdup(p, args, (apr_size_t)(q - args)) : args;
    if (!unix_alias && !strncmp(base, "unix:", 5)) {
        base += 5;
        unix_alias = 1;
    }
    if (unix_alias) {
        apr_size_t len = strlen(base);
        if (!len || base[0] != '/' || base[len - 1] == '/') {
            return spec_error(p, "the socket is not an absolute path");
        }
        st->sock = base;
    }
    else {
        if (!strncmp(base, "//", 2)) {
            base += 2;
        }
        if (!*base) {
            return spec_error(p, "the host is missing");
        }
        if ((err = spec_tcp(st, base, kind == RD_SPEC_SENTINEL, &db_set, p)) != NULL) {
            return err;
        }
    }
    if (q && (err = spec_query(st, q + 1, db_set, p)) != NULL) {
        return err;
    }
    st->target = spec_target(st, p);
    return NULL;
}
