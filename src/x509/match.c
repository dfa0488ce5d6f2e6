/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Whether a CSR was made from a given key. */
#include "acmpca/x509.h"

int acmpca_csr_has_key(X509_REQ *csr, EVP_PKEY *key)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
    return pub && EVP_PKEY_eq(key, pub) == 1;
}
