/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: CSR intake (acmpca_csr_parse, src/x509/intake.c) on the bytes that
 * IssueCertificate's Csr decodes to, PEM or DER. A CSR the intake accepts must verify and
 * must then be signable: it is issued on the CSR passthrough template by a fixed CA, the
 * path where every requested extension meets the certificate builder, and the result
 * must parse back as one certificate. The lean intake (intake_lean.c) and builder must
 * agree on every input: the same verdict and the same certificate. */
#include "fuzz_ca.h"

#include <openssl/x509.h>

static const acmpca_template_t *passthrough;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_ca();
    passthrough =
        acmpca_template_find(ACMPCA_TEMPLATE_ARN_PREFIX "EndEntityCertificate_CSRPassthrough/V1");
    FUZZ_ASSERT(passthrough != NULL);
    return 0;
}

/* The lean path on the same input: the strict verdict (rv, err) again, and when the CSR
 * was accepted, the certificate cert again, the signature aside (ECDSA's is random). */
static void lean_agrees(const uint8_t *data, size_t size, apr_status_t rv, const acmpca_err_t *err,
                        const acmpca_issue_t *in, X509 *cert, apr_pool_t *p)
{
    acmpca_err_t lean_err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_issue_t lean_in;
    unsigned char *tbs = NULL, *lean_tbs = NULL;
    X509_REQ *lean = NULL;
    X509 *lean_cert = NULL;
    int n, lean_n;

    FUZZ_ASSERT(
        acmpca_csr_parse_lean(&lean, size ? apr_pmemdup(p, data, size) : NULL, size, &lean_err, p)
        == rv);
    /* The type, not always the words: the strict check of an RSA key is probabilistic
     * (OpenSSL's SP 800-56B public check), so a mutated modulus may fail it in one call
     * and only the signature in the next; the unit tests compare the words. */
    FUZZ_ASSERT(lean_err.type == err->type);
    if (rv != APR_SUCCESS || !cert) {
        return;
    }
    lean_in = *in;
    lean_in.csr = lean;
    FUZZ_ASSERT(acmpca_cert_issue_lean(&lean_cert, &lean_in, &lean_err, p) == APR_SUCCESS);
    n = i2d_re_X509_tbs(cert, &tbs);
    lean_n = i2d_re_X509_tbs(lean_cert, &lean_tbs);
    FUZZ_ASSERT(n > 0 && n == lean_n && !memcmp(tbs, lean_tbs, (size_t)n));
    OPENSSL_free(tbs);
    OPENSSL_free(lean_tbs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    const fuzz_ca_t *ca = fuzz_ca();
    X509_REQ *csr = NULL;
    apr_status_t rv;

    /* A private copy of exactly size bytes: a read past the input is a read past it. */
    rv = acmpca_csr_parse(&csr, size ? apr_pmemdup(p, data, size) : NULL, size, &err, p);
    if (fuzz_verbose()) {
        fprintf(stderr, "  csr: %s\n", rv == APR_SUCCESS ? "accepted" : err.message);
    }
    if (rv != APR_SUCCESS) {
        FUZZ_ASSERT(rv == ACMPCA_EAWS && err.type == ACMPCA_ERR_MALFORMED_CSR && err.message);
        FUZZ_ASSERT(csr == NULL);
        lean_agrees(data, size, rv, &err, NULL, NULL, p);
    }
    else {
        acmpca_issue_t in;
        acmpca_cert_info_t info;
        const char *pem;
        X509 *cert = NULL, *back = NULL;
        const acmpca_err_t parse_err = err;

        FUZZ_ASSERT(csr != NULL && X509_REQ_verify(csr, X509_REQ_get0_pubkey(csr)) == 1);
        FUZZ_ASSERT(!acmpca_csr_has_key(csr, ca->key));
        fuzz_ca_issue_init(&in, ca, passthrough);
        in.csr = csr;
        rv = acmpca_cert_issue(&cert, &in, &err, p);
        if (fuzz_verbose()) {
            fprintf(stderr, "  issued: %s\n", rv == APR_SUCCESS ? "yes" : err.message);
        }
        /* The builder may refuse what the profile forbids, never fail inside. */
        FUZZ_ASSERT(rv == APR_SUCCESS
                    || (rv == ACMPCA_EAWS && err.type == ACMPCA_ERR_INVALID_ARGS));
        lean_agrees(data, size, APR_SUCCESS, &parse_err, &in, rv == APR_SUCCESS ? cert : NULL, p);
        if (rv == APR_SUCCESS) {
            FUZZ_ASSERT((pem = acmpca_cert_pem(cert, p)) != NULL);
            FUZZ_ASSERT(acmpca_cert_parse(&back, (const unsigned char *)pem, strlen(pem), &err, p)
                        == APR_SUCCESS);
            FUZZ_ASSERT(X509_verify(back, ca->key) == 1);
            acmpca_cert_info(&info, back, p);
            FUZZ_ASSERT(!info.is_ca
                        && !strcmp(info.serial_hex, "4f757a7a0102030405060708090a0b0c"));
        }
    }
    apr_pool_destroy(p);
    return 0;
}
