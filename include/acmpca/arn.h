/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * ARNs of CAs, certificates and templates. */
#ifndef ACMPCA_ARN_H
#define ACMPCA_ARN_H

#include <apr_pools.h>

typedef struct acmpca_arn_t {
    const char *partition; /* "aws" */
    const char *service;   /* "acm-pca" */
    const char *region;
    const char *account;
    const char *resource; /* everything after the fifth colon */
} acmpca_arn_t;

/** Split an ARN at its first five colons; APR_EINVAL when there are fewer. */
apr_status_t acmpca_arn_split(acmpca_arn_t *arn, const char *s, apr_pool_t *p);

/** A CA reference: its ARN and the parts the store keys on. */
typedef struct acmpca_ca_ref_t {
    const char *arn;
    const char *region;
    const char *account;
    const char *id; /* lowercase uuid */
} acmpca_ca_ref_t;

/** Parse a CA ARN (acm-pca, "certificate-authority/<uuid>", nothing after).
 *  APR_EINVAL when the ARN is not a CA ARN (-> InvalidArnException). */
apr_status_t acmpca_arn_parse_ca(acmpca_ca_ref_t *ref, const char *s, apr_pool_t *p);

/** Parse "<CA ARN>/certificate/<hex serial>"; serial returned lowercase.
 *  APR_EINVAL when it is not a certificate ARN. */
apr_status_t acmpca_arn_parse_cert(acmpca_ca_ref_t *ca, const char **pserial, const char *s,
                                   apr_pool_t *p);

const char *acmpca_arn_ca(const char *region, const char *account, const char *ca_id,
                          apr_pool_t *p);
const char *acmpca_arn_cert(const char *ca_arn, const char *serial_hex, apr_pool_t *p);

#endif
