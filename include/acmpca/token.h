/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * NextToken: opaque to clients, tamper-evident for us. */
#ifndef ACMPCA_TOKEN_H
#define ACMPCA_TOKEN_H

#include <apr_pools.h>

/** A token for resuming a listing of kind ("ListCertificateAuthorities") within scope
 *  (the account and filter it was made for) after position pos. Authenticated with an
 *  HMAC under a key derived from secret (secret_len bytes). */
const char *acmpca_token_make(const unsigned char *secret, apr_size_t secret_len, const char *kind,
                              const char *scope, apr_int64_t pos, apr_pool_t *p);

/** Verify and open a token made for the same kind and scope: APR_EINVAL when it was
 *  altered, made for another listing or scope, or is not ours. */
apr_status_t acmpca_token_parse(apr_int64_t *ppos, const unsigned char *secret,
                                apr_size_t secret_len, const char *kind, const char *scope,
                                const char *token, apr_pool_t *p);

#endif
