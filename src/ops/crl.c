/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * CRLs (PCA-API.md §7.4): built from the store's revoked certificates, published as an
 * object of the emulated S3 namespace (the periodic job is in crl_job.c). */
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/revoke.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define DEFAULT_CRL_DAYS 7
/* A CRL of this many entries takes about 50 ms to rebuild here: above it a revocation
 * leaves the rebuild to the CRL job (acmpca_crl_deferred). */
#define DEFAULT_SYNC_ENTRIES 100000
/* A revocation builds its CRL while it would wait at most this long for it (the pace of
 * crl_busy.c included); beyond, the process's CRL builder thread does, right after. */
#define DEFAULT_SYNC_TIME apr_time_from_msec(20)
#define ETAG_TAIL         1024
#define PUBLISH_ROUNDS    4 /* rebuilds after losing a race to a newer CRL */
/* A local status: a CRL with a higher number was recorded while ours was built. */
#define CRL_SUPERSEDED (APR_OS_START_USERERR + 401)

void acmpca_ops_system_ctx(acmpca_op_ctx_t *ctx, const acmpca_env_t *env, const char *account,
                           apr_time_t now)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->env = env;
    ctx->store = env->store;
    ctx->account = account;
    ctx->now = now;
}

/* ************************************************************************************
 * Where a CA's CRL goes
 */

int acmpca_crl_target(const acmpca_ca_t *ca, apr_time_t now, const char **pbucket,
                      const char **pkey, int *pdays, apr_pool_t *p)
{
    const cJSON *rc = acmpca_json_obj(ca->doc, ACMPCA_K_REVOCATION_CONFIG);
    const cJSON *crl = acmpca_json_obj(rc, ACMPCA_K_CRL_CONFIG);
    const char *status = acmpca_ca_status(ca, now);
    const char *bucket = acmpca_json_str(crl, "S3BucketName");
    const char *path = acmpca_json_str(crl, "CustomPath");
    const char *key;

    if (!acmpca_json_bool(crl, ACMPCA_K_ENABLED, 0) || !bucket
        || !acmpca_json_str(ca->doc, ACMPCA_D_CERT)
        || !(!strcmp(status, ACMPCA_ST_ACTIVE) || !strcmp(status, ACMPCA_ST_DISABLED)
             || !strcmp(status, ACMPCA_ST_EXPIRED))) {
        return 0;
    }
    /* The name src/ops/cert.c writes into the CDP. A CustomPath the namespace refuses
     * (the model lets ".." and "%" through) falls back to the default name, which the
     * /crl/<id>.crl route serves as well. */
    key = apr_pstrcat(p, path ? path : "crl", "/", ca->ref.id, ".crl", NULL);
    if (!acmpca_object_name_ok(bucket, key)) {
        key = apr_pstrcat(p, "crl/", ca->ref.id, ".crl", NULL);
    }
    *pbucket = bucket;
    *pkey = key;
    *pdays = (int)acmpca_json_num(crl, "ExpirationInDays", DEFAULT_CRL_DAYS);
    if (*pdays < 1) {
        *pdays = DEFAULT_CRL_DAYS;
    }
    return 1;
}

/* AWS publishes a revocation in the next CRL, within about 30 minutes [AWS: Planning
 * a CRL]. We rebuild at once while that is cheap; a CRL of a million entries costs half
 * a second, which every revocation would pay, so above the limit the CRL job rebuilds it
 * at its next run, one build for all the revocations since (OCSP answers "revoked" at
 * once either way: it reads the certificate's status from the store). The size is the
 * last CRL's, recorded in the CA document when it was published. */
int acmpca_crl_deferred(const acmpca_env_t *env, const acmpca_ca_t *ca)
{
    apr_int64_t limit = env->crl_sync_entries ? env->crl_sync_entries : DEFAULT_SYNC_ENTRIES;
    double last = acmpca_json_num(acmpca_json_obj(ca->doc, ACMPCA_D_CRL), "Revoked", -1);

    return limit >= 0 && last > (double)limit;
}

/* ************************************************************************************
 * Building: the store streams the revoked certificates into the DER encoder
 */

typedef struct entries_baton {
    const acmpca_op_ctx_t *ctx;
    const char *ca_id;
    apr_time_t cutoff; /* thisUpdate of the previous CRL */
    apr_int64_t revoked;
    acmpca_crl_emit_fn *emit;
    void *emit_baton;
    apr_status_t rv;
    apr_pool_t *p;
} entries_baton;

static int entry_cb(void *baton, const acmpca_cert_rec_t *rec)
{
    entries_baton *b = baton;

    b->revoked++;
    /* A certificate that had expired when the previous CRL came out was on that CRL for
     * the last time [AWS: it stays until it expires plus one more CRL]. */
    if (rec->not_after <= b->cutoff) {
        return 0;
    }
    b->rv = b->emit(b->emit_baton, rec->serial, rec->revoked_at,
                    acmpca_revocation_reason_code(rec->revocation_reason));
    return b->rv != APR_SUCCESS;
}

static apr_status_t entries(void *baton, acmpca_crl_emit_fn *emit, void *emit_baton)
{
    entries_baton *b = baton;
    acmpca_store_t *s = b->ctx->store;
    apr_status_t rv;

    b->emit = emit;
    b->emit_baton = emit_baton;
    rv = s->provider->cert_iter(s, b->ca_id, ACMPCA_CERT_ITER_CRL, entry_cb, b, b->p);
    return b->rv != APR_SUCCESS ? b->rv : rv;
}

/* ************************************************************************************
 * Publishing: record the number in the CA document, then write the object
 */

typedef struct record_baton {
    apr_int64_t number;
    const char *bucket, *key;
    apr_time_t this_update, next_update;
    apr_int64_t revoked;
} record_baton;

static apr_status_t record_fn(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    record_baton *rb = baton;
    const cJSON *old = acmpca_json_obj(ca->doc, ACMPCA_D_CRL);
    cJSON *crl;

    (void)err;
    (void)p;
    if (acmpca_json_num(old, "Number", 0) > (double)rb->number) {
        return CRL_SUPERSEDED;
    }
    crl = cJSON_CreateObject();
    cJSON_AddNumberToObject(crl, "Number", (double)rb->number);
    acmpca_json_set_time(crl, "ThisUpdate", rb->this_update);
    acmpca_json_set_time(crl, "NextUpdate", rb->next_update);
    cJSON_AddStringToObject(crl, "Bucket", rb->bucket);
    cJSON_AddStringToObject(crl, "Key", rb->key);
    cJSON_AddNumberToObject(crl, "Revoked", (double)rb->revoked);
    acmpca_json_set(ca->doc, ACMPCA_D_CRL, crl);
    return APR_SUCCESS;
}

/* After a failed write the document must not claim the CRL is current. */
static apr_status_t unrecord_fn(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    record_baton *rb = baton;
    cJSON *crl = acmpca_json_obj(ca->doc, ACMPCA_D_CRL);

    (void)err;
    (void)p;
    if (acmpca_json_num(crl, "Number", 0) != (double)rb->number) {
        return CRL_SUPERSEDED;
    }
    acmpca_json_set(crl, "Revoked", cJSON_CreateNumber(-1));
    return APR_SUCCESS;
}

typedef struct build_t {
    const acmpca_op_ctx_t *ctx;
    acmpca_ca_t *ca;
    record_baton rec;
    const unsigned char *der;
    apr_size_t len, count;
} build_t;

static apr_status_t build(build_t *b, int days, acmpca_err_t *err, apr_pool_t *p)
{
    const acmpca_op_ctx_t *ctx = b->ctx;
    const cJSON *config = acmpca_json_obj(b->ca->doc, ACMPCA_K_CA_CONFIG);
    entries_baton eb = {ctx, b->ca->ref.id, 0, 0, NULL, NULL, APR_SUCCESS, p};
    acmpca_crl_params_t in = {0};
    apr_status_t rv;

    /* Both from the per-process cache: parsing the certificate again was half of what
     * a small CRL cost, once per revocation. */
    if ((rv = acmpca_ca_material(&in.ca_key, &in.ca_cert, ctx, b->ca, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!in.ca_cert) {
        return acmpca_err_internal(err, APR_EGENERAL, "stored CA certificate unreadable");
    }
    in.signing_algorithm = acmpca_json_str(config, ACMPCA_K_SIGNING_ALGORITHM);
    eb.cutoff = acmpca_json_time(acmpca_json_obj(b->ca->doc, ACMPCA_D_CRL), "ThisUpdate");
    /* Revocations that reached the store some other way than RevokeCertificate (a load)
     * go into the provider's CRL entry table first (a no-op otherwise); a failure only
     * makes the read below slower. */
    if (ctx->store->provider->crl_index) {
        ctx->store->provider->crl_index(ctx->store, b->ca->ref.id, p);
    }
    /* The number is taken before the store is read: a CRL with a higher number has
     * seen every revocation a lower one has. */
    rv = ctx->store->provider->counter_next(ctx->store, apr_pstrcat(p, "crl:", b->ca->ref.id, NULL),
                                            &in.number, p);
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "taking a CRL number");
    }
    in.this_update = apr_time_from_sec(apr_time_sec(ctx->now));
    /* A clock stepped back (NTP, a restored VM) must not date this CRL before the one it
     * replaces: relying parties take the later thisUpdate for the newer CRL. */
    if (in.this_update < eb.cutoff) {
        in.this_update = apr_time_from_sec(apr_time_sec(eb.cutoff));
    }
    in.next_update = in.this_update + apr_time_from_sec((apr_int64_t)days * 86400);
    rv = acmpca_crl_build(&b->der, &b->len, &b->count, &in, entries, &eb, p);
    if (rv != APR_SUCCESS) {
        return acmpca_err_internal(err, rv, "building the CRL");
    }
    b->rec.number = in.number;
    b->rec.this_update = in.this_update;
    b->rec.next_update = in.next_update;
    b->rec.revoked = eb.revoked;
    return APR_SUCCESS;
}

/* One round: *pagain when a newer CRL was recorded while ours was written, since its
 * object may have been overwritten by ours. */
static apr_status_t publish_once(build_t *b, const char *arn, int *pagain, acmpca_err_t *err,
                                 apr_pool_t *p)
{
    const acmpca_op_ctx_t *ctx = b->ctx;
    acmpca_object_t obj = {0};
    acmpca_ca_t *now_ca;
    int days;
    apr_status_t rv;

    *pagain = 0;
    if ((rv = acmpca_ca_load(&b->ca, ctx, arn, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!acmpca_crl_target(b->ca, ctx->now, &b->rec.bucket, &b->rec.key, &days, p)) {
        return APR_SUCCESS;
    }
    if ((rv = build(b, days, err, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = acmpca_ca_mutate(NULL, ctx, arn, record_fn, &b->rec, err, p);
    if (rv == CRL_SUPERSEDED) {
        return APR_SUCCESS; /* the newer one writes its own */
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    obj.bucket = b->rec.bucket;
    obj.key = b->rec.key;
    obj.content_type = "application/pkix-crl";
    obj.data = b->der;
    obj.len = b->len;
    obj.modified = b->rec.this_update;
    /* The ETag from the tail, which holds the signature (at most 512 bytes and a few
     * headers): it changes whenever the signed TBS does, and hashing it instead of the
     * whole CRL saves a second pass over 49 MB. */
    obj.etag_basis = b->der + (b->len > ETAG_TAIL ? b->len - ETAG_TAIL : 0);
    obj.etag_basis_len = b->len > ETAG_TAIL ? ETAG_TAIL : b->len;
    if ((rv = ctx->store->provider->object_put(ctx->store, &obj, p)) != APR_SUCCESS) {
        acmpca_ca_mutate(NULL, ctx, arn, unrecord_fn, &b->rec, err, p);
        return acmpca_ops_store_error(err, rv, "writing the CRL");
    }
    if (acmpca_ca_load(&now_ca, ctx, arn, err, p) == APR_SUCCESS
        && acmpca_json_num(acmpca_json_obj(now_ca->doc, ACMPCA_D_CRL), "Number", 0)
               > (double)b->rec.number) {
        *pagain = 1;
    }
    return APR_SUCCESS;
}

/* ************************************************************************************
 * One rebuild per CA at a time across every process and host sharing the store: the
 * store's lock "crl" of the CA (lock_acquire; SET NX PX in Redis). A revocation that
 * finds it taken marks it wanted and returns: the holder builds once more when it
 * releases a wanted lock, so the CRL gets the revocation as on one host. Other reasons
 * (the job's refresh, a first request) leave the build to the holder. The lock expires:
 * a holder that dies keeps it CRL_LOCK_TTL_MS at most, and the job repairs a CRL that
 * lacks revocations (crl_job.c). A store that cannot lock does not stop a build. Every
 * host serves the stored object, so all serve the same bytes.
 */

/* Short: a holder that loses the store mid-build (an outage, a failover) cannot release
 * the lock, and every host leaves the CRL to it until the lock expires. The lock saves
 * work, it does not guard correctness (numbers come from the store's counter), so a
 * build that outlasts it only risks a second build at once. */
#define CRL_LOCK_TTL_MS 15000

enum { LOCK_HELD, LOCK_BUSY, LOCK_NONE };

static int cluster_lock(const acmpca_op_ctx_t *ctx, const char *ca_id, const char *owner, int want,
                        apr_pool_t *p)
{
    const acmpca_store_provider_t *sp = ctx->store->provider;
    apr_status_t rv;

    if (!sp->lock_acquire) {
        return LOCK_NONE;
    }
    rv = sp->lock_acquire(ctx->store, ca_id, "crl", owner, CRL_LOCK_TTL_MS, want, p);
    if (rv == APR_EBUSY) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_DEBUG, 0, p,
                   "ACMPCA0704: CA %s: another process or host builds the CRL%s", ca_id,
                   want ? " (it builds again for this revocation)" : "");
        return LOCK_BUSY;
    }
    if (rv != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, rv, p,
                   "ACMPCA0705: CA %s: the CRL lock cannot be taken: building without it", ca_id);
        return LOCK_NONE;
    }
    return LOCK_HELD;
}

/* Release the lock: 1 when another caller wanted a build meanwhile. */
static int cluster_unlock(const acmpca_op_ctx_t *ctx, const char *ca_id, const char *owner,
                          apr_pool_t *p)
{
    int wanted = 0;

    ctx->store->provider->lock_release(ctx->store, ca_id, "crl", owner, &wanted, p);
    return wanted;
}

/* A lock owner unique to this call. */
static const char *lock_owner(apr_pool_t *p)
{
    unsigned char r[16];

    if (acmpca_random(r, sizeof(r)) != APR_SUCCESS) {
        return apr_psprintf(p, "%" APR_PID_T_FMT "-%" APR_TIME_T_FMT "-%pp", getpid(),
                            apr_time_now(), (void *)r);
    }
    return acmpca_hex(r, sizeof(r), 0, p);
}

/* Publish rounds until no newer CRL came in between (publish_once). */
static apr_status_t build_rounds(const acmpca_op_ctx_t *ctx, const char *ca_arn, const char *ca_id,
                                 const char *why, apr_pool_t *ptemp)
{
    apr_status_t rv = APR_SUCCESS;
    apr_time_t started;
    int rounds, again;

    for (rounds = 0, again = 1; again && rounds < PUBLISH_ROUNDS; rounds++) {
        acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
        build_t b = {0};
        acmpca_op_ctx_t round_ctx = *ctx;

        /* Each round is a new CRL of now, in memory of its own: the big buffer goes as
         * soon as the object is written. */
        apr_pool_clear(ptemp);
        round_ctx.now = apr_time_now();
        b.ctx = &round_ctx;
        started = apr_time_now();
        rv = publish_once(&b, ca_arn, &again, &err, ptemp);
        if (rv != APR_SUCCESS) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, err.cause ? err.cause : rv, ptemp,
                       "ACMPCA0701: CA %s: the CRL could not be published (%s): %s", ca_id, why,
                       err.message ? err.message : "failed");
            break;
        }
        if (b.der) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, ptemp,
                       "ACMPCA0702: CA %s: CRL %" APR_INT64_T_FMT " published to %s/%s "
                       "(%" APR_SIZE_T_FMT " entries, %" APR_SIZE_T_FMT " bytes, %s, %.2f s)",
                       ca_id, b.rec.number, b.rec.bucket, b.rec.key, b.count, b.len, why,
                       (double)(apr_time_now() - started) / APR_USEC_PER_SEC);
        }
    }
    return rv;
}

/* hand_off: one pass only, its own (a revocation, or the builder thread): a pass owed to
 * others goes to the builder thread's queue. */
static apr_status_t publish(const acmpca_op_ctx_t *ctx, const char *ca_arn, const char *why,
                            int hand_off, apr_pool_t *p)
{
    acmpca_ca_ref_t ref;
    apr_pool_t *ptemp;
    apr_status_t rv = APR_SUCCESS;
    const char *owner;
    int slot, again, lock, wanted, took_over;
    int want = !strcmp(why, ACMPCA_CRL_WHY_REVOCATION);

    if (acmpca_arn_parse_ca(&ref, ca_arn, p) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if ((slot = acmpca_crl_busy_claim(ref.id, &took_over)) == -1) {
        return APR_SUCCESS; /* the running build goes once more for us */
    }
    if (took_over) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_DEBUG, 0, p,
                   "ACMPCA0706: CA %s: this revocation takes over the CRL builds from one that "
                   "built for others",
                   ref.id);
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        acmpca_crl_busy_release(slot, 0, 0);
        return rv;
    }
    owner = lock_owner(p);
    for (;;) {
        apr_pool_clear(ptemp);
        if ((lock = cluster_lock(ctx, ref.id, owner, want, ptemp)) == LOCK_BUSY) {
            /* The holder builds; a local revocation since our claim asks it, wanted. */
            again = acmpca_crl_busy_release(slot, 0, hand_off);
        }
        else {
            rv = build_rounds(ctx, ca_arn, ref.id, why, ptemp);
            wanted = lock == LOCK_HELD && cluster_unlock(ctx, ref.id, owner, ptemp);
            again = acmpca_crl_busy_release(slot, wanted, hand_off);
        }
        /* The passes for others are the builder thread's; if it cannot take them, ours. */
        if (again == ACMPCA_CRL_BUSY_OWED) {
            if (acmpca_crl_builder_queue(ctx->env, ctx->account, ca_arn)) {
                acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, p,
                           "ACMPCA0714: CA %s: revocations came during this CRL pass; the "
                           "CRL builder of this process builds the next",
                           ref.id);
                again = 0;
            }
            else if ((slot = acmpca_crl_busy_claim(ref.id, &took_over)) == -1) {
                again = 0;
            }
        }
        if (!again) {
            break;
        }
        want = 1; /* another round for a revocation: a busy lock owes us one */
    }
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t acmpca_crl_publish(const acmpca_op_ctx_t *ctx, const char *ca_arn, const char *why,
                                apr_pool_t *p)
{
    return publish(ctx, ca_arn, why, 0, p);
}

void acmpca_crl_publish_queued(const acmpca_op_ctx_t *ctx, const char *ca_arn, apr_pool_t *p)
{
    publish(ctx, ca_arn, ACMPCA_CRL_WHY_REVOCATION, 1, p); /* failures are logged */
}

void acmpca_crl_publish_revocation(const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, apr_pool_t *p)
{
    apr_interval_time_t limit =
        ctx->env->crl_sync_time ? ctx->env->crl_sync_time : DEFAULT_SYNC_TIME;

    if ((limit < 0 || acmpca_crl_busy_wait(ca->ref.id) > limit)
        && acmpca_crl_builder_queue(ctx->env, ctx->account, ca->ref.arn)) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, p,
                   "ACMPCA0712: CA %s: the CRL builder of this process republishes its CRL "
                   "with this revocation",
                   ca->ref.id);
        return;
    }
    publish(ctx, ca->ref.arn, ACMPCA_CRL_WHY_REVOCATION, 1, p); /* failures are logged */
}
