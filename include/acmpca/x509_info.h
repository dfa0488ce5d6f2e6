/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Read-only facts about certificates and CRLs for the public repository and the metrics:
 * fingerprints, DER and PKCS#7 forms, and a CRL's number, dates and size. */
#ifndef ACMPCA_X509_INFO_H
#define ACMPCA_X509_INFO_H

#include <apr_pools.h>
#include <apr_time.h>
#include <openssl/x509.h>

/** SHA-256 fingerprint of the certificate's DER encoding as uppercase hex pairs joined
 *  by colons ("AB:CD:..."), as `openssl x509 -fingerprint -sha256` prints it. In p. */
const char *acmpca_x509_fingerprint_sha256(X509 *cert, apr_pool_t *p);

/** DER encoding of the first certificate of a PEM text. APR_EINVAL when pem holds no
 *  readable certificate. The bytes live in p. */
apr_status_t acmpca_x509_pem_to_der(const unsigned char **pder, apr_size_t *plen, const char *pem,
                                    apr_pool_t *p);

/** A degenerate PKCS#7 SignedData holding the certificates of a PEM bundle, in their
 *  order and without signers (what `openssl crl2pkcs7 -nocrl` makes, served as .p7c,
 *  application/pkcs7-mime). PEM blocks of other kinds are skipped; APR_EINVAL when
 *  there is no certificate. The DER bytes live in p. */
apr_status_t acmpca_x509_chain_p7(const unsigned char **pder, apr_size_t *plen,
                                  const char *pem_bundle, apr_pool_t *p);

/** What the repository says about a CRL. */
typedef struct acmpca_crl_info_t {
    const char *number; /* cRLNumber in decimal, NULL when the CRL has none */
    apr_time_t this_update;
    apr_time_t next_update; /* 0 when absent */
    apr_int64_t entries;    /* revoked certificates listed */
} acmpca_crl_info_t;

/** Read a CRL (DER, or PEM "X509 CRL") without decoding every entry: the entries are
 *  counted by walking their DER headers, so a CRL of a million entries costs
 *  milliseconds and no allocation per entry. The signature is not verified (the
 *  repository shows what is published). APR_EINVAL when buf is not a CRL. */
apr_status_t acmpca_crl_info(acmpca_crl_info_t *info, const unsigned char *buf, apr_size_t len,
                             apr_pool_t *p);

#endif
