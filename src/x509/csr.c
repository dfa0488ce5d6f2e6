/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * PKCS#10 requests: the CA's own CSR (GetCertificateAuthorityCsr). Incoming CSRs are
 * parsed in intake.c. */
#include <string.h>

#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acmpca/json.h"
#include "acmpca/x509.h"

static apr_status_t req_cleanup(void *data)
{
    X509_REQ_free(data);
    return APR_SUCCESS;
}

static apr_status_t ext_cleanup(void *data)
{
    X509_EXTENSION_free(data);
    return APR_SUCCESS;
}

static void *own(apr_pool_t *p, void *obj, apr_status_t (*cleanup)(void *))
{
    if (obj) {
        apr_pool_cleanup_register(p, obj, cleanup, apr_pool_cleanup_null);
    }
    return obj;
}

/* ******************************************************************************** */
/* The CA's CSR (PCA-API.md §7.1)                                                    */
/* ******************************************************************************** */

/* AccessMethodType values of the service model: RFC 5280 §4.2.2.2 and RFC 6487 §4.8.8,
 * RFC 8182 §3.2 for the RPKI ones. */
static const struct {
    const char *type;
    const char *oid;
} access_methods[] = {
    {"CA_REPOSITORY", "1.3.6.1.5.5.7.48.5"},
    {"RESOURCE_PKI_MANIFEST", "1.3.6.1.5.5.7.48.10"},
    {"RESOURCE_PKI_NOTIFY", "1.3.6.1.5.5.7.48.13"},
};

static ASN1_OBJECT *access_method(const cJSON *method, acmpca_err_t *err, apr_pool_t *p)
{
    const char *custom = acmpca_json_str(method, "CustomObjectIdentifier");
    const char *type = acmpca_json_str(method, "AccessMethodType");
    ASN1_OBJECT *obj = NULL;
    size_t i;

    if (!custom == !type) {
        acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                       "AccessMethod must specify either CustomObjectIdentifier or "
                       "AccessMethodType.");
        return NULL;
    }
    for (i = 0; type && i < sizeof(access_methods) / sizeof(access_methods[0]); i++) {
        if (!strcmp(type, access_methods[i].type)) {
            custom = access_methods[i].oid;
        }
    }
    if (!custom || !(obj = OBJ_txt2obj(custom, 1))) {
        acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "%s is not a valid access method.",
                       custom ? custom : type);
    }
    return obj;
}

static apr_status_t sia_add(AUTHORITY_INFO_ACCESS *sia, const cJSON *item, acmpca_err_t *err,
                            apr_pool_t *p)
{
    ACCESS_DESCRIPTION *ad;
    GENERAL_NAME *gn;
    ASN1_OBJECT *method;
    apr_status_t rv;

    if (!(method = access_method(acmpca_json_obj(item, "AccessMethod"), err, p))) {
        return ACMPCA_EAWS;
    }
    rv = acmpca_general_name_from_json(&gn, acmpca_json_obj(item, "AccessLocation"), err, p);
    if (rv != APR_SUCCESS) {
        ASN1_OBJECT_free(method);
        return rv;
    }
    if (!(ad = ACCESS_DESCRIPTION_new()) || !sk_ACCESS_DESCRIPTION_push(sia, ad)) {
        ACCESS_DESCRIPTION_free(ad);
        ASN1_OBJECT_free(method);
        return acmpca_err_internal(err, APR_ENOMEM, "ACCESS_DESCRIPTION_new");
    }
    /* ad now belongs to sia; its fields take over method and a copy of gn. */
    ASN1_OBJECT_free(ad->method);
    ad->method = method;
    GENERAL_NAME_free(ad->location);
    if (!(ad->location = GENERAL_NAME_dup(gn))) {
        return acmpca_err_internal(err, APR_ENOMEM, "GENERAL_NAME_dup");
    }
    return APR_SUCCESS;
}

/* SubjectInformationAccess, non-critical as RFC 5280 §4.2.2.2 requires. */
static apr_status_t sia_ext(X509_EXTENSION **pext, const cJSON *list, acmpca_err_t *err,
                            apr_pool_t *p)
{
    AUTHORITY_INFO_ACCESS *sia = sk_ACCESS_DESCRIPTION_new_null();
    const cJSON *item;
    apr_status_t rv = APR_SUCCESS;

    *pext = NULL;
    if (!sia) {
        return acmpca_err_internal(err, APR_ENOMEM, "sk_ACCESS_DESCRIPTION_new_null");
    }
    cJSON_ArrayForEach(item, list)
    {
        if ((rv = sia_add(sia, item, err, p)) != APR_SUCCESS) {
            break;
        }
    }
    if (rv == APR_SUCCESS && sk_ACCESS_DESCRIPTION_num(sia) > 0
        && !(*pext = own(p, X509V3_EXT_i2d(NID_sinfo_access, 0, sia), ext_cleanup))) {
        rv = acmpca_err_internal(err, APR_ENOMEM, "X509V3_EXT_i2d");
    }
    AUTHORITY_INFO_ACCESS_free(sia);
    return rv;
}

/* The extensionRequest attribute from CsrExtensions. exts holds pool-owned extensions. */
static apr_status_t csr_ext_collect(STACK_OF(X509_EXTENSION) * exts, const cJSON *csr_ext,
                                    acmpca_err_t *err, apr_pool_t *p)
{
    unsigned int ku = acmpca_key_usage_bits(acmpca_json_obj(csr_ext, ACMPCA_K_KEY_USAGE));
    const cJSON *sia = cJSON_GetObjectItemCaseSensitive(csr_ext, "SubjectInformationAccess");
    X509_EXTENSION *ext;
    apr_status_t rv;

    if (ku) {
        if ((rv = acmpca_ext_key_usage(&ext, ku, p)) != APR_SUCCESS) {
            return acmpca_err_internal(err, rv, "keyUsage extension");
        }
        if (!sk_X509_EXTENSION_push(exts, ext)) {
            return acmpca_err_internal(err, APR_ENOMEM, "sk_X509_EXTENSION_push");
        }
    }
    if (cJSON_IsArray(sia)) {
        if ((rv = sia_ext(&ext, sia, err, p)) != APR_SUCCESS) {
            return rv;
        }
        if (ext && !sk_X509_EXTENSION_push(exts, ext)) {
            return acmpca_err_internal(err, APR_ENOMEM, "sk_X509_EXTENSION_push");
        }
    }
    return APR_SUCCESS;
}

static apr_status_t csr_add_extensions(X509_REQ *req, const cJSON *csr_ext, acmpca_err_t *err,
                                       apr_pool_t *p)
{
    STACK_OF(X509_EXTENSION) * exts;
    apr_status_t rv;

    if (!csr_ext) {
        return APR_SUCCESS;
    }
    if (!(exts = sk_X509_EXTENSION_new_null())) {
        return acmpca_err_internal(err, APR_ENOMEM, "sk_X509_EXTENSION_new_null");
    }
    rv = csr_ext_collect(exts, csr_ext, err, p);
    if (rv == APR_SUCCESS && sk_X509_EXTENSION_num(exts) > 0
        && !X509_REQ_add_extensions(req, exts)) {
        rv = acmpca_err_internal(err, APR_ENOMEM, "X509_REQ_add_extensions");
    }
    sk_X509_EXTENSION_free(exts); /* shallow: the extensions belong to p */
    return rv;
}

static const char *req_pem(X509_REQ *req, apr_pool_t *p)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *pem = NULL;
    char *data;
    long n;

    if (bio && PEM_write_bio_X509_REQ(bio, req) == 1 && (n = BIO_get_mem_data(bio, &data)) > 0) {
        pem = apr_pstrmemdup(p, data, (apr_size_t)n);
    }
    BIO_free(bio);
    return pem;
}

apr_status_t acmpca_csr_make(const char **ppem, EVP_PKEY *key, const cJSON *subject,
                             const cJSON *csr_extensions, const char *signing_algorithm,
                             acmpca_err_t *err, apr_pool_t *p)
{
    const char *key_algorithm = acmpca_key_algorithm_of(key);
    X509_NAME *name;
    X509_REQ *req;
    apr_status_t rv;

    *ppem = NULL;
    if (!key_algorithm) {
        return acmpca_err_internal(err, APR_EINVAL, "CSR for an unsupported key");
    }
    if ((rv = acmpca_sigalg_check(signing_algorithm, key_algorithm, err, p)) != APR_SUCCESS
        || (rv = acmpca_name_from_json(&name, subject, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!(req = own(p, X509_REQ_new(), req_cleanup))
        || !X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, name)
        || !X509_REQ_set_pubkey(req, key)) {
        return acmpca_err_internal(err, APR_ENOMEM, "X509_REQ_new");
    }
    if ((rv = csr_add_extensions(req, csr_extensions, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (X509_REQ_sign(req, key, acmpca_sigalg_md(signing_algorithm)) <= 0
        || !(*ppem = req_pem(req, p))) {
        return acmpca_err_internal(err, APR_EGENERAL, "signing the CA CSR");
    }
    return APR_SUCCESS;
}
