/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis store provider: the records of the sqlite provider in Redis (hiredis 0.14),
 * for several httpd hosts sharing one state. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_reslist.h>

#include <hiredis/hiredis.h>

#include "redis_cmd.h"
#include "redis_int.h"
#include "store_int.h"

#include "acmpca/util.h"
#include "acmpca/err.h"
#include "acmpca/log.h"
#include "acmpca/store.h"
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
 *          wait=N and wait_timeout=ms (durability, see "WAIT" below; default 0 and 1000),
 *          failover_wait=ms (sentinel only, default 3000; see "Sentinel" below),
 *          sentinel_user and sentinel_password (sentinel only: AUTH to the sentinels,
 *          which have credentials of their own; percent-decoded).
 * user and password are percent-decoded; a password alone authenticates the default
 * user (AUTH password), user and password an ACL user (AUTH user password). The password
 * is never logged nor put into an error text (acmpca_store_redact hides both).
 *
 * Durability: with wait=N every write is followed by WAIT N wait_timeout on the same
 * connection, and the call fails (a 503 for the client, which retries) when fewer than N
 * replicas acknowledged. The write itself is not undone: it is on the master and will
 * most likely reach the replicas, so a retry with the same idempotency token finds it.
 * What survives a crash of the master itself depends on its AOF (appendonly yes,
 * appendfsync always or everysec), which the README documents.
 *
 * Sentinel: the sentinels are asked for the master's address (src/store/redis_sentinel.c)
 * when a connection is opened and none is known, and a node is used only once it says
 * ROLE master. Whatever a failover looks like from here (a connection lost or refused,
 * a node that is a replica or answers READONLY, LOADING or MASTERDOWN, no master known)
 * makes the process forget the address, reopen its pooled connections, ask again and
 * retry the call, with growing pauses, for up to failover_wait; then the call fails
 * (503). A command is sent again only when that is safe (as for a reconnect, below); a
 * refused command or a connection never made did nothing. Writes the old master took
 * but never passed on are lost unless wait=N made the call wait for them to be.
 */

/**************************************************************************************
 * Key layout
 *
 * Every key of one CA carries the hash tag {<ca id>}, so one script can change them
 * atomically and, in Redis Cluster, they live in one slot:
 *
 *   acmpca:{<id>}:ca              hash   id account seq version doc nonce
 *   acmpca:{<id>}:key             string the wrapped private key (absent: none stored)
 *   acmpca:{<id>}:cert:<serial>   hash   pem subject tmpl nb na ia [ra rr] nonce [rnonce]
 *   acmpca:{<id>}:certs           zset   serials, score 0: lexicographic = serial order
 *   acmpca:{<id>}:revoked         zset   revoked serials, score 0
 *   acmpca:{<id>}:report:<rid>    hash   status [bucket key format] created ord
 *   acmpca:{<id>}:reports         zset   report ids scored by created_at
 *   acmpca:{<id>}:reportseq       string insertion counter: ord breaks created_at ties
 *   acmpca:{<id>}:lock:<name>     hash   owner [wanted], PEXPIRE: once-per-CA work (CRLs)
 *
 * Accounts and the global order of CAs:
 *
 *   acmpca:seq                    string INCR: the next CA seq (never reused)
 *   acmpca:cas                    zset   every CA id scored by seq
 *   acmpca:{<account>}:cas        zset   the account's CA ids scored by seq
 *
 * Idempotency claims live beside their owner: the owner is the part of the scope after
 * its last ':' ("CreateCertificateAuthority:<account>" -> the account,
 * "IssueCertificate:<ca id>" -> the CA), so IssueCertificate's claim shares the CA's slot
 * and CreateCertificateAuthority's the account index's slot. The scope's length makes
 * the key unambiguous whatever the token contains:
 *
 *   acmpca:{<owner>}:idem:<len(scope)>:<scope>:<token>   hash result expires, PEXPIREAT
 *   acmpca:{<owner>}:barrier                              string, PX 60 s: see call_barrier
 *   acmpca:{<ca id>}:barrier, acmpca:{obj}:barrier        the same, for revocations, objects
 *
 * Everything else has one key per record:
 *
 *   acmpca:obj:<len(bucket)>:<bucket>:<key>  hash data [ct] modified etag
 *   acmpca:counter:<name>                    string INCR
 *   acmpca:schema                            string the layout version (1)
 *
 * Trade-off (Redis Cluster): a script may only touch keys of one slot there. Every
 * per-CA operation (certificates, revocation, CAS updates, reports, purge) is one slot.
 * ca_create is not: it assigns a global seq (acmpca:seq), indexes the CA globally and
 * per account and claims the token in the account's slot, and the contract wants all of
 * it atomic. We keep that one script multi-slot: it is correct on a single Redis and on
 * a master with replicas (what we support; the tests run a single server), and it is
 * the only write to split for Cluster (seq per account slot, the CA record written
 * second as the commit point, readers ignoring index entries without a record). The
 * cert_iter, report_latest and purge scripts touch keys of their CA that they learn
 * from an index, in the slot of the keys they declare, which Redis allows; ca_list
 * reads the CA records of an index page with one HMGET each (pipelined), which a
 * Cluster client would route per slot.
 *
 * hiredis writes with write(2): a write to a connection the server closed raises
 * SIGPIPE, which httpd ignores (as do our tests). A process without that disposition
 * must ignore SIGPIPE before using this provider.
 */

#define RD_DEFAULT_PORT        6379
#define RD_DEFAULT_TIMEOUT     2000 /* ms: connect, and each command */
#define RD_DEFAULT_WAIT_MS     1000
#define RD_DEFAULT_FAILOVER_MS 3000
#define RD_SENTINEL_PORT       26379
#define RD_PAUSE_MIN_MS        50 /* between tries while the master moves, doubling */
#define RD_PAUSE_MAX_MS        500
#define RD_MAX_MS              600000
#define RD_SCHEMA              1
/* Connections per process: one per thread inside a store call, up to RD_MAX_CONNS; at
 * most RD_KEEP_CONNS idle ones are kept beyond RD_CONN_TTL. */
#define RD_KEEP_CONNS 16
#define RD_MAX_CONNS  128
#define RD_CONN_TTL   apr_time_from_sec(60)
/* Batches bound the memory and the time one script blocks the server. */
#define RD_ITER_BATCH  500
#define RD_CRL_BATCH   2000
#define RD_PURGE_BATCH 500
#define RD_LIST_PAGE   256

/* Script result codes: the first element of every write script's reply. */
#define RC_OK       0
#define RC_EXISTS   1
#define RC_NOTFOUND 2
#define RC_CONFLICT 3
#define RC_CLAIMED  4
#define RC_MORE     5
#define RC_FULL     6

/**************************************************************************************
 * Scripts
 *
 * All multi-key writes are Lua, so each is atomic. Numbers reach Redis as the decimal
 * strings C formatted (times in microseconds exceed what Lua's tostring prints exactly)
 * and are only compared, never printed, in Lua.
 *
 * Writes carry a nonce unique to the call. A script that finds its own nonce knows that
 * an earlier attempt of this very call succeeded and only its reply was lost, and answers
 * success again: that is what makes a retry after a reconnect safe. The nonce is written
 * again then, so that a WAIT after the retry covers the record.
 */

typedef enum {
    RS_CA_CREATE,
    RS_CA_UPDATE,
    RS_CA_PURGE,
    RS_CERT_PUT,
    RS_CERT_REVOKE,
    RS_CERT_BATCH,
    RS_CRL_BATCH,
    RS_OBJECT_PUT,
    RS_REPORT_PUT,
    RS_REPORT_LATEST,
    RS_IDEM_CLAIM,
    RS_LOCK_ACQUIRE,
    RS_LOCK_RELEASE,
    RS_COUNT
} rd_script_id;

/* The claim check and the claim of an idempotency token (KEYS[n], ARGV now, result,
 * expires, pexpireat): a claim that has expired is taken over, as in sqlite. */
#define LUA_IDEM_CHECK(k, now)                                                                     \
    "if " k " then"                                                                                \
    "  local c = redis.call('HMGET', " k ", 'result', 'expires')"                                  \
    "  if c[1] and tonumber(c[2]) > tonumber(" now ") then return {4, c[1]} end "                  \
    "end "
#define LUA_IDEM_CLAIM(k, result, expires, at)                                                     \
    "if " k " then"                                                                                \
    "  redis.call('DEL', " k ")"                                                                   \
    "  redis.call('HSET', " k ", 'result', " result ", 'expires', " expires ")"                    \
    "  redis.call('PEXPIREAT', " k ", " at ") "                                                    \
    "end "

/* Lua is kept as Lua reads, one statement per line: clang-format would refill it. */
/* clang-format off */
static const char *const script_src[RS_COUNT] = {
    /* KEYS: ca, key, account index, global index, seq[, idem]
     * ARGV: id, account, doc, has_key, wrapped, nonce, now, result, expires, pexpireat */
    [RS_CA_CREATE] =
        "local ca = KEYS[1] "
        "if redis.call('HGET', ca, 'nonce') == ARGV[6] then"
        "  redis.call('HSET', ca, 'nonce', ARGV[6])"
        "  return {0, tonumber(redis.call('HGET', ca, 'seq'))} "
        "end "
        LUA_IDEM_CHECK("KEYS[6]", "ARGV[7]")
        "if redis.call('EXISTS', ca) == 1 then return {1} end "
        LUA_IDEM_CLAIM("KEYS[6]", "ARGV[8]", "ARGV[9]", "ARGV[10]")
        "local seq = redis.call('INCR', KEYS[5]) "
        "redis.call('HSET', ca, 'id', ARGV[1], 'account', ARGV[2], 'seq', seq,"
        "  'version', 1, 'doc', ARGV[3], 'nonce', ARGV[6]) "
        "if ARGV[4] == '1' then redis.call('SET', KEYS[2], ARGV[5]) end "
        "redis.call('ZADD', KEYS[3], seq, ARGV[1]) "
        "redis.call('ZADD', KEYS[4], seq, ARGV[1]) "
        "return {0, seq}",

    /* Compare-and-set on version. KEYS: ca. ARGV: doc, version, nonce, id */
    [RS_CA_UPDATE] =
        "local cur = redis.call('HMGET', KEYS[1], 'version', 'nonce') "
        "if not cur[1] then return {2} end "
        "if cur[1] == ARGV[2] then"
        "  redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'nonce', ARGV[3])"
        "  local v = redis.call('HINCRBY', KEYS[1], 'version', 1)"
        "  " ACMPCA_REDIS_LUA_CA_CHANGED("ARGV[4]")
        "  return {0, v} "
        "end "
        "if cur[2] == ARGV[3] then"
        "  redis.call('HSET', KEYS[1], 'nonce', ARGV[3])"
        "  return {0, tonumber(cur[1])} "
        "end "
        "return {3}",

    /* One batch of a purge: certificates first, the CA record last, so that a purge
     * cut short leaves a CA that the next attempt finishes, never orphans.
     * KEYS: ca, key, certs, revoked, reports, reportseq, account index, global index
     * ARGV: id, cert key prefix, report key prefix, batch */
    [RS_CA_PURGE] =
        "if redis.call('EXISTS', KEYS[1]) == 0 then return {2} end "
        "local serials = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[4]) - 1) "
        "for _, s in ipairs(serials) do redis.call('UNLINK', ARGV[2] .. s) end "
        "if #serials > 0 then"
        "  redis.call('ZREM', KEYS[3], unpack(serials))"
        "  redis.call('ZREM', KEYS[4], unpack(serials)) "
        "end "
        "if redis.call('ZCARD', KEYS[3]) > 0 then return {5} end "
        "for _, r in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do"
        "  redis.call('UNLINK', ARGV[3] .. r) "
        "end "
        "redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]) "
        "redis.call('ZREM', KEYS[7], ARGV[1]) "
        "redis.call('ZREM', KEYS[8], ARGV[1]) "
        ACMPCA_REDIS_LUA_CA_CHANGED("ARGV[1]")
        "return {0}",

    /* KEYS: cert, certs, revoked, ca[, idem]
     * ARGV: serial, nonce, now, result, expires, pexpireat, revoked, limit ('0': none),
     * CA version ('0': any), field/value...
     * A taken serial is answered first (its own nonce: an earlier attempt of this call),
     * and a CA with the version asked for exists: the usual issuance makes five calls. */
    [RS_CERT_PUT] =
        "if redis.call('EXISTS', KEYS[1]) == 1 then"
        "  if redis.call('HGET', KEYS[1], 'nonce') ~= ARGV[2] then return {1} end"
        "  redis.call('HSET', KEYS[1], 'nonce', ARGV[2])"
        "  return {0} "
        "end "
        "if ARGV[9] == '0' then"
        "  if redis.call('EXISTS', KEYS[4]) == 0 then return {2} end "
        "elseif redis.call('HGET', KEYS[4], 'version') ~= ARGV[9] then"
        "  return {3} "
        "end "
        LUA_IDEM_CHECK("KEYS[5]", "ARGV[3]")
        "local limit = tonumber(ARGV[8]) "
        "if limit > 0 and redis.call('ZCARD', KEYS[2]) >= limit then return {6} end "
        LUA_IDEM_CLAIM("KEYS[5]", "ARGV[4]", "ARGV[5]", "ARGV[6]")
        "redis.call('HSET', KEYS[1], 'nonce', ARGV[2], unpack(ARGV, 10)) "
        "redis.call('ZADD', KEYS[2], 0, ARGV[1]) "
        "if ARGV[7] == '1' then redis.call('ZADD', KEYS[3], 0, ARGV[1]) end "
        "return {0}",

    /* KEYS: cert, revoked. ARGV: serial, revoked_at, reason, has_reason, nonce */
    [RS_CERT_REVOKE] =
        "local c = redis.call('HMGET', KEYS[1], 'pem', 'ra', 'rnonce') "
        "if not c[1] then return {2} end "
        "if c[2] then"
        "  if c[3] == ARGV[5] then"
        "    redis.call('HSET', KEYS[1], 'rnonce', ARGV[5])"
        "    return {0} "
        "  end"
        "  return {1} "
        "end "
        "redis.call('HSET', KEYS[1], 'ra', ARGV[2], 'rnonce', ARGV[5]) "
        "if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'rr', ARGV[3]) end "
        "redis.call('ZADD', KEYS[2], 0, ARGV[1]) "
        "return {0}",

    /* Read: the next batch of certificates after a serial, 10 elements each (serial and
     * the fields; a serial whose hash is gone comes with a nil pem).
     * KEYS: index (certs or revoked). ARGV: cert key prefix, min ('-' or '(serial'), n */
    [RS_CERT_BATCH] =
        "local out = {} "
        "local serials = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+',"
        "  'LIMIT', 0, tonumber(ARGV[3])) "
        "for _, s in ipairs(serials) do"
        "  local f = redis.call('HMGET', ARGV[1] .. s, 'pem', 'subject', 'tmpl',"
        "    'nb', 'na', 'ia', 'ra', 'rr', 'rb')"
        "  out[#out + 1] = s"
        "  for j = 1, 9 do out[#out + 1] = f[j] end "
        "end "
        "return out",

    /* Read: the next batch of CRL entries after a serial, 4 elements each (serial,
     * not_after, revoked_at, reason): a CRL needs no PEM, which is nearly all of a
     * certificate's bytes. A serial whose hash is gone comes with a nil revoked_at.
     * KEYS: revoked. ARGV: cert key prefix, min ('-' or '(serial'), n */
    [RS_CRL_BATCH] =
        "local out = {} "
        "local serials = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+',"
        "  'LIMIT', 0, tonumber(ARGV[3])) "
        "for _, s in ipairs(serials) do"
        "  local f = redis.call('HMGET', ARGV[1] .. s, 'na', 'ra', 'rr')"
        "  out[#out + 1] = s"
        "  out[#out + 1] = f[1]"
        "  out[#out + 1] = f[2]"
        "  out[#out + 1] = f[3] "
        "end "
        "return out",

    /* Replace: readers see the old or the new object, never a mix. KEYS: obj. ARGV: pairs */
    [RS_OBJECT_PUT] =
        "redis.call('DEL', KEYS[1]) "
        "redis.call('HSET', KEYS[1], unpack(ARGV)) "
        "return {0}",

    /* Upsert keeping the first insertion's ord, as sqlite keeps the rowid.
     * KEYS: report, reports, reportseq, ca. ARGV: id, created, field/value... */
    [RS_REPORT_PUT] =
        ACMPCA_REDIS_LUA_REPORT_PUT,

    /* Read: the newest report, the latest inserted among equal created_at, as
     * [id, status, bucket, key, format, created]. KEYS: reports. ARGV: report key prefix */
    [RS_REPORT_LATEST] =
        "local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES') "
        "if #top == 0 then return false end "
        "local best, bestord = top[1], -1 "
        "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], top[2], top[2])) do"
        "  local o = tonumber(redis.call('HGET', ARGV[1] .. id, 'ord') or '0')"
        "  if o > bestord then best, bestord = id, o end "
        "end "
        "local f = redis.call('HMGET', ARGV[1] .. best, 'status', 'bucket', 'key',"
        "  'format', 'created') "
        "return {best, f[1], f[2], f[3], f[4], f[5]}",

    /* KEYS: idem. ARGV: now, result, expires, pexpireat */
    [RS_IDEM_CLAIM] =
        LUA_IDEM_CHECK("KEYS[1]", "ARGV[1]")
        LUA_IDEM_CLAIM("KEYS[1]", "ARGV[2]", "ARGV[3]", "ARGV[4]")
        "return {0}",

    /* A lock (SET NX PX, plus a 'wanted' mark): KEYS: lock. ARGV: owner, ttl ms, want.
     * Taken when free or expired; renewed when already ours (a retry after a lost reply). */
    [RS_LOCK_ACQUIRE] =
        "local o = redis.call('HGET', KEYS[1], 'owner') "
        "if o == ARGV[1] then"
        "  redis.call('PEXPIRE', KEYS[1], ARGV[2])"
        "  return {0} "
        "end "
        "if not o then"
        "  redis.call('DEL', KEYS[1])"
        "  redis.call('HSET', KEYS[1], 'owner', ARGV[1])"
        "  redis.call('PEXPIRE', KEYS[1], ARGV[2])"
        "  return {0} "
        "end "
        "if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'wanted', '1') end "
        "return {1}",

    /* KEYS: lock. ARGV: owner. {0, wanted} when ours (now released), {2} when not. */
    [RS_LOCK_RELEASE] =
        "if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return {2} end "
        "local w = redis.call('HGET', KEYS[1], 'wanted') "
        "redis.call('DEL', KEYS[1]) "
        "return {0, w and 1 or 0}",
};
/* clang-format on */

/**************************************************************************************
 * Store, connections and calls
 */

typedef struct rd_store_t {
    /* from the spec */
    const char *host; /* NULL for a unix socket */
    int port;
    const char *sock; /* the unix socket's path */
    int db;
    const char *user;     /* ACL user, or NULL for the default user */
    const char *password; /* NULL: no AUTH. Never logged. */
    int timeout_ms;
    int wait_replicas;
    int wait_timeout_ms;
    acmpca_sentinel_t *sentinel; /* the master is where the sentinels say; NULL: host, sock */
    int failover_ms;             /* sentinel: how long a call keeps following a move */
    int no_cache;                /* cache=off: every CA read asks the server */
    const char *target;          /* for the log: where, never the password */

    acmpca_conns_t conns; /* this process's connections (rd_conn_t) */
    /* Bumped on every lost connection: a pooled connection made before the last loss is
     * reopened before use, so a server restart costs each process one failed call at
     * most, not one per pooled connection. */
    volatile apr_uint32_t epoch;
    /* When CA records may come from this thread's memo (memo.c, redis_watch.c); NULL:
     * never. */
    acmpca_redis_watch_t *watch;
    apr_uint64_t memo_id;
} rd_store_t;

typedef struct rd_conn_t {
    redisContext *ctx; /* NULL until first use, and after an I/O error */
    apr_uint32_t epoch;
    unsigned int mgen;   /* sentinel: the answer ctx's address came from */
    unsigned int loaded; /* bit per script loaded (SCRIPT LOAD) on ctx */
    char sha[RS_COUNT][41];
} rd_conn_t;

/* One store call: a connection borrowed from the list until call_end, and a scratch
 * pool that owns every reply (freed by its cleanup, whatever path we leave by). */
typedef struct rd_call_t {
    rd_store_t *st;
    apr_reslist_t *conns;
    rd_conn_t *conn;
    const char *op; /* the provider function, for the log */
    apr_pool_t *p;
    apr_pool_t *ptemp;
    int io_failed;       /* the last attempt lost its connection */
    int conn_failed;     /* the last attempt could not open one (for a reason time may cure) */
    apr_time_t deadline; /* sentinel: no new try after it */
} rd_call_t;

#define RD_OK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != APR_SUCCESS) {                                                           \
            goto leave;                                                                            \
        }                                                                                          \
    } while (0)

static void reply_free(redisReply *r)
{
    if (r) {
        freeReplyObject(r);
    }
}

static apr_status_t reply_cleanup(void *data)
{
    reply_free(data);
    return APR_SUCCESS;
}

/* The reply now belongs to the call's scratch pool. */
static redisReply *reply_own(rd_call_t *call, redisReply *r)
{
    apr_pool_cleanup_register(call->ptemp, r, reply_cleanup, apr_pool_cleanup_null);
    return r;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* A status for a context that failed, from what hiredis recorded. */
static apr_status_t ctx_status(const redisContext *ctx, int sys)
{
    if (!ctx) {
        return APR_ENOMEM;
    }
    switch (ctx->err) {
    case REDIS_ERR_EOF:
        return APR_EOF;
    case REDIS_ERR_OOM:
        return APR_ENOMEM;
    case REDIS_ERR_IO:
        if (sys == EAGAIN || sys == EWOULDBLOCK || sys == ETIMEDOUT) {
            return APR_TIMEUP;
        }
        return sys ? APR_FROM_OS_ERROR(sys) : APR_EGENERAL;
    default:
        return APR_EGENERAL;
    }
}

/* A command on a context that is not pooled yet (connect, open): reply or NULL. */
static redisReply *ctx_command(redisContext *ctx, rd_cmd_t *cmd)
{
    return redisCommandArgv(ctx, cmd->argc, cmd->argv, cmd->len);
}

/* An error text of a reply that is an error, else NULL. */
static const char *reply_error_text(const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ERROR) {
        return r->str ? r->str : "error";
    }
    return NULL;
}

/* AUTH (ACL user when given) and SELECT, on a fresh context. The reply texts are the
 * server's ("WRONGPASS invalid username-password pair"): they never echo the password. */
static apr_status_t ctx_login(const rd_store_t *st, redisContext *ctx, apr_pool_t *p)
{
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv = APR_SUCCESS;
    int sys;

    if (st->password) {
        cmd_init(&cmd, "AUTH", p);
        if (st->user) {
            cmd_str(&cmd, st->user);
        }
        cmd_str(&cmd, st->password);
        errno = 0;
        r = ctx_command(ctx, &cmd);
        sys = errno;
        if (!r || reply_error_text(r)) {
            rv = r ? APR_EACCES : ctx_status(ctx, sys);
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                       "ACMPCA0402: redis AUTH%s%s on %s failed: %s", st->user ? " as " : "",
                       st->user ? st->user : "", st->target, r ? reply_error_text(r) : ctx->errstr);
        }
        reply_free(r);
    }
    if (rv == APR_SUCCESS && st->db) {
        cmd_init(&cmd, "SELECT", p);
        cmd_i64(&cmd, st->db);
        errno = 0;
        r = ctx_command(ctx, &cmd);
        sys = errno;
        if (!r || reply_error_text(r)) {
            rv = r ? APR_EINVAL : ctx_status(ctx, sys);
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                       "ACMPCA0403: redis SELECT %d on %s failed: %s", st->db, st->target,
                       r ? reply_error_text(r) : ctx->errstr);
        }
        reply_free(r);
    }
    return rv;
}

/* A logged-in context with bounded connect and command timeouts, on the spec's address
 * or, with sentinels, on the master's (asked of them until deadline when unknown; *pgen
 * names their answer). A WAIT blocks up to wait_timeout on top of the usual command
 * time. (A host name is resolved first, by getaddrinfo, which no timeout of ours bounds:
 * use an address or /etc/hosts.) */
static apr_status_t ctx_open(const rd_store_t *st, apr_time_t deadline, redisContext **pctx,
                             unsigned int *pgen, apr_pool_t *p)
{
    struct timeval tv = ms_tv(st->timeout_ms);
    const char *host = st->host, *where = st->target;
    redisContext *ctx;
    apr_status_t rv;
    int sys, port = st->port;

    *pctx = NULL;
    *pgen = 0;
    if (st->sentinel) {
        rv = acmpca_sentinel_master(st->sentinel, st->timeout_ms, deadline, &host, &port, pgen, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        where = apr_psprintf(p, "%s%s%s:%d (master of %s)", strchr(host, ':') ? "[" : "", host,
                             strchr(host, ':') ? "]" : "", port, st->target);
    }
    errno = 0;
    ctx = st->sock ? redisConnectUnixWithTimeout(st->sock, tv)
                   : redisConnectWithTimeout(host, port, tv);
    sys = errno;
    if (!ctx || ctx->err) {
        rv = ctx_status(ctx, sys);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0401: redis cannot connect to %s: %s", where,
                   ctx ? ctx->errstr : "out of memory");
        goto fail;
    }
    tv = ms_tv(st->timeout_ms + (st->wait_replicas ? st->wait_timeout_ms : 0));
    if (redisSetTimeout(ctx, tv) != REDIS_OK
        || (!st->sock && redisEnableKeepAlive(ctx) != REDIS_OK)) {
        rv = ctx_status(ctx, errno);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0401: redis cannot connect to %s: %s", where, ctx->errstr);
        goto fail;
    }
    if ((rv = ctx_login(st, ctx, p)) != APR_SUCCESS) {
        goto fail;
    }
    if (st->sentinel && (rv = acmpca_sentinel_check(st->sentinel, ctx, where, p)) != APR_SUCCESS) {
        goto fail;
    }
    *pctx = ctx;
    return APR_SUCCESS;
fail:
    if (ctx) {
        redisFree(ctx);
    }
    if (st->sentinel) {
        acmpca_sentinel_forget(st->sentinel, *pgen);
    }
    return rv;
}

static void conn_drop(rd_conn_t *conn)
{
    if (conn->ctx) {
        redisFree(conn->ctx);
        conn->ctx = NULL;
    }
    conn->loaded = 0;
}

/* The reslist constructor: only the slot. The socket is opened on first use (and
 * reopened after a loss) inside the call, where a failure is logged with the call. */
static apr_status_t conn_make(void **pres, void *params, apr_pool_t *pool)
{
    (void)params;
    (void)pool;
    /* malloc, not the reslist's pool: connections come and go for the life of the
     * process, and a pool would only grow. */
    *pres = calloc(1, sizeof(rd_conn_t));
    return *pres ? APR_SUCCESS : APR_ENOMEM;
}

static apr_status_t conn_close(void *res, void *params, apr_pool_t *pool)
{
    (void)params;
    (void)pool;
    conn_drop(res);
    free(res);
    return APR_SUCCESS;
}

static apr_status_t call_begin(rd_call_t *call, acmpca_store_t *s, const char *op, apr_pool_t *p)
{
    void *res;
    apr_status_t rv;

    memset(call, 0, sizeof(*call));
    call->st = s->impl;
    call->op = op;
    call->p = p;
    if ((rv = apr_pool_create(&call->ptemp, p)) != APR_SUCCESS) {
        call->ptemp = NULL;
        return rv;
    }
    if ((rv = acmpca_conns_get(&call->st->conns, &call->conns)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_reslist_acquire(call->conns, &res)) != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0408: redis %s: no connection to %s free within %d ms", op,
                   call->st->target, call->st->timeout_ms);
        return rv;
    }
    call->conn = res;
    return APR_SUCCESS;
}

/* Whether every command sent on the connection had its reply read, and nothing else:
 * no command queued but unsent, no bytes or part of a reply read but not returned. */
static int conn_in_step(const rd_conn_t *conn)
{
    const redisContext *ctx = conn->ctx;

    return !ctx
           || (!ctx->err && ctx->obuf[0] == '\0' && ctx->reader->pos >= ctx->reader->len
               && ctx->reader->ridx < 0);
}

/* Give the connection back (it may have no socket now: the next user reconnects). One
 * out of step with its replies is closed, never pooled: its next user would read a reply
 * meant for another command. Every path should have read or dropped it already. */
static void call_release(rd_call_t *call)
{
    if (call->conn) {
        if (!conn_in_step(call->conn)) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, APR_EGENERAL, call->p,
                       "ACMPCA0414: redis %s on %s: connection left with replies unread; "
                       "closed",
                       call->op, call->st->target);
            conn_drop(call->conn);
        }
        apr_reslist_release(call->conns, call->conn);
        call->conn = NULL;
    }
}

/* The single exit of every call: the connection goes back, the replies are freed. */
static apr_status_t call_end(rd_call_t *call, apr_status_t rv)
{
    call_release(call);
    if (call->ptemp) {
        apr_pool_destroy(call->ptemp);
        call->ptemp = NULL;
    }
    return rv;
}

/* The connection lost its socket (I/O error, timeout, EOF): close it, so that the
 * next attempt reconnects, and tell the other pooled connections. */
static apr_status_t call_io_failed(rd_call_t *call, int sys)
{
    rd_conn_t *conn = call->conn;
    apr_status_t rv = ctx_status(conn->ctx, sys);

    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, call->p, "ACMPCA0404: redis %s on %s: %s",
               call->op, call->st->target, conn->ctx ? conn->ctx->errstr : "no connection");
    if (call->st->sentinel) {
        acmpca_sentinel_forget(call->st->sentinel, conn->mgen);
    }
    conn_drop(conn);
    apr_atomic_inc32(&call->st->epoch);
    call->io_failed = 1;
    return rv;
}

/* An error text that says the server cannot take writes or commands now: a replica
 * after a failover, a server still loading its data, a replica that lost its master. */
static int refused_text(const char *text)
{
    return text
           && (!strncmp(text, "READONLY", 8) || !strncmp(text, "LOADING", 7)
               || !strncmp(text, "MASTERDOWN", 10));
}

/* The master moved, or is about to (sentinel): this process forgets its address and
 * reopens every pooled connection before use. */
static void call_master_lost(rd_call_t *call)
{
    if (call->st->sentinel) {
        acmpca_sentinel_forget(call->st->sentinel, call->conn->mgen);
        conn_drop(call->conn);
        apr_atomic_inc32(&call->st->epoch);
    }
}

/* An error reply. A refusal also drops the connection, so that the next call
 * reconnects, perhaps to the new master. */
static apr_status_t call_error_reply(rd_call_t *call, const redisReply *r)
{
    const char *text = reply_error_text(r);

    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, call->p,
               "ACMPCA0405: redis %s on %s: %s", call->op, call->st->target, text);
    if (refused_text(text)) {
        call_master_lost(call);
        conn_drop(call->conn);
    }
    return APR_EGENERAL;
}

static apr_status_t call_bad_reply(rd_call_t *call, const char *what)
{
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_EGENERAL, call->p,
               "ACMPCA0407: redis %s on %s: unexpected reply (%s)", call->op, call->st->target,
               what);
    return APR_EGENERAL;
}

/* The connection ready for a command; *pfresh tells whether it was (re)opened now. */
static apr_status_t call_connect(rd_call_t *call, int *pfresh)
{
    rd_conn_t *conn = call->conn;
    apr_uint32_t epoch = apr_atomic_read32(&call->st->epoch);
    apr_status_t rv;

    if (conn->ctx && conn->epoch != epoch) {
        conn_drop(conn); /* made before a loss: probably lost as well */
    }
    *pfresh = conn->ctx == NULL;
    if (conn->ctx) {
        return APR_SUCCESS;
    }
    if ((rv = ctx_open(call->st, call->deadline, &conn->ctx, &conn->mgen, call->ptemp))
        != APR_SUCCESS) {
        /* A configuration error (password, ACL, database) stays one. */
        call->conn_failed = rv != APR_EACCES && rv != APR_EINVAL;
        return rv;
    }
    conn->epoch = epoch;
    conn->loaded = 0;
    return APR_SUCCESS;
}

/* Send n commands in one round trip and read their n replies, owned by the call. */
static apr_status_t conn_pipeline(rd_call_t *call, rd_cmd_t *const *cmds, int n,
                                  redisReply **replies)
{
    redisContext *ctx = call->conn->ctx;
    void *r;
    int i, sys;

    /* Refused before any is queued: a command queued but never sent would go out with
     * the next call's, which would read its reply. */
    for (i = 0; i < n; ++i) {
        if (cmds[i]->overflow) {
            return call_bad_reply(call, "too many arguments");
        }
    }
    for (i = 0; i < n; ++i) {
        if (redisAppendCommandArgv(ctx, cmds[i]->argc, cmds[i]->argv, cmds[i]->len) != REDIS_OK) {
            return call_io_failed(call, errno);
        }
    }
    for (i = 0; i < n; ++i) {
        errno = 0;
        if (redisGetReply(ctx, &r) != REDIS_OK || !r) {
            sys = errno;
            return call_io_failed(call, sys);
        }
        replies[i] = reply_own(call, r);
    }
    return APR_SUCCESS;
}

/* The sha of a script on this connection, loaded once per connection. */
static apr_status_t script_load(rd_call_t *call, rd_script_id id)
{
    rd_conn_t *conn = call->conn;
    redisReply *r;
    rd_cmd_t cmd, *cmds = &cmd;
    apr_status_t rv;

    if (conn->loaded & (1u << id)) {
        return APR_SUCCESS;
    }
    cmd_init(&cmd, "SCRIPT", call->ptemp);
    cmd_str(&cmd, "LOAD");
    cmd_str(&cmd, script_src[id]);
    if ((rv = conn_pipeline(call, &cmds, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (reply_error_text(r)) {
        return call_error_reply(call, r);
    }
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        return call_bad_reply(call, "SCRIPT LOAD");
    }
    memcpy(conn->sha[id], r->str, 41);
    conn->loaded |= 1u << id;
    return APR_SUCCESS;
}

/* EVALSHA, and EVAL when the server lost its script cache (restart, SCRIPT FLUSH, a
 * failover to a replica that never saw SCRIPT LOAD). */
static apr_status_t script_eval(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd,
                                redisReply **preply)
{
    apr_status_t rv;
    const char *text;

    if ((rv = script_load(call, id)) != APR_SUCCESS) {
        return rv;
    }
    cmd->argv[0] = "EVALSHA";
    cmd->len[0] = 7;
    cmd->argv[1] = call->conn->sha[id];
    cmd->len[1] = 40;
    if ((rv = conn_pipeline(call, &cmd, 1, preply)) != APR_SUCCESS) {
        return rv;
    }
    text = reply_error_text(*preply);
    if (text && !strncmp(text, "NOSCRIPT", 8)) {
        cmd->argv[0] = "EVAL";
        cmd->len[0] = 4;
        cmd->argv[1] = script_src[id];
        cmd->len[1] = strlen(script_src[id]);
        rv = conn_pipeline(call, &cmd, 1, preply);
    }
    return rv;
}

/* What one attempt sends: plain commands (pipelined) or one script. */
typedef struct rd_req_t {
    rd_cmd_t *const *cmds;
    int n;
    rd_script_id script; /* with n == 1 and script_cmd */
    int script_cmd;
    redisReply **replies;
} rd_req_t;

static apr_status_t call_attempt(rd_call_t *call, const rd_req_t *req, int *pfresh)
{
    apr_status_t rv;

    call->io_failed = 0;
    call->conn_failed = 0;
    if ((rv = call_connect(call, pfresh)) != APR_SUCCESS) {
        return rv;
    }
    if (req->script_cmd) {
        return script_eval(call, req->script, req->cmds[0], req->replies);
    }
    return conn_pipeline(call, req->cmds, req->n, req->replies);
}

/* A reply of the request that refused it (refused_text). */
static int req_refused(const rd_req_t *req)
{
    int i;

    for (i = 0; i < req->n; ++i) {
        if (req->replies[i] && refused_text(reply_error_text(req->replies[i]))) {
            return 1;
        }
    }
    return 0;
}

/* Sentinel: see "Sentinel" at the top. The first retry goes at once (the address we
 * knew may just be stale), later ones after growing pauses, none after the deadline. */
static apr_status_t call_run_sentinel(rd_call_t *call, const rd_req_t *req, int retry)
{
    apr_interval_time_t pause = apr_time_from_msec(RD_PAUSE_MIN_MS);
    apr_status_t rv;
    int fresh = 0, tries = 0;

    call->deadline = apr_time_now() + apr_time_from_msec(call->st->failover_ms);
    for (;;) {
        rv = call_attempt(call, req, &fresh);
        if (rv == APR_SUCCESS) {
            if (!req_refused(req)) {
                return rv;
            }
            call_master_lost(call);
        }
        else if (!call->conn_failed && !(call->io_failed && retry)) {
            return rv;
        }
        if (apr_time_now() + (tries ? pause : 0) >= call->deadline) {
            return rv; /* the caller logs a refusal with the call */
        }
        if (tries++) {
            apr_sleep(pause);
            pause = pause * 2 > apr_time_from_msec(RD_PAUSE_MAX_MS)
                        ? apr_time_from_msec(RD_PAUSE_MAX_MS)
                        : pause * 2;
        }
        else {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, rv, call->p,
                       "ACMPCA0444: redis %s: no answer from the master of %s; asking the "
                       "sentinels and retrying for up to %d ms",
                       call->op, call->st->target, call->st->failover_ms);
        }
    }
}

/* Run a request. When a connection that worked before is found lost (the server
 * restarted, an idle timeout, a failover), reconnect once and send once more, but only
 * what is safe to repeat: reads, and writes whose script recognises its own nonce. */
static apr_status_t call_run(rd_call_t *call, const rd_req_t *req, int retry)
{
    apr_status_t rv;
    int fresh = 0;

    if (call->st->sentinel) {
        return call_run_sentinel(call, req, retry);
    }
    rv = call_attempt(call, req, &fresh);
    if (rv != APR_SUCCESS && call->io_failed && !fresh && retry) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, rv, call->p,
                   "ACMPCA0412: redis %s: reconnecting to %s and retrying once", call->op,
                   call->st->target);
        rv = call_attempt(call, req, &fresh);
    }
    return rv;
}

/* One command; an error reply is logged and is a failure. */
static apr_status_t call_cmd(rd_call_t *call, rd_cmd_t *cmd, int retry, redisReply **preply)
{
    rd_req_t req = {&cmd, 1, RS_COUNT, 0, preply};
    apr_status_t rv;

    *preply = NULL;
    if ((rv = call_run(call, &req, retry)) != APR_SUCCESS) {
        return rv;
    }
    return reply_error_text(*preply) ? call_error_reply(call, *preply) : APR_SUCCESS;
}

/* Several read commands in one round trip; error replies are left to the caller. */
static apr_status_t call_cmds(rd_call_t *call, rd_cmd_t *const *cmds, int n, redisReply **replies)
{
    rd_req_t req = {cmds, n, RS_COUNT, 0, replies};

    return call_run(call, &req, 1);
}

/* Start a script command: slots 0-2 are EVALSHA, the sha and numkeys (set here). */
static void script_init(rd_cmd_t *cmd, int numkeys, apr_pool_t *p)
{
    cmd_init(cmd, NULL, p);
    cmd_str(cmd, "EVALSHA");
    cmd_str(cmd, "");
    cmd_i64(cmd, numkeys);
}

static apr_status_t call_script(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd, int retry,
                                redisReply **preply)
{
    rd_req_t req = {&cmd, 1, id, 1, preply};
    apr_status_t rv;

    *preply = NULL;
    if ((rv = call_run(call, &req, retry)) != APR_SUCCESS) {
        return rv;
    }
    return reply_error_text(*preply) ? call_error_reply(call, *preply) : APR_SUCCESS;
}

/* A write script's result code (and the reply, for what follows the code). */
static apr_status_t call_write_script(rd_call_t *call, rd_script_id id, rd_cmd_t *cmd,
                                      long long *pcode, redisReply **preply)
{
    apr_status_t rv;
    redisReply *r;

    if ((rv = call_script(call, id, cmd, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1
        || r->element[0]->type != REDIS_REPLY_INTEGER) {
        return call_bad_reply(call, "script result");
    }
    *pcode = r->element[0]->integer;
    *preply = r;
    return APR_SUCCESS;
}

/* With wait=N: the write of this call is on N replicas, or the call fails. Sent on the
 * connection that wrote, as WAIT counts that connection's writes. */
static apr_status_t call_durable(rd_call_t *call)
{
    rd_store_t *st = call->st;
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv;

    if (!st->wait_replicas || !call->conn->ctx) {
        return APR_SUCCESS;
    }
    cmd_init(&cmd, "WAIT", call->ptemp);
    cmd_i64(&cmd, st->wait_replicas);
    cmd_i64(&cmd, st->wait_timeout_ms);
    if ((rv = call_cmd(call, &cmd, 0, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        return call_bad_reply(call, "WAIT");
    }
    if (r->integer < st->wait_replicas) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, APR_TIMEUP, call->p,
                   "ACMPCA0406: redis %s on %s: %lld of %d replicas acknowledged the write "
                   "within %d ms",
                   call->op, st->target, r->integer, st->wait_replicas, st->wait_timeout_ms);
        /* Perhaps a master that a failover left behind, its replica promoted. */
        call_master_lost(call);
        return APR_TIMEUP;
    }
    return APR_SUCCESS;
}

/**************************************************************************************
 * Reading replies
 */

/* Binary bytes in p; an empty value is an empty buffer, never NULL. */
static const unsigned char *bytes_dup(const char *data, apr_size_t len, apr_pool_t *p)
{
    return len ? apr_pmemdup(p, data, len) : apr_pcalloc(p, 1);
}

/**************************************************************************************
 * Keys
 */

#define K_SEQ    "acmpca:seq"
#define K_ALL    "acmpca:cas"
#define K_SCHEMA "acmpca:schema"

/* acmpca:{<id>}:<what>: a key of the CA id (see the layout at the top). */
static const char *key_ca(const char *id, const char *what, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", id, "}:", what, NULL);
}

static const char *key_cert(const char *ca_id, const char *serial, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", ca_id, "}:cert:", serial, NULL);
}

static const char *key_report(const char *ca_id, const char *id, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", ca_id, "}:report:", id, NULL);
}

static const char *key_account(const char *account, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", account, "}:cas", NULL);
}

static const char *idem_owner(const char *scope)
{
    const char *colon = strrchr(scope, ':');

    return colon ? colon + 1 : scope;
}

static const char *key_idem(const char *scope, const char *token, apr_pool_t *p)
{
    return apr_psprintf(p, "acmpca:{%s}:idem:%" APR_SIZE_T_FMT ":%s:%s", idem_owner(scope),
                        strlen(scope), scope, token);
}

static const char *key_object(const char *bucket, const char *key, apr_pool_t *p)
{
    return apr_psprintf(p, "acmpca:obj:%" APR_SIZE_T_FMT ":%s:%s", strlen(bucket), bucket, key);
}

/* A value no other call ever uses: 96 random bits. */
static const char *nonce_make(apr_pool_t *p)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[12];
    char *s = apr_palloc(p, 2 * sizeof(buf) + 1);
    size_t i;

    if (apr_generate_random_bytes(buf, sizeof(buf)) != APR_SUCCESS) {
        /* Unique enough without the generator: this process, this moment, this stack. */
        return apr_psprintf(p, "%ld-%" APR_TIME_T_FMT "-%p", (long)getpid(), apr_time_now(),
                            (void *)&i);
    }
    for (i = 0; i < sizeof(buf); ++i) {
        s[2 * i] = hex[buf[i] >> 4];
        s[2 * i + 1] = hex[buf[i] & 0x0f];
    }
    s[2 * sizeof(buf)] = '\0';
    return s;
}

/* The claim's key, then ARGV now, result, expires and the key's expiry: Redis drops it a
 * minute after the claim lapses (by the callers' clocks, which decide). */
static void idem_args(rd_cmd_t *cmd, const acmpca_idem_t *idem, const char *result)
{
    cmd_i64(cmd, apr_time_now());
    cmd_str(cmd, result ? result : "");
    cmd_i64(cmd, idem ? idem->expires : 0);
    cmd_i64(cmd, idem ? apr_time_as_msec(idem->expires) + 60000 : 0);
}

/**************************************************************************************
 * Configuration and process life-cycle
 */

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
static int parse_int(const char *s, int min, int max, int *pv)
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
    if (port && !parse_int(apr_pstrmemdup(p, port, (apr_size_t)(end - port)), 1, 65535, pport)) {
        return spec_error(p, "the port is not a number in 1..65535");
    }
    return NULL;
}

/* "/db" (slash at its '/'; nothing when NULL or "/"). */
static const char *spec_db(rd_store_t *st, const char *slash, int *pdb_set, apr_pool_t *p)
{
    if (slash && slash[1]) {
        if (!parse_int(slash + 1, 0, 1 << 20, &st->db)) {
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
        ok = parse_int(eq + 1, 0, 1 << 20, &st->db);
        break;
    case RD_OPT_TIMEOUT:
        ok = parse_int(eq + 1, 1, RD_MAX_MS, &st->timeout_ms);
        break;
    case RD_OPT_WAIT:
        ok = parse_int(eq + 1, 0, 1000, &st->wait_replicas);
        break;
    case RD_OPT_WAIT_TIMEOUT: /* WAIT with 0 blocks for ever: never. */
        ok = parse_int(eq + 1, 1, RD_MAX_MS, &st->wait_timeout_ms);
        break;
    case RD_OPT_CACHE:
        ok = !strcmp(eq + 1, "on") || !strcmp(eq + 1, "off");
        st->no_cache = !strcmp(eq + 1, "off");
        break;
    case RD_OPT_FAILOVER_WAIT:
        ok = parse_int(eq + 1, 0, RD_MAX_MS, &st->failover_ms);
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

/* What the provider's name says the args are. */
typedef enum { RD_SPEC_TCP, RD_SPEC_UNIX, RD_SPEC_SENTINEL } rd_spec_kind;

/* Parse args into st. */
static const char *spec_parse(rd_store_t *st, const char *args, rd_spec_kind kind, apr_pool_t *p)
{
    int unix_alias = kind == RD_SPEC_UNIX;
    const char *q = strchr(args, '?'), *base, *err;
    int db_set = 0;

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

/* The watch's connections: the master's, logged in, as a call's would be. */
static apr_status_t watch_open(void *baton, redisContext **pctx, apr_pool_t *p)
{
    const rd_store_t *st = baton;
    unsigned int gen;

    return ctx_open(st, apr_time_now() + apr_time_from_msec(st->timeout_ms), pctx, &gen, p);
}

static const char *create_impl(acmpca_store_t **ps, const char *args, rd_spec_kind kind,
                               const acmpca_store_provider_t *provider, apr_pool_t *p)
{
    acmpca_conns_spec_t conns_spec = {.keep = RD_KEEP_CONNS,
                                      .max = RD_MAX_CONNS,
                                      .ttl = RD_CONN_TTL,
                                      .make = conn_make,
                                      .close = conn_close,
                                      .log_prefix = "ACMPCA0411: redis"};
    acmpca_store_t *s;
    rd_store_t *st;
    const char *err;

    *ps = NULL;
    if (!args || !*args) {
        return spec_error(p, "the spec is empty");
    }
    st = apr_pcalloc(p, sizeof(*st));
    st->timeout_ms = RD_DEFAULT_TIMEOUT;
    st->wait_timeout_ms = RD_DEFAULT_WAIT_MS;
    st->failover_ms = RD_DEFAULT_FAILOVER_MS;
    if ((err = spec_parse(st, args, kind, p)) != NULL) {
        return err;
    }
    conns_spec.timeout = apr_time_from_msec(st->timeout_ms);
    conns_spec.params = st;
    conns_spec.target = st->target;
    if (acmpca_conns_init(&st->conns, &conns_spec, p) != APR_SUCCESS) {
        return "cannot create a mutex";
    }
    st->memo_id = acmpca_memo_store_id();
    if (!st->no_cache
        && !(st->watch = acmpca_redis_watch_create(watch_open, st, &st->epoch, st->target, p))) {
        return "cannot create a mutex";
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->provider = provider;
    s->args = args;
    s->impl = st;
    *ps = s;
    return NULL;
}

static const char *rd_create(acmpca_store_t **ps, const char *args, apr_pool_t *p)
{
    return create_impl(ps, args, RD_SPEC_TCP, &acmpca_store_redis, p);
}

static const char *rd_create_unix(acmpca_store_t **ps, const char *args, apr_pool_t *p)
{
    return create_impl(ps, args, RD_SPEC_UNIX, &acmpca_store_redis_unix, p);
}

static const char *rd_create_sentinel(acmpca_store_t **ps, const char *args, apr_pool_t *p)
{
    return create_impl(ps, args, RD_SPEC_SENTINEL, &acmpca_store_redis_sentinel, p);
}

/* An error reply that a configuration change, not time, cures: no or a wrong password,
 * an ACL user without the right to our keys or commands. */
static int access_denied(const char *text)
{
    return !strncmp(text, "NOAUTH", 6) || !strncmp(text, "WRONGPASS", 9)
           || !strncmp(text, "NOPERM", 6);
}

/* The layout version: written by the first module; APR_ENOTIMPL when newer than ours,
 * APR_EACCES when we may not. */
static apr_status_t schema_check(rd_store_t *st, redisContext *ctx, apr_pool_t *p)
{
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv = APR_SUCCESS;
    int version = 0;

    /* SETNX then GET, rather than SET NX GET, which needs Redis 7. */
    cmd_init(&cmd, "SETNX", p);
    cmd_str(&cmd, K_SCHEMA);
    cmd_i64(&cmd, RD_SCHEMA);
    r = ctx_command(ctx, &cmd);
    if (r && !reply_error_text(r)) {
        reply_free(r);
        cmd_init(&cmd, "GET", p);
        cmd_str(&cmd, K_SCHEMA);
        r = ctx_command(ctx, &cmd);
    }
    if (!r || reply_error_text(r)) {
        rv = r ? (access_denied(reply_error_text(r)) ? APR_EACCES : APR_EGENERAL)
               : ctx_status(ctx, errno);
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0409: redis %s: cannot read %s: %s", st->target, K_SCHEMA,
                   r ? reply_error_text(r) : ctx->errstr);
    }
    else if (r->type == REDIS_REPLY_STRING
             && (!parse_int(r->str, 1, 1000000, &version) || version > RD_SCHEMA)) {
        rv = APR_ENOTIMPL;
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, rv, p,
                   "ACMPCA0410: redis %s holds layout version %s, this module knows %d", st->target,
                   r->str, RD_SCHEMA);
    }
    reply_free(r);
    return rv;
}

/* post_config: nothing to create in Redis, but a configuration error (password, ACL,
 * database number, a layout from a newer module) stops the start with a clear line. An
 * unreachable server does not: Redis may come up after httpd, and the workers connect
 * when it does. The connection is closed here, before the fork. */
static apr_status_t rd_open(acmpca_store_t *s, long owner_uid, long owner_gid, apr_pool_t *p)
{
    rd_store_t *st = s->impl;
    redisContext *ctx;
    apr_status_t rv;
    unsigned int gen;

    (void)owner_uid;
    (void)owner_gid;
    if ((rv = ctx_open(st, 0, &ctx, &gen, p)) == APR_SUCCESS) {
        rv = schema_check(st, ctx, p);
        redisFree(ctx);
    }
    if (rv == APR_SUCCESS || rv == APR_EACCES || rv == APR_EINVAL || rv == APR_ENOTIMPL) {
        return rv;
    }
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, rv, p,
               "ACMPCA0413: redis %s is not usable now; the workers will connect when it is",
               st->target);
    return APR_SUCCESS;
}

/* child_init: a connection list owned by this child and closed with pchild. */
static apr_status_t rd_attach(acmpca_store_t *s, apr_pool_t *pchild)
{
    rd_store_t *st = s->impl;

    return acmpca_conns_attach(&st->conns, pchild);
}

/**************************************************************************************
 * Idempotency
 */

/* With wait=N, a call that answers from what an earlier call wrote must not acknowledge
 * what the replicas may lack: that call may have failed its own WAIT (on a master that a
 * failover left behind, whose writes are lost when it rejoins as a replica), and a WAIT
 * alone counts only this connection's writes. A write of ours after the read, once on N
 * replicas, shows that everything read is there too: a master has one replication
 * stream. The barrier key shares the hash tag of what was read. */
static apr_status_t call_barrier(rd_call_t *call, const char *tag)
{
    redisReply *r;
    rd_cmd_t cmd;
    apr_status_t rv;

    if (!call->st->wait_replicas) {
        return APR_SUCCESS;
    }
    cmd_init(&cmd, "SET", call->ptemp);
    cmd_str(&cmd, apr_pstrcat(call->ptemp, "acmpca:{", tag, "}:barrier", NULL));
    cmd_str(&cmd, nonce_make(call->ptemp));
    cmd_str(&cmd, "PX");
    cmd_str(&cmd, "60000");
    if ((rv = call_cmd(call, &cmd, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    return call_durable(call);
}

static apr_status_t rd_idem_get(acmpca_store_t *s, const char *scope, const char *token,
                                apr_time_t now, const char **presult, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    const char *result, *expires;
    apr_status_t rv;

    *presult = NULL;
    RD_OK(call_begin(&call, s, "idem_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, key_idem(scope, token, call.ptemp));
    cmd_str(&cmd, "result");
    cmd_str(&cmd, "expires");
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    result = elem_str(r, 0, p);
    expires = elem_str(r, 1, NULL);
    if (!result || !expires || apr_atoi64(expires) <= now) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    RD_OK(call_barrier(&call, idem_owner(scope)));
    *presult = result;
leave:
    return call_end(&call, rv);
}

/* A retry after a lost reply finds its own claim: the result it wanted is there, so
 * that is a success, not a conflict. Results are fresh random values (serials), so no
 * other caller holds the same one. */
static apr_status_t rd_idem_claim(acmpca_store_t *s, acmpca_idem_t *idem, const char *result,
                                  apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    idem->existing = NULL;
    RD_OK(call_begin(&call, s, "idem_claim", p));
    script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, key_idem(idem->scope, idem->token, call.ptemp));
    idem_args(&cmd, idem, result);
    RD_OK(call_write_script(&call, RS_IDEM_CLAIM, &cmd, &code, &r));
    if (code == RC_CLAIMED) {
        RD_OK(call_barrier(&call, idem_owner(idem->scope)));
        idem->existing = elem_str(r, 1, p);
        rv = idem->existing && !strcmp(idem->existing, result) ? APR_SUCCESS : APR_EEXIST;
    }
    else {
        rv = code == RC_OK ? call_durable(&call) : call_bad_reply(&call, "idem_claim result");
    }
leave:
    return call_end(&call, rv);
}

/**************************************************************************************
 * Certificate authorities
 */

static const char *const ca_fields[] = {"id", "account", "seq", "version", "doc"};

static void ca_fields_add(rd_cmd_t *cmd)
{
    size_t i;

    for (i = 0; i < sizeof(ca_fields) / sizeof(ca_fields[0]); ++i) {
        cmd_str(cmd, ca_fields[i]);
    }
}

/* A CA from the reply of HMGET <ca fields>, or NULL when the hash is missing. */
static acmpca_ca_rec_t *ca_read(const redisReply *r, apr_pool_t *p)
{
    acmpca_ca_rec_t *rec;

    if (!elem_str(r, 0, NULL) || !elem_str(r, 4, NULL)) {
        return NULL;
    }
    rec = apr_pcalloc(p, sizeof(*rec));
    rec->id = elem_str(r, 0, p);
    rec->account = elem_str(r, 1, p);
    rec->seq = elem_i64(r, 2);
    rec->version = elem_i64(r, 3);
    rec->doc = elem_str(r, 4, p);
    return rec;
}

static apr_status_t rd_ca_create(acmpca_store_t *s, acmpca_ca_rec_t *rec,
                                 const unsigned char *wrapped_key, apr_size_t keylen,
                                 acmpca_idem_t *idem, const char *idem_result, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (idem) {
        idem->existing = NULL;
    }
    RD_OK(call_begin(&call, s, "ca_create", p));
    script_init(&cmd, idem ? 6 : 5, call.ptemp);
    cmd_str(&cmd, key_ca(rec->id, "ca", call.ptemp));
    cmd_str(&cmd, key_ca(rec->id, "key", call.ptemp));
    cmd_str(&cmd, key_account(rec->account, call.ptemp));
    cmd_str(&cmd, K_ALL);
    cmd_str(&cmd, K_SEQ);
    if (idem) {
        cmd_str(&cmd, key_idem(idem->scope, idem->token, call.ptemp));
    }
    cmd_str(&cmd, rec->id);
    cmd_str(&cmd, rec->account);
    cmd_str(&cmd, rec->doc);
    cmd_str(&cmd, wrapped_key ? "1" : "0");
    cmd_mem(&cmd, wrapped_key, wrapped_key ? keylen : 0);
    cmd_str(&cmd, nonce_make(call.ptemp));
    idem_args(&cmd, idem, idem_result);
    RD_OK(call_write_script(&call, RS_CA_CREATE, &cmd, &code, &r));
    if (code == RC_CLAIMED) {
        RD_OK(call_barrier(&call, idem_owner(idem->scope)));
        idem->existing = elem_str(r, 1, p);
        rv = APR_EEXIST;
    }
    else if (code == RC_EXISTS) {
        rv = APR_EEXIST;
    }
    else if (code != RC_OK) {
        rv = call_bad_reply(&call, "ca_create code");
    }
    else {
        RD_OK(call_durable(&call));
        rec->seq = elem_i64(r, 1);
        rec->version = 1;
    }
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_ca_get(acmpca_store_t *s, const char *id, acmpca_ca_rec_t **prec,
                              apr_pool_t *p)
{
    rd_store_t *st = s->impl;
    apr_uint64_t gen = 0;
    int memo = acmpca_redis_watch_now(st->watch, id, &gen); /* taken before the read */
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *prec = NULL;
    if (memo && acmpca_memo_get(st->memo_id, gen, id, prec, p)) {
        return APR_SUCCESS;
    }
    RD_OK(call_begin(&call, s, "ca_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, key_ca(id, "ca", call.ptemp));
    ca_fields_add(&cmd);
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    if ((*prec = ca_read(r, p)) == NULL) {
        rv = APR_NOTFOUND;
    }
    else if (memo) {
        acmpca_memo_put(st->memo_id, gen, *prec);
    }
leave:
    return call_end(&call, rv);
}

/* The version alone: a few bytes back instead of the whole document. "id" is asked
 * too, as ca_read wants it: a hash without it is no CA. With memos on, the version the
 * memo holds, or the whole record read into it on a miss (as sqlite does). */
static apr_status_t rd_ca_version(acmpca_store_t *s, const char *id, apr_int64_t *pversion,
                                  apr_pool_t *p)
{
    rd_store_t *st = s->impl;
    acmpca_ca_rec_t *rec;
    apr_uint64_t gen;
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *pversion = 0;
    if (acmpca_redis_watch_now(st->watch, id, &gen)) {
        if (acmpca_memo_version(st->memo_id, gen, id, pversion)) {
            return APR_SUCCESS;
        }
        if ((rv = rd_ca_get(s, id, &rec, p)) == APR_SUCCESS) {
            *pversion = rec->version;
        }
        return rv;
    }
    RD_OK(call_begin(&call, s, "ca_version", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, key_ca(id, "ca", call.ptemp));
    cmd_str(&cmd, "id");
    cmd_str(&cmd, "version");
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL) || !elem_str(r, 1, NULL)) {
        rv = APR_NOTFOUND;
    }
    else {
        *pversion = elem_i64(r, 1);
    }
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_ca_update(acmpca_store_t *s, acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    RD_OK(call_begin(&call, s, "ca_update", p));
    script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, key_ca(rec->id, "ca", call.ptemp));
    cmd_str(&cmd, rec->doc);
    cmd_i64(&cmd, rec->version);
    cmd_str(&cmd, nonce_make(call.ptemp));
    cmd_str(&cmd, rec->id);
    rv = call_write_script(&call, RS_CA_UPDATE, &cmd, &code, &r);
    /* Changed, refused on a newer version (a stale memo), or unknown: memos of it go. */
    acmpca_redis_watch_changed(rec->id);
    RD_OK(rv);
    switch (code) {
    case RC_OK:
        RD_OK(call_durable(&call));
        rec->version = elem_i64(r, 1);
        break;
    case RC_NOTFOUND:
        rv = APR_NOTFOUND;
        break;
    case RC_CONFLICT:
        rv = ACMPCA_ECONFLICT;
        break;
    default:
        rv = call_bad_reply(&call, "ca_update code");
        break;
    }
leave:
    return call_end(&call, rv);
}

/* The CA's account: the purge must name the account index among its keys. */
static apr_status_t ca_account(rd_call_t *call, const char *id, const char **paccount)
{
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    cmd_init(&cmd, "HGET", call->ptemp);
    cmd_str(&cmd, key_ca(id, "ca", call->ptemp));
    cmd_str(&cmd, "account");
    if ((rv = call_cmd(call, &cmd, 1, &r)) != APR_SUCCESS) {
        return rv;
    }
    if (r->type != REDIS_REPLY_STRING) {
        return APR_NOTFOUND;
    }
    *paccount = apr_pstrmemdup(call->ptemp, r->str, r->len);
    return APR_SUCCESS;
}

/* One batch of a purge, its command and reply in a pool of their own: a CA with a
 * million certificates takes two thousand batches, whose replies must not pile up. */
static apr_status_t purge_batch(rd_call_t *call, const char *id, const char *account,
                                long long *pcode)
{
    static const char *const what[] = {"ca", "key", "certs", "revoked", "reports", "reportseq"};
    apr_pool_t *saved = call->ptemp, *batch;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;
    size_t i;

    if ((rv = apr_pool_create(&batch, saved)) != APR_SUCCESS) {
        return rv;
    }
    call->ptemp = batch;
    script_init(&cmd, 8, batch);
    for (i = 0; i < sizeof(what) / sizeof(what[0]); ++i) {
        cmd_str(&cmd, key_ca(id, what[i], batch));
    }
    cmd_str(&cmd, key_account(account, batch));
    cmd_str(&cmd, K_ALL);
    cmd_str(&cmd, id);
    cmd_str(&cmd, key_cert(id, "", batch));
    cmd_str(&cmd, key_report(id, "", batch));
    cmd_i64(&cmd, RD_PURGE_BATCH);
    rv = call_write_script(call, RS_CA_PURGE, &cmd, pcode, &r);
    call->ptemp = saved;
    apr_pool_destroy(batch);
    return rv;
}

/* Certificates go in batches, so that a big CA never blocks the server for long; each
 * batch is atomic and safe to repeat after a lost reply. */
static apr_status_t rd_ca_purge(acmpca_store_t *s, const char *id, apr_pool_t *p)
{
    rd_call_t call;
    const char *account = NULL;
    long long code = RC_MORE;
    apr_status_t rv;

    RD_OK(call_begin(&call, s, "ca_purge", p));
    RD_OK(ca_account(&call, id, &account));
    while (code == RC_MORE) {
        RD_OK(purge_batch(&call, id, account, &code));
    }
    acmpca_redis_watch_changed(id);
    if (code == RC_NOTFOUND) {
        /* A concurrent purge finished first, or our last batch did and its reply was lost
         * (retried): the CA is gone either way. */
        rv = APR_NOTFOUND;
    }
    else if (code != RC_OK) {
        rv = call_bad_reply(&call, "ca_purge code");
    }
    else {
        rv = call_durable(&call);
    }
leave:
    return call_end(&call, rv);
}

/* Fetch the CA records of ids (element 0, 2, 4, ... of a WITHSCORES reply) in one round
 * trip and append those still there. */
static apr_status_t ca_fetch(rd_call_t *call, const redisReply *ids, apr_array_header_t *recs,
                             apr_pool_t *p)
{
    int n = (int)(ids->elements / 2), i;
    rd_cmd_t **cmds = apr_palloc(call->ptemp, sizeof(*cmds) * (apr_size_t)n);
    redisReply **replies = apr_pcalloc(call->ptemp, sizeof(*replies) * (apr_size_t)n);
    acmpca_ca_rec_t *rec;
    apr_status_t rv;

    for (i = 0; i < n; ++i) {
        cmds[i] = apr_palloc(call->ptemp, sizeof(rd_cmd_t));
        cmd_init(cmds[i], "HMGET", call->ptemp);
        cmd_str(cmds[i], key_ca(elem_str(ids, (size_t)(2 * i), call->ptemp), "ca", call->ptemp));
        ca_fields_add(cmds[i]);
    }
    if ((rv = call_cmds(call, cmds, n, replies)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < n; ++i) {
        if (reply_error_text(replies[i])) {
            return call_error_reply(call, replies[i]);
        }
        /* A CA purged between the index read and now is skipped. */
        if ((rec = ca_read(replies[i], p)) != NULL) {
            APR_ARRAY_PUSH(recs, acmpca_ca_rec_t *) = rec;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t rd_ca_list(acmpca_store_t *s, const char *account, apr_int64_t after_seq,
                               int limit, apr_array_header_t **precs, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *ids;
    apr_array_header_t *recs;
    apr_status_t rv;
    int want;

    *precs = recs =
        apr_array_make(p, limit > 0 && limit <= 100 ? limit : 16, sizeof(acmpca_ca_rec_t *));
    RD_OK(call_begin(&call, s, "ca_list", p));
    /* Pages of the index by seq; a page may come back short of records (a purge in
     * between), so go on until the limit is met or the index ends. */
    while (limit <= 0 || recs->nelts < limit) {
        want =
            limit <= 0 || limit - recs->nelts > RD_LIST_PAGE ? RD_LIST_PAGE : limit - recs->nelts;
        cmd_init(&cmd, "ZRANGEBYSCORE", call.ptemp);
        cmd_str(&cmd, account ? key_account(account, call.ptemp) : K_ALL);
        cmd_str(&cmd, apr_psprintf(call.ptemp, "(%" APR_INT64_T_FMT, after_seq));
        cmd_str(&cmd, "+inf");
        cmd_str(&cmd, "WITHSCORES");
        cmd_str(&cmd, "LIMIT");
        cmd_str(&cmd, "0");
        cmd_i64(&cmd, want);
        RD_OK(call_cmd(&call, &cmd, 1, &ids));
        if (ids->type != REDIS_REPLY_ARRAY) {
            rv = call_bad_reply(&call, "ZRANGEBYSCORE");
            goto leave;
        }
        if (ids->elements == 0) {
            break;
        }
        RD_OK(ca_fetch(&call, ids, recs, p));
        after_seq = apr_atoi64(elem_str(ids, ids->elements - 1, NULL));
        if ((int)(ids->elements / 2) < want) {
            break;
        }
    }
leave:
    return call_end(&call, rv);
}

static apr_status_t zcard(acmpca_store_t *s, const char *op, const char *key, apr_int64_t *pcount,
                          apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *pcount = 0;
    RD_OK(call_begin(&call, s, op, p));
    cmd_init(&cmd, "ZCARD", call.ptemp);
    cmd_str(&cmd, key);
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_INTEGER) {
        rv = call_bad_reply(&call, "ZCARD");
        goto leave;
    }
    *pcount = r->integer;
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_ca_count(acmpca_store_t *s, const char *account, apr_int64_t *pcount,
                                apr_pool_t *p)
{
    return zcard(s, "ca_count", account ? key_account(account, p) : K_ALL, pcount, p);
}

static apr_status_t rd_ca_key_get(acmpca_store_t *s, const char *id, const unsigned char **pkey,
                                  apr_size_t *plen, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *pkey = NULL;
    *plen = 0;
    RD_OK(call_begin(&call, s, "ca_key_get", p));
    cmd_init(&cmd, "GET", call.ptemp);
    cmd_str(&cmd, key_ca(id, "key", call.ptemp));
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_STRING) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pkey = bytes_dup(r->str, r->len, p);
    *plen = r->len;
leave:
    return call_end(&call, rv);
}

/**************************************************************************************
 * Certificates
 */

static const char *i64_str(apr_int64_t v, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static apr_status_t rd_cert_put(acmpca_store_t *s, const acmpca_cert_rec_t *rec,
                                acmpca_idem_t *idem, apr_int64_t limit, apr_int64_t ca_version,
                                apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (!rec->pem || !rec->serial || !rec->ca_id) {
        return APR_EINVAL; /* NOT NULL in sqlite */
    }
    if (idem) {
        idem->existing = NULL;
    }
    RD_OK(call_begin(&call, s, "cert_put", p));
    script_init(&cmd, idem ? 5 : 4, call.ptemp);
    cmd_str(&cmd, key_cert(rec->ca_id, rec->serial, call.ptemp));
    cmd_str(&cmd, key_ca(rec->ca_id, "certs", call.ptemp));
    cmd_str(&cmd, key_ca(rec->ca_id, "revoked", call.ptemp));
    cmd_str(&cmd, key_ca(rec->ca_id, "ca", call.ptemp));
    if (idem) {
        cmd_str(&cmd, key_idem(idem->scope, idem->token, call.ptemp));
    }
    cmd_str(&cmd, rec->serial);
    cmd_str(&cmd, nonce_make(call.ptemp));
    idem_args(&cmd, idem, rec->serial);
    cmd_str(&cmd, rec->revoked_at ? "1" : "0");
    cmd_i64(&cmd, limit > 0 ? limit : 0);
    cmd_i64(&cmd, ca_version > 0 ? ca_version : 0);
    cmd_field(&cmd, "pem", rec->pem);
    cmd_field(&cmd, "subject", rec->subject);
    cmd_field(&cmd, "tmpl", rec->template_arn);
    cmd_field(&cmd, "nb", i64_str(rec->not_before, call.ptemp));
    cmd_field(&cmd, "na", i64_str(rec->not_after, call.ptemp));
    cmd_field(&cmd, "ia", i64_str(rec->issued_at, call.ptemp));
    cmd_field(&cmd, "ra", rec->revoked_at ? i64_str(rec->revoked_at, call.ptemp) : NULL);
    cmd_field(&cmd, "rr", rec->revocation_reason);
    cmd_field(&cmd, "rb", rec->requested_by);
    RD_OK(call_write_script(&call, RS_CERT_PUT, &cmd, &code, &r));
    switch (code) {
    case RC_OK:
        rv = call_durable(&call);
        break;
    case RC_CLAIMED:
        RD_OK(call_barrier(&call, idem_owner(idem->scope)));
        idem->existing = elem_str(r, 1, p);
        rv = APR_EEXIST;
        break;
    case RC_EXISTS:
        rv = APR_EEXIST;
        break;
    case RC_NOTFOUND:
        acmpca_redis_watch_changed(rec->ca_id); /* read from a stale memo? */
        rv = APR_NOTFOUND;                      /* no such CA, as sqlite's foreign key */
        break;
    case RC_FULL:
        rv = APR_ENOSPC;
        break;
    case RC_CONFLICT:
        acmpca_redis_watch_changed(rec->ca_id); /* the next read of it asks the server */
        rv = ACMPCA_ECONFLICT;
        break;
    default:
        rv = call_bad_reply(&call, "cert_put code");
        break;
    }
leave:
    return call_end(&call, rv);
}

static const char *const cert_fields[] = {"pem", "subject", "tmpl", "nb", "na",
                                          "ia",  "ra",      "rr",   "rb"};
#define CERT_NFIELDS 9

/* A certificate from 9 elements of r starting at i (cert_fields order). The strings
 * point into the reply when p is NULL (cert_iter: valid while the batch is). */
static void cert_read(acmpca_cert_rec_t *rec, const redisReply *r, size_t i, apr_pool_t *p)
{
    rec->pem = elem_str(r, i, p);
    rec->subject = elem_str(r, i + 1, p);
    rec->template_arn = elem_str(r, i + 2, p);
    rec->not_before = elem_i64(r, i + 3);
    rec->not_after = elem_i64(r, i + 4);
    rec->issued_at = elem_i64(r, i + 5);
    rec->revoked_at = elem_i64(r, i + 6);
    rec->revocation_reason = elem_str(r, i + 7, p);
    rec->requested_by = elem_str(r, i + 8, p);
}

static apr_status_t rd_cert_get(acmpca_store_t *s, const char *ca_id, const char *serial,
                                acmpca_cert_rec_t **prec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    acmpca_cert_rec_t *rec;
    apr_status_t rv;
    int i;

    *prec = NULL;
    RD_OK(call_begin(&call, s, "cert_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, key_cert(ca_id, serial, call.ptemp));
    for (i = 0; i < CERT_NFIELDS; ++i) {
        cmd_str(&cmd, cert_fields[i]);
    }
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = rec = apr_pcalloc(p, sizeof(*rec));
    rec->ca_id = apr_pstrdup(p, ca_id);
    rec->serial = apr_pstrdup(p, serial);
    cert_read(rec, r, 0, p);
leave:
    return call_end(&call, rv);
}

/* Two reads in one round trip (a pipeline, not a transaction: each sees every write
 * that completed before it). "id" and "pem" tell that the CA and the certificate exist. */
static apr_status_t rd_cert_status(acmpca_store_t *s, const char *ca_id, const char *serial,
                                   apr_int64_t *pca_version, int *pfound, apr_time_t *prevoked_at,
                                   const char **preason, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t ca, cert;
    rd_cmd_t *cmds[2] = {&ca, &cert};
    redisReply *r[2] = {NULL, NULL};
    apr_status_t rv;

    *pca_version = 0;
    *pfound = 0;
    *prevoked_at = 0;
    *preason = NULL;
    RD_OK(call_begin(&call, s, "cert_status", p));
    cmd_init(&ca, "HMGET", call.ptemp);
    cmd_str(&ca, key_ca(ca_id, "ca", call.ptemp));
    cmd_str(&ca, "id");
    cmd_str(&ca, "version");
    cmd_init(&cert, "HMGET", call.ptemp);
    cmd_str(&cert, key_cert(ca_id, serial, call.ptemp));
    cmd_str(&cert, "pem");
    cmd_str(&cert, "ra");
    cmd_str(&cert, "rr");
    RD_OK(call_cmds(&call, cmds, 2, r));
    if (reply_error_text(r[0]) || reply_error_text(r[1])) {
        rv = call_error_reply(&call, reply_error_text(r[0]) ? r[0] : r[1]);
        goto leave;
    }
    if (!elem_str(r[0], 0, NULL) || !elem_str(r[0], 1, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *pca_version = elem_i64(r[0], 1);
    if (elem_str(r[1], 0, NULL)) {
        *pfound = 1;
        *prevoked_at = elem_i64(r[1], 1);
        *preason = *prevoked_at ? elem_str(r[1], 2, p) : NULL;
    }
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_cert_revoke(acmpca_store_t *s, const char *ca_id, const char *serial,
                                   apr_time_t revoked_at, const char *reason, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    RD_OK(call_begin(&call, s, "cert_revoke", p));
    script_init(&cmd, 2, call.ptemp);
    cmd_str(&cmd, key_cert(ca_id, serial, call.ptemp));
    cmd_str(&cmd, key_ca(ca_id, "revoked", call.ptemp));
    cmd_str(&cmd, serial);
    cmd_i64(&cmd, revoked_at);
    cmd_str(&cmd, reason);
    cmd_str(&cmd, reason ? "1" : "0");
    cmd_str(&cmd, nonce_make(call.ptemp));
    /* Of two concurrent revocations exactly one wins: the script runs alone. */
    RD_OK(call_write_script(&call, RS_CERT_REVOKE, &cmd, &code, &r));
    switch (code) {
    case RC_OK:
        rv = call_durable(&call);
        break;
    case RC_NOTFOUND:
        rv = APR_NOTFOUND;
        break;
    case RC_EXISTS:
        /* Answered "already revoked": only once that revocation is on the replicas. */
        rv = call_barrier(&call, ca_id);
        rv = rv == APR_SUCCESS ? APR_EEXIST : rv;
        break;
    default:
        rv = call_bad_reply(&call, "cert_revoke code");
        break;
    }
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_cert_count(acmpca_store_t *s, const char *ca_id, int which,
                                  apr_int64_t *pcount, apr_pool_t *p)
{
    const char *what = which != ACMPCA_CERT_ITER_ALL ? "revoked" : "certs";

    return zcard(s, "cert_count", key_ca(ca_id, what, p), pcount, p);
}

/* What a batch script answers per certificate: the serial, then width - 1 fields, of
 * which the one at present is nil when the certificate is gone. */
typedef struct rd_iter_kind {
    rd_script_id script;
    long long batch;
    size_t width, present;
} rd_iter_kind;

/* Every field (cert_fields), or what a CRL entry needs (RS_CRL_BATCH): ~40 bytes a
 * certificate instead of ~1.3 KB, so batches can be larger for the same memory. */
static const rd_iter_kind iter_full = {RS_CERT_BATCH, RD_ITER_BATCH, CERT_NFIELDS + 1, 1};
static const rd_iter_kind iter_crl = {RS_CRL_BATCH, RD_CRL_BATCH, 4, 2};

static void iter_read(acmpca_cert_rec_t *rec, const rd_iter_kind *kind, const redisReply *r,
                      size_t at)
{
    if (kind == &iter_crl) {
        rec->not_after = elem_i64(r, at + 1);
        rec->revoked_at = elem_i64(r, at + 2);
        rec->revocation_reason = elem_str(r, at + 3, NULL);
    }
    else {
        cert_read(rec, r, at + 1, NULL);
    }
}

/* One batch after *pmin: the callback runs on each record after the connection went
 * back, so a callback may call the store. *pdone at the end of the index. */
static apr_status_t iter_batch(acmpca_store_t *s, const char *ca_id, const char *index,
                               const rd_iter_kind *kind, const char **pmin, acmpca_cert_cb *cb,
                               void *baton, int *pdone, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    acmpca_cert_rec_t rec;
    apr_status_t rv;
    size_t i, n;
    int stop = 0;

    RD_OK(call_begin(&call, s, "cert_iter", p));
    script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, index);
    cmd_str(&cmd, key_cert(ca_id, "", call.ptemp));
    cmd_str(&cmd, *pmin);
    cmd_i64(&cmd, kind->batch);
    RD_OK(call_script(&call, kind->script, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_ARRAY || r->elements % kind->width) {
        rv = call_bad_reply(&call, "cert batch");
        goto leave;
    }
    call_release(&call);
    n = r->elements / kind->width;
    *pdone = n < (size_t)kind->batch;
    for (i = 0; i < n && !stop; ++i) {
        size_t at = i * kind->width;
        if (!elem_str(r, at + kind->present, NULL)) {
            continue; /* purged since the index was read */
        }
        memset(&rec, 0, sizeof(rec));
        rec.ca_id = ca_id;
        rec.serial = elem_str(r, at, NULL);
        iter_read(&rec, kind, r, at);
        stop = cb(baton, &rec);
    }
    if (stop) {
        rv = stop;
        goto leave;
    }
    if (n) {
        *pmin = apr_pstrcat(p, "(", elem_str(r, (n - 1) * kind->width, NULL), NULL);
    }
leave:
    return call_end(&call, rv);
}

/* Streams in serial order, a batch of records at a time: a CA with a million
 * certificates costs one batch of memory. Unlike sqlite's single read snapshot, batches
 * are read one after the other: a certificate issued or revoked meanwhile is seen if it
 * sorts after the batches already read. */
static apr_status_t rd_cert_iter(acmpca_store_t *s, const char *ca_id, int which,
                                 acmpca_cert_cb *cb, void *baton, apr_pool_t *p)
{
    const rd_iter_kind *kind = which == ACMPCA_CERT_ITER_CRL ? &iter_crl : &iter_full;
    const char *index, *min = "-";
    apr_pool_t *pools[2] = {NULL, NULL};
    apr_status_t rv;
    int done = 0, cur = 0;

    index = key_ca(ca_id, which != ACMPCA_CERT_ITER_ALL ? "revoked" : "certs", p);
    /* Two pools in turn: a batch runs in one while the bound it starts from (the last
     * serial of the batch before) is still in the other. */
    if ((rv = apr_pool_create(&pools[0], p)) != APR_SUCCESS
        || (rv = apr_pool_create(&pools[1], p)) != APR_SUCCESS) {
        goto leave;
    }
    while (!done && rv == APR_SUCCESS) {
        apr_pool_clear(pools[cur]);
        rv = iter_batch(s, ca_id, index, kind, &min, cb, baton, &done, pools[cur]);
        cur = !cur;
    }
leave:
    if (pools[0]) {
        apr_pool_destroy(pools[0]);
    }
    if (pools[1]) {
        apr_pool_destroy(pools[1]);
    }
    return rv;
}

/**************************************************************************************
 * Objects, reports and counters
 */

static apr_status_t rd_object_put(acmpca_store_t *s, acmpca_object_t *obj, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    const char *etag;
    apr_status_t rv;

    if (!obj->data && obj->len) {
        return APR_EINVAL;
    }
    if ((etag = acmpca_store_etag(obj, p)) == NULL) {
        return APR_EGENERAL;
    }
    obj->etag = etag;
    if (!obj->modified) {
        obj->modified = apr_time_now();
    }
    RD_OK(call_begin(&call, s, "object_put", p));
    script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, key_object(obj->bucket, obj->key, call.ptemp));
    cmd_str(&cmd, "data");
    cmd_mem(&cmd, obj->data, obj->len);
    cmd_field(&cmd, "ct", obj->content_type);
    cmd_field(&cmd, "modified", i64_str(obj->modified, call.ptemp));
    cmd_field(&cmd, "etag", obj->etag);
    RD_OK(call_write_script(&call, RS_OBJECT_PUT, &cmd, &code, &r));
    rv = code == RC_OK ? call_durable(&call) : call_bad_reply(&call, "object_put code");
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_object_get(acmpca_store_t *s, const char *bucket, const char *key,
                                  acmpca_object_t **pobj, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    acmpca_object_t *obj;
    apr_status_t rv;

    *pobj = NULL;
    RD_OK(call_begin(&call, s, "object_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, key_object(bucket, key, call.ptemp));
    cmd_str(&cmd, "data");
    cmd_str(&cmd, "ct");
    cmd_str(&cmd, "modified");
    cmd_str(&cmd, "etag");
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    obj = apr_pcalloc(p, sizeof(*obj));
    obj->bucket = apr_pstrdup(p, bucket);
    obj->key = apr_pstrdup(p, key);
    obj->len = r->element[0]->len;
    obj->data = bytes_dup(r->element[0]->str, obj->len, p);
    obj->content_type = elem_str(r, 1, p);
    obj->modified = elem_i64(r, 2);
    obj->etag = elem_str(r, 3, p);
    /* A CRL served must not be one a failover is about to drop: relying parties would see
     * its number go back. */
    RD_OK(call_barrier(&call, "obj"));
    *pobj = obj;
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_report_put(acmpca_store_t *s, const acmpca_report_rec_t *rec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (!rec->ca_id || !rec->id || !rec->status) {
        return APR_EINVAL; /* NOT NULL in sqlite */
    }
    RD_OK(call_begin(&call, s, "report_put", p));
    script_init(&cmd, 4, call.ptemp);
    cmd_str(&cmd, key_report(rec->ca_id, rec->id, call.ptemp));
    cmd_str(&cmd, key_ca(rec->ca_id, "reports", call.ptemp));
    cmd_str(&cmd, key_ca(rec->ca_id, "reportseq", call.ptemp));
    cmd_str(&cmd, key_ca(rec->ca_id, "ca", call.ptemp));
    cmd_str(&cmd, rec->id);
    cmd_i64(&cmd, rec->created_at);
    cmd_field(&cmd, "status", rec->status);
    cmd_field(&cmd, "bucket", rec->bucket);
    cmd_field(&cmd, "key", rec->key);
    cmd_field(&cmd, "format", rec->format);
    RD_OK(call_write_script(&call, RS_REPORT_PUT, &cmd, &code, &r));
    switch (code) {
    case RC_OK:
        rv = call_durable(&call);
        break;
    case RC_NOTFOUND:
        rv = APR_NOTFOUND; /* no such CA, as sqlite's foreign key */
        break;
    default:
        rv = call_bad_reply(&call, "report_put code");
        break;
    }
leave:
    return call_end(&call, rv);
}

/* A report from [status, bucket, key, format, created] at element i of r. */
static acmpca_report_rec_t *report_read(const char *ca_id, const char *id, const redisReply *r,
                                        size_t i, apr_pool_t *p)
{
    acmpca_report_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->ca_id = apr_pstrdup(p, ca_id);
    rec->id = apr_pstrdup(p, id);
    rec->status = elem_str(r, i, p);
    rec->bucket = elem_str(r, i + 1, p);
    rec->key = elem_str(r, i + 2, p);
    rec->format = elem_str(r, i + 3, p);
    rec->created_at = elem_i64(r, i + 4);
    return rec;
}

static apr_status_t rd_report_get(acmpca_store_t *s, const char *ca_id, const char *id,
                                  acmpca_report_rec_t **prec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *prec = NULL;
    if (!id) {
        return APR_NOTFOUND;
    }
    RD_OK(call_begin(&call, s, "report_get", p));
    cmd_init(&cmd, "HMGET", call.ptemp);
    cmd_str(&cmd, key_report(ca_id, id, call.ptemp));
    cmd_str(&cmd, "status");
    cmd_str(&cmd, "bucket");
    cmd_str(&cmd, "key");
    cmd_str(&cmd, "format");
    cmd_str(&cmd, "created");
    RD_OK(call_cmd(&call, &cmd, 1, &r));
    if (!elem_str(r, 0, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = report_read(ca_id, id, r, 0, p);
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_report_latest(acmpca_store_t *s, const char *ca_id,
                                     acmpca_report_rec_t **prec, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    *prec = NULL;
    RD_OK(call_begin(&call, s, "report_latest", p));
    script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, key_ca(ca_id, "reports", call.ptemp));
    cmd_str(&cmd, key_report(ca_id, "", call.ptemp));
    RD_OK(call_script(&call, RS_REPORT_LATEST, &cmd, 1, &r));
    if (r->type != REDIS_REPLY_ARRAY || !elem_str(r, 1, NULL)) {
        rv = APR_NOTFOUND;
        goto leave;
    }
    *prec = report_read(ca_id, elem_str(r, 0, NULL), r, 1, p);
leave:
    return call_end(&call, rv);
}

/* INCR is not repeated after a lost reply (the number might be taken twice); the call
 * fails instead and the caller asks again. */
static apr_status_t rd_counter_next(acmpca_store_t *s, const char *name, apr_int64_t *pvalue,
                                    apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    apr_status_t rv;

    RD_OK(call_begin(&call, s, "counter_next", p));
    cmd_init(&cmd, "INCR", call.ptemp);
    cmd_str(&cmd, apr_pstrcat(call.ptemp, "acmpca:counter:", name, NULL));
    RD_OK(call_cmd(&call, &cmd, 0, &r));
    if (r->type != REDIS_REPLY_INTEGER) {
        rv = call_bad_reply(&call, "INCR");
        goto leave;
    }
    /* Only a value that is durable may be handed out. */
    RD_OK(call_durable(&call));
    *pvalue = r->integer;
leave:
    return call_end(&call, rv);
}

/* Locks are coordination, not state: no WAIT (a failover that loses one lets a second
 * host build the same CRL once, which is harmless), and an acquire retried after a lost
 * reply finds its own owner and succeeds again. */
static apr_status_t rd_lock_acquire(acmpca_store_t *s, const char *ca_id, const char *name,
                                    const char *owner, int ttl_ms, int want, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    RD_OK(call_begin(&call, s, "lock_acquire", p));
    script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, key_ca(ca_id, apr_pstrcat(call.ptemp, "lock:", name, NULL), call.ptemp));
    cmd_str(&cmd, owner);
    cmd_i64(&cmd, ttl_ms > 0 ? ttl_ms : 1);
    cmd_str(&cmd, want ? "1" : "0");
    RD_OK(call_write_script(&call, RS_LOCK_ACQUIRE, &cmd, &code, &r));
    rv = code == RC_OK       ? APR_SUCCESS
         : code == RC_EXISTS ? APR_EBUSY
                             : call_bad_reply(&call, "lock_acquire code");
leave:
    return call_end(&call, rv);
}

static apr_status_t rd_lock_release(acmpca_store_t *s, const char *ca_id, const char *name,
                                    const char *owner, int *pwanted, apr_pool_t *p)
{
    rd_call_t call;
    rd_cmd_t cmd;
    redisReply *r;
    long long code;
    apr_status_t rv;

    if (pwanted) {
        *pwanted = 0;
    }
    RD_OK(call_begin(&call, s, "lock_release", p));
    script_init(&cmd, 1, call.ptemp);
    cmd_str(&cmd, key_ca(ca_id, apr_pstrcat(call.ptemp, "lock:", name, NULL), call.ptemp));
    cmd_str(&cmd, owner);
    RD_OK(call_write_script(&call, RS_LOCK_RELEASE, &cmd, &code, &r));
    if (code == RC_OK && pwanted) {
        *pwanted = elem_i64(r, 1) != 0;
    }
    rv = code == RC_OK ? APR_SUCCESS : code == RC_NOTFOUND ? APR_NOTFOUND : APR_SUCCESS;
leave:
    return call_end(&call, rv);
}

/**************************************************************************************
 * For the migration operations (redis_dump.c): a pooled connection, connected as a
 * served call connects, and the key layout, which stays here
 */

struct acmpca_redis_conn_t {
    rd_call_t call;
};

apr_status_t acmpca_redis_conn_get(acmpca_store_t *s, acmpca_redis_conn_t **pc, redisContext **pctx,
                                   apr_pool_t *p)
{
    acmpca_redis_conn_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;
    int fresh;

    if ((rv = call_begin(&c->call, s, "migration", p)) == APR_SUCCESS
        && (rv = call_connect(&c->call, &fresh)) == APR_SUCCESS
        && (rv = schema_check(c->call.st, c->call.conn->ctx, p)) == APR_SUCCESS) {
        *pc = c;
        *pctx = c->call.conn->ctx;
        return APR_SUCCESS;
    }
    if (c->call.conn) {
        conn_drop(c->call.conn);
    }
    return call_end(&c->call, rv);
}

void acmpca_redis_conn_put(acmpca_redis_conn_t *c, int broken)
{
    if (broken) {
        conn_drop(c->call.conn); /* replies left unread, or a lost socket */
    }
    call_end(&c->call, APR_SUCCESS);
}

const char *acmpca_redis_key_ca(const char *id, const char *what, apr_pool_t *p)
{
    return key_ca(id, what, p);
}

const char *acmpca_redis_key_cert(const char *ca_id, const char *serial, apr_pool_t *p)
{
    return key_cert(ca_id, serial, p);
}

const char *acmpca_redis_key_report(const char *ca_id, const char *id, apr_pool_t *p)
{
    return key_report(ca_id, id, p);
}

const char *acmpca_redis_key_account(const char *account, apr_pool_t *p)
{
    return key_account(account, p);
}

const char *acmpca_redis_key_idem(const char *scope, const char *token, apr_pool_t *p)
{
    return key_idem(scope, token, p);
}

const char *acmpca_redis_key_object(const char *bucket, const char *key, apr_pool_t *p)
{
    return key_object(bucket, key, p);
}

const char *acmpca_redis_key_counter(const char *name, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:counter:", name, NULL); /* as rd_counter_next */
}

const char *acmpca_redis_key_seq(void)
{
    return K_SEQ;
}

const char *acmpca_redis_key_all(void)
{
    return K_ALL;
}

const char *const *acmpca_redis_cert_fields(void)
{
    return cert_fields;
}

#define RD_PROVIDER(pname, pcreate)                                                                \
    {                                                                                              \
        .name = pname, .flags = ACMPCA_STORE_F_MULTIHOST, .create = pcreate, .open = rd_open,      \
        .attach = rd_attach, .ca_create = rd_ca_create, .ca_get = rd_ca_get,                       \
        .ca_version = rd_ca_version, .ca_update = rd_ca_update, .ca_purge = rd_ca_purge,           \
        .ca_list = rd_ca_list, .ca_count = rd_ca_count, .ca_key_get = rd_ca_key_get,               \
        .cert_put = rd_cert_put, .cert_get = rd_cert_get, .cert_revoke = rd_cert_revoke,           \
        .cert_count = rd_cert_count, .cert_status = rd_cert_status, .cert_iter = rd_cert_iter,     \
        .idem_claim = rd_idem_claim, .idem_get = rd_idem_get, .object_put = rd_object_put,         \
        .object_get = rd_object_get, .report_put = rd_report_put, .report_get = rd_report_get,     \
        .report_latest = rd_report_latest, .counter_next = rd_counter_next,                        \
        .lock_acquire = rd_lock_acquire, .lock_release = rd_lock_release,                          \
        .dump = acmpca_redis_dump, .load = acmpca_redis_load,                                      \
    }

const acmpca_store_provider_t acmpca_store_redis = RD_PROVIDER("redis", rd_create);

/* "unix:/path/to/redis.sock": the same provider, named so that the spec reads as the
 * socket's URL although the registry splits at the first ':'. */
const acmpca_store_provider_t acmpca_store_redis_unix = RD_PROVIDER("unix", rd_create_unix);

/* "redis-sentinel://sentinels/name": the master the sentinels name, followed across a
 * failover. */
const acmpca_store_provider_t acmpca_store_redis_sentinel =
    RD_PROVIDER("redis-sentinel", rd_create_sentinel);
