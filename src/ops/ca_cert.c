/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * GetCertificateAuthorityCsr, ImportCertificateAuthorityCertificate,
 * GetCertificateAuthorityCertificate. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/util.h"
#include "ops_int.h"

static apr_status_t load_for(acmpca_ca_t **pca, const char *op, const acmpca_op_ctx_t *ctx,
                             const cJSON *in, acmpca_err_t *err, apr_pool_t *p)
{
    apr_status_t rv = acmpca_ca_view(pca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p);
    return rv != APR_SUCCESS ? rv : acmpca_state_allow(op, *pca, ctx->now, err, p);
}

apr_status_t acmpca_op_get_ca_csr(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                  acmpca_err_t *err, apr_pool_t *p)
{
    acmpca_ca_t *ca;
    apr_status_t rv;

    if ((rv = load_for(&ca, "GetCertificateAuthorityCsr", ctx, in, err, p)) != APR_SUCCESS) {
        return rv;
    }
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    cJSON_AddStringToObject(*pout, ACMPCA_K_CSR, acmpca_json_str(ca->doc, ACMPCA_D_CSR));
    return APR_SUCCESS;
}

apr_status_t acmpca_op_get_ca_cert(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                   acmpca_err_t *err, apr_pool_t *p)
{
    const char *chain, *text;
    acmpca_ca_t *ca;
    cJSON *out;
    apr_status_t rv;

    if ((rv = load_for(&ca, "GetCertificateAuthorityCertificate", ctx, in, err, p))
        != APR_SUCCESS) {
        return rv;
    }
    /* The answer depends on the document alone: rendered once per text (doc_cache.c). */
    if (!(text = acmpca_ca_doc_answer(ca->entry, ACMPCA_ANSWER_CA_CERT, ""))) {
        out = acmpca_json_own(cJSON_CreateObject(), p);
        cJSON_AddStringToObject(out, ACMPCA_K_CERT, acmpca_json_str(ca->doc, ACMPCA_D_CERT));
        /* A root has no chain: the member is absent, not empty (AWS). */
        if ((chain = acmpca_json_str(ca->doc, ACMPCA_D_CHAIN)) != NULL) {
            cJSON_AddStringToObject(out, ACMPCA_K_CERT_CHAIN, chain);
        }
        if (!(text = acmpca_json_print(out, p))) {
            return acmpca_err_internal(err, APR_ENOMEM, "rendering the reply");
        }
        acmpca_ca_doc_answer_keep(ca->entry, ACMPCA_ANSWER_CA_CERT, "", text);
    }
    *pout = acmpca_ops_rendered(text, p);
    return APR_SUCCESS;
}

/* ************************************************************************************
 * ImportCertificateAuthorityCertificate
 */

typedef struct import_t {
    const acmpca_op_ctx_t *ctx;
    const char *cert_pem;
    const char *chain_pem; /* NULL for a root */
    acmpca_cert_info_t info;
} import_t;

static apr_status_t decode_blob(unsigned char **pbuf, apr_size_t *plen, const cJSON *in,
                                const char *key, apr_pool_t *p)
{
    const char *b64 = acmpca_json_str(in, key);
    /* The validator already refused bad base64; this cannot fail on what it let in. */
    return acmpca_b64_decode(pbuf, plen, b64, strlen(b64), p);
}

static apr_status_t parse_import(import_t *im, acmpca_ca_t *ca, const cJSON *in, acmpca_err_t *err,
                                 apr_pool_t *p)
{
    unsigned char *buf;
    apr_size_t len;
    apr_array_header_t *chain = NULL;
    const char *chain_pem = "";
    int is_root = !strcmp(acmpca_json_str(ca->doc, ACMPCA_K_TYPE), "ROOT");
    EVP_PKEY *key;
    X509 *cert;
    apr_status_t rv;
    int i;

    if ((rv = decode_blob(&buf, &len, in, ACMPCA_K_CERT, p)) != APR_SUCCESS
        || (rv = acmpca_cert_parse(&cert, buf, len, err, p)) != APR_SUCCESS) {
        return rv == APR_EINVAL ? acmpca_err_set(err, ACMPCA_ERR_SERIALIZATION, p, "bad base64")
                                : rv;
    }
    if (cJSON_HasObjectItem(in, ACMPCA_K_CERT_CHAIN)) {
        if ((rv = decode_blob(&buf, &len, in, ACMPCA_K_CERT_CHAIN, p)) != APR_SUCCESS) {
            return acmpca_err_set(err, ACMPCA_ERR_SERIALIZATION, p, "bad base64");
        }
        if (len > 0 && (rv = acmpca_chain_parse(&chain, buf, len, err, p)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((rv = acmpca_ca_key(&key, im->ctx, ca, err, p)) != APR_SUCCESS
        || (rv = acmpca_ca_import_check(cert, chain, key, is_root, im->ctx->now, err, p))
               != APR_SUCCESS) {
        return rv;
    }
    acmpca_cert_info(&im->info, cert, p);
    im->cert_pem = acmpca_cert_pem(cert, p);
    for (i = 0; chain && i < chain->nelts; i++) {
        chain_pem =
            apr_pstrcat(p, chain_pem, acmpca_cert_pem(APR_ARRAY_IDX(chain, i, X509 *), p), NULL);
    }
    im->chain_pem = chain && chain->nelts ? chain_pem : NULL;
    return APR_SUCCESS;
}

static apr_status_t install(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    import_t *im = baton;
    const char *status = acmpca_json_str(ca->doc, ACMPCA_K_STATUS);
    apr_status_t rv;

    if ((rv = acmpca_state_allow("ImportCertificateAuthorityCertificate", ca, im->ctx->now, err, p))
        != APR_SUCCESS) {
        return rv;
    }
    acmpca_json_set(ca->doc, ACMPCA_D_CERT, cJSON_CreateString(im->cert_pem));
    if (im->chain_pem) {
        acmpca_json_set(ca->doc, ACMPCA_D_CHAIN, cJSON_CreateString(im->chain_pem));
    }
    else {
        cJSON_DeleteItemFromObjectCaseSensitive(ca->doc, ACMPCA_D_CHAIN);
    }
    acmpca_json_set(ca->doc, ACMPCA_K_SERIAL, cJSON_CreateString(im->info.serial_colons));
    acmpca_json_set_time(ca->doc, ACMPCA_K_NOT_BEFORE, im->info.not_before);
    acmpca_json_set_time(ca->doc, ACMPCA_K_NOT_AFTER, im->info.not_after);
    /* A disabled CA stays disabled; pending or expired ones become active. */
    acmpca_ca_set_status(ca, strcmp(status, ACMPCA_ST_DISABLED) ? ACMPCA_ST_ACTIVE : status,
                         im->ctx->now);
    return APR_SUCCESS;
}

apr_status_t acmpca_op_import_ca_cert(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                      acmpca_err_t *err, apr_pool_t *p)
{
    import_t im = {ctx, NULL, NULL, {0}};
    acmpca_ca_t *ca;
    apr_status_t rv;

    (void)pout;
    if ((rv = load_for(&ca, "ImportCertificateAuthorityCertificate", ctx, in, err, p))
            != APR_SUCCESS
        || (rv = parse_import(&im, ca, in, err, p)) != APR_SUCCESS) {
        return rv;
    }
    return acmpca_ca_mutate(NULL, ctx, ca->ref.arn, install, &im, err, p);
}
