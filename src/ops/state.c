/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Which CA statuses allow which operation: the table of PCA-API.md §4.1, with the
 * messages AWS sends where they are known from the field. */
#include <string.h>

#include <apr_strings.h>

#include "ops_int.h"

/* One letter per status, in the order of statuses[] below:
 * A allowed, I InvalidStateException, W RequestInProgressException (still creating),
 * F RequestFailedException (creation failed). */
static const char *const statuses[] = {ACMPCA_ST_CREATING, ACMPCA_ST_PENDING, ACMPCA_ST_ACTIVE,
                                       ACMPCA_ST_DISABLED, ACMPCA_ST_EXPIRED, ACMPCA_ST_FAILED,
                                       ACMPCA_ST_DELETED};

static const struct {
    const char *op;
    const char *verdicts;
} state_table[] = {
    {"GetCertificateAuthorityCsr", "WAAAAFI"},
    {"GetCertificateAuthorityCertificate", "IIAAAII"},
    {"ImportCertificateAuthorityCertificate", "WAAAAII"},
    /* PENDING_CERTIFICATE: only a root's own certificate, decided in cert.c */
    {"IssueCertificate", "IIAIIII"},
    {"GetCertificate", "IAAAAII"},
    {"RevokeCertificate", "IIAAAII"},
    {"UpdateCertificateAuthority", "IIAAIII"},
    {"DeleteCertificateAuthority", "AAIAAAI"},
    {"RestoreCertificateAuthority", "IIIIIIA"},
    {"TagCertificateAuthority", "AAAAAAI"},
    {"UntagCertificateAuthority", "AAAAAAI"},
    {"ListTags", "AAAAAAI"},
    {"CreatePermission", "IAAAAII"},
    {"DeletePermission", "IAAAAII"},
    {"ListPermissions", "IAAAAII"},
    {"PutPolicy", "IAAAAII"},
    {"GetPolicy", "IAAAAII"},
    {"DeletePolicy", "IAAAAII"},
    {"CreateCertificateAuthorityAuditReport", "IAAAAII"},
};

static apr_status_t invalid(const char *op, const char *status, const char *arn, acmpca_err_t *err,
                            apr_pool_t *p)
{
    const char *msg;

    if (!strcmp(op, "DeleteCertificateAuthority")) {
        msg = "The certificate authority is not in a valid state for deletion.";
    }
    else if (!strcmp(status, ACMPCA_ST_DELETED)) {
        msg = "The certificate authority is in the DELETED state and must be restored to "
              "complete this action.";
    }
    else if (!strcmp(op, "IssueCertificate")) {
        msg = "The certificate authority is not in a valid state for issuing certificates.";
    }
    else if (!strcmp(op, "GetCertificate")) {
        msg = apr_psprintf(p,
                           "The certificate authority %s is not in the correct state to have "
                           "issued certificates.",
                           arn);
    }
    else if (!strcmp(op, "RestoreCertificateAuthority")) {
        msg = apr_psprintf(p,
                           "The certificate authority %s is in the %s state and cannot be "
                           "restored.",
                           arn, status);
    }
    else {
        msg = apr_psprintf(p,
                           "The certificate authority %s is in the %s state, which does not "
                           "allow %s.",
                           arn, status, op);
    }
    return acmpca_err_set(err, ACMPCA_ERR_INVALID_STATE, p, "%s", msg);
}

apr_status_t acmpca_state_allow(const char *op, const acmpca_ca_t *ca, apr_time_t now,
                                acmpca_err_t *err, apr_pool_t *p)
{
    const char *status = acmpca_ca_status(ca, now);
    size_t i, s;

    for (s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
        if (!strcmp(statuses[s], status)) {
            break;
        }
    }
    for (i = 0; i < sizeof(state_table) / sizeof(state_table[0]); i++) {
        if (strcmp(state_table[i].op, op)) {
            continue;
        }
        switch (s < sizeof(statuses) / sizeof(statuses[0]) ? state_table[i].verdicts[s] : 'I') {
        case 'A':
            return APR_SUCCESS;
        case 'W':
            return acmpca_err_set(err, ACMPCA_ERR_REQUEST_IN_PROGRESS, p,
                                  "The certificate authority %s is still being created.",
                                  ca->ref.arn);
        case 'F':
            return acmpca_err_set(err, ACMPCA_ERR_REQUEST_FAILED, p,
                                  "The creation of certificate authority %s failed.", ca->ref.arn);
        default:
            return invalid(op, status, ca->ref.arn, err, p);
        }
    }
    return APR_SUCCESS; /* Describe and the like: every status */
}
