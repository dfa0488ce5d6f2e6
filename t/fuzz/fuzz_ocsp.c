/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: OCSP requests (RFC 6960) as the responder at /ocsp takes them from GET and
 * POST. The x509 layer (src/x509/ocsp.c): acmpca_ocsp_parse, per CertID the serial and
 * the issuer match against a fixed CA, and a signed response with every status (nonce
 * echoed) that must decode again and verify with the CA's key. The responder
 * (src/ops/ocsp.c): acmpca_ocsp_answer against a store whose CA has OCSP enabled.
 *
 * Input: a DER OCSPRequest. Seeds cannot know the CAs' keys, made at start-up, so each
 * request is also tried with the issuer hashes of every CertID rewritten to name the CA
 * under test, in the request's own hash algorithm: the paths past the issuer match are
 * reached whatever CA the seed was made for. */
#include "fuzz_store.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "acmpca/revoke.h"

static X509 *store_ca; /* the store CA's certificate, as the responder finds it */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    const char *pem = fuzz_store()->ca_pem;

    (void)argc;
    (void)argv;
    FUZZ_ASSERT(
        acmpca_cert_parse(&store_ca, (const unsigned char *)pem, strlen(pem), &err, fuzz_init())
        == APR_SUCCESS);
    return 0;
}

/* der re-encoded with every CertID naming ca; NULL when it does not decode or names a
 * hash algorithm OpenSSL does not know. */
static const unsigned char *retarget(apr_size_t *plen, const unsigned char *der, apr_size_t len,
                                     X509 *ca, apr_pool_t *p)
{
    const unsigned char *d = der;
    OCSP_REQUEST *req;
    unsigned char *out = NULL;
    const unsigned char *copy = NULL;
    int i, n, ok;

    if (!der || !len) {
        return NULL;
    }
    req = d2i_OCSP_REQUEST(NULL, &d, (long)len);
    ok = req != NULL;

    for (i = 0, n = req ? OCSP_request_onereq_count(req) : 0; ok && i < n; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)), *mine;
        ASN1_OCTET_STRING *name_hash, *key_hash, *my_name, *my_key;
        ASN1_OBJECT *alg;
        const EVP_MD *md;

        ok = OCSP_id_get0_info(&name_hash, &alg, &key_hash, NULL, cid) && alg
             && (md = EVP_get_digestbyobj(alg)) != NULL
             && (mine = OCSP_cert_to_id(md, NULL, ca)) != NULL;
        if (ok) {
            ASN1_OBJECT *my_alg = NULL;

            /* A signature OID where a digest belongs ("sha1WithRSA") maps to the digest,
             * but names another algorithm: such a CertID never matches, leave it. */
            ok = OCSP_id_get0_info(&my_name, &my_alg, &my_key, NULL, mine) && !OBJ_cmp(alg, my_alg)
                 && ASN1_OCTET_STRING_set(name_hash, ASN1_STRING_get0_data(my_name),
                                          ASN1_STRING_length(my_name))
                 && ASN1_OCTET_STRING_set(key_hash, ASN1_STRING_get0_data(my_key),
                                          ASN1_STRING_length(my_key));
            OCSP_CERTID_free(mine);
        }
    }
    /* Encoded again from the fields just changed (an OCSPRequest keeps no cached DER). */
    if (ok && (n = i2d_OCSP_REQUEST(req, &out)) > 0) {
        copy = apr_pmemdup(p, out, (apr_size_t)n);
        *plen = (apr_size_t)n;
    }
    OPENSSL_free(out);
    OCSP_REQUEST_free(req);
    ERR_clear_error();
    return copy;
}

/* The x509 layer with the fixed CA of fuzz_ca.h. */
static void respond(const unsigned char *der, apr_size_t len, int named, apr_pool_t *p)
{
    const fuzz_ca_t *ca = fuzz_ca();
    acmpca_ocsp_req_t *req = NULL;
    acmpca_ocsp_status_t *st;
    acmpca_ocsp_signer_t signer;
    const unsigned char *out = NULL, *d;
    apr_size_t out_len = 0;
    OCSP_RESPONSE *resp;
    OCSP_BASICRESP *bs;
    STACK_OF(X509) * signers;
    int i, n;

    if (acmpca_ocsp_parse(&req, der, len, p) != APR_SUCCESS) {
        FUZZ_ASSERT(req == NULL);
        FUZZ_ASSERT(acmpca_ocsp_error(&out, &out_len, ACMPCA_OCSP_MALFORMED_REQUEST, p)
                    == APR_SUCCESS);
        return;
    }
    n = acmpca_ocsp_count(req);
    FUZZ_ASSERT(n >= 1 && n <= 64);
    st = apr_pcalloc(p, sizeof(*st) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        const char *serial = acmpca_ocsp_serial(req, i, p);
        int issued = acmpca_ocsp_issued_by(req, i, ca->cert);

        if (serial) {
            FUZZ_ASSERT(*serial && strspn(serial, "0123456789abcdef") == strlen(serial));
        }
        FUZZ_ASSERT(!named || issued); /* rewritten to name the CA: it must match */
        st[i].status = i % 3;          /* good, revoked, unknown */
        st[i].revoked_at = apr_time_from_sec(1767225600);
        st[i].reason = i % 2 ? 1 : ACMPCA_REASON_NONE;
    }
    memset(&signer, 0, sizeof(signer));
    signer.ca_cert = ca->cert;
    signer.ca_key = ca->key;
    signer.signing_algorithm = "SHA256WITHECDSA";
    signer.this_update = apr_time_from_sec(1767225600);
    signer.next_update = signer.this_update + apr_time_from_sec(3600);
    /* A request that parsed gets a signed answer: a failure would be an internalError. */
    FUZZ_ASSERT(acmpca_ocsp_respond(&out, &out_len, req, st, &signer, p) == APR_SUCCESS);
    d = out;
    resp = d2i_OCSP_RESPONSE(NULL, &d, (long)out_len);
    bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    signers = sk_X509_new_null();
    FUZZ_ASSERT(resp && d == out + out_len);
    FUZZ_ASSERT(bs && OCSP_resp_count(bs) == n);
    FUZZ_ASSERT(signers && sk_X509_push(signers, ca->cert));
    FUZZ_ASSERT(OCSP_basic_verify(bs, signers, NULL, OCSP_TRUSTOTHER | OCSP_NOVERIFY) == 1);
    sk_X509_free(signers);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
}

/* The responder with the store's CA: always a DER OCSPResponse, never a failure. */
static void answer(const unsigned char *der, apr_size_t len, apr_pool_t *p)
{
    acmpca_ocsp_reply_t reply;
    const unsigned char *d;
    OCSP_RESPONSE *resp;

    acmpca_ocsp_answer(&reply, &fuzz_store()->env, der, len, apr_time_now(), p);
    if (fuzz_verbose()) {
        fprintf(stderr, "  responder: status %d, %lu bytes\n", reply.status,
                (unsigned long)reply.len);
    }
    FUZZ_ASSERT(reply.der && reply.len > 0);
    FUZZ_ASSERT(reply.status != ACMPCA_OCSP_INTERNAL_ERROR
                && reply.status != ACMPCA_OCSP_TRY_LATER);
    d = reply.der;
    resp = d2i_OCSP_RESPONSE(NULL, &d, (long)reply.len);
    FUZZ_ASSERT(resp && OCSP_response_status(resp) == reply.status);
    OCSP_RESPONSE_free(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const unsigned char *der = size ? apr_pmemdup(p, data, size) : NULL, *re;
    apr_size_t re_len = 0;

    respond(der, size, 0, p);
    answer(der, size, p);
    if ((re = retarget(&re_len, der, size, fuzz_ca()->cert, p)) != NULL) {
        respond(re, re_len, 1, p);
    }
    if ((re = retarget(&re_len, der, size, store_ca, p)) != NULL) {
        answer(re, re_len, p);
    }
    fuzz_store_input_done();
    apr_pool_destroy(p);
    return 0;
}
