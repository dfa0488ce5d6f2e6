/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: certificate and chain import (ImportCertificateAuthorityCertificate,
 * src/x509/cert.c): acmpca_cert_parse and acmpca_chain_parse on the decoded Certificate
 * and CertificateChain bytes, then acmpca_cert_info and every check of
 * acmpca_ca_import_check, as a root and as a subordinate.
 *
 * Input: the Certificate bytes; when they hold several PEM blocks, the first is taken as
 * the certificate and the rest as its chain (the two blobs of the request). The CA key
 * the import is checked against is the certificate's own public key, so that the checks
 * after the key comparison are reached. */
#include "fuzz_ca.h"

#include <openssl/pem.h>

static void check_err(apr_status_t rv, const acmpca_err_t *err)
{
    if (rv != APR_SUCCESS) {
        FUZZ_ASSERT(rv == ACMPCA_EAWS && err->message);
        FUZZ_ASSERT(err->type == ACMPCA_ERR_MALFORMED_CERTIFICATE
                    || err->type == ACMPCA_ERR_CERTIFICATE_MISMATCH
                    || err->type == ACMPCA_ERR_INVALID_REQUEST);
    }
}

/* The offset of the second PEM BEGIN line, or 0 when there is none. */
static size_t second_block(const uint8_t *data, size_t size)
{
    const uint8_t *first = memmem(data, size, "-----BEGIN", 10), *second;

    if (!first) {
        return 0;
    }
    second = memmem(first + 10, size - (size_t)(first + 10 - data), "-----BEGIN", 10);
    return second ? (size_t)(second - data) : 0;
}

static void import_checks(X509 *cert, const uint8_t *chain_bytes, size_t chain_len, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    apr_time_t now = apr_time_from_sec(1767225600);
    apr_array_header_t *chain = NULL;
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    apr_status_t rv;

    if (!pub) {
        return; /* acmpca_ca_load always has a CA key; a key-less certificate is refused
                   by the key comparison, which needs one */
    }
    rv = acmpca_ca_import_check(cert, NULL, pub, 1, now, &err, p);
    check_err(rv, &err);
    if (fuzz_verbose()) {
        fprintf(stderr, "  as a root: %s\n", rv == APR_SUCCESS ? "importable" : err.message);
    }
    rv = acmpca_ca_import_check(cert, NULL, pub, 0, now, &err, p);
    check_err(rv, &err);
    FUZZ_ASSERT(rv != APR_SUCCESS); /* a subordinate without a chain is refused */
    if (chain_len) {
        rv = acmpca_chain_parse(&chain, apr_pmemdup(p, chain_bytes, chain_len), chain_len, &err, p);
        check_err(rv, &err);
        if (rv == APR_SUCCESS) {
            FUZZ_ASSERT(chain && chain->nelts > 0);
            rv = acmpca_ca_import_check(cert, chain, pub, 0, now, &err, p);
            check_err(rv, &err);
            if (fuzz_verbose()) {
                fprintf(stderr, "  as a subordinate: %s\n",
                        rv == APR_SUCCESS ? "importable" : err.message);
            }
            rv = acmpca_ca_import_check(cert, chain, pub, 1, now, &err, p);
            check_err(rv, &err);
            FUZZ_ASSERT(rv != APR_SUCCESS); /* a root with a chain is refused */
        }
    }
    /* The fixed CA's key is not the certificate's (unless the input is the CA itself): a
     * mismatch, unless the certificate was already refused as malformed. */
    if (!acmpca_key_same_public(fuzz_ca()->key, pub)) {
        rv = acmpca_ca_import_check(cert, NULL, fuzz_ca()->key, 1, now, &err, p);
        FUZZ_ASSERT(rv == ACMPCA_EAWS
                    && (err.type == ACMPCA_ERR_CERTIFICATE_MISMATCH
                        || err.type == ACMPCA_ERR_MALFORMED_CERTIFICATE));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_ca();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    apr_array_header_t *all = NULL;
    size_t split = second_block(data, size);
    size_t cert_len = split ? split : size;
    X509 *cert = NULL, *back = NULL;
    apr_status_t rv;

    /* The whole input as a chain (CertificateChain), then its first part as the
     * certificate (Certificate). Private copies of exact length throughout. */
    rv = acmpca_chain_parse(&all, size ? apr_pmemdup(p, data, size) : NULL, size, &err, p);
    check_err(rv, &err);
    rv = acmpca_cert_parse(&cert, cert_len ? apr_pmemdup(p, data, cert_len) : NULL, cert_len, &err,
                           p);
    check_err(rv, &err);
    if (rv == APR_SUCCESS) {
        acmpca_cert_info_t info;
        const char *pem = acmpca_cert_pem(cert, p);

        acmpca_cert_info(&info, cert, p);
        FUZZ_ASSERT(info.serial_hex && info.serial_colons && info.subject);
        /* What the store keeps (PEM) reads back as the same certificate. */
        FUZZ_ASSERT(pem != NULL);
        FUZZ_ASSERT(acmpca_cert_parse(&back, (const unsigned char *)pem, strlen(pem), &err, p)
                    == APR_SUCCESS);
        FUZZ_ASSERT(X509_cmp(cert, back) == 0);
        import_checks(cert, data + cert_len, size - cert_len, p);
    }
    apr_pool_destroy(p);
    return 0;
}
