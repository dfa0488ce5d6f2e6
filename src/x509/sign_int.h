/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Signing a certificate with its encoding kept (sign.c). Private to src/x509. */
#ifndef ACMPCA_SIGN_INT_H
#define ACMPCA_SIGN_INT_H

#include <apr_pools.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/** Sign x as X509_sign(x, key, md) does, leaving the same certificate in x, and hand back
 *  its DER (in p): the TBSCertificate is encoded once, and the certificate is put
 *  together around it rather than encoded again. 0 on failure. */
int acmpca_x509_sign_der(X509 *x, EVP_PKEY *key, const EVP_MD *md, const unsigned char **pder,
                         apr_size_t *plen, apr_pool_t *p);

#endif
