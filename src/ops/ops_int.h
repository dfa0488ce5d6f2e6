/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * What the operation families share inside src/ops (not part of the public API). */
#ifndef ACMPCA_OPS_INT_H
#define ACMPCA_OPS_INT_H

#include <cjson/cJSON.h>

#include "acmpca/ops.h"
#include "acmpca/json.h"
#include "acmpca/arn.h"
#include "acmpca/revoke.h"
#include "acmpca/x509.h"

/* ---- validation against the service model (validate.c, pattern.c) ------------------- */

/** Check a request body against the model shape (index into acmpca_model_shapes).
 *  Wrong JSON types or bad base64 -> SerializationException; constraint violations ->
 *  ValidationException with AWS's "N validation errors detected: ..." message. */
apr_status_t acmpca_validate(const cJSON *in, int shape, acmpca_err_t *err, apr_pool_t *p);

/** Full match of s against one of the model's patterns; *known = 0 if no matcher. */
int acmpca_pattern_match(const char *pattern, const char *s, int *known, apr_pool_t *p);

/** Code points in a UTF-8 string, -1 when it is not UTF-8. */
long acmpca_utf8_length(const char *s);

/* ---- one operation's context ------------------------------------------------------ */

typedef struct acmpca_op_ctx_t {
    const acmpca_call_t *call;
    const acmpca_env_t *env;
    acmpca_store_t *store;
    const char *account; /* the caller's account: the tenant every lookup is scoped to */
    apr_time_t now;
    const char *operation; /* "IssueCertificate": what acmpca_ca_load authorises; NULL:
                              the owner only (callers outside the dispatcher) */
    const cJSON *in;       /* the request, for condition keys (acm-pca:TemplateArn) */
} acmpca_op_ctx_t;

typedef apr_status_t acmpca_op_fn(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                  acmpca_err_t *err, apr_pool_t *p);

/* The operations, by family file. */
acmpca_op_fn acmpca_op_create_ca, acmpca_op_describe_ca, acmpca_op_list_cas, acmpca_op_update_ca,
    acmpca_op_delete_ca, acmpca_op_restore_ca;
acmpca_op_fn acmpca_op_get_ca_csr, acmpca_op_import_ca_cert, acmpca_op_get_ca_cert;
acmpca_op_fn acmpca_op_issue_cert, acmpca_op_get_cert;
acmpca_op_fn acmpca_op_tag_ca, acmpca_op_untag_ca, acmpca_op_list_tags;

/* ---- the CA document (ca_doc.c) ----------------------------------------------------
 * A CA is one store record holding a JSON document: the members Describe returns, plus
 * private members whose names start with '_' (never shown): _Csr, _Certificate,
 * _CertificateChain, _Tags, _StatusBeforeDelete, _Policy, _Permissions. */

#define ACMPCA_D_CSR        "_Csr"
#define ACMPCA_D_CERT       "_Certificate"
#define ACMPCA_D_CHAIN      "_CertificateChain"
#define ACMPCA_D_TAGS       "_Tags"
#define ACMPCA_D_PRE_DELETE "_StatusBeforeDelete"

#define ACMPCA_ST_CREATING "CREATING"
#define ACMPCA_ST_PENDING  "PENDING_CERTIFICATE"
#define ACMPCA_ST_ACTIVE   "ACTIVE"
#define ACMPCA_ST_DISABLED "DISABLED"
#define ACMPCA_ST_EXPIRED  "EXPIRED"
#define ACMPCA_ST_FAILED   "FAILED"
#define ACMPCA_ST_DELETED  "DELETED"

typedef struct acmpca_doc_entry_t acmpca_doc_entry_t;

typedef struct acmpca_ca_t {
    acmpca_ca_rec_t *rec;
    cJSON *doc; /* parsed rec->doc: owned by the pool, or shared and never changed when
                   entry is set (acmpca_ca_view) */
    acmpca_ca_ref_t ref;
    acmpca_doc_entry_t *entry; /* the cache entry doc belongs to, held until the pool goes */
} acmpca_ca_t;

/** The parsed document of rec, a CA record of store: a tree of the caller's own, owned
 *  by p, NULL when the text is not JSON. Copied from this process's cache of parsed
 *  documents when it holds the same text (doc_cache.c), else parsed. */
cJSON *acmpca_ca_doc_parse(const void *store, const acmpca_ca_rec_t *rec, apr_pool_t *p);

/** The same, to read only: the cache's own tree when it holds the text (*pentry set and
 *  held until p goes), else a tree of p (*pentry NULL). */
const cJSON *acmpca_ca_doc_view(acmpca_doc_entry_t **pentry, const void *store,
                                const acmpca_ca_rec_t *rec, apr_pool_t *p);

/** Rendered answers kept with a cached document: they depend on its text and on the tag
 *  (the status the client sees) alone. */
enum {
    ACMPCA_ANSWER_DESCRIBE,
    ACMPCA_ANSWER_CA_CERT,
    ACMPCA_ANSWER_CHAIN,     /* GetCertificate's CertificateChain, a quoted JSON string */
    ACMPCA_ANSWER_LIST_TAGS, /* ListTags, all tags on one page */
    ACMPCA_ANSWERS
};

/** The CA id as this process last read it, without a store read: the record (version
 *  included) and the cache's tree, held until p goes; NULL when not cached. It may be
 *  stale: only for a write that checks the version (cert_put's ca_version). */
const cJSON *acmpca_ca_doc_hint(acmpca_ca_rec_t **prec, acmpca_doc_entry_t **pentry,
                                const void *store, const char *id, apr_pool_t *p);

/** The answer of kind which rendered for tag, NULL when there is none (or no entry);
 *  valid while the entry is held. */
const char *acmpca_ca_doc_answer(acmpca_doc_entry_t *e, int which, const char *tag);

/** Keep text as the answer of kind which for tag (the first one kept stays). */
void acmpca_ca_doc_answer_keep(acmpca_doc_entry_t *e, int which, const char *tag, const char *text);

/** GetCertificate's certificate of (store, CA, serial) as a quoted JSON string, copied
 *  into p, and whether it is self-signed; APR_NOTFOUND unless this process read that
 *  row from the store before (cert_cache.c: certificate rows never change). */
apr_status_t acmpca_cert_cache_get(const char **pquoted, apr_size_t *plen, int *pself_signed,
                                   const void *store, const acmpca_ca_rec_t *ca, const char *serial,
                                   apr_pool_t *p);

/** Keep what acmpca_cert_cache_get answers, right after reading the row from the store. */
void acmpca_cert_cache_put(const void *store, const acmpca_ca_rec_t *ca, const char *serial,
                           const char *quoted, int self_signed);

/** Empty the cache (tests). */
void acmpca_cert_cache_clear(void);

/** A reply body rendered already: acmpca_ops_call sends its text as it is. */
cJSON *acmpca_ops_rendered(const char *text, apr_pool_t *p);

/** Turn a store failure into the error the client hears (503, cause logged). */
apr_status_t acmpca_ops_store_error(acmpca_err_t *err, apr_status_t rv, const char *what);

/** Load the CA an ARN names, scoped to the caller's account and the server's region:
 *  not a CA ARN -> InvalidArnException; unknown, another tenant's, or past its
 *  restoration period -> ResourceNotFoundException; then acmpca_ca_authorize decides
 *  for ctx->operation (another tenant's CA only when its policy shares it). */
apr_status_t acmpca_ca_load(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                            acmpca_err_t *err, apr_pool_t *p);

/** acmpca_ca_load for operations that only read: ca->doc may be the document cache's
 *  own tree, which nobody may change. */
apr_status_t acmpca_ca_view(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                            acmpca_err_t *err, apr_pool_t *p);

/** acmpca_ca_view from the CA as this process last read it, without a store read (see
 *  acmpca_ca_doc_hint): APR_NOTFOUND when not cached, or whenever acmpca_ca_view might
 *  answer differently than APR_SUCCESS. Only for a write that checks ca->rec->version. */
apr_status_t acmpca_ca_view_hint(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                                 apr_pool_t *p);

/** Status as clients see it: ACTIVE/DISABLED become EXPIRED once the CA certificate's
 *  NotAfter has passed. */
const char *acmpca_ca_status(const acmpca_ca_t *ca, apr_time_t now);

/** Change the stored status and LastStateChangeAt. */
void acmpca_ca_set_status(acmpca_ca_t *ca, const char *status, apr_time_t now);

/** The public CertificateAuthority object of Describe/List. */
cJSON *acmpca_ca_describe(const acmpca_ca_t *ca, apr_time_t now, apr_pool_t *p);

/** Change a CA in a read-modify-write loop: load, call fn, write if nobody else wrote
 *  in between; on a lost race reload and call fn again. */
typedef apr_status_t acmpca_ca_mutate_fn(acmpca_ca_t *ca, void *baton, acmpca_err_t *err,
                                         apr_pool_t *p);
apr_status_t acmpca_ca_mutate(acmpca_ca_t **pca, const acmpca_op_ctx_t *ctx, const char *arn,
                              acmpca_ca_mutate_fn *fn, void *baton, acmpca_err_t *err,
                              apr_pool_t *p);

/** The CA's private key, unwrapped once per CA version and process (ca_cache.c): the
 *  caller's reference goes with p; the cache frees and cleanses the key on eviction. */
apr_status_t acmpca_ca_key(EVP_PKEY **pkey, const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                           acmpca_err_t *err, apr_pool_t *p);

/** Add/replace a timestamp member (epoch seconds). */
void acmpca_json_set_time(cJSON *obj, const char *key, apr_time_t t);
apr_time_t acmpca_json_time(const cJSON *obj, const char *key);

/* ---- the state machine (state.c, PCA-API.md §4.1) --------------------------------- */

/** May operation op run on a CA in its current status? Otherwise the error §4.1 names
 *  (InvalidStateException, RequestInProgressException or RequestFailedException). */
apr_status_t acmpca_state_allow(const char *op, const acmpca_ca_t *ca, apr_time_t now,
                                acmpca_err_t *err, apr_pool_t *p);

/* ---- revocation configuration (revocation.c, PCA-API.md §5.1.1) ------------------- */

/** S3 bucket naming rules: 3-63 of [a-z0-9.-], a letter or digit at each end, no "..",
 *  not shaped like an IPv4 address (CRL buckets, audit report buckets, object routes). */
int acmpca_s3_bucket_ok(const char *bucket);

/** The rules of §5.1.1 beyond the model: InvalidArgsException. NULL is fine. */
apr_status_t acmpca_revocation_check(const cJSON *conf, acmpca_err_t *err, apr_pool_t *p);

/** The configuration as Describe echoes it (defaults filled in). Members absent from
 *  conf are taken from previous (Update), else disabled. Returns a new tree. */
cJSON *acmpca_revocation_normalize(const cJSON *conf, const cJSON *previous);

/* ---- tags (tags.c, PCA-API.md §5.20) ------------------------------------------------ */

/** Tag rules beyond the model (key/value characters, "aws:" prefix, duplicate keys):
 *  InvalidTagException. NULL is fine. */
apr_status_t acmpca_tags_check(const cJSON *tags, acmpca_err_t *err, apr_pool_t *p);

/* ---- validity (validity.c, PCA-API.md §5.5.1) --------------------------------------- */

/** NotBefore/NotAfter of a certificate issued now from IssueCertificate's Validity and
 *  ValidityNotBefore. ca_not_after (0: none, a root signing itself) caps NotAfter;
 *  short_lived caps the lifetime at 7 days. Violations -> ValidationException, a bad
 *  ValidityNotBefore type -> InvalidArgsException. */
apr_status_t acmpca_validity_compute(apr_time_t *pnot_before, apr_time_t *pnot_after,
                                     const cJSON *validity, const cJSON *not_before, apr_time_t now,
                                     apr_time_t ca_not_after, int short_lived, acmpca_err_t *err,
                                     apr_pool_t *p);

/* ---- identity and access (ca_doc.c, policy.c, perm.c; PCA-API.md §5.15-5.18) ------- */

#define ACMPCA_D_POLICY      "_Policy"      /* the resource policy, verbatim (PutPolicy) */
#define ACMPCA_D_PERMISSIONS "_Permissions" /* [{Principal, SourceAccount, Actions, CreatedAt}] */

acmpca_op_fn acmpca_op_put_policy, acmpca_op_get_policy, acmpca_op_delete_policy;
acmpca_op_fn acmpca_op_create_permission, acmpca_op_list_permissions, acmpca_op_delete_permission;

/** May the caller run ctx->operation on ca (called by acmpca_ca_load)? The owner account
 *  may, unless the CA's resource policy denies it explicitly (AccessDeniedException).
 *  Another account may only run the actions AWS lets other accounts have
 *  (DescribeCertificateAuthority, GetCertificate, GetCertificateAuthorityCertificate,
 *  IssueCertificate with EndEntityCertificate/V1, ListPermissions, ListTags,
 *  RevokeCertificate), when the policy or a permission allows it; a CA not shared with
 *  the caller at all does not exist for it (ResourceNotFoundException), one shared for
 *  other actions answers AccessDeniedException. */
apr_status_t acmpca_ca_authorize(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                                 acmpca_err_t *err, apr_pool_t *p);

/** Is ca, of another account, shared with the caller by its resource policy (some
 *  cross-account action allowed)? For ListCertificateAuthorities OTHER_ACCOUNTS. */
int acmpca_ca_shared(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, apr_pool_t *p);

/* ---- revocation, CRLs and audit reports (revoke.c, crl.c, crl_job.c, audit.c, objects.c,
 *      ocsp.c; PCA-API.md §5.9, §5.13, §5.14, §7.4, §8) ------------------------------ */

/* The last CRL published for the CA: {Number, ThisUpdate, NextUpdate, Bucket, Key,
 * Revoked (revoked certificates the store had when it was built; -1 after a failed
 * publication, so that the periodic job builds it again)}. */
#define ACMPCA_D_CRL "_Crl"

acmpca_op_fn acmpca_op_revoke_cert, acmpca_op_create_audit_report, acmpca_op_describe_audit_report;

/** A context for work the server does for a CA on its own (the CRL job, the GET routes):
 *  the CA's own account, no caller, no operation (acmpca_ca_load: the owner only). */
void acmpca_ops_system_ctx(acmpca_op_ctx_t *ctx, const acmpca_env_t *env, const char *account,
                           apr_time_t now);

/** Where the CRL of ca goes and how long it is valid; 0 when the CA has none: CRLs
 *  disabled, or no CA certificate to sign with (PENDING_CERTIFICATE, DELETED, ...). */
int acmpca_crl_target(const acmpca_ca_t *ca, apr_time_t now, const char **pbucket,
                      const char **pkey, int *pdays, apr_pool_t *p);

/** 1 when a revocation leaves ca's CRL to the CRL job (crl_job.c) instead of rebuilding
 *  it before it answers: its last CRL covered more revoked certificates than
 *  env->crl_sync_entries allows, so a rebuild would cost the request seconds. */
int acmpca_crl_deferred(const acmpca_env_t *env, const acmpca_ca_t *ca);

/** Queue the CA for this process's CRL builder thread (crl_builder.c), started on first
 *  use: 1 when queued (or already), 0 when it cannot be (the thread cannot start, the
 *  queue is full, the process is exiting): the caller builds then. */
int acmpca_crl_builder_queue(const acmpca_env_t *env, const char *account, const char *ca_arn);

/* The reason a revocation passes to acmpca_crl_publish: a build that finds another host
 * building asks it to build once more, since that build may have missed this entry. */
#define ACMPCA_CRL_WHY_REVOCATION "revocation"

/** Build the CA's CRL from the store and publish it now (PCA-API.md §7.4): a fresh CRL
 *  number, the revoked certificates not expired before the previous CRL, signed with
 *  the CA key; written to <bucket>/<CustomPath or crl>/<ca-id>.crl in one object_put.
 *  A rebuild of the same CA running in this process takes the request over (it builds
 *  once more when done); across processes and hosts the highest CRL number wins. No
 *  CRL configured: nothing to do, APR_SUCCESS. Failures are logged; the periodic job
 *  retries them. ctx->account must be the CA's account. */
apr_status_t acmpca_crl_publish(const acmpca_op_ctx_t *ctx, const char *ca_arn, const char *why,
                                apr_pool_t *p);

/** One pass of the CA's CRL for the revocations queued to the process's CRL builder
 *  thread (crl_builder.c): as acmpca_crl_publish, but a pass owed to revocations that
 *  came meanwhile is queued again rather than built (and paced) at once. */
void acmpca_crl_publish_queued(const acmpca_op_ctx_t *ctx, const char *ca_arn, apr_pool_t *p);

/** A revocation's rebuild of the CA's CRL (revoke.c): as acmpca_crl_publish, unless it
 *  would keep the request waiting longer than env->crl_sync_time (acmpca_crl_busy_wait,
 *  ACMPCACrlSyncTime): then the process's CRL builder thread (crl_builder.c) builds
 *  instead, right after. A revocation that builds builds one pass, its own: the passes
 *  for revocations that came meanwhile go to the builder thread too. */
void acmpca_crl_publish_revocation(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca,
                                   apr_pool_t *p);

/* ---- one CRL build per CA at a time in this process (crl_busy.c) ------------------- */

/* How many times a builder builds for others before a newcomer takes over. */
#define ACMPCA_CRL_BUILDER_PASSES 2
/* After a pass of d, a CA's next pass waits until ACMPCA_CRL_PACE * d has gone by. */
#define ACMPCA_CRL_PACE 3

/** Claim the right to build ca_id's CRL, and wait for the CA's pace: its slot (>= 0),
 *  then build; -1 when another thread builds it next (that pass has this caller's
 *  revocation); -2 when the table is full (build without coalescing). A caller that
 *  arrives while a builder waits to go again for others, or during its pass once it
 *  built ACMPCA_CRL_BUILDER_PASSES times for others, takes over (*took_over set). */
int acmpca_crl_busy_claim(const char *ca_id, int *took_over);

/** Done with a pass of slot: 1, build again, the pace waited (a revocation came
 *  meanwhile, or keep: another host wanted a build); 0, the slot is released, or handed
 *  to a caller that took over. With hand_off, a caller that builds one pass only: the
 *  slot is released, and ACMPCA_CRL_BUSY_OWED when another pass is due (to queue for
 *  the process's CRL builder, or to claim anew). */
int acmpca_crl_busy_release(int slot, int keep, int hand_off);
#define ACMPCA_CRL_BUSY_OWED 2

/** How long ca_id's pace still holds its next pass back (at most the longest pace); 0
 *  when a claim would not wait for it. */
apr_interval_time_t acmpca_crl_busy_pace_left(const char *ca_id);

/** About how long a revocation of ca_id that builds its CRL would wait now before that
 *  CRL is out: the rest of the CA's pace, a pass under way it would take over, its own
 *  pass, as this process's last pass of the CA took. 0 when no wait is foreseen. */
apr_interval_time_t acmpca_crl_busy_wait(const char *ca_id);

/* ---- the per-process cache of CA keys and certificates (ca_cache.c) ---------------- */

/** How many CAs one process keeps unwrapped; the least recently used goes first. */
#define ACMPCA_CA_CACHE_MAX 64

typedef struct acmpca_ca_cache_stats_t {
    apr_uint64_t hits, misses, evictions, invalidations;
    int entries;
} acmpca_ca_cache_stats_t;

/** The CA's private key and, when pcert is given, its parsed certificate (NULL when the
 *  document has none or it does not parse), from this process's cache when the CA
 *  record is the same version, else unwrapped and parsed, then cached. The objects are
 *  shared: read them, never change them. The caller holds references of its own,
 *  released when p goes. Errors as acmpca_ca_key. */
apr_status_t acmpca_ca_material(EVP_PKEY **pkey, X509 **pcert, const acmpca_op_ctx_t *ctx,
                                const acmpca_ca_t *ca, acmpca_err_t *err, apr_pool_t *p);

/** The counters and the number of entries of this process's cache. */
void acmpca_ca_cache_stats(acmpca_ca_cache_stats_t *st);

/* ---- CRLs kept in memory for their downloads (crl_cache.c) ------------------------ */

/** The CRL of CA ca_id served by env while the CA's record is at version (and, when
 *  bucket is given, recorded at bucket/key): 1 and out filled (copies in p), else 0. */
int acmpca_crl_cache_get(acmpca_served_t *out, const acmpca_env_t *env, const char *ca_id,
                         apr_int64_t version, const char *bucket, const char *key, apr_pool_t *p);

/** Keep served, the current CRL of ca (loaded for env, at its record's version), when
 *  ca's document records exactly that CRL; otherwise, or when it is too large, not. */
void acmpca_crl_cache_put(const acmpca_env_t *env, const acmpca_ca_t *ca,
                          const acmpca_served_t *served, apr_pool_t *p);

/* ---- signed OCSP responses reused (ocsp_cache.c) ---------------------------------- */

/** How long this process hands out a response it signed before signing afresh. */
#define ACMPCA_OCSP_REUSE apr_time_from_sec(300)

/** What an OCSP response for a request without a nonce depends on. */
typedef struct acmpca_ocsp_cache_key_t {
    const unsigned char *req; /* the DER request */
    apr_size_t req_len;
    const void *store; /* the CA's store, its id and the version of its record */
    const char *ca_id;
    apr_int64_t ca_version;
    acmpca_ocsp_status_t st; /* the certificate's status in the store, read just now */
    const char *serial;      /* of the one CertID, as the store keys certificates */
} acmpca_ocsp_cache_key_t;

/** The response kept for these request bytes of this store, signed within
 *  ACMPCA_OCSP_REUSE before now (and before its nextUpdate): 1, reply filled and k
 *  filled with what it was made from (strings and DER copied into p), else 0. The caller
 *  sends it only once it has read from the store that the CA's record still has
 *  k->ca_version and the certificate still has k->st. */
int acmpca_ocsp_cache_peek(acmpca_ocsp_cache_key_t *k, acmpca_ocsp_reply_t *reply,
                           const void *store, const unsigned char *req, apr_size_t len,
                           apr_time_t now, apr_pool_t *p);

/** The response signed for k within ACMPCA_OCSP_REUSE before now (and before its
 *  nextUpdate): 1 and reply filled (DER copied into p), else 0. */
int acmpca_ocsp_cache_get(acmpca_ocsp_reply_t *reply, const acmpca_ocsp_cache_key_t *k,
                          apr_time_t now, apr_pool_t *p);

/** Remember reply (signed at this_update) for k; too large ones are not kept. */
void acmpca_ocsp_cache_put(const acmpca_ocsp_cache_key_t *k, const acmpca_ocsp_reply_t *reply,
                           apr_time_t this_update);

/** acmpca_cert_issue (src/x509/cert.c) for a certificate that is only read and encoded,
 *  as IssueCertificate does: the same bytes, but an EC subject key is copied from the
 *  CSR as encoded rather than re-encoded and decoded again, so X509_get0_pubkey of the
 *  result is NULL (its public key bits and every other field are there). */
apr_status_t acmpca_cert_issue_lean(X509 **pcert, const acmpca_issue_t *in, acmpca_err_t *err,
                                    apr_pool_t *p);

#endif
