/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's Lua scripts, by id (redis_int.h), and what every write passes
 * them: a nonce, and the arguments of an idempotency claim. */
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "redis_int.h"

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
const char *const acmpca_redis_script_src[RS_COUNT] = {
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

/* A value no other call ever uses: 96 random bits. */
const char *acmpca_redis_nonce(apr_pool_t *p)
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
void acmpca_redis_idem_args(rd_cmd_t *cmd, const acmpca_idem_t *idem, const char *result)
{
    cmd_i64(cmd, apr_time_now());
    cmd_str(cmd, result ? result : "");
    cmd_i64(cmd, idem ? idem->expires : 0);
    cmd_i64(cmd, idem ? apr_time_as_msec(idem->expires) + 60000 : 0);
}
