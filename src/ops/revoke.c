/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * RevokeCertificate (PCA-API.md §5.9): the revocation is recorded, then the CA's CRL is
 * rebuilt at once rather than some 30 minutes later as on AWS (§11.20): before the answer
 * while that is quick, right after it (the process's CRL builder, crl_builder.c) once the
 * CRL has grown slow to build, and at the CRL job's next run when it is big (crl.c
 * acmpca_crl_deferred). */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "ops_int.h"

/* Unexpired revoked certificates per CA [AWS quotas]. */
#define MAX_REVOKED 1000000

/* "67:07:44:76:83:A9" or "670744..." in any case, leading zero octets tolerated
 * ([AWS] API_RevokeCertificate example) -> the store's form: lowercase hex, no colons,
 * whole octets, no leading zero octets. NULL when it is not a hex serial. */
static const char *serial_normalize(const char *in, apr_pool_t *p)
{
    size_t len = strlen(in), n = 0, i;
    char *hex = apr_palloc(p, len + 2), *out;

    if (len == 0 || in[0] == ':' || in[len - 1] == ':' || strstr(in, "::")) {
        return NULL;
    }
    hex[n++] = '0'; /* room to make the length even */
    for (i = 0; i < len; i++) {
        char c = in[i];
        if (c == ':') {
            continue;
        }
        if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        }
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return NULL;
        }
        hex[n++] = c;
    }
    hex[n] = '\0';
    out = (n - 1) % 2 ? hex : hex + 1;
    while (strlen(out) > 2 && out[0] == '0' && out[1] == '0') {
        out += 2;
    }
    return out;
}

/* The CA's own self-signed certificate: the one it is running on (rec NULL: by serial
 * alone), or an earlier one a root template made (a renewed root). */
static int is_own_root_cert(const acmpca_ca_t *ca, const char *serial, const acmpca_cert_rec_t *rec,
                            apr_pool_t *p)
{
    const char *type = acmpca_json_str(ca->doc, ACMPCA_K_TYPE);
    const char *ca_serial = acmpca_json_str(ca->doc, ACMPCA_K_SERIAL);
    const acmpca_template_t *tmpl;

    if (!type || strcmp(type, "ROOT")) {
        return 0;
    }
    if (ca_serial && (ca_serial = serial_normalize(ca_serial, p)) && !strcmp(ca_serial, serial)) {
        return 1;
    }
    tmpl = rec ? acmpca_template_find(rec->template_arn) : NULL;
    return tmpl && tmpl->root;
}

static apr_status_t own_root(acmpca_err_t *err, apr_pool_t *p)
{
    return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                          "You cannot revoke the self-signed certificate of a root certificate "
                          "authority.");
}

static apr_status_t no_such_cert(acmpca_err_t *err, const char *given, const acmpca_ca_t *ca,
                                 apr_pool_t *p)
{
    return acmpca_err_set(err, ACMPCA_ERR_NOT_FOUND, p,
                          "Could not find certificate with serial number %s issued by "
                          "certificate authority %s.",
                          given, ca->ref.arn);
}

apr_status_t acmpca_op_revoke_cert(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                   acmpca_err_t *err, apr_pool_t *p)
{
    const char *given = acmpca_json_str(in, "CertificateSerial");
    const char *reason = acmpca_json_str(in, "RevocationReason");
    acmpca_store_t *s = ctx->store;
    acmpca_cert_rec_t *rec;
    acmpca_op_ctx_t sys;
    acmpca_ca_t *ca;
    apr_int64_t revoked = 0;
    const char *serial;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = acmpca_ca_load(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p)) != APR_SUCCESS
        || (rv = acmpca_state_allow("RevokeCertificate", ca, ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((serial = serial_normalize(given, p)) == NULL) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "The certificate serial number %s is not a hexadecimal serial "
                              "number.",
                              given);
    }
    if (is_own_root_cert(ca, serial, NULL, p)) {
        return own_root(err, p);
    }
    rv = s->provider->cert_get(s, ca->ref.id, serial, &rec, p);
    if (rv == APR_NOTFOUND) {
        return no_such_cert(err, given, ca, p);
    }
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "loading a certificate");
    }
    if (is_own_root_cert(ca, serial, rec, p)) {
        return own_root(err, p);
    }
    /* Already revoked: cert_revoke below says so (APR_EEXIST) once the store has that
     * revocation for good (a replica has it, with wait=N), as a retry must not confirm a
     * revocation that a failover is about to drop. */
    if (!rec->revoked_at
        && (rv = s->provider->cert_count(s, ca->ref.id, ACMPCA_CERT_ITER_REVOKED, &revoked, p))
               != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "counting revoked certificates");
    }
    if (revoked >= MAX_REVOKED) {
        return acmpca_err_set(err, ACMPCA_ERR_LIMIT_EXCEEDED, p,
                              "The certificate authority %s has reached the limit of %d revoked "
                              "certificates.",
                              ca->ref.arn, MAX_REVOKED);
    }
    rv = s->provider->cert_revoke(s, ca->ref.id, serial, ctx->now, reason, p);
    if (rv == APR_EEXIST) { /* an earlier or concurrent revocation */
        return acmpca_err_set(err, ACMPCA_ERR_REQUEST_ALREADY_PROCESSED, p,
                              "The certificate with serial number %s has already been revoked.",
                              given);
    }
    if (rv == APR_NOTFOUND) {
        return no_such_cert(err, given, ca, p);
    }
    if (rv != APR_SUCCESS) {
        return acmpca_ops_store_error(err, rv, "revoking a certificate");
    }
    acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, p,
               "ACMPCA0710: CA %s: certificate %s revoked (%s)", ca->ref.id, serial, reason);
    /* The revocation stands whatever happens to the CRL: a failed build is logged and
     * the periodic job sees the CRL lacks it. The CRL is the owner's business, also when
     * another account (by resource policy) revoked. A big CRL is the job's to rebuild
     * (acmpca_crl_deferred): the job sees the revoked count exceed the CRL's. */
    if (acmpca_crl_deferred(ctx->env, ca)) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, p,
                   "ACMPCA0711: CA %s: the CRL job republishes its CRL with this revocation",
                   ca->ref.id);
        return APR_SUCCESS;
    }
    acmpca_ops_system_ctx(&sys, ctx->env, ca->rec->account, ctx->now);
    acmpca_crl_publish_revocation(&sys, ca, p);
    return APR_SUCCESS;
}
