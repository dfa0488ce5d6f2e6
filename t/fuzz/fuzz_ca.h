/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * A fixed certificate authority for the x509 fuzz targets, made once per process through
 * the core itself (key, CSR, RootCACertificate/V1): an EC P-256 root, its own CSR, and a
 * second key with the CSR of an end entity. Everything lives in the
 * process-wide pool of fuzz.h. */
#ifndef ACMPCA_FUZZ_CA_H
#define ACMPCA_FUZZ_CA_H

#include <cjson/cJSON.h>

#include "fuzz.h"

#include "acmpca/json.h"
#include "acmpca/x509.h"

typedef struct fuzz_ca_t {
    EVP_PKEY *key;      /* the CA's key */
    X509_REQ *csr;      /* the CA's own CSR (for root templates) */
    X509 *cert;         /* the CA's self-signed certificate */
    EVP_PKEY *ee_key;   /* an end entity's key */
    X509_REQ *ee_csr;   /* its CSR: a CN only */
    const char *ee_pem; /* the same CSR in PEM */
    const char *cert_pem;
} fuzz_ca_t;

static inline X509_REQ *fuzz_ca_csr(const char **ppem, EVP_PKEY *key, const char *subject,
                                    const char *exts, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    cJSON *s = acmpca_json_own(cJSON_Parse(subject), p);
    cJSON *e = exts ? acmpca_json_own(cJSON_Parse(exts), p) : NULL;
    const char *pem = NULL;
    X509_REQ *req = NULL;

    if (acmpca_csr_make(&pem, key, s, e, "SHA256WITHECDSA", &err, p) != APR_SUCCESS
        || acmpca_csr_parse(&req, (const unsigned char *)pem, strlen(pem), &err, p)
               != APR_SUCCESS) {
        fprintf(stderr, "fuzz: cannot make a CSR: %s\n", err.message ? err.message : "?");
        abort();
    }
    if (ppem) {
        *ppem = pem;
    }
    return req;
}

/* The issuance parameters every target starts from: a fixed serial, one year. */
static inline void fuzz_ca_issue_init(acmpca_issue_t *in, const fuzz_ca_t *ca,
                                      const acmpca_template_t *tmpl)
{
    static const unsigned char serial[16] = {0x4f, 0x75, 0x7a, 0x7a, 0x01, 0x02, 0x03, 0x04,
                                             0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
    apr_time_t now = apr_time_from_sec(1767225600); /* 2026-01-01, as the other targets */

    memset(in, 0, sizeof(*in));
    in->tmpl = tmpl;
    in->csr = tmpl && tmpl->root ? ca->csr : ca->ee_csr;
    in->issuer_key = ca->key;
    in->issuer_cert = tmpl && tmpl->root ? NULL : ca->cert;
    in->signing_algorithm = "SHA256WITHECDSA";
    in->serial = serial;
    in->serial_len = sizeof(serial);
    in->not_before = now - apr_time_from_sec(3600);
    in->not_after = now + apr_time_from_sec(365 * 86400);
    in->crl_url = "http://127.0.0.1/crl/00000000-0000-4000-8000-000000000000.crl";
    in->ocsp_url = "http://127.0.0.1/ocsp";
}

static inline const fuzz_ca_t *fuzz_ca(void)
{
    static fuzz_ca_t ca;
    apr_pool_t *p = fuzz_init();
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    acmpca_issue_t in;

    if (ca.cert) {
        return &ca;
    }
    FUZZ_FIXTURE_BEGIN();
    if (acmpca_key_generate(&ca.key, "EC_prime256v1", &err, p) != APR_SUCCESS
        || acmpca_key_generate(&ca.ee_key, "EC_prime256v1", &err, p) != APR_SUCCESS) {
        fprintf(stderr, "fuzz: cannot make keys\n");
        abort();
    }
    ca.csr = fuzz_ca_csr(NULL, ca.key,
                         "{\"Country\":\"US\",\"Organization\":\"mod_acmpca fuzz\","
                         "\"CommonName\":\"Fuzz Root\"}",
                         NULL, p);
    ca.ee_csr =
        fuzz_ca_csr(&ca.ee_pem, ca.ee_key, "{\"CommonName\":\"fuzz.example.com\"}", NULL, p);
    fuzz_ca_issue_init(&in, &ca,
                       acmpca_template_find(ACMPCA_TEMPLATE_ARN_PREFIX "RootCACertificate/V1"));
    if (acmpca_cert_issue(&ca.cert, &in, &err, p) != APR_SUCCESS) {
        fprintf(stderr, "fuzz: cannot make the CA: %s\n", err.message ? err.message : "?");
        abort();
    }
    ca.cert_pem = acmpca_cert_pem(ca.cert, p);
    FUZZ_FIXTURE_END();
    return &ca;
}

#endif
