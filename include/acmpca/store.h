/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The store: one interface, several providers (sqlite now, redis later).
 *
 * Contract for every provider:
 * - Each call is atomic on its own; there are no transactions spanning calls. Records
 *   that must change together are one record (the CA document holds status, config,
 *   tags, policy and permissions) or change in one call (create + idempotency claim).
 * - Absence is APR_NOTFOUND, never logged as an error. A lost optimistic race is
 *   ACMPCA_ECONFLICT. A unique key already taken is APR_EEXIST. An unreachable or failing
 *   backend is any other status; the caller answers 503/500.
 * - Results are allocated in the pool p of the call; the store keeps no pointer to them.
 * - Safe to call from several threads and processes at once: a provider keeps one
 *   connection per thread (sqlite) or per process (redis), opened after fork. */
#ifndef ACMPCA_STORE_H
#define ACMPCA_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef struct acmpca_store_t acmpca_store_t;

/** A certificate authority: a JSON document plus the columns the store indexes. */
typedef struct acmpca_ca_rec_t {
    const char *id;      /* lowercase uuid */
    const char *account; /* owner account id */
    apr_int64_t seq;     /* creation order, assigned by ca_create, unique, increasing */
    apr_int64_t version; /* bumped by every write; ca_update writes only if it matches */
    const char *doc;     /* the CA document (JSON text, see src/ops/ca_doc.c) */
} acmpca_ca_rec_t;

/** An issued certificate; also the audit record of its issuance and revocation. */
typedef struct acmpca_cert_rec_t {
    const char *ca_id;
    const char *serial;  /* lowercase hex, no colons, no leading zero octets */
    const char *pem;     /* the certificate */
    const char *subject; /* RFC 2253 */
    const char *template_arn;
    apr_time_t not_before;
    apr_time_t not_after;
    apr_time_t issued_at;
    apr_time_t revoked_at;         /* 0: not revoked */
    const char *revocation_reason; /* NULL unless revoked */
    const char *requested_by;      /* principal ARN of the caller who asked for it */
} acmpca_cert_rec_t;

/** An idempotency claim: (scope, token) -> result, valid until expires. */
typedef struct acmpca_idem_t {
    const char *scope; /* e.g. "CreateCertificateAuthority:<account>" or "issue:<ca id>" */
    const char *token;
    apr_time_t expires;
    const char *existing; /* out: the result stored by the first call, on APR_EEXIST */
} acmpca_idem_t;

/** An object served at GET /<bucket>/<key> (CRLs, audit reports). */
typedef struct acmpca_object_t {
    const char *bucket;
    const char *key;
    const char *content_type;
    const unsigned char *data;
    apr_size_t len;
    apr_time_t modified;
    const char *etag; /* quoted, set by the store on put */
    /* On put, optional: bytes that differ whenever data does (a CRL's signature), hashed
     * for the ETag instead of data: a 49 MB CRL was hashed a second time for its ETag. */
    const unsigned char *etag_basis;
    apr_size_t etag_basis_len;
} acmpca_object_t;

/** An audit report request (CreateCertificateAuthorityAuditReport). */
typedef struct acmpca_report_rec_t {
    const char *ca_id;
    const char *id;
    const char *status; /* CREATING | SUCCESS | FAILED */
    const char *bucket;
    const char *key;
    const char *format; /* JSON | CSV */
    apr_time_t created_at;
} acmpca_report_rec_t;

/** Called for each certificate by cert_iter; return non-zero to stop (returned as is). */
typedef int acmpca_cert_cb(void *baton, const acmpca_cert_rec_t *rec);

/* Migration between stores (dump, load). Every persistent record of a store as one
 * neutral, typed record: what it holds is the same whatever the provider. Locks and
 * throttles are coordination, not state, and are not part of it. */
typedef enum acmpca_dump_type_t {
    ACMPCA_DUMP_CA_SEQ = 1, /* value: the highest CA seq ever handed out */
    ACMPCA_DUMP_CA,         /* ca, and its wrapped key (key NULL: none stored) */
    ACMPCA_DUMP_CERT,       /* cert */
    ACMPCA_DUMP_REPORT,     /* report */
    ACMPCA_DUMP_IDEM,       /* idem (scope, token, expires) -> result */
    ACMPCA_DUMP_OBJECT,     /* object, with its etag and modified as stored */
    ACMPCA_DUMP_COUNTER,    /* name -> value, the last number handed out */
} acmpca_dump_type_t;

#define ACMPCA_DUMP_NTYPES (ACMPCA_DUMP_COUNTER + 1)

typedef struct acmpca_dump_rec_t {
    acmpca_dump_type_t type;
    acmpca_ca_rec_t ca;
    const unsigned char *key; /* the wrapped CA key, as stored: copied, never unwrapped */
    apr_size_t keylen;
    acmpca_cert_rec_t cert;
    acmpca_report_rec_t report;
    acmpca_idem_t idem;
    const char *result; /* of idem */
    acmpca_object_t object;
    const char *name;  /* of a counter */
    apr_int64_t value; /* of a counter, or CA_SEQ */
} acmpca_dump_rec_t;

/** Called for each record by dump; return non-zero to stop (returned as is). */
typedef int acmpca_dump_cb(void *baton, const acmpca_dump_rec_t *rec);

#define ACMPCA_STORE_F_MULTIHOST 0x01 /* state shared by several hosts */

#define ACMPCA_CERT_ITER_ALL     0
#define ACMPCA_CERT_ITER_REVOKED 1
/* The revoked ones, as a CRL needs them: only ca_id, serial, not_after, revoked_at and
 * revocation_reason are sure to be set (a provider may read them from an index alone). */
#define ACMPCA_CERT_ITER_CRL 2

typedef struct acmpca_store_provider_t {
    const char *name; /* "sqlite" */
    unsigned int flags;

    /** Config time: parse args ("<path>" for sqlite). Returns NULL or an error text. */
    const char *(*create)(acmpca_store_t **ps, const char *args, apr_pool_t *p);
    /** post_config, as root: create and migrate the schema; owner_uid/gid (or -1) get
     *  ownership of the files so that the workers can write them. */
    apr_status_t (*open)(acmpca_store_t *s, long owner_uid, long owner_gid, apr_pool_t *p);
    /** child_init: prepare per-process state (connections are opened lazily). */
    apr_status_t (*attach)(acmpca_store_t *s, apr_pool_t *pchild);

    /* CAs. ca_create assigns rec->seq and rec->version, stores the wrapped key with it
     * and, when idem is given, claims (scope, token) -> result atomically with it
     * (APR_EEXIST and idem->existing when the token is already claimed, unexpired). */
    apr_status_t (*ca_create)(acmpca_store_t *s, acmpca_ca_rec_t *rec,
                              const unsigned char *wrapped_key, apr_size_t keylen,
                              acmpca_idem_t *idem, const char *idem_result, apr_pool_t *p);
    apr_status_t (*ca_get)(acmpca_store_t *s, const char *id, acmpca_ca_rec_t **prec,
                           apr_pool_t *p);
    /** The version the CA's record has in the store now, as ca_get would read it
     *  (APR_NOTFOUND when there is no such CA), without reading the document: the
     *  freshness check of what a process keeps derived from a CA (CRLs, OCSP answers).
     *  Read from the store itself at every call, so exact across processes and hosts. */
    apr_status_t (*ca_version)(acmpca_store_t *s, const char *id, apr_int64_t *pversion,
                               apr_pool_t *p);
    /** Write rec->doc if the stored version is still rec->version; bumps rec->version. */
    apr_status_t (*ca_update)(acmpca_store_t *s, acmpca_ca_rec_t *rec, apr_pool_t *p);
    /** Remove a CA and all its records for good (after its restoration period). */
    apr_status_t (*ca_purge)(acmpca_store_t *s, const char *id, apr_pool_t *p);
    /** CAs of account (NULL: every account) with seq > after_seq in seq order, at most
     *  limit, as acmpca_ca_rec_t * in *precs. */
    apr_status_t (*ca_list)(acmpca_store_t *s, const char *account, apr_int64_t after_seq,
                            int limit, apr_array_header_t **precs, apr_pool_t *p);
    apr_status_t (*ca_count)(acmpca_store_t *s, const char *account, apr_int64_t *pcount,
                             apr_pool_t *p);
    apr_status_t (*ca_key_get)(acmpca_store_t *s, const char *id, const unsigned char **pkey,
                               apr_size_t *plen, apr_pool_t *p);

    /* Certificates. cert_put: APR_EEXIST when (ca_id, serial) exists, or, with idem,
     * when the token is claimed (idem->existing = the serial of the first call);
     * APR_ENOSPC when limit > 0 and the CA has limit certificates already (revoked ones
     * count), checked in the write itself, so concurrent issuances never pass it;
     * ACMPCA_ECONFLICT when ca_version > 0 and the CA is not at that version (or gone):
     * the write stands on the CA record it was decided with. Nothing is written but on
     * APR_SUCCESS. */
    apr_status_t (*cert_put)(acmpca_store_t *s, const acmpca_cert_rec_t *rec, acmpca_idem_t *idem,
                             apr_int64_t limit, apr_int64_t ca_version, apr_pool_t *p);
    apr_status_t (*cert_get)(acmpca_store_t *s, const char *ca_id, const char *serial,
                             acmpca_cert_rec_t **prec, apr_pool_t *p);
    /** APR_NOTFOUND when unknown, APR_EEXIST when already revoked. */
    apr_status_t (*cert_revoke)(acmpca_store_t *s, const char *ca_id, const char *serial,
                                apr_time_t revoked_at, const char *reason, apr_pool_t *p);
    apr_status_t (*cert_count)(acmpca_store_t *s, const char *ca_id, int which, apr_int64_t *pcount,
                               apr_pool_t *p);
    /** A certificate's revocation state and the version of its CA's record, read together
     *  (one sqlite transaction, one redis round trip), from the store at every call: what
     *  an OCSP answer kept in memory must still match. APR_NOTFOUND when there is no such
     *  CA; else *pfound says whether the certificate exists, *prevoked_at (0: not revoked)
     *  and *preason (NULL unless revoked) its state. */
    apr_status_t (*cert_status)(acmpca_store_t *s, const char *ca_id, const char *serial,
                                apr_int64_t *pca_version, int *pfound, apr_time_t *prevoked_at,
                                const char **preason, apr_pool_t *p);
    /** Stream the CA's certificates in serial order without holding them all. */
    apr_status_t (*cert_iter)(acmpca_store_t *s, const char *ca_id, int which, acmpca_cert_cb *cb,
                              void *baton, apr_pool_t *p);
    /** Optional: bring the provider's table of the CA's CRL entries up to date with its
     *  revoked certificates when revocations reached the store some other way than
     *  cert_revoke (a load, an older schema); a no-op when it is. What
     *  cert_iter(ACMPCA_CERT_ITER_CRL) reads in bulk; without it, it reads slower. */
    apr_status_t (*crl_index)(acmpca_store_t *s, const char *ca_id, apr_pool_t *p);

    /** Claim (scope, token) -> result on its own, before the work it stands for:
     *  APR_SUCCESS, or APR_EEXIST with idem->existing when already claimed, unexpired. */
    apr_status_t (*idem_claim)(acmpca_store_t *s, acmpca_idem_t *idem, const char *result,
                               apr_pool_t *p);
    /** Look a claim up: APR_SUCCESS and *presult, or APR_NOTFOUND (also when expired). */
    apr_status_t (*idem_get)(acmpca_store_t *s, const char *scope, const char *token,
                             apr_time_t now, const char **presult, apr_pool_t *p);

    /* Objects (replace on put; readers see the old or the new bytes, never half). */
    apr_status_t (*object_put)(acmpca_store_t *s, acmpca_object_t *obj, apr_pool_t *p);
    apr_status_t (*object_get)(acmpca_store_t *s, const char *bucket, const char *key,
                               acmpca_object_t **pobj, apr_pool_t *p);

    /* Audit reports. */
    apr_status_t (*report_put)(acmpca_store_t *s, const acmpca_report_rec_t *rec, apr_pool_t *p);
    apr_status_t (*report_get)(acmpca_store_t *s, const char *ca_id, const char *id,
                               acmpca_report_rec_t **prec, apr_pool_t *p);
    /** The most recent report of a CA (APR_NOTFOUND if none). */
    apr_status_t (*report_latest)(acmpca_store_t *s, const char *ca_id, acmpca_report_rec_t **prec,
                                  apr_pool_t *p);

    /** Atomically increment and return a named counter (CRL numbers); starts at 1. */
    apr_status_t (*counter_next)(acmpca_store_t *s, const char *name, apr_int64_t *pvalue,
                                 apr_pool_t *p);

    /* Locks for work done once per CA across every process and host sharing the store
     * (CRL builds): coordination, not state; a lock expires after ttl_ms whatever its
     * holder does. lock_acquire takes (ca_id, name) for owner (a string unique to the
     * caller), or answers APR_EBUSY while another owner holds it; with want, a busy lock
     * is marked wanted, which its holder learns from lock_release (and then does its
     * work once more, for the caller). Taking a lock one already holds renews it. */
    apr_status_t (*lock_acquire)(acmpca_store_t *s, const char *ca_id, const char *name,
                                 const char *owner, int ttl_ms, int want, apr_pool_t *p);
    /** Release it if owner still holds it (APR_NOTFOUND when not: it expired); *pwanted
     *  (may be NULL): another caller wanted it meanwhile. */
    apr_status_t (*lock_release)(acmpca_store_t *s, const char *ca_id, const char *name,
                                 const char *owner, int *pwanted, apr_pool_t *p);

    /* Migration (scripts/store-migrate). Run while no server writes the store: only the
     * sqlite dump is a snapshot. */
    /** Stream every persistent record through cb, holding one record (or one batch) at a
     *  time: CA_SEQ first, then the CAs in seq order, then certificates, reports, unexpired
     *  idempotency claims, objects and counters, each CA before any record of it; reports
     *  of a CA in the order they were first written. The records live until cb returns.
     *  A missing sqlite file is an error (APR_ENOENT), never created. */
    apr_status_t (*dump)(acmpca_store_t *s, acmpca_dump_cb *cb, void *baton, apr_pool_t *p);
    /** Write n records verbatim, in one transaction where the backend has them: seq,
     *  version, etag, modified and counter values as given, a record with the same key
     *  replaced. The CA seq continues above the highest seq loaded (and above CA_SEQ). A
     *  certificate or report whose CA is not there is APR_NOTFOUND. */
    apr_status_t (*load)(acmpca_store_t *s, const acmpca_dump_rec_t *recs, int n, apr_pool_t *p);
} acmpca_store_provider_t;

struct acmpca_store_t {
    const acmpca_store_provider_t *provider;
    const char *args;
    void *impl; /* the provider's own state */
};

/** Create a store from "name:args" ("sqlite:/var/lib/acmpca/acmpca.db"). Returns NULL, or
 *  an error text naming the known providers when name is unknown. Config time. */
const char *acmpca_store_create(acmpca_store_t **ps, const char *spec, apr_pool_t *p);

/** spec with any password (the userinfo's, a sentinel_password option's) replaced by
 *  "***", for logs and error messages. */
const char *acmpca_store_redact(const char *spec, apr_pool_t *p);

/** The providers, NULL-terminated. */
extern const acmpca_store_provider_t *const acmpca_store_providers[];

extern const acmpca_store_provider_t acmpca_store_sqlite;
/* "redis://[user:password@]host[:port][/db][?options]" (src/store/redis_spec.c), and its alias
 * for a unix socket, "unix:/path/to/redis.sock[?db=N&options]". */
extern const acmpca_store_provider_t acmpca_store_redis;
extern const acmpca_store_provider_t acmpca_store_redis_unix;
/* "redis-sentinel://[user:password@]host[:port][,host[:port]...]/name[/db][?options]": the
 * same provider on the master that Redis Sentinel names, followed across failovers. */
extern const acmpca_store_provider_t acmpca_store_redis_sentinel;

#endif
