/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * What the general certificate builder (cert.c) lends the lean one (cert_der.c). Private
 * to src/x509. */
#ifndef ACMPCA_CERT_INT_H
#define ACMPCA_CERT_INT_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "acmpca/x509.h"

/** One extension as DER, and its NID. */
typedef struct acmpca_ext_der_t {
    int nid;
    const unsigned char *der;
    apr_size_t len;
} acmpca_ext_der_t;

/** The extensions in's template gives a certificate of in's CSR key, in the order
 *  acmpca_cert_issue adds them, as an array of acmpca_ext_der_t in p; non-success when
 *  in is a root template's, or the template alone breaks the certificate profile (the
 *  general builder words that refusal). Only the subject key identifier among them
 *  depends on the CSR. */
apr_status_t acmpca_cert_template_exts(apr_array_header_t **pexts, const acmpca_issue_t *in,
                                       apr_pool_t *p);

/** The certificate acmpca_cert_issue_lean would issue for in, byte for byte, and its
 *  summary, built as DER for the common case: a template without root or passthrough
 *  (or ApiPassthrough not given), an EC subject key on a named curve. 1: built; 0: not
 *  such a case, nothing done; -1: failed. */
int acmpca_cert_der_issue(const unsigned char **pder, apr_size_t *plen, acmpca_cert_info_t *info,
                          const acmpca_issue_t *in, apr_pool_t *p);

#endif
