/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Certificates: building and signing per template with API and CSR passthrough, PEM in
 * and out, summaries, and the checks an imported CA certificate must pass. */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acmpca/json.h"
#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "cert_int.h"
#include "sign_int.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t ext_cleanup(void *data)
{
    X509_EXTENSION_free(data);
    return APR_SUCCESS;
}

static apr_status_t exts_cleanup(void *data)
{
    sk_X509_EXTENSION_pop_free(data, X509_EXTENSION_free);
    return APR_SUCCESS;
}

static void *own(apr_pool_t *p, void *obj, apr_status_t (*cleanup)(void *))
{
    if (obj) {
        apr_pool_cleanup_register(p, obj, cleanup, apr_pool_cleanup_null);
    }
    return obj;
}

static int is_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s > 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int nid_in(int nid, const int *list, size_t n)
{
    size_t i;

    for (i = 0; i < n && list[i] != nid; i++) {
    }
    return i < n;
}

/* Extensions only the CA decides: its template's BasicConstraints and key identifiers,
 * and the CRL and OCSP pointers its revocation configuration gives (PCA-API.md §7.2).
 * A caller's version, from the API or the CSR, is ignored as a template-defined value
 * is [AWS template-order-of-operations], even where the CA leaves the extension out. */
static const int ca_managed[] = {
    NID_basic_constraints,
    NID_authority_key_identifier,
    NID_subject_key_identifier,
    NID_crl_distribution_points,
    NID_info_access,
    NID_freshest_crl,
};

/* RFC 5280 puts these in CA certificates only (§4.2.1.5, §4.2.1.10, §4.2.1.11,
 * §4.2.1.14); an end-entity certificate carrying one is refused whatever asked for it. */
static const int ca_only[] = {
    NID_name_constraints,
    NID_policy_constraints,
    NID_inhibit_any_policy,
    NID_policy_mappings,
};

/* ******************************************************************************** */
/* Key usage (shared with csr.c)                                                     */
/* ******************************************************************************** */

/* KeyUsage members, their X509v3_KU_* flag and their bit in the DER BIT STRING
 * (RFC 5280 §4.2.1.3). */
static const struct {
    const char *member;
    unsigned int flag;
    int bit;
} key_usages[] = {
    {"DigitalSignature", X509v3_KU_DIGITAL_SIGNATURE, 0},
    {"NonRepudiation", X509v3_KU_NON_REPUDIATION, 1},
    {"KeyEncipherment", X509v3_KU_KEY_ENCIPHERMENT, 2},
    {"DataEncipherment", X509v3_KU_DATA_ENCIPHERMENT, 3},
    {"KeyAgreement", X509v3_KU_KEY_AGREEMENT, 4},
    {"KeyCertSign", X509v3_KU_KEY_CERT_SIGN, 5},
    {"CRLSign", X509v3_KU_CRL_SIGN, 6},
    {"EncipherOnly", X509v3_KU_ENCIPHER_ONLY, 7},
    {"DecipherOnly", X509v3_KU_DECIPHER_ONLY, 8},
};

unsigned int acmpca_key_usage_bits(const cJSON *key_usage)
{
    unsigned int bits = 0;
    size_t i;

    for (i = 0; key_usage && i < COUNT(key_usages); i++) {
        if (acmpca_json_bool(key_usage, key_usages[i].member, 0)) {
            bits |= key_usages[i].flag;
        }
    }
    return bits;
}

apr_status_t acmpca_ext_key_usage(X509_EXTENSION **pext, unsigned int ku, apr_pool_t *p)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    int ok = bs != NULL;
    size_t i;

    *pext = NULL;
    for (i = 0; ok && i < COUNT(key_usages); i++) {
        if (ku & key_usages[i].flag) {
            ok = ASN1_BIT_STRING_set_bit(bs, key_usages[i].bit, 1);
        }
    }
    if (ok) {
        *pext = own(p, X509V3_EXT_i2d(NID_key_usage, 1, bs), ext_cleanup);
    }
    ASN1_BIT_STRING_free(bs);
    return *pext ? APR_SUCCESS : APR_ENOMEM;
}

/* ******************************************************************************** */
/* The certificate builder                                                           */
/* ******************************************************************************** */

typedef struct {
    X509 *x;
    const acmpca_issue_t *in;
    const cJSON *api; /* ApiPassthrough when the template applies it, else NULL */
    STACK_OF(X509_EXTENSION) * csr_exts;
    int self_signed;
    int n_template; /* extensions 0 .. n_template-1 are the template's own */
    int raw_spki;   /* copy the CSR's SubjectPublicKeyInfo bytes (acmpca_cert_issue_lean) */
    acmpca_err_t *err;
    apr_pool_t *p;
} builder_t;

static apr_status_t internal(builder_t *b, const char *what)
{
    return acmpca_err_internal(b->err, APR_EGENERAL, what);
}

static int has_nid(builder_t *b, int nid)
{
    return X509_get_ext_by_NID(b->x, nid, -1) >= 0;
}

/* Encode value with OpenSSL's method for nid and append it. The caller frees value;
 * NULL stands for an allocation that failed. */
static apr_status_t add_i2d(builder_t *b, int nid, void *value, int critical)
{
    if (!value || X509_add1_ext_i2d(b->x, nid, value, critical, X509V3_ADD_DEFAULT) != 1) {
        return internal(b, "X509_add1_ext_i2d");
    }
    return APR_SUCCESS;
}

static apr_status_t add_ku(builder_t *b, unsigned int ku)
{
    X509_EXTENSION *ext;

    if (acmpca_ext_key_usage(&ext, ku, b->p) != APR_SUCCESS || !X509_add_ext(b->x, ext, -1)) {
        return internal(b, "keyUsage");
    }
    return APR_SUCCESS;
}

/* Push o onto eku, or free it. */
static int eku_push(EXTENDED_KEY_USAGE *eku, ASN1_OBJECT *o)
{
    if (o && sk_ASN1_OBJECT_push(eku, o)) {
        return 1;
    }
    ASN1_OBJECT_free(o);
    return 0;
}

static GENERAL_NAME *uri_name(const char *uri)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();

    if (gn && s && ASN1_STRING_set(s, uri, -1)) {
        GENERAL_NAME_set0_value(gn, GEN_URI, s);
        return gn;
    }
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(s);
    return NULL;
}

/* RFC 5280 §4.2.1.2 method 1: SHA-1 over the subjectPublicKey BIT STRING value. */
static ASN1_OCTET_STRING *key_id(const X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ASN1_OCTET_STRING *id = NULL;

    if (X509_pubkey_digest(x, EVP_sha1(), md, &n) && (id = ASN1_OCTET_STRING_new())
        && !ASN1_OCTET_STRING_set(id, md, (int)n)) {
        ASN1_OCTET_STRING_free(id);
        id = NULL;
    }
    return id;
}

/* ---- the template's extensions (PCA-API.md §7.2, §7.3) ---- */

static apr_status_t add_bc(builder_t *b)
{
    const acmpca_template_t *t = b->in->tmpl;
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    apr_status_t rv;

    if (bc && t->is_ca) {
        bc->ca = 0xff;
        if (t->path_len >= 0
            && (!(bc->pathlen = ASN1_INTEGER_new())
                || !ASN1_INTEGER_set(bc->pathlen, t->path_len))) {
            BASIC_CONSTRAINTS_free(bc);
            bc = NULL;
        }
    }
    rv = add_i2d(b, NID_basic_constraints, bc, t->bc_critical);
    BASIC_CONSTRAINTS_free(bc);
    return rv;
}

static apr_status_t add_ski(builder_t *b)
{
    ASN1_OCTET_STRING *id = key_id(b->x);
    apr_status_t rv = add_i2d(b, NID_subject_key_identifier, id, 0);

    ASN1_OCTET_STRING_free(id);
    return rv;
}

/* keyIdentifier = the issuer's SKI as its certificate states it, or the method-1 id of
 * its key when it has none [AWS]; a self-signed certificate names its own key. The
 * certificate being built is not asked for its SKI: OpenSSL caches extension data. */
static apr_status_t add_aki(builder_t *b)
{
    X509 *issuer = b->self_signed ? b->x : b->in->issuer_cert;
    const ASN1_OCTET_STRING *ski = b->self_signed ? NULL : X509_get0_subject_key_id(issuer);
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    apr_status_t rv;

    if (akid && !(akid->keyid = ski ? ASN1_OCTET_STRING_dup(ski) : key_id(issuer))) {
        AUTHORITY_KEYID_free(akid);
        akid = NULL;
    }
    rv = add_i2d(b, NID_authority_key_identifier, akid, 0);
    AUTHORITY_KEYID_free(akid);
    return rv;
}

static apr_status_t add_template_eku(builder_t *b)
{
    const acmpca_template_t *t = b->in->tmpl;
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    apr_status_t rv;
    int i, ok = eku != NULL;

    for (i = 0; ok && t->eku[i]; i++) {
        ok = eku_push(eku, OBJ_txt2obj(t->eku[i], 0));
    }
    rv = add_i2d(b, NID_ext_key_usage, ok ? eku : NULL, t->eku_critical);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return rv;
}

static DIST_POINT *uri_dist_point(const char *uri)
{
    DIST_POINT *dp = DIST_POINT_new();
    GENERAL_NAME *gn = uri_name(uri);

    if (!dp || !gn || !(dp->distpoint = DIST_POINT_NAME_new())) {
        goto fail;
    }
    dp->distpoint->type = 0; /* fullName */
    if (!(dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null())
        || !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
        goto fail;
    }
    return dp;
fail:
    GENERAL_NAME_free(gn);
    DIST_POINT_free(dp);
    return NULL;
}

/* One DistributionPoint with one URI, non-critical (PCA-API.md §7.2). */
static apr_status_t add_cdp(builder_t *b)
{
    CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
    DIST_POINT *dp = uri_dist_point(b->in->crl_url);
    apr_status_t rv;

    if (cdp && dp && sk_DIST_POINT_push(cdp, dp)) {
        dp = NULL;
        rv = add_i2d(b, NID_crl_distribution_points, cdp, 0);
    }
    else {
        rv = internal(b, "CRL distribution points");
    }
    DIST_POINT_free(dp);
    CRL_DIST_POINTS_free(cdp);
    return rv;
}

/* AIA with one id-ad-ocsp URI, non-critical (PCA-API.md §7.2). */
static apr_status_t add_aia(builder_t *b)
{
    AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
    ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
    GENERAL_NAME *gn = uri_name(b->in->ocsp_url);
    apr_status_t rv;

    if (aia && ad && gn && sk_ACCESS_DESCRIPTION_push(aia, ad)) {
        ASN1_OBJECT_free(ad->method);
        ad->method = OBJ_nid2obj(NID_ad_OCSP);
        GENERAL_NAME_free(ad->location);
        ad->location = gn;
        ad = NULL;
        gn = NULL;
        rv = add_i2d(b, NID_info_access, aia, 0);
    }
    else {
        rv = internal(b, "authority information access");
    }
    GENERAL_NAME_free(gn);
    ACCESS_DESCRIPTION_free(ad);
    AUTHORITY_INFO_ACCESS_free(aia);
    return rv;
}

static apr_status_t add_template_exts(builder_t *b)
{
    const acmpca_template_t *t = b->in->tmpl;
    apr_status_t rv;

    if ((rv = add_bc(b)) != APR_SUCCESS || (rv = add_aki(b)) != APR_SUCCESS
        || (rv = add_ski(b)) != APR_SUCCESS
        || (t->key_usage && (rv = add_ku(b, t->key_usage)) != APR_SUCCESS)
        || (t->eku && (rv = add_template_eku(b)) != APR_SUCCESS)) {
        return rv;
    }
    /* A self-signed root never carries a CDP [AWS crl-planning]; nor an OCSP pointer,
     * which nothing could check it against. */
    if (!b->self_signed && b->in->crl_url && (rv = add_cdp(b)) != APR_SUCCESS) {
        return rv;
    }
    if (!b->self_signed && b->in->ocsp_url && (rv = add_aia(b)) != APR_SUCCESS) {
        return rv;
    }
    b->n_template = X509_get_ext_count(b->x);
    return APR_SUCCESS;
}

/* ---- ApiPassthrough (botocore shape "Extensions") ---- */

/* ExtendedKeyUsageType values of the service model. */
static const struct {
    const char *type;
    const char *oid;
} eku_types[] = {
    {"SERVER_AUTH", "1.3.6.1.5.5.7.3.1"},
    {"CLIENT_AUTH", "1.3.6.1.5.5.7.3.2"},
    {"CODE_SIGNING", "1.3.6.1.5.5.7.3.3"},
    {"EMAIL_PROTECTION", "1.3.6.1.5.5.7.3.4"},
    {"TIME_STAMPING", "1.3.6.1.5.5.7.3.8"},
    {"OCSP_SIGNING", "1.3.6.1.5.5.7.3.9"},
    {"SMART_CARD_LOGIN", "1.3.6.1.4.1.311.20.2.2"},
    /* AWS does not document these two OIDs. The enum predates RFC 9336's
     * id-kp-documentSigning (1.3.6.1.5.5.7.3.36), so Microsoft's document signing and
     * RFC 6962's precertificate signing are taken; a caller who wants RFC 9336 passes
     * its OID as ExtendedKeyUsageObjectIdentifier. */
    {"DOCUMENT_SIGNING", "1.3.6.1.4.1.311.10.3.12"},
    {"CERTIFICATE_TRANSPARENCY", "1.3.6.1.4.1.11129.2.4.4"},
};

static ASN1_OBJECT *api_eku_obj(const cJSON *item)
{
    const char *type = acmpca_json_str(item, "ExtendedKeyUsageType");
    const char *oid = acmpca_json_str(item, "ExtendedKeyUsageObjectIdentifier");
    size_t i;

    if (!type == !oid) {
        return NULL;
    }
    for (i = 0; type && i < COUNT(eku_types); i++) {
        if (!strcmp(type, eku_types[i].type)) {
            oid = eku_types[i].oid;
        }
    }
    return oid ? OBJ_txt2obj(oid, 1) : NULL;
}

static apr_status_t api_eku(builder_t *b, const cJSON *list)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    const cJSON *item;
    apr_status_t rv = APR_SUCCESS;

    if (!eku) {
        return internal(b, "sk_ASN1_OBJECT_new_null");
    }
    cJSON_ArrayForEach(item, list)
    {
        if (!eku_push(eku, api_eku_obj(item))) {
            rv = acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                                "Each ExtendedKeyUsage must specify either a known "
                                "ExtendedKeyUsageType or an ExtendedKeyUsageObjectIdentifier.");
            break;
        }
    }
    if (rv == APR_SUCCESS && sk_ASN1_OBJECT_num(eku) > 0) {
        rv = add_i2d(b, NID_ext_key_usage, eku, 0);
    }
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return rv;
}

static apr_status_t policy_qualifier(builder_t *b, POLICYINFO *pi, const cJSON *q)
{
    const char *id = acmpca_json_str(q, "PolicyQualifierId");
    const char *uri = acmpca_json_str(acmpca_json_obj(q, "Qualifier"), "CpsUri");
    POLICYQUALINFO *pq;

    if (!id || strcmp(id, "CPS") || !uri || !is_ascii(uri)) {
        return acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                              "A policy qualifier must be a CPS with an ASCII CpsUri.");
    }
    if ((!pi->qualifiers && !(pi->qualifiers = sk_POLICYQUALINFO_new_null()))
        || !(pq = POLICYQUALINFO_new())) {
        return internal(b, "POLICYQUALINFO_new");
    }
    if (!sk_POLICYQUALINFO_push(pi->qualifiers, pq)) {
        POLICYQUALINFO_free(pq);
        return internal(b, "sk_POLICYQUALINFO_push");
    }
    ASN1_OBJECT_free(pq->pqualid);
    pq->pqualid = OBJ_nid2obj(NID_id_qt_cps);
    if (!(pq->d.cpsuri = ASN1_IA5STRING_new()) || !ASN1_STRING_set(pq->d.cpsuri, uri, -1)) {
        return internal(b, "ASN1_IA5STRING_new");
    }
    return APR_SUCCESS;
}

static apr_status_t policy_add(builder_t *b, CERTIFICATEPOLICIES *pols, const cJSON *item)
{
    const char *oid = acmpca_json_str(item, "CertPolicyId");
    ASN1_OBJECT *obj = oid ? OBJ_txt2obj(oid, 1) : NULL;
    const cJSON *q;
    POLICYINFO *pi;
    apr_status_t rv;

    if (!obj) {
        return acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                              "CertPolicyId must be an object identifier.");
    }
    if (!(pi = POLICYINFO_new()) || !sk_POLICYINFO_push(pols, pi)) {
        POLICYINFO_free(pi);
        ASN1_OBJECT_free(obj);
        return internal(b, "POLICYINFO_new");
    }
    ASN1_OBJECT_free(pi->policyid);
    pi->policyid = obj;
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(item, "PolicyQualifiers"))
    {
        if ((rv = policy_qualifier(b, pi, q)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t api_policies(builder_t *b, const cJSON *list)
{
    CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
    const cJSON *item;
    apr_status_t rv = pols ? APR_SUCCESS : internal(b, "sk_POLICYINFO_new_null");

    cJSON_ArrayForEach(item, list)
    {
        if (rv != APR_SUCCESS || (rv = policy_add(b, pols, item)) != APR_SUCCESS) {
            break;
        }
    }
    if (rv == APR_SUCCESS && sk_POLICYINFO_num(pols) > 0) {
        rv = add_i2d(b, NID_certificate_policies, pols, 0);
    }
    CERTIFICATEPOLICIES_free(pols);
    return rv;
}

/* SAN from the API; critical when the subject is empty (RFC 5280 §4.2.1.6). */
static apr_status_t api_san(builder_t *b, const cJSON *list)
{
    GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
    const cJSON *item;
    GENERAL_NAME *gn, *dup;
    apr_status_t rv = gns ? APR_SUCCESS : internal(b, "sk_GENERAL_NAME_new_null");
    int critical = X509_NAME_entry_count(X509_get_subject_name(b->x)) == 0;

    cJSON_ArrayForEach(item, list)
    {
        if (rv != APR_SUCCESS
            || (rv = acmpca_general_name_from_json(&gn, item, b->err, b->p)) != APR_SUCCESS) {
            break;
        }
        if (!(dup = GENERAL_NAME_dup(gn)) || !sk_GENERAL_NAME_push(gns, dup)) {
            GENERAL_NAME_free(dup);
            rv = internal(b, "GENERAL_NAME_dup");
        }
    }
    if (rv == APR_SUCCESS && sk_GENERAL_NAME_num(gns) > 0) {
        rv = add_i2d(b, NID_subject_alt_name, gns, critical);
    }
    GENERAL_NAMES_free(gns);
    return rv;
}

/* The extnValue holds exactly one DER element and, for an extension OpenSSL knows, one
 * that decodes as that extension: the CA signs nothing a verifier could read two ways.
 * Shared with the CSR intake (x509.h). */
int acmpca_ext_well_formed(X509_EXTENSION *ext)
{
    const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
    const unsigned char *d = ASN1_STRING_get0_data(os), *end = d + ASN1_STRING_length(os);
    const X509V3_EXT_METHOD *m = X509V3_EXT_get(ext);
    long len = 0;
    int tag, cls, rc = ASN1_get_object(&d, &len, &tag, &cls, ASN1_STRING_length(os));
    void *v;

    /* 0x80: a broken header; 0x21: constructed with an indefinite length (BER). */
    if ((rc & 0x80) || rc == 0x21 || d + len != end) {
        return 0;
    }
    if (!m) {
        return 1;
    }
    ERR_set_mark();
    v = X509V3_EXT_d2i(ext);
    ERR_pop_to_mark();
    if (!v) {
        return 0;
    }
    if (m->it) {
        ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
    }
    else {
        m->ext_free(v);
    }
    return 1;
}

/* A CustomExtension: Value is the base64 of the DER extnValue contents. An extension the
 * template defines wins silently [AWS template-order-of-operations]; one the API already
 * gave (standard or custom) is a contradiction in the request. */
static apr_status_t api_custom(builder_t *b, const cJSON *item)
{
    const char *oid = acmpca_json_str(item, "ObjectIdentifier");
    const char *value = acmpca_json_str(item, ACMPCA_K_VALUE);
    ASN1_OBJECT *obj = oid ? OBJ_txt2obj(oid, 1) : NULL;
    ASN1_OCTET_STRING *os = NULL;
    X509_EXTENSION *ext = NULL;
    unsigned char *der;
    apr_size_t len;
    apr_status_t rv = APR_SUCCESS;
    int idx;

    if (!obj) {
        return acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                              "A custom extension needs a valid ObjectIdentifier.");
    }
    idx = X509_get_ext_by_OBJ(b->x, obj, -1);
    if (!value || acmpca_b64_decode(&der, &len, value, strlen(value), b->p) != APR_SUCCESS
        || len == 0 || len > INT_MAX) {
        rv = acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                            "The value of custom extension %s is not valid base64.", oid);
    }
    else if (idx >= b->n_template) {
        rv = acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                            "Extension %s is specified more than once.", oid);
    }
    else if (idx >= 0 || nid_in(OBJ_obj2nid(obj), ca_managed, COUNT(ca_managed))) {
        /* the template's (or the CA's) own value stands */
    }
    else if (!(os = ASN1_OCTET_STRING_new()) || !ASN1_OCTET_STRING_set(os, der, (int)len)
             || !(ext = X509_EXTENSION_create_by_OBJ(NULL, obj,
                                                     acmpca_json_bool(item, "Critical", 0), os))) {
        rv = internal(b, "custom extension");
    }
    else if (!acmpca_ext_well_formed(ext)) {
        rv = acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                            "The value of custom extension %s is not one DER-encoded value%s.", oid,
                            X509V3_EXT_get(ext) ? " of that extension" : "");
    }
    else if (!X509_add_ext(b->x, ext, -1)) {
        rv = internal(b, "custom extension");
    }
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return rv;
}

/* Template > API: what the template set is kept, the API fills what it left open. */
static apr_status_t add_api_exts(builder_t *b)
{
    const cJSON *ext = acmpca_json_obj(b->api, "Extensions");
    const cJSON *v, *item;
    unsigned int ku = acmpca_key_usage_bits(acmpca_json_obj(ext, ACMPCA_K_KEY_USAGE));
    apr_status_t rv = APR_SUCCESS;

    if (!ext) {
        return APR_SUCCESS;
    }
    if (ku && !has_nid(b, NID_key_usage) && (rv = add_ku(b, ku)) != APR_SUCCESS) {
        return rv;
    }
    v = cJSON_GetObjectItemCaseSensitive(ext, "ExtendedKeyUsage");
    if (cJSON_IsArray(v) && !has_nid(b, NID_ext_key_usage) && (rv = api_eku(b, v)) != APR_SUCCESS) {
        return rv;
    }
    v = cJSON_GetObjectItemCaseSensitive(ext, "CertificatePolicies");
    if (cJSON_IsArray(v) && !has_nid(b, NID_certificate_policies)
        && (rv = api_policies(b, v)) != APR_SUCCESS) {
        return rv;
    }
    v = cJSON_GetObjectItemCaseSensitive(ext, "SubjectAlternativeNames");
    if (cJSON_IsArray(v) && !has_nid(b, NID_subject_alt_name)
        && (rv = api_san(b, v)) != APR_SUCCESS) {
        return rv;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(ext, "CustomExtensions"))
    {
        if ((rv = api_custom(b, item)) != APR_SUCCESS) {
            break;
        }
    }
    return rv;
}

/* ---- what comes from the CSR ---- */

/* The CSR's SAN, critical exactly when the subject is empty: the CA, not the requester,
 * applies RFC 5280 §4.2.1.6 to the certificate it signs. */
static apr_status_t add_csr_san(builder_t *b, X509_EXTENSION *ext)
{
    int critical = X509_NAME_entry_count(X509_get_subject_name(b->x)) == 0;
    X509_EXTENSION *copy = X509_EXTENSION_dup(ext);
    int ok = copy && X509_EXTENSION_set_critical(copy, critical) && X509_add_ext(b->x, copy, -1);

    X509_EXTENSION_free(copy);
    return ok ? APR_SUCCESS : internal(b, "X509_add_ext");
}

/* SAN is copied from the CSR by every template unless the API gave one [AWS
 * template-definitions]; the passthrough varieties copy every other extension that is
 * not yet there (template > API > CSR), except those the CA manages. A critical
 * extension OpenSSL does not know is refused rather than signed blind: the CSR is the
 * requester's word alone, while CustomExtensions stay open to the API caller. */
static apr_status_t add_csr_exts(builder_t *b)
{
    int i;

    for (i = 0; i < sk_X509_EXTENSION_num(b->csr_exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(b->csr_exts, i);
        const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
        int nid = OBJ_obj2nid(obj);

        if ((!b->in->tmpl->csr_passthrough && nid != NID_subject_alt_name)
            || nid_in(nid, ca_managed, COUNT(ca_managed))
            || X509_get_ext_by_OBJ(b->x, obj, -1) >= 0) {
            continue;
        }
        if (nid == NID_subject_alt_name) {
            apr_status_t rv = add_csr_san(b, ext);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            continue;
        }
        if (X509_EXTENSION_get_critical(ext) && !X509V3_EXT_get(ext)) {
            char oid[128];

            OBJ_obj2txt(oid, sizeof(oid), obj, 1);
            return acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                                  "The CSR asks for critical extension %s, which cannot be "
                                  "passed through from a CSR.",
                                  oid);
        }
        if (!X509_add_ext(b->x, ext, -1)) {
            return internal(b, "X509_add_ext");
        }
    }
    return APR_SUCCESS;
}

/* ---- the profile every certificate must fit, whatever its sources ---- */

/* An end-entity certificate never asserts keyCertSign (RFC 5280 §4.2.1.3: only with
 * cA TRUE) nor carries a CA-only extension, and a CA certificate always asserts it:
 * whether the template, the API or the CSR decided, a request that would break this is
 * refused rather than signed. */
static apr_status_t profile_check(builder_t *b)
{
    ASN1_BIT_STRING *ku;
    size_t i;
    int cert_sign;

    ku = X509_get_ext_d2i(b->x, NID_key_usage, NULL, NULL);
    cert_sign = ku && ASN1_BIT_STRING_get_bit(ku, 5);
    ASN1_BIT_STRING_free(ku);
    if (b->in->tmpl->is_ca) {
        /* RFC 5280 §4.2.1.3 and §4.2.1.9: a CA certificate carries a key usage with
         * keyCertSign (a blank CA template takes it from ApiPassthrough or the CSR). */
        return cert_sign ? APR_SUCCESS
                         : acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                                          "A certificate authority certificate needs a key usage "
                                          "with KeyCertSign; template %s leaves it to the request.",
                                          b->in->tmpl->name);
    }
    if (cert_sign) {
        return acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                              "The key usage keyCertSign is only allowed in certificate "
                              "authority certificates; template %s issues end-entity "
                              "certificates.",
                              b->in->tmpl->name);
    }
    for (i = 0; i < COUNT(ca_only); i++) {
        if (has_nid(b, ca_only[i])) {
            return acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                                  "The %s extension is only allowed in certificate authority "
                                  "certificates; template %s issues end-entity certificates.",
                                  OBJ_nid2sn(ca_only[i]), b->in->tmpl->name);
        }
    }
    return APR_SUCCESS;
}

/* ---- assembling ---- */

/* The subject's key as the CSR states it, without decoding it. X509_set_pubkey re-encodes
 * the key through OpenSSL 3's encoders and decodes the result again: a third of the
 * CPU of an issuance once the CA key is cached. For an EC key on a named curve
 * (intake.c checked it) the CSR's bytes are exactly what that yields: the algorithm is
 * the OID pair, the point keeps the form it came in (EC_KEY_oct2key records it) and
 * oct2point refuses any other length. Other keys take the long way, which normalises
 * what an RSA key may carry (absent parameters, BER inside the BIT STRING). 0: failed,
 * 1: copied, -1: not an EC key on a named curve. */
static int copy_ec_spki(X509 *x, X509_REQ *csr)
{
    X509_PUBKEY *from = X509_REQ_get_X509_PUBKEY(csr);
    ASN1_OBJECT *alg = NULL, *aobj = NULL, *curve = NULL;
    const unsigned char *bits = NULL;
    unsigned char *penc = NULL;
    X509_ALGOR *pa = NULL;
    const void *pval = NULL;
    int len = 0, ptype = V_ASN1_UNDEF;

    if (!from || !X509_PUBKEY_get0_param(&alg, &bits, &len, &pa, from)) {
        return 0;
    }
    X509_ALGOR_get0(NULL, &ptype, &pval, pa);
    if (OBJ_obj2nid(alg) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT || !bits
        || len <= 0) {
        return -1;
    }
    if (!(aobj = OBJ_dup(alg)) || !(curve = OBJ_dup(pval))
        || !(penc = OPENSSL_memdup(bits, (size_t)len))
        || !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), aobj, V_ASN1_OBJECT, curve, penc,
                                   len)) {
        ASN1_OBJECT_free(aobj);
        ASN1_OBJECT_free(curve);
        OPENSSL_free(penc);
        return 0;
    }
    return 1;
}

static int set_pubkey(builder_t *b)
{
    int rc;

    /* A self-signed certificate is checked with its own key: it keeps it decoded. */
    if (b->raw_spki && !b->self_signed && (rc = copy_ec_spki(b->x, b->in->csr)) >= 0) {
        return rc;
    }
    return X509_set_pubkey(b->x, X509_REQ_get0_pubkey(b->in->csr));
}

static apr_status_t set_basics(builder_t *b)
{
    const acmpca_issue_t *in = b->in;
    BIGNUM *bn = BN_bin2bn(in->serial, (int)in->serial_len, NULL);
    int ok;

    /* ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime from then on, as
     * RFC 5280 §4.1.2.5 requires. */
    ok = bn && !BN_is_zero(bn) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(b->x))
         && X509_set_version(b->x, X509_VERSION_3)
         && ASN1_TIME_set(X509_getm_notBefore(b->x), (time_t)apr_time_sec(in->not_before))
         && ASN1_TIME_set(X509_getm_notAfter(b->x), (time_t)apr_time_sec(in->not_after))
         && set_pubkey(b);
    BN_free(bn);
    return ok ? APR_SUCCESS : internal(b, "certificate fields");
}

/* Subject from the API when passed through, else from the CSR; the issuer is the issuing
 * certificate's subject, copied as encoded, or the subject itself when self-signing. */
static apr_status_t set_names(builder_t *b)
{
    const cJSON *subject = acmpca_json_obj(b->api, ACMPCA_K_SUBJECT);
    X509_NAME *name = X509_REQ_get_subject_name(b->in->csr);
    apr_status_t rv;

    if (subject && (rv = acmpca_name_from_json(&name, subject, b->err, b->p)) != APR_SUCCESS) {
        return rv;
    }
    if (!X509_set_subject_name(b->x, name)
        || !X509_set_issuer_name(b->x, b->self_signed
                                           ? X509_get_subject_name(b->x)
                                           : X509_get_subject_name(b->in->issuer_cert))) {
        return internal(b, "certificate names");
    }
    return APR_SUCCESS;
}

static apr_status_t issue_check(builder_t *b)
{
    const acmpca_issue_t *in = b->in;
    const char *key_algorithm = acmpca_key_algorithm_of(in->issuer_key);
    apr_status_t rv;

    if (!in->csr || !in->issuer_key || !in->tmpl || !in->serial || in->serial_len == 0
        || in->serial_len > 20 || !key_algorithm || (!b->self_signed && !in->issuer_cert)) {
        return acmpca_err_internal(b->err, APR_EINVAL, "incomplete issuance request");
    }
    if ((rv = acmpca_sigalg_check(in->signing_algorithm, key_algorithm, b->err, b->p))
        != APR_SUCCESS) {
        return rv;
    }
    /* PCA-API.md §11.4: a root template self-signs, so only the CA's own key fits. */
    if (b->self_signed && !acmpca_key_same_public(in->issuer_key, X509_REQ_get0_pubkey(in->csr))) {
        return acmpca_err_set(b->err, ACMPCA_ERR_INVALID_ARGS, b->p,
                              "The %s template can only be used with the certificate "
                              "authority's own CSR.",
                              in->tmpl->name);
    }
    return APR_SUCCESS;
}

static apr_status_t cert_issue(X509 **pcert, const unsigned char **pder, apr_size_t *pder_len,
                               const acmpca_issue_t *in, int raw_spki, acmpca_err_t *err,
                               apr_pool_t *p)
{
    builder_t b = {0};
    const unsigned char *der;
    apr_size_t der_len;
    apr_status_t rv;

    *pcert = NULL;
    b.raw_spki = raw_spki;
    b.in = in;
    b.err = err;
    b.p = p;
    b.self_signed = in->tmpl && in->tmpl->root;
    /* [AWS] ApiPassthrough is ignored unless the template is an API passthrough one. */
    b.api = (in->tmpl && in->tmpl->api_passthrough) ? in->api_passthrough : NULL;
    if ((rv = issue_check(&b)) != APR_SUCCESS) {
        return rv;
    }
    if (!(b.x = own(p, X509_new(), x509_cleanup))) {
        return internal(&b, "X509_new");
    }
    b.csr_exts = own(p, X509_REQ_get_extensions(in->csr), exts_cleanup);
    if ((rv = set_basics(&b)) != APR_SUCCESS || (rv = set_names(&b)) != APR_SUCCESS
        || (rv = add_template_exts(&b)) != APR_SUCCESS || (rv = add_api_exts(&b)) != APR_SUCCESS
        || (rv = add_csr_exts(&b)) != APR_SUCCESS || (rv = profile_check(&b)) != APR_SUCCESS) {
        return rv;
    }
    if (!acmpca_x509_sign_der(b.x, in->issuer_key, acmpca_sigalg_md(in->signing_algorithm), &der,
                              &der_len, p)) {
        return internal(&b, "signing the certificate");
    }
    *pcert = b.x;
    if (pder) {
        *pder = der;
        *pder_len = der_len;
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_cert_template_exts(apr_array_header_t **pexts, const acmpca_issue_t *in,
                                       apr_pool_t *p)
{
    acmpca_err_t err = {0};
    builder_t b = {0};
    apr_status_t rv;
    int i;

    b.raw_spki = 1;
    b.in = in;
    b.err = &err;
    b.p = p;
    if (!in->tmpl || in->tmpl->root || (rv = issue_check(&b)) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (!(b.x = own(p, X509_new(), x509_cleanup)) || set_pubkey(&b) != 1) {
        return APR_EGENERAL;
    }
    if ((rv = add_template_exts(&b)) != APR_SUCCESS || (rv = profile_check(&b)) != APR_SUCCESS) {
        return rv;
    }
    *pexts = apr_array_make(p, X509_get_ext_count(b.x), sizeof(acmpca_ext_der_t));
    for (i = 0; i < X509_get_ext_count(b.x); i++) {
        X509_EXTENSION *ext = X509_get_ext(b.x, i);
        acmpca_ext_der_t *d = apr_array_push(*pexts);
        unsigned char *der = NULL;
        int len = i2d_X509_EXTENSION(ext, &der);

        if (len <= 0) {
            return APR_EGENERAL;
        }
        d->nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        d->der = apr_pmemdup(p, der, (apr_size_t)len);
        d->len = (apr_size_t)len;
        OPENSSL_free(der);
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_cert_issue(X509 **pcert, const acmpca_issue_t *in, acmpca_err_t *err,
                               apr_pool_t *p)
{
    return cert_issue(pcert, NULL, NULL, in, 0, err, p);
}

apr_status_t acmpca_cert_issue_lean(X509 **pcert, const acmpca_issue_t *in, acmpca_err_t *err,
                                    apr_pool_t *p)
{
    return cert_issue(pcert, NULL, NULL, in, 1, err, p);
}

apr_status_t acmpca_cert_issue_pem(acmpca_cert_info_t *info, const char **ppem,
                                   const acmpca_issue_t *in, acmpca_err_t *err, apr_pool_t *p)
{
    const unsigned char *der;
    apr_size_t len;
    X509 *x;
    apr_status_t rv;
    int rc = acmpca_cert_der_issue(&der, &len, info, in, p);

    if (rc < 0) {
        return acmpca_err_internal(err, APR_EGENERAL, "writing the certificate");
    }
    if (rc == 0) {
        if ((rv = cert_issue(&x, &der, &len, in, 1, err, p)) != APR_SUCCESS) {
            return rv;
        }
        acmpca_cert_info(info, x, p);
    }
    *ppem = acmpca_pem_cert_der(der, len, p);
    return APR_SUCCESS;
}

/* ******************************************************************************** */
/* PEM in and out                                                                    */
/* ******************************************************************************** */

#define PEM_CERT_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define PEM_CERT_END   "-----END CERTIFICATE-----\n"
#define PEM_LINE       64

/* What PEM_write_bio_X509 writes, byte for byte (lines of 64 characters): the BIO and
 * its base64 filter cost more than the encoding. */
const char *acmpca_pem_cert_der(const unsigned char *der, apr_size_t len, apr_pool_t *p)
{
    const char *b64 = acmpca_b64_encode(der, len, p);
    apr_size_t n = strlen(b64), i, line;
    char *pem, *o;

    o = pem = apr_palloc(p, sizeof(PEM_CERT_BEGIN) + n + n / PEM_LINE + 1 + sizeof(PEM_CERT_END));
    memcpy(o, PEM_CERT_BEGIN, sizeof(PEM_CERT_BEGIN) - 1);
    o += sizeof(PEM_CERT_BEGIN) - 1;
    for (i = 0; i < n; i += line) {
        line = n - i < PEM_LINE ? n - i : PEM_LINE;
        memcpy(o, b64 + i, line);
        o += line;
        *o++ = '\n';
    }
    memcpy(o, PEM_CERT_END, sizeof(PEM_CERT_END));
    return pem;
}

const char *acmpca_cert_pem(X509 *cert, apr_pool_t *p)
{
    unsigned char *der = NULL;
    const char *pem;
    int len = i2d_X509(cert, &der);

    if (len <= 0) {
        return NULL;
    }
    pem = acmpca_pem_cert_der(der, (apr_size_t)len, p);
    OPENSSL_free(der);
    return pem;
}

/* One whole DER certificate with nothing after it. */
static X509 *der_cert(const unsigned char *der, long len)
{
    const unsigned char *d = der;
    X509 *x = d2i_X509(NULL, &d, len);

    if (x && d != der + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* The next certificate block of bio, owned by p: 1 found, 0 no more PEM blocks, -1 a
 * block that is broken or not a certificate. Text around blocks is skipped, as
 * OpenSSL's tools do. */
static int pem_cert(X509 **px, BIO *bio, apr_pool_t *p)
{
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long len = 0;
    int rc;

    *px = NULL;
    ERR_set_mark();
    if (PEM_read_bio(bio, &name, &header, &der, &len) == 1) {
        if (!strcmp(name, PEM_STRING_X509) || !strcmp(name, PEM_STRING_X509_OLD)) {
            *px = own(p, der_cert(der, len), x509_cleanup);
        }
        rc = *px ? 1 : -1;
    }
    else {
        rc = ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE ? 0 : -1;
    }
    ERR_pop_to_mark();
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    return rc;
}

static int is_pem(const unsigned char *buf, apr_size_t len)
{
    return memmem(buf, len, "-----BEGIN", 10) != NULL;
}

apr_status_t acmpca_cert_parse(X509 **pcert, const unsigned char *buf, apr_size_t len,
                               acmpca_err_t *err, apr_pool_t *p)
{
    X509 *x = NULL, *extra;
    BIO *bio;

    *pcert = NULL;
    if (buf && len > 0 && len <= INT_MAX && !is_pem(buf, len)) {
        ERR_set_mark();
        x = own(p, der_cert(buf, (long)len), x509_cleanup);
        ERR_pop_to_mark();
    }
    else if (buf && len > 0 && len <= INT_MAX && (bio = BIO_new_mem_buf(buf, (int)len))) {
        /* [DECISION] exactly one certificate: a bundle here is a mistake of the caller. */
        if (pem_cert(&x, bio, p) != 1 || pem_cert(&extra, bio, p) != 0) {
            x = NULL;
        }
        BIO_free(bio);
    }
    if (!x) {
        return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CERTIFICATE, p,
                              "The certificate is not a single PEM-encoded X.509 certificate.");
    }
    *pcert = x;
    return APR_SUCCESS;
}

apr_status_t acmpca_chain_parse(apr_array_header_t **pchain, const unsigned char *buf,
                                apr_size_t len, acmpca_err_t *err, apr_pool_t *p)
{
    apr_array_header_t *chain = apr_array_make(p, 4, sizeof(X509 *));
    BIO *bio = NULL;
    X509 *x;
    int rc = -1;

    *pchain = NULL;
    if (buf && len > 0 && len <= INT_MAX && (bio = BIO_new_mem_buf(buf, (int)len))) {
        while ((rc = pem_cert(&x, bio, p)) == 1) {
            APR_ARRAY_PUSH(chain, X509 *) = x;
        }
    }
    BIO_free(bio);
    if (rc < 0 || chain->nelts == 0) {
        return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CERTIFICATE, p,
                              "The certificate chain is not a list of PEM-encoded X.509 "
                              "certificates.");
    }
    *pchain = chain;
    return APR_SUCCESS;
}

/* ******************************************************************************** */
/* Summaries                                                                         */
/* ******************************************************************************** */

static apr_time_t asn1_time_apr(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    return apr_time_from_sec(timegm(&tm));
}

static int verifies_with(X509 *x, EVP_PKEY *key)
{
    int ok;

    ERR_set_mark();
    ok = key && X509_verify(x, key) == 1;
    ERR_pop_to_mark();
    return ok;
}

static int self_signed(X509 *x)
{
    return !X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x))
           && verifies_with(x, X509_get0_pubkey(x));
}

static void serial_strings(acmpca_cert_info_t *info, const ASN1_INTEGER *serial, apr_pool_t *p)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    int n = bn ? BN_num_bytes(bn) : 0;
    unsigned char *buf = apr_pcalloc(p, n > 0 ? (apr_size_t)n : 1);

    /* BN_bn2bin writes the magnitude without leading zero octets; zero stays "00". */
    if (n > 0) {
        BN_bn2bin(bn, buf);
    }
    info->serial_hex = acmpca_hex(buf, n > 0 ? (apr_size_t)n : 1, 0, p);
    info->serial_colons = acmpca_hex(buf, n > 0 ? (apr_size_t)n : 1, 1, p);
    BN_free(bn);
}

void acmpca_cert_info(acmpca_cert_info_t *info, X509 *cert, apr_pool_t *p)
{
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, NULL, NULL);

    memset(info, 0, sizeof(*info));
    serial_strings(info, X509_get0_serialNumber(cert), p);
    info->not_before = asn1_time_apr(X509_get0_notBefore(cert));
    info->not_after = asn1_time_apr(X509_get0_notAfter(cert));
    info->subject = acmpca_name_rfc2253(X509_get_subject_name(cert), p);
    info->is_ca = bc && bc->ca;
    info->path_len = (info->is_ca && bc->pathlen) ? (int)ASN1_INTEGER_get(bc->pathlen) : -1;
    info->self_signed = self_signed(cert);
    BASIC_CONSTRAINTS_free(bc);
}

/* ******************************************************************************** */
/* ImportCertificateAuthorityCertificate checks (PCA-API.md §5.7, §11.7)             */
/* ******************************************************************************** */

/* Extensions that may be critical in an imported CA certificate [AWS
 * API_ImportCertificateAuthorityCertificate]; anything else critical is refused. */
static const int critical_allowed[] = {
    NID_authority_key_identifier,
    NID_basic_constraints,
    NID_certificate_policies,
    NID_ext_key_usage,
    NID_inhibit_any_policy,
    NID_issuer_alt_name,
    NID_key_usage,
    NID_name_constraints,
    NID_policy_mappings,
    NID_subject_alt_name,
    NID_subject_directory_attributes,
    NID_subject_key_identifier,
    NID_sinfo_access,
};

static int valid_at(const X509 *x, apr_time_t now)
{
    time_t t = (time_t)apr_time_sec(now);

    return X509_cmp_time(X509_get0_notBefore(x), &t) < 0
           && X509_cmp_time(X509_get0_notAfter(x), &t) > 0;
}

static int is_ca(X509 *x, int *pcritical)
{
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, pcritical, NULL);
    int ca = bc && bc->ca;

    BASIC_CONSTRAINTS_free(bc);
    return ca;
}

static apr_status_t check_critical(X509 *cert, acmpca_err_t *err, apr_pool_t *p)
{
    char oid[128];
    size_t k;
    int i;

    for (i = 0; i < X509_get_ext_count(cert); i++) {
        X509_EXTENSION *ext = X509_get_ext(cert, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

        for (k = 0; k < COUNT(critical_allowed) && critical_allowed[k] != nid; k++) {
        }
        if (X509_EXTENSION_get_critical(ext) && k == COUNT(critical_allowed)) {
            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 0);
            return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CERTIFICATE, p,
                                  "The certificate has a critical %s extension, which is not "
                                  "allowed.",
                                  oid);
        }
    }
    return APR_SUCCESS;
}

static apr_status_t check_root(X509 *cert, const apr_array_header_t *chain, acmpca_err_t *err,
                               apr_pool_t *p)
{
    if (chain && chain->nelts > 0) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "A certificate chain cannot be imported for a root certificate "
                              "authority.");
    }
    if (!self_signed(cert)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "The certificate of a root certificate authority must be "
                              "self-signed.");
    }
    return APR_SUCCESS;
}

static int chain_has_subject(const apr_array_header_t *chain, const X509_NAME *name)
{
    int i;

    for (i = 0; i < chain->nelts; i++) {
        if (!X509_NAME_cmp(X509_get_subject_name(APR_ARRAY_IDX(chain, i, X509 *)), name)) {
            return 1;
        }
    }
    return 0;
}

/* chain[i] as the issuer of prev. Ordering faults are InvalidRequest; a signer that does
 * not fit (name, signature, CA-ness, path length, validity) is CertificateMismatch. */
static apr_status_t check_link(X509 *prev, const apr_array_header_t *chain, int i, apr_time_t now,
                               acmpca_err_t *err, apr_pool_t *p)
{
    X509 *signer = APR_ARRAY_IDX(chain, i, X509 *);
    int pathlen = (int)X509_get_pathlen(signer);

    if (X509_NAME_cmp(X509_get_issuer_name(prev), X509_get_subject_name(signer))) {
        if (chain_has_subject(chain, X509_get_issuer_name(prev))) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                                  "The certificate chain is out of order: each certificate must "
                                  "be followed by its issuer, ending with the root.");
        }
        return acmpca_err_set(err, ACMPCA_ERR_CERTIFICATE_MISMATCH, p,
                              "The certificate chain does not contain the issuer of %s.",
                              i == 0 ? "the certificate" : "a chain certificate");
    }
    if (!verifies_with(prev, X509_get0_pubkey(signer))) {
        return acmpca_err_set(err, ACMPCA_ERR_CERTIFICATE_MISMATCH, p,
                              "The signature of %s does not verify with its issuer's key.",
                              i == 0 ? "the certificate" : "a chain certificate");
    }
    if (!is_ca(signer, NULL)
        || ((X509_get_extension_flags(signer) & EXFLAG_KUSAGE)
            && !(X509_get_key_usage(signer) & KU_KEY_CERT_SIGN))) {
        return acmpca_err_set(err, ACMPCA_ERR_CERTIFICATE_MISMATCH, p,
                              "A certificate of the chain is not allowed to sign certificates.");
    }
    /* RFC 5280 §4.2.1.9: chain[i] is followed by i + 1 CA certificates (chain[i-1] .. 0
     * and the imported one). */
    if (pathlen >= 0 && i + 1 > pathlen) {
        return acmpca_err_set(err, ACMPCA_ERR_CERTIFICATE_MISMATCH, p,
                              "The path length constraint of a chain certificate does not "
                              "allow this certificate authority.");
    }
    if (!valid_at(signer, now)) {
        return acmpca_err_set(err, ACMPCA_ERR_CERTIFICATE_MISMATCH, p,
                              "A certificate of the chain is expired or not yet valid.");
    }
    return APR_SUCCESS;
}

static apr_status_t check_subordinate(X509 *cert, const apr_array_header_t *chain, apr_time_t now,
                                      acmpca_err_t *err, apr_pool_t *p)
{
    apr_status_t rv;
    X509 *prev = cert;
    int i, n = chain ? chain->nelts : 0;

    if (self_signed(cert)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "A self-signed certificate cannot be imported for a subordinate "
                              "certificate authority.");
    }
    if (n == 0) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "A certificate chain is required for a subordinate certificate "
                              "authority.");
    }
    for (i = 0; i < n; i++) {
        X509 *c = APR_ARRAY_IDX(chain, i, X509 *);

        if (!X509_cmp(c, cert)) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                                  "The certificate chain must not contain the certificate.");
        }
        if ((rv = check_link(prev, chain, i, now, err, p)) != APR_SUCCESS) {
            return rv;
        }
        if (i < n - 1 && self_signed(c)) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                                  "The certificate chain must end with its root certificate.");
        }
        prev = c;
    }
    if (!self_signed(prev)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "The certificate chain must end with a self-signed root "
                              "certificate.");
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_ca_import_check(X509 *cert, const apr_array_header_t *chain, EVP_PKEY *ca_key,
                                    int is_root, apr_time_t now, acmpca_err_t *err, apr_pool_t *p)
{
    apr_status_t rv;
    int critical = -1;

    /* Extensions OpenSSL could not decode, or duplicated ones. */
    if (X509_get_extension_flags(cert) & EXFLAG_INVALID) {
        return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CERTIFICATE, p,
                              "The certificate has malformed or duplicate extensions.");
    }
    if (!acmpca_key_same_public(ca_key, X509_get0_pubkey(cert))) {
        return acmpca_err_set(err, ACMPCA_ERR_CERTIFICATE_MISMATCH, p,
                              "The certificate does not carry the public key of the "
                              "certificate authority.");
    }
    /* RFC 5280 §4.2.1.9 [AWS RFC-compliance]: a CA certificate has critical CA:TRUE. */
    if (!is_ca(cert, &critical) || critical != 1) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "The certificate must have a critical basic constraints extension "
                              "with CA:TRUE.");
    }
    if ((rv = check_critical(cert, err, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = is_root ? check_root(cert, chain, err, p) : check_subordinate(cert, chain, now, err, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!valid_at(cert, now)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_REQUEST, p,
                              "The certificate is expired or not yet valid.");
    }
    return APR_SUCCESS;
}
