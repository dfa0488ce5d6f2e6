/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The certificate templates of AWS Private CA (PCA-API.md §7.3) as a table. */
#include <string.h>

#include <openssl/obj_mac.h>
#include <openssl/x509v3.h>

#include "acmpca/x509.h"

/* Sources: AWS Private CA user guide, template-definitions.html (extensions of each
 * template), template-varieties.html (base, CSRPassthrough, APIPassthrough,
 * APICSRPassthrough and blank templates) and template-order-of-operations.html. */

static const char *const eku_server_client[] = {SN_server_auth, SN_client_auth, NULL};
static const char *const eku_client[] = {SN_client_auth, NULL};
static const char *const eku_server[] = {SN_server_auth, NULL};
static const char *const eku_code[] = {SN_code_sign, NULL};
static const char *const eku_ocsp[] = {SN_OCSP_sign, NULL};

#define KU_EE   (X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT)
#define KU_CA   (X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_CERT_SIGN | X509v3_KU_CRL_SIGN)
#define KU_SIGN X509v3_KU_DIGITAL_SIGNATURE

/* Fields in the order of acmpca_template_t: name, is_ca, path_len, root, csr_passthrough,
 * api_passthrough, blank, bc_critical, key_usage, eku, eku_critical. */
#define TPL(name, ca, pl, root, csr, api, blank, bcc, ku, eku, ekuc)                               \
    {                                                                                              \
        name, ca, pl, root, csr, api, blank, bcc, ku, eku, ekuc                                    \
    }

/* A base template and its three passthrough varieties. */
#define FOUR(base, ca, pl, bcc, ku, eku, ekuc)                                                     \
    TPL(base "/V1", ca, pl, 0, 0, 0, 0, bcc, ku, eku, ekuc),                                       \
        TPL(base "_CSRPassthrough/V1", ca, pl, 0, 1, 0, 0, bcc, ku, eku, ekuc),                    \
        TPL(base "_APIPassthrough/V1", ca, pl, 0, 0, 1, 0, bcc, ku, eku, ekuc),                    \
        TPL(base "_APICSRPassthrough/V1", ca, pl, 0, 1, 1, 0, bcc, ku, eku, ekuc)

/* End-entity templates: CA:FALSE non-critical (PCA-API.md §11.12). */
#define EE(base, ku, eku, ekuc) FOUR(base, 0, -1, 0, ku, eku, ekuc)

/* Subordinate CA templates: critical CA:TRUE with a path length. */
#define SUB(n) FOUR("SubordinateCACertificate_PathLen" #n, 1, n, 1, KU_CA, NULL, 0)

/* Blank templates: BasicConstraints (plus AKI/SKI) only, the rest from the API; each
 * comes as _APIPassthrough and _APICSRPassthrough. */
#define BLANK(base, ca, pl, root, bcc)                                                             \
    TPL(base "_APIPassthrough/V1", ca, pl, root, 0, 1, 1, bcc, 0, NULL, 0),                        \
        TPL(base "_APICSRPassthrough/V1", ca, pl, root, 1, 1, 1, bcc, 0, NULL, 0)

#define BLANK_CA(base, root)                                                                       \
    BLANK(base, 1, -1, root, 1), BLANK(base "_PathLen0", 1, 0, root, 1),                           \
        BLANK(base "_PathLen1", 1, 1, root, 1), BLANK(base "_PathLen2", 1, 2, root, 1),            \
        BLANK(base "_PathLen3", 1, 3, root, 1)

static const acmpca_template_t templates[] = {
    EE("EndEntityCertificate", KU_EE, eku_server_client, 0),
    EE("EndEntityClientAuthCertificate", KU_EE, eku_client, 0),
    EE("EndEntityServerAuthCertificate", KU_EE, eku_server, 0),
    /* Signing keys sign only: digitalSignature alone (PCA-API.md §7.3). */
    EE("CodeSigningCertificate", KU_SIGN, eku_code, 1),
    EE("OCSPSigningCertificate", KU_SIGN, eku_ocsp, 1),
    /* AWS offers the root template with API passthrough only: CSR passthrough makes no
     * sense for a certificate made from the CA's own CSR. */
    TPL("RootCACertificate/V1", 1, -1, 1, 0, 0, 0, 1, KU_CA, NULL, 0),
    TPL("RootCACertificate_APIPassthrough/V1", 1, -1, 1, 0, 1, 0, 1, KU_CA, NULL, 0),
    SUB(0),
    SUB(1),
    SUB(2),
    SUB(3),
    BLANK("BlankEndEntityCertificate", 0, -1, 0, 0),
    BLANK("BlankEndEntityCertificate_CriticalBasicConstraints", 0, -1, 0, 1),
    BLANK_CA("BlankRootCACertificate", 1),
    /* Blank subordinate templates exist with a path length only. */
    BLANK("BlankSubordinateCACertificate_PathLen0", 1, 0, 0, 1),
    BLANK("BlankSubordinateCACertificate_PathLen1", 1, 1, 0, 1),
    BLANK("BlankSubordinateCACertificate_PathLen2", 1, 2, 0, 1),
    BLANK("BlankSubordinateCACertificate_PathLen3", 1, 3, 0, 1),
};

const acmpca_template_t *acmpca_template_find(const char *template_arn)
{
    static const size_t plen = sizeof(ACMPCA_TEMPLATE_ARN_PREFIX) - 1;
    size_t i;

    if (!template_arn || strncmp(template_arn, ACMPCA_TEMPLATE_ARN_PREFIX, plen)) {
        return NULL;
    }
    for (i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
        if (!strcmp(templates[i].name, template_arn + plen)) {
            return &templates[i];
        }
    }
    return NULL;
}

const acmpca_template_t *acmpca_template_nth(int i)
{
    return i >= 0 && (size_t)i < sizeof(templates) / sizeof(templates[0]) ? &templates[i] : NULL;
}
