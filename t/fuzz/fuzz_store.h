/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * A store with one working CA for the fuzz targets that go past the parsers into the
 * operations: a sqlite store in a private temporary directory (removed at exit), an
 * environment as the glue builds it, and an ACTIVE root CA with CRLs and OCSP enabled
 * that issued one end-entity certificate, all made through acmpca_ops_call as a client
 * would. Inputs name them with placeholders, replaced before use:
 *     @CA_ARN@ @CA_ID@ @CERT_ARN@ @CERT_SERIAL@ @BUCKET@ */
#ifndef ACMPCA_FUZZ_STORE_H
#define ACMPCA_FUZZ_STORE_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "fuzz_ca.h"

#include "acmpca/ops.h"
#include "acmpca/store.h"
#include "acmpca/util.h"
#include "../../src/ops/ops_int.h"

#define FUZZ_ACCOUNT "123456789012"
#define FUZZ_BUCKET  "fuzz-crl-bucket"

typedef struct fuzz_store_t {
    acmpca_env_t env;
    const char *dir;
    const char *ca_arn, *ca_id, *cert_arn, *cert_serial;
    const char *ca_pem; /* the CA's certificate */
} fuzz_store_t;

static fuzz_store_t fuzz_st;

static inline void fuzz_store_cleanup(void)
{
    if (fuzz_st.dir) {
        const char *cmd = apr_psprintf(fuzz_init(), "rm -rf '%s'", fuzz_st.dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "fuzz: could not remove %s\n", fuzz_st.dir);
        }
    }
}

/* One API call as the glue makes it, by the account's own principal. */
static inline const char *fuzz_call(acmpca_reply_t *reply, const char *op, const char *body,
                                    apr_size_t len, apr_pool_t *p)
{
    acmpca_call_t call;

    memset(&call, 0, sizeof(call));
    call.env = &fuzz_st.env;
    call.caller.account = FUZZ_ACCOUNT;
    call.caller.principal = "arn:aws:iam::" FUZZ_ACCOUNT ":user/fuzz";
    call.target = apr_pstrcat(p, "ACMPrivateCA.", op, NULL);
    call.body = body;
    call.body_len = len;
    call.request_id = "00000000-0000-4000-8000-00000000f022";
    call.now = apr_time_now();
    acmpca_ops_call(reply, &call, p);
    return reply->body;
}

/* A step of the setup that must work; returns the member asked for. */
static inline const char *fuzz_setup_call(const char *op, const char *body, const char *member,
                                          apr_pool_t *p)
{
    acmpca_reply_t reply;
    const cJSON *out;
    const char *v;

    fuzz_call(&reply, op, body, strlen(body), p);
    out = acmpca_json_parse(reply.body, reply.body_len, p);
    v = member ? acmpca_json_str(out, member) : "";
    if (reply.status != 200 || !v) {
        fprintf(stderr, "fuzz: setup %s failed: %d %s\n", op, reply.status, reply.body);
        abort();
    }
    return v;
}

static inline const char *fuzz_b64(const char *s, apr_pool_t *p)
{
    return acmpca_b64_encode((const unsigned char *)s, strlen(s), p);
}

static inline const fuzz_store_t *fuzz_store(void)
{
    static unsigned char kek[ACMPCA_KEK_LEN] = "fuzz-key-encryption-key-0123456";
    apr_pool_t *p = fuzz_init();
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char *dir = apr_pstrcat(p, tmp, "/acmpca-fuzz-XXXXXX", NULL);
    const char *err, *csr, *arn, *cert;
    acmpca_store_t *s;

    if (fuzz_st.ca_arn) {
        return &fuzz_st;
    }
    fuzz_ca(); /* made first: its own fixture section */
    FUZZ_FIXTURE_BEGIN();
    if (!mkdtemp(dir)) {
        fprintf(stderr, "fuzz: mkdtemp %s failed\n", dir);
        abort();
    }
    fuzz_st.dir = dir;
    atexit(fuzz_store_cleanup);
    if ((err = acmpca_store_create(&s, apr_pstrcat(p, "sqlite:", dir, "/acmpca.db", NULL), p))
        || s->provider->open(s, -1, -1, p) != APR_SUCCESS
        || s->provider->attach(s, p) != APR_SUCCESS) {
        fprintf(stderr, "fuzz: cannot open the store in %s: %s\n", dir, err ? err : "open");
        abort();
    }
    fuzz_st.env.store = s;
    fuzz_st.env.region = "us-east-1";
    fuzz_st.env.account = FUZZ_ACCOUNT;
    fuzz_st.env.kek = kek;
    fuzz_st.env.public_url = "http://127.0.0.1:8080";
    fuzz_st.env.max_cas = 20; /* CreateCertificateAuthority stops at LimitExceeded */
    fuzz_st.env.audit_report_interval = -1;

    arn = fuzz_setup_call(
        "CreateCertificateAuthority",
        "{\"CertificateAuthorityType\":\"ROOT\",\"CertificateAuthorityConfiguration\":"
        "{\"KeyAlgorithm\":\"EC_prime256v1\",\"SigningAlgorithm\":\"SHA256WITHECDSA\","
        "\"Subject\":{\"CommonName\":\"Fuzz Store Root\"}},\"RevocationConfiguration\":"
        "{\"CrlConfiguration\":{\"Enabled\":true,\"ExpirationInDays\":7,"
        "\"S3BucketName\":\"" FUZZ_BUCKET "\"},\"OcspConfiguration\":{\"Enabled\":true}}}",
        "CertificateAuthorityArn", p);
    csr = fuzz_setup_call("GetCertificateAuthorityCsr",
                          apr_psprintf(p, "{\"CertificateAuthorityArn\":\"%s\"}", arn), "Csr", p);
    cert = fuzz_setup_call(
        "IssueCertificate",
        apr_psprintf(p,
                     "{\"CertificateAuthorityArn\":\"%s\",\"Csr\":\"%s\",\"SigningAlgorithm\":"
                     "\"SHA256WITHECDSA\",\"TemplateArn\":\"%sRootCACertificate/V1\","
                     "\"Validity\":{\"Type\":\"YEARS\",\"Value\":10}}",
                     arn, fuzz_b64(csr, p), ACMPCA_TEMPLATE_ARN_PREFIX),
        "CertificateArn", p);
    cert = fuzz_setup_call(
        "GetCertificate",
        apr_psprintf(p, "{\"CertificateAuthorityArn\":\"%s\",\"CertificateArn\":\"%s\"}", arn,
                     cert),
        "Certificate", p);
    fuzz_setup_call("ImportCertificateAuthorityCertificate",
                    apr_psprintf(p, "{\"CertificateAuthorityArn\":\"%s\",\"Certificate\":\"%s\"}",
                                 arn, fuzz_b64(cert, p)),
                    NULL, p);
    fuzz_st.cert_arn = fuzz_setup_call(
        "IssueCertificate",
        apr_psprintf(p,
                     "{\"CertificateAuthorityArn\":\"%s\",\"Csr\":\"%s\",\"SigningAlgorithm\":"
                     "\"SHA256WITHECDSA\",\"Validity\":{\"Type\":\"DAYS\",\"Value\":30}}",
                     arn, fuzz_b64(fuzz_ca()->ee_pem, p)),
        "CertificateArn", p);
    fuzz_st.ca_arn = arn;
    fuzz_st.ca_pem = cert;
    fuzz_st.ca_id = strrchr(arn, '/') + 1;
    fuzz_st.cert_serial = strrchr(fuzz_st.cert_arn, '/') + 1;
    FUZZ_FIXTURE_END();
    return &fuzz_st;
}

/* The end of an input: the per-process cache of CA keys and certificates (ca_cache.c)
 * keeps its entries in pool memory, where LeakSanitizer cannot see them; emptied after
 * each input, what an input loaded is freed by the time libFuzzer looks for leaks. */
static inline void fuzz_store_input_done(void)
{
    acmpca_ca_cache_clear();
}

/* s with the placeholders of the file header replaced, in p. */
static inline const char *fuzz_store_expand(const char *s, apr_pool_t *p)
{
    static const char *const names[] = {"@CA_ARN@", "@CA_ID@", "@CERT_ARN@", "@CERT_SERIAL@",
                                        "@BUCKET@"};
    const char *values[5];
    const char *at;
    const char *out = "";
    size_t i;

    values[0] = fuzz_st.ca_arn;
    values[1] = fuzz_st.ca_id;
    values[2] = fuzz_st.cert_arn;
    values[3] = fuzz_st.cert_serial;
    values[4] = FUZZ_BUCKET;
    while ((at = strchr(s, '@')) != NULL) {
        for (i = 0; i < 5 && strncmp(at, names[i], strlen(names[i])); i++) {
        }
        if (i == 5) {
            out = apr_pstrcat(p, out, apr_pstrndup(p, s, (apr_size_t)(at - s) + 1), NULL);
            s = at + 1;
            continue;
        }
        out = apr_pstrcat(p, out, apr_pstrndup(p, s, (apr_size_t)(at - s)), values[i], NULL);
        s = at + strlen(names[i]);
    }
    return apr_pstrcat(p, out, s, NULL);
}

#endif
