/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The checks of the strict CSR intake (intake.c) that the lean one (intake_lean.c) shares,
 * so that both decide alike. Private to src/x509. */
#ifndef ACMPCA_INTAKE_INT_H
#define ACMPCA_INTAKE_INT_H

#include <apr_pools.h>

#include <openssl/x509.h>

#include "acmpca/err.h"

/** The DER of a CSR as it arrives: the bytes themselves, or those of its one PEM block
 *  (in p); MalformedCSRException for anything else. */
apr_status_t acmpca_intake_der(const unsigned char **pder, long *plen, const unsigned char *buf,
                               apr_size_t len, acmpca_err_t *err, apr_pool_t *p);

/** The self-signature's algorithm fits a key of type key_nid, hashes with SHA-224 or
 *  stronger and has the parameters its RFC gives; else MalformedCSRException. */
apr_status_t acmpca_intake_sigalg(const X509_ALGOR *alg, int key_nid, acmpca_err_t *err,
                                  apr_pool_t *p);

/** True for the curves whose keys the CA certifies (P-256, P-384, P-521). */
int acmpca_intake_named_curve(int nid);

/** Subject text, the extension request and the names (intake.c); MalformedCSRException. */
apr_status_t acmpca_intake_content(X509_REQ *req, acmpca_err_t *err, apr_pool_t *p);

#endif
