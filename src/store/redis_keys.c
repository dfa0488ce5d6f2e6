/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The redis provider's key layout: which keys hold the records, and the names of those
 * keys (used by every part of the provider, dump and load alike). */
#include <string.h>

#include <apr_strings.h>

#include "redis_int.h"

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
 *   acmpca:{<owner>}:barrier                              string, PX 60 s: see
 *                                                         acmpca_redis_call_barrier
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
 */

#define K_SEQ    "acmpca:seq"
#define K_ALL    "acmpca:cas"
#define K_SCHEMA "acmpca:schema"

/* acmpca:{<id>}:<what>: a key of the CA id (see the layout at the top). */
const char *acmpca_redis_key_ca(const char *id, const char *what, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", id, "}:", what, NULL);
}

const char *acmpca_redis_key_cert(const char *ca_id, const char *serial, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", ca_id, "}:cert:", serial, NULL);
}

const char *acmpca_redis_key_report(const char *ca_id, const char *id, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", ca_id, "}:report:", id, NULL);
}

const char *acmpca_redis_key_account(const char *account, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:{", account, "}:cas", NULL);
}

const char *acmpca_redis_idem_owner(const char *scope)
{
    const char *colon = strrchr(scope, ':');

    return colon ? colon + 1 : scope;
}

const char *acmpca_redis_key_idem(const char *scope, const char *token, apr_pool_t *p)
{
    return apr_psprintf(p, "acmpca:{%s}:idem:%" APR_SIZE_T_FMT ":%s:%s",
                        acmpca_redis_idem_owner(scope), strlen(scope), scope, token);
}

const char *acmpca_redis_key_object(const char *bucket, const char *key, apr_pool_t *p)
{
    return apr_psprintf(p, "acmpca:obj:%" APR_SIZE_T_FMT ":%s:%s", strlen(bucket), bucket, key);
}

const char *acmpca_redis_key_counter(const char *name, apr_pool_t *p)
{
    return apr_pstrcat(p, "acmpca:counter:", name, NULL); /* INCR by acmpca_redis_counter_next */
}

const char *acmpca_redis_key_seq(void)
{
    return K_SEQ;
}

const char *acmpca_redis_key_all(void)
{
    return K_ALL;
}

const char *acmpca_redis_key_schema(void)
{
    return K_SCHEMA;
}
