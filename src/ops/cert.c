/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * IssueCertificate and GetCertificate (PCA-API.md §5.5, §5.6). */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define IDEMPOTENCY_WINDOW apr_time_from_sec(5 * 60)
#define SERIAL_LEN         16 /* positive, 16 octets: time, then 80 random bits */
#define SERIAL_TIME_LEN    6  /* of them the time in milliseconds (random_serial) */
#define SERIAL_TRIES       4
#define CLAIM_WAIT_ROUNDS  60 /* how long a retry waits for the claim holder: 3 s */
#define CLAIM_WAIT_STEP    apr_time_from_msec(50)
/* Certificates per CA when acmpca_env_t says nothing [AWS quotas, PCA-API.md §10]. */
#define MAX_CERTS_PER_CA 1000000

typedef struct issue_ctx {
    const acmpca_op_ctx_t *ctx;
    const cJSON *in;
    acmpca_ca_t *ca;
    const acmpca_template_t *tmpl;
    const char *template_arn;
    X509_REQ *csr;
    EVP_PKEY *ca_key;
    X509 *ca_cert; /* NULL while a root signs its own certificate */
    acmpca_issue_t issue;
    apr_int64_t ca_version; /* > 0: store only while the CA is at this version */
} issue_ctx;

static int is_root_ca(const acmpca_ca_t *ca)
{
    const char *type = acmpca_json_str(ca->doc, ACMPCA_K_TYPE);
    return type && !strcmp(type, "ROOT");
}

/* ---- the checks of §5.5, in order ---------------------------------------------------- */

static apr_status_t check_state(issue_ctx *ic, acmpca_err_t *err, apr_pool_t *p)
{
    const char *status = acmpca_ca_status(ic->ca, ic->ctx->now);

    /* A pending root may sign exactly one thing: its own CSR, with a root template. */
    if (!strcmp(status, ACMPCA_ST_PENDING) && ic->tmpl && ic->tmpl->root && is_root_ca(ic->ca)) {
        return APR_SUCCESS;
    }
    return acmpca_state_allow("IssueCertificate", ic->ca, ic->ctx->now, err, p);
}

static apr_status_t parse_csr(issue_ctx *ic, acmpca_err_t *err, apr_pool_t *p)
{
    const char *b64 = acmpca_json_str(ic->in, ACMPCA_K_CSR);
    unsigned char *buf;
    apr_size_t len;

    if (acmpca_b64_decode(&buf, &len, b64, strlen(b64), p) != APR_SUCCESS) {
        return acmpca_err_set(err, ACMPCA_ERR_SERIALIZATION, p, "The Csr is not valid base64.");
    }
    /* A root signing its own CSR compares and self-checks the decoded key; every other
     * request is only copied into the certificate, which the lean intake allows. */
    if (ic->tmpl && ic->tmpl->root) {
        return acmpca_csr_parse(&ic->csr, buf, len, err, p);
    }
    return acmpca_csr_parse_lean(&ic->csr, buf, len, err, p);
}

static apr_status_t check_template(issue_ctx *ic, acmpca_err_t *err, apr_pool_t *p)
{
    acmpca_cert_info_t issuer;

    if (ic->tmpl->root) {
        if (!is_root_ca(ic->ca) || !acmpca_csr_has_key(ic->csr, ic->ca_key)) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                                  "The template %s can only be used by a root certificate "
                                  "authority to sign its own certificate signing request.",
                                  ic->template_arn);
        }
        return APR_SUCCESS;
    }
    if (!ic->tmpl->is_ca || !ic->ca_cert) {
        return APR_SUCCESS;
    }
    /* RFC 5280 path lengths: a CA may only certify CAs with a shorter path below. */
    acmpca_cert_info(&issuer, ic->ca_cert, p);
    if (issuer.path_len == 0 || (issuer.path_len > 0 && ic->tmpl->path_len >= issuer.path_len)
        || (issuer.path_len > 0 && ic->tmpl->path_len < 0)) {
        return acmpca_err_set(err, ACMPCA_ERR_VALIDATION, p,
                              "The path length of template %s is not allowed by the path "
                              "length constraint %d of the issuing certificate authority.",
                              ic->template_arn, issuer.path_len);
    }
    return APR_SUCCESS;
}

static apr_status_t load_ca_material(issue_ctx *ic, acmpca_err_t *err, apr_pool_t *p)
{
    const char *pem = acmpca_json_str(ic->ca->doc, ACMPCA_D_CERT);
    X509 *cert = NULL;
    apr_status_t rv;

    /* Both come from the per-process cache (ca_cache.c) while the CA record keeps its
     * version: unwrapping and parsing them is most of an issuance otherwise. */
    if ((rv = acmpca_ca_material(&ic->ca_key, &cert, ic->ctx, ic->ca, err, p)) != APR_SUCCESS) {
        return rv;
    }
    /* A root signing its own CSR has no issuing certificate, whatever is stored. */
    if (pem && !ic->tmpl->root) {
        if (!cert) {
            return acmpca_err_internal(err, APR_EGENERAL, "stored CA certificate unreadable");
        }
        ic->ca_cert = cert;
    }
    return APR_SUCCESS;
}

/* ---- extension URLs (PCA-API.md §11.15) --------------------------------------------- */

static void revocation_urls(issue_ctx *ic, apr_pool_t *p)
{
    const cJSON *rc = acmpca_json_obj(ic->ca->doc, ACMPCA_K_REVOCATION_CONFIG);
    const cJSON *crl = acmpca_json_obj(rc, ACMPCA_K_CRL_CONFIG);
    const cJSON *ocsp = acmpca_json_obj(rc, ACMPCA_K_OCSP_CONFIG);
    const cJSON *cdp = acmpca_json_obj(crl, "CrlDistributionPointExtensionConfiguration");
    const char *cname, *env_url = ic->ctx->env->public_url;

    if (acmpca_json_bool(crl, ACMPCA_K_ENABLED, 0) && !acmpca_json_bool(cdp, "OmitExtension", 0)
        && !ic->tmpl->root) {
        const char *path = acmpca_json_str(crl, "CustomPath");
        const char *file = apr_pstrcat(p, path ? path : "crl", "/", ic->ca->ref.id, ".crl", NULL);
        cname = acmpca_json_str(crl, "CustomCname");
        ic->issue.crl_url = cname
                                ? apr_pstrcat(p, "http://", cname, "/", file, NULL)
                                : apr_pstrcat(p, env_url, "/", acmpca_json_str(crl, "S3BucketName"),
                                              "/", file, NULL);
    }
    if (acmpca_json_bool(ocsp, ACMPCA_K_ENABLED, 0)) {
        cname = acmpca_json_str(ocsp, "OcspCustomCname");
        ic->issue.ocsp_url =
            cname ? apr_pstrcat(p, "http://", cname, NULL) : apr_pstrcat(p, env_url, "/ocsp", NULL);
    }
}

/* ---- issuing ----------------------------------------------------------------------- */

static apr_status_t prepare(issue_ctx *ic, acmpca_err_t *err, apr_pool_t *p)
{
    const cJSON *config = acmpca_json_obj(ic->ca->doc, ACMPCA_K_CA_CONFIG);
    const char *mode = acmpca_json_str(ic->ca->doc, ACMPCA_K_USAGE_MODE);
    int short_lived = mode && !strcmp(mode, "SHORT_LIVED_CERTIFICATE");
    apr_status_t rv;

    ic->template_arn = acmpca_json_str(ic->in, ACMPCA_K_TEMPLATE_ARN);
    if (!ic->template_arn) {
        ic->template_arn = ACMPCA_TEMPLATE_ARN_PREFIX ACMPCA_TEMPLATE_DEFAULT;
    }
    ic->tmpl = acmpca_template_find(ic->template_arn);
    if ((rv = check_state(ic, err, p)) != APR_SUCCESS || (rv = parse_csr(ic, err, p)) != APR_SUCCESS
        || (rv = acmpca_sigalg_check(acmpca_json_str(ic->in, ACMPCA_K_SIGNING_ALGORITHM),
                                     acmpca_json_str(config, ACMPCA_K_KEY_ALGORITHM), err, p))
               != APR_SUCCESS) {
        return rv;
    }
    if (!ic->tmpl) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "The template %s is not known.",
                              ic->template_arn);
    }
    if ((rv = load_ca_material(ic, err, p)) != APR_SUCCESS
        || (rv = check_template(ic, err, p)) != APR_SUCCESS) {
        return rv;
    }
    /* A root signing itself is bound by neither its own NotAfter nor the short-lived
     * mode, which limits what the CA issues, not the CA [AWS]. */
    rv = acmpca_validity_compute(
        &ic->issue.not_before, &ic->issue.not_after, acmpca_json_obj(ic->in, ACMPCA_K_VALIDITY),
        acmpca_json_obj(ic->in, ACMPCA_K_VALIDITY_NOT_BEFORE), ic->ctx->now,
        ic->ca_cert ? acmpca_json_time(ic->ca->doc, ACMPCA_K_NOT_AFTER) : 0,
        short_lived && !ic->tmpl->root, err, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ic->issue.csr = ic->csr;
    ic->issue.issuer_key = ic->ca_key;
    ic->issue.issuer_cert = ic->ca_cert;
    ic->issue.signing_algorithm = acmpca_json_str(ic->in, ACMPCA_K_SIGNING_ALGORITHM);
    ic->issue.tmpl = ic->tmpl;
    ic->issue.api_passthrough =
        ic->tmpl->api_passthrough ? acmpca_json_obj(ic->in, ACMPCA_K_API_PASSTHROUGH) : NULL;
    revocation_urls(ic, p);
    return APR_SUCCESS;
}

/* The last check of §5.5: the per-CA certificate quota (LimitExceededException). The
 * store checks it again in the write that stores the certificate (cert_put's limit), so
 * concurrent issuances never pass it; this read before is only for an issuance with an
 * idempotency token, so that a refused one does not leave its token claimed. */
static int quota_of(const issue_ctx *ic)
{
    return ic->ctx->env->max_certs_per_ca > 0 ? ic->ctx->env->max_certs_per_ca : MAX_CERTS_PER_CA;
}

static apr_status_t quota_error(const issue_ctx *ic, acmpca_err_t *err, apr_pool_t *p)
{
    return acmpca_err_set(err, ACMPCA_ERR_LIMIT_EXCEEDED, p,
                          "The certificate authority %s has reached its limit of %d "
                          "certificates.",
                          ic->ca->ref.arn, quota_of(ic));
}

static apr_status_t check_quota(issue_ctx *ic, acmpca_err_t *err, apr_pool_t *p)
{
    apr_int64_t n = 0;
    apr_status_t rv = ic->ctx->store->provider->cert_count(ic->ctx->store, ic->ca->ref.id,
                                                           ACMPCA_CERT_ITER_ALL, &n, p);

    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "counting certificates");
    }
    return n >= quota_of(ic) ? quota_error(ic, err, p) : APR_SUCCESS;
}

/* A serial (RFC 5280 §4.1.2.2: positive, at most 20 octets, unique per CA) of 16 octets:
 * the time in milliseconds in the first 6 (0x40 ORed into the first: positive, full
 * length; the time fits its other 6 bits until the 23rd century), then 80 random bits,
 * more than the 64 the CA/Browser Forum asks for. Time first puts each certificate's
 * (ca_id, serial) index entry at the end of the index, on the page the last issuance
 * wrote, instead of on a random leaf: fewer pages per group commit, and 12 % more
 * issuances a second (make profile, P-256 CA). The time is in the notBefore already. */
static apr_status_t random_serial(unsigned char *serial, acmpca_err_t *err)
{
    apr_uint64_t ms = (apr_uint64_t)apr_time_as_msec(apr_time_now());
    int i;

    if (acmpca_random_small(serial + SERIAL_TIME_LEN, SERIAL_LEN - SERIAL_TIME_LEN)
        != APR_SUCCESS) {
        return acmpca_err_internal(err, APR_EGENERAL, "random serial");
    }
    for (i = SERIAL_TIME_LEN - 1; i >= 0; i--, ms >>= 8) {
        serial[i] = (unsigned char)ms;
    }
    serial[0] = (unsigned char)((serial[0] & 0x3F) | 0x40);
    return APR_SUCCESS;
}

/* Sign with the given serial and store the certificate. APR_EEXIST: the serial is taken
 * (nothing is stored then). With an idempotency token the claim is stored in the same
 * transaction (store.h): of several concurrent calls with one token exactly one row is
 * written, and the others answer with its serial; their own signed certificates are
 * dropped here, never stored nor returned. Every stored row is the audit record of the
 * issuance (who, when, template, serial, subject, validity), and the log says so too. */
static apr_status_t sign_and_store(issue_ctx *ic, const unsigned char *serial,
                                   apr_size_t serial_len, acmpca_err_t *err, apr_pool_t *p)
{
    acmpca_cert_rec_t rec = {0};
    acmpca_cert_info_t info;
    apr_status_t rv;

    ic->issue.serial = serial;
    ic->issue.serial_len = serial_len;
    if ((rv = acmpca_cert_issue_pem(&info, &rec.pem, &ic->issue, err, p)) != APR_SUCCESS) {
        return rv;
    }
    rec.ca_id = ic->ca->ref.id;
    rec.serial = info.serial_hex;
    rec.subject = info.subject;
    rec.template_arn = ic->template_arn;
    rec.not_before = info.not_before;
    rec.not_after = info.not_after;
    rec.issued_at = ic->ctx->now;
    rec.requested_by = ic->ctx->call->caller.principal;
    rv = ic->ctx->store->provider->cert_put(ic->ctx->store, &rec, NULL, quota_of(ic),
                                            ic->ca_version, p);
    if (rv == APR_ENOSPC) {
        rv = quota_error(ic, err, p);
    }
    else if (rv == ACMPCA_ECONFLICT) {
        return rv; /* the CA changed since ic->ca was read: the caller starts over */
    }
    else if (rv == APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, APR_SUCCESS, p,
                   "ACMPCA0601: issued certificate %s of CA %s with %s for %s", rec.serial,
                   rec.ca_id, rec.template_arn, rec.requested_by ? rec.requested_by : "-");
    }
    else if (rv != APR_EEXIST) {
        rv = acmpca_ops_store_error(err, rv, "storing a certificate");
    }
    return rv;
}

/* Without a token: a fresh serial, again on the (astronomically rare) collision. */
static apr_status_t issue_fresh(const char **pserial, issue_ctx *ic, acmpca_err_t *err,
                                apr_pool_t *p)
{
    unsigned char serial[SERIAL_LEN];
    apr_status_t rv = APR_EEXIST;
    int tries;

    for (tries = 0; tries < SERIAL_TRIES && rv == APR_EEXIST; tries++) {
        if ((rv = random_serial(serial, err)) == APR_SUCCESS) {
            rv = sign_and_store(ic, serial, sizeof(serial), err, p);
        }
    }
    if (rv == APR_EEXIST) {
        return acmpca_err_internal(err, APR_EEXIST, "no unique serial after several tries");
    }
    *pserial = acmpca_hex(serial, sizeof(serial), 0, p);
    return rv;
}

/* Another call holds the token's claim: wait for its certificate; if it never comes (that
 * call died between claim and store), finish the work under the claimed serial. The
 * store's unique serial keeps it to one certificate either way. */
static apr_status_t finish_claimed(issue_ctx *ic, const char *serial_hex, acmpca_err_t *err,
                                   apr_pool_t *p)
{
    acmpca_store_t *store = ic->ctx->store;
    acmpca_cert_rec_t *rec;
    unsigned char *serial;
    apr_size_t len;
    apr_status_t rv;
    int i;

    for (i = 0; i < CLAIM_WAIT_ROUNDS; i++) {
        rv = store->provider->cert_get(store, ic->ca->ref.id, serial_hex, &rec, p);
        if (rv == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        if (rv != APR_NOTFOUND) {
            return acmpca_ops_store_error(err, rv, "loading a certificate");
        }
        apr_sleep(CLAIM_WAIT_STEP);
    }
    if (acmpca_unhex(&serial, &len, serial_hex, p) != APR_SUCCESS || len == 0) {
        return acmpca_err_internal(err, APR_EINVAL, "claimed serial unreadable");
    }
    rv = sign_and_store(ic, serial, len, err, p);
    return rv == APR_EEXIST ? APR_SUCCESS : rv;
}

/* With a token: claim it for a new serial before signing, so concurrent retries on any
 * worker or host sign at most once (issue: claimed in the store before signing). */
static apr_status_t issue_claimed(const char **pserial, issue_ctx *ic, acmpca_idem_t *idem,
                                  acmpca_err_t *err, apr_pool_t *p)
{
    acmpca_store_t *store = ic->ctx->store;
    unsigned char serial[SERIAL_LEN];
    apr_status_t rv;

    if ((rv = random_serial(serial, err)) != APR_SUCCESS) {
        return rv;
    }
    *pserial = acmpca_hex(serial, sizeof(serial), 0, p);
    rv = store->provider->idem_claim(store, idem, *pserial, p);
    if (rv == APR_EEXIST && idem->existing) {
        *pserial = idem->existing;
        return finish_claimed(ic, idem->existing, err, p);
    }
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "claiming an idempotency token");
    }
    rv = sign_and_store(ic, serial, sizeof(serial), err, p);
    return rv == APR_EEXIST ? APR_SUCCESS : rv; /* a take-over finished it for us */
}

static void issue_answer(cJSON **pout, const issue_ctx *ic, const char *serial, apr_pool_t *p)
{
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    cJSON_AddStringToObject(*pout, ACMPCA_K_CERT_ARN, acmpca_arn_cert(ic->ca->ref.arn, serial, p));
}

/* On a store shared by hosts, reading the CA costs a round trip (12 % of an issuance on
 * Redis). Issuance without a token starts from the CA as this process last read it, and
 * stores the certificate only while the CA is still at that version (cert_put's
 * ca_version): decided and written on the same record, as if it had been read first.
 * Returns APR_SUCCESS with the serial; ACMPCA_ECONFLICT when the CA is not cached or has
 * changed (*pversion 0: start over from the store); any other status is the answer
 * issuing from that record gave, *pversion the record's version. */
static apr_status_t issue_hinted(const char **pserial, apr_int64_t *pversion, issue_ctx *ic,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    const char *arn = acmpca_json_str(ic->in, ACMPCA_K_CA_ARN);
    apr_status_t rv;

    *pversion = 0;
    if (!(ic->ctx->store->provider->flags & ACMPCA_STORE_F_MULTIHOST)
        || acmpca_ca_view_hint(&ic->ca, ic->ctx, arn, p) != APR_SUCCESS) {
        return ACMPCA_ECONFLICT;
    }
    ic->ca_version = ic->ca->rec->version;
    if ((rv = prepare(ic, err, p)) == APR_SUCCESS) {
        rv = issue_fresh(pserial, ic, err, p);
    }
    if (rv != ACMPCA_ECONFLICT) {
        *pversion = ic->ca_version;
    }
    return rv;
}

apr_status_t acmpca_op_issue_cert(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                  acmpca_err_t *err, apr_pool_t *p)
{
    const issue_ctx fresh = {ctx, in, NULL, NULL, NULL, NULL, NULL, NULL, {0}, 0};
    issue_ctx ic = fresh;
    const char *token = acmpca_json_str(in, ACMPCA_K_IDEMPOTENCY_TOKEN);
    acmpca_idem_t idem = {NULL, token, ctx->now + IDEMPOTENCY_WINDOW, NULL};
    acmpca_err_t hinted_err = *err;
    apr_int64_t hinted = 0;
    const char *serial = NULL;
    apr_status_t rv, hinted_rv = ACMPCA_ECONFLICT;

    if (!token) {
        hinted_rv = issue_hinted(&serial, &hinted, &ic, &hinted_err, p);
        if (hinted_rv == APR_SUCCESS) {
            issue_answer(pout, &ic, serial, p);
            return APR_SUCCESS;
        }
        ic = fresh;
        serial = NULL;
    }
    /* Issuance only reads the CA's document: the shared, cached tree will do (a copy of
     * it cost ~24k instructions and its free as much again). */
    if ((rv = acmpca_ca_view(&ic.ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p))
        != APR_SUCCESS) {
        return rv;
    }
    /* Refused on the very record the store holds: that answer stands. */
    if (hinted && ic.ca->rec->version == hinted) {
        *err = hinted_err;
        return hinted_rv;
    }
    /* Tokens are the caller's: another account sharing the CA cannot replay the owner's.
     * The CA id stays last (the redis store takes its hash tag from there). */
    idem.scope = apr_pstrcat(p, "IssueCertificate:", ctx->account, ":", ic.ca->ref.id, NULL);
    if (token) {
        rv = ctx->store->provider->idem_get(ctx->store, idem.scope, token, ctx->now, &serial, p);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return acmpca_ops_store_error(err, rv, "reading an idempotency token");
        }
    }
    if (serial) {
        /* A claim is not yet a certificate: its holder may still be signing, or have died
         * between claim and store (kill -9, t/api/700_kill_issue.t). Answer only with a
         * certificate that exists: wait for it, or finish the work under that serial. */
        acmpca_cert_rec_t *rec;

        rv = ctx->store->provider->cert_get(ctx->store, ic.ca->ref.id, serial, &rec, p);
        if (rv == APR_NOTFOUND) {
            if ((rv = prepare(&ic, err, p)) != APR_SUCCESS
                || (rv = finish_claimed(&ic, serial, err, p)) != APR_SUCCESS) {
                return rv;
            }
        }
        else if (rv != APR_SUCCESS) {
            return acmpca_ops_store_error(err, rv, "loading a certificate");
        }
    }
    else {
        if ((rv = prepare(&ic, err, p)) != APR_SUCCESS
            || (token && (rv = check_quota(&ic, err, p)) != APR_SUCCESS)
            || (rv = token ? issue_claimed(&serial, &ic, &idem, err, p)
                           : issue_fresh(&serial, &ic, err, p))
                   != APR_SUCCESS) {
            return rv;
        }
    }
    issue_answer(pout, &ic, serial, p);
    return APR_SUCCESS;
}

/* ************************************************************************************
 * GetCertificate
 */

/* Chain = the issuing CA's certificate, then the chain it was imported with (issuer
 * first, up to and including the root), as a quoted JSON string; NULL when the CA has
 * no certificate. It depends on the CA document alone, so it is rendered once per
 * document text and kept with the cached document (doc_cache.c). */
static const char *chain_of(const acmpca_ca_t *ca, apr_pool_t *p)
{
    const char *ca_pem, *chain, *quoted;
    apr_size_t n;

    if ((quoted = acmpca_ca_doc_answer(ca->entry, ACMPCA_ANSWER_CHAIN, "")) != NULL) {
        return quoted;
    }
    ca_pem = acmpca_json_str(ca->doc, ACMPCA_D_CERT);
    chain = acmpca_json_str(ca->doc, ACMPCA_D_CHAIN);
    if (!ca_pem) {
        return NULL;
    }
    if (chain && *chain) {
        n = strlen(ca_pem);
        ca_pem = apr_pstrcat(p, ca_pem, (n && ca_pem[n - 1] == '\n') ? "" : "\n", chain, NULL);
    }
    quoted = acmpca_json_quote(ca_pem, p);
    acmpca_ca_doc_answer_keep(ca->entry, ACMPCA_ANSWER_CHAIN, "", quoted);
    return quoted;
}

/* The certificate as a quoted JSON string and whether it is self-signed: from this
 * process's cache (cert_cache.c), else from the store, then kept. */
static apr_status_t cert_of(const char **pquoted, apr_size_t *plen, int *pself_signed,
                            const acmpca_op_ctx_t *ctx, const acmpca_ca_t *ca, const char *serial,
                            const char *cert_arn, acmpca_err_t *err, apr_pool_t *p)
{
    acmpca_cert_rec_t *rec;
    apr_status_t rv;

    if (acmpca_cert_cache_get(pquoted, plen, pself_signed, ctx->store, ca->rec, serial, p)
        == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    rv = ctx->store->provider->cert_get(ctx->store, ca->ref.id, serial, &rec, p);
    if (rv == APR_NOTFOUND) {
        return acmpca_err_set(err, ACMPCA_ERR_NOT_FOUND, p, "Could not find certificate %s.",
                              cert_arn);
    }
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "loading a certificate");
    }
    /* A root's own self-signed certificate has no chain (PCA-API.md §5.6); it is told by
     * the certificate itself, so a renewed root certificate qualifies too. */
    *pself_signed = acmpca_cert_pem_self_signed(rec->pem, p);
    *pquoted = acmpca_json_quote(rec->pem, p);
    *plen = strlen(*pquoted);
    acmpca_cert_cache_put(ctx->store, ca->rec, serial, *pquoted, *pself_signed);
    return APR_SUCCESS;
}

#define CERT_OPEN  "{\"" ACMPCA_K_CERT "\":"
#define CHAIN_OPEN ",\"" ACMPCA_K_CERT_CHAIN "\":"

apr_status_t acmpca_op_get_cert(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                acmpca_err_t *err, apr_pool_t *p)
{
    const char *cert_arn = acmpca_json_str(in, ACMPCA_K_CERT_ARN);
    const char *chain = NULL, *serial, *quoted;
    apr_size_t qlen, clen = 0;
    acmpca_ca_ref_t owner;
    acmpca_ca_t *ca;
    apr_status_t rv;
    int self_signed;
    char *body, *o;

    /* ARN semantics come before the lookup (PCA-API.md §1.5): a certificate ARN that is
     * not one (the two ARNs swapped, a CA or an ACM ARN) is refused first [FIELD]. */
    if (acmpca_arn_parse_cert(&owner, &serial, cert_arn, p) != APR_SUCCESS) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARN, p, "Not a valid arn.");
    }
    if ((rv = acmpca_ca_view(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p))
        != APR_SUCCESS) {
        return rv;
    }
    /* PCA-API.md §11.8: a certificate ARN of another CA is not a valid ARN here. */
    if (strcmp(owner.id, ca->ref.id) || strcmp(owner.account, ca->ref.account)
        || strcmp(owner.region, ca->ref.region)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARN, p, "Not a valid arn.");
    }
    /* §4.1: PENDING_CERTIFICATE only for a root, whose own certificate may exist; a
     * pending subordinate cannot have issued anything yet. */
    if (!strcmp(acmpca_ca_status(ca, ctx->now), ACMPCA_ST_PENDING) && !is_root_ca(ca)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_STATE, p,
                              "The certificate authority %s is not in the correct state to "
                              "have issued certificates.",
                              ca->ref.arn);
    }
    if ((rv = acmpca_state_allow("GetCertificate", ca, ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Issued, expired or revoked alike [AWS]. */
    if ((rv = cert_of(&quoted, &qlen, &self_signed, ctx, ca, serial, cert_arn, err, p))
        != APR_SUCCESS) {
        return rv;
    }
    if (!self_signed && (chain = chain_of(ca, p)) != NULL) {
        clen = strlen(chain);
    }
    /* Rendered directly: printing a tree of two PEM strings cost more than the rest of
     * the operation. */
    o = body = apr_palloc(p, sizeof(CERT_OPEN) + qlen + sizeof(CHAIN_OPEN) + clen + 2);
    memcpy(o, CERT_OPEN, sizeof(CERT_OPEN) - 1);
    o += sizeof(CERT_OPEN) - 1;
    memcpy(o, quoted, qlen);
    o += qlen;
    if (chain) {
        memcpy(o, CHAIN_OPEN, sizeof(CHAIN_OPEN) - 1);
        o += sizeof(CHAIN_OPEN) - 1;
        memcpy(o, chain, clen);
        o += clen;
    }
    memcpy(o, "}", 2);
    *pout = acmpca_ops_rendered(body, p);
    return APR_SUCCESS;
}
