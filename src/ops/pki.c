/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The public PKI repository: which CAs are public, the JSON feed of the repository page,
 * the CA certificate downloads, and the CRL facts of the metrics. Reads the store only;
 * shows only what relying parties need (never tags, policies, accounts or ARNs). */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/pki.h"
#include "acmpca/util.h"
#include "acmpca/x509_info.h"
#include "ops_int.h"

#define PAGE_SIZE       100
#define DEFAULT_MAX_CAS 10000
#define PEM_BEGIN_CERT  "-----BEGIN CERTIFICATE-----"

/* ************************************************************************************
 * Which CAs are public
 */

const char *acmpca_pki_filter_parse(acmpca_pki_filter_t *f, int argc, char *const argv[],
                                    apr_pool_t *p)
{
    static const char usage[] = "expected off, all, or one or more of account:<12-digit "
                                "account ID> and tag:<key>=<value>";
    int i;

    memset(f, 0, sizeof(*f));
    if (argc == 1 && !strcasecmp(argv[0], "off")) {
        return NULL;
    }
    f->enabled = 1;
    if (argc == 1 && !strcasecmp(argv[0], "all")) {
        return NULL;
    }
    for (i = 0; i < argc; i++) {
        const char *a = argv[i], *eq;
        if (!strncasecmp(a, "account:", 8)) {
            a += 8;
            if (f->account || strlen(a) != 12 || strspn(a, "0123456789") != 12) {
                return apr_psprintf(p, "'%s': %s", argv[i], usage);
            }
            f->account = apr_pstrdup(p, a);
        }
        else if (!strncasecmp(a, "tag:", 4) && (eq = strchr(a + 4, '=')) != NULL && eq > a + 4
                 && !f->tag_key) {
            f->tag_key = apr_pstrndup(p, a + 4, (apr_size_t)(eq - a - 4));
            f->tag_value = apr_pstrdup(p, eq + 1);
        }
        else {
            return apr_psprintf(p, "'%s': %s", argv[i], usage);
        }
    }
    return NULL;
}

static int has_tag(const cJSON *doc, const char *key, const char *value)
{
    const cJSON *t;

    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, ACMPCA_D_TAGS))
    {
        const char *k = acmpca_json_str(t, ACMPCA_K_KEY);
        const char *v = acmpca_json_str(t, ACMPCA_K_VALUE);
        if (k && !strcmp(k, key) && !strcmp(v ? v : "", value)) {
            return 1;
        }
    }
    return 0;
}

/* Parse a store record into ca; 0 when the document is unreadable (skipped: the
 * repository shows what it can rather than failing for everyone). */
static int ca_from_rec(acmpca_ca_t *ca, acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    memset(ca, 0, sizeof(*ca));
    ca->rec = rec;
    ca->doc = acmpca_json_parse(rec->doc, strlen(rec->doc), p);
    if (!cJSON_IsObject(ca->doc) || !acmpca_json_str(ca->doc, ACMPCA_K_STATUS)) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, APR_EGENERAL, p,
                   "ACMPCA0820: repository: the document of CA %s is unreadable; not listed",
                   rec->id);
        return 0;
    }
    ca->ref.id = rec->id;
    ca->ref.account = rec->account;
    ca->ref.arn = acmpca_json_str(ca->doc, ACMPCA_K_ARN);
    return 1;
}

static int is_listed(const acmpca_ca_t *ca, const acmpca_pki_filter_t *f, apr_time_t now)
{
    const char *status;

    if (!f || !f->enabled || (f->account && strcmp(ca->rec->account, f->account))
        || (f->tag_key && !has_tag(ca->doc, f->tag_key, f->tag_value))
        || !acmpca_json_str(ca->doc, ACMPCA_D_CERT)) {
        return 0;
    }
    status = acmpca_ca_status(ca, now);
    return !strcmp(status, ACMPCA_ST_ACTIVE) || !strcmp(status, ACMPCA_ST_DISABLED)
           || !strcmp(status, ACMPCA_ST_EXPIRED);
}

/* ************************************************************************************
 * Pieces of one CA
 */

static const char *iso_time(apr_time_t t, apr_pool_t *p)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900, x.tm_mon + 1,
                        x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

static const char *common_name(X509 *cert, apr_pool_t *p)
{
    const X509_NAME *name = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    const char *out = NULL;
    int n;

    if (i < 0) {
        return NULL;
    }
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n >= 0) {
        out = apr_pstrndup(p, (const char *)utf8, (apr_size_t)n);
    }
    OPENSSL_free(utf8);
    return out;
}

/* The CRL of a CA: the object it is published as (crl.c decides) and the URL the CDP
 * extension of its certificates carries (cert.c, PCA-API.md §11.15). */
typedef struct crl_loc_t {
    const char *bucket;
    const char *key;
    const char *url;
} crl_loc_t;

static int crl_location(crl_loc_t *loc, const acmpca_ca_t *ca, const char *public_url,
                        apr_time_t now, apr_pool_t *p)
{
    const cJSON *rc = acmpca_json_obj(ca->doc, ACMPCA_K_REVOCATION_CONFIG);
    const cJSON *crl = acmpca_json_obj(rc, ACMPCA_K_CRL_CONFIG);
    const char *path = acmpca_json_str(crl, "CustomPath");
    const char *cname = acmpca_json_str(crl, "CustomCname");
    const char *file;
    int days;

    if (!acmpca_crl_target(ca, now, &loc->bucket, &loc->key, &days, p)) {
        return 0;
    }
    file = apr_pstrcat(p, path ? path : "crl", "/", ca->rec->id, ".crl", NULL);
    loc->url =
        cname ? apr_pstrcat(p, "http://", cname, "/", file, NULL)
              : apr_pstrcat(p, public_url ? public_url : "", "/", loc->bucket, "/", file, NULL);
    return 1;
}

static const char *ocsp_url(const acmpca_ca_t *ca, const char *public_url, apr_pool_t *p)
{
    const cJSON *rc = acmpca_json_obj(ca->doc, ACMPCA_K_REVOCATION_CONFIG);
    const cJSON *ocsp = acmpca_json_obj(rc, ACMPCA_K_OCSP_CONFIG);
    const char *cname;

    if (!acmpca_json_bool(ocsp, ACMPCA_K_ENABLED, 0)) {
        return NULL;
    }
    cname = acmpca_json_str(ocsp, "OcspCustomCname");
    return cname ? apr_pstrcat(p, "http://", cname, NULL)
                 : apr_pstrcat(p, public_url ? public_url : "", "/ocsp", NULL);
}

static void add_str(cJSON *obj, const char *key, const char *value)
{
    cJSON_AddItemToObject(obj, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
}

static int count_certs(const char *pem)
{
    int n = 0;
    while (pem && (pem = strstr(pem, PEM_BEGIN_CERT)) != NULL) {
        n++;
        pem += sizeof(PEM_BEGIN_CERT) - 1;
    }
    return n;
}

static apr_status_t crl_json(cJSON **pout, const acmpca_ca_t *ca, const acmpca_pki_env_t *env,
                             apr_time_t now, apr_pool_t *p)
{
    acmpca_object_t *obj = NULL;
    acmpca_crl_info_t info;
    crl_loc_t loc;
    cJSON *out;
    apr_status_t rv;

    if (!crl_location(&loc, ca, env->public_url, now, p)) {
        *pout = cJSON_CreateNull();
        return APR_SUCCESS;
    }
    out = cJSON_CreateObject();
    add_str(out, "url", loc.url);
    add_str(out, "download", apr_pstrcat(p, "/", loc.bucket, "/", loc.key, NULL));
    rv = env->store->provider->object_get(env->store, loc.bucket, loc.key, &obj, p);
    if (rv == APR_SUCCESS && acmpca_crl_info(&info, obj->data, obj->len, p) == APR_SUCCESS) {
        cJSON_AddBoolToObject(out, "published", 1);
        add_str(out, "number", info.number);
        add_str(out, "thisUpdate", iso_time(info.this_update, p));
        add_str(out, "nextUpdate", info.next_update ? iso_time(info.next_update, p) : NULL);
        cJSON_AddNumberToObject(out, "entries", (double)info.entries);
    }
    else if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        /* Not built yet (or unreadable, which the CRL code logs): the URL still holds. */
        cJSON_AddBoolToObject(out, "published", 0);
    }
    else {
        cJSON_Delete(out);
        return rv;
    }
    *pout = out;
    return APR_SUCCESS;
}

/* The feed entry of a listed CA; NULL (and APR_SUCCESS) when its certificate does not
 * parse, which the import checks make impossible short of a damaged store. */
static apr_status_t ca_json(cJSON **pout, const acmpca_ca_t *ca, const acmpca_pki_env_t *env,
                            apr_time_t now, apr_pool_t *p)
{
    const char *pem = acmpca_json_str(ca->doc, ACMPCA_D_CERT);
    const char *chain = acmpca_json_str(ca->doc, ACMPCA_D_CHAIN);
    const cJSON *config = acmpca_json_obj(ca->doc, ACMPCA_K_CA_CONFIG);
    const char *id = ca->rec->id;
    acmpca_err_t err = {0};
    acmpca_cert_info_t info;
    cJSON *out, *links, *crl = NULL;
    const char *ocsp;
    X509 *cert;
    apr_status_t rv;

    *pout = NULL;
    if (acmpca_cert_parse(&cert, (const unsigned char *)pem, strlen(pem), &err, p) != APR_SUCCESS) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, APR_EGENERAL, p,
                   "ACMPCA0821: repository: the certificate of CA %s does not parse; not listed",
                   id);
        return APR_SUCCESS;
    }
    if ((rv = crl_json(&crl, ca, env, now, p)) != APR_SUCCESS) {
        return rv;
    }
    acmpca_cert_info(&info, cert, p);
    out = cJSON_CreateObject();
    add_str(out, "id", id);
    add_str(out, "commonName", common_name(cert, p));
    add_str(out, "subject", info.subject);
    add_str(out, "issuer", acmpca_name_rfc2253(X509_get_issuer_name(cert), p));
    add_str(out, "type", acmpca_json_str(ca->doc, ACMPCA_K_TYPE));
    add_str(out, "status", acmpca_ca_status(ca, now));
    add_str(out, "usageMode", acmpca_json_str(ca->doc, ACMPCA_K_USAGE_MODE));
    add_str(out, "keyAlgorithm", acmpca_json_str(config, ACMPCA_K_KEY_ALGORITHM));
    add_str(out, "signingAlgorithm", acmpca_json_str(config, ACMPCA_K_SIGNING_ALGORITHM));
    add_str(out, "serial", info.serial_colons);
    add_str(out, "notBefore", iso_time(info.not_before, p));
    add_str(out, "notAfter", iso_time(info.not_after, p));
    add_str(out, "fingerprintSha256", acmpca_x509_fingerprint_sha256(cert, p));
    links = cJSON_AddObjectToObject(out, "certificate");
    add_str(links, "pem", apr_pstrcat(p, "ca/", id, ".pem", NULL));
    add_str(links, "der", apr_pstrcat(p, "ca/", id, ".der", NULL));
    links = cJSON_AddObjectToObject(out, "chain");
    add_str(links, "pem", apr_pstrcat(p, "ca/", id, "-chain.pem", NULL));
    add_str(links, "der", apr_pstrcat(p, "ca/", id, "-chain.p7c", NULL));
    cJSON_AddNumberToObject(links, "length", 1 + count_certs(chain));
    cJSON_AddItemToObject(out, "crl", crl);
    if ((ocsp = ocsp_url(ca, env->public_url, p)) != NULL) {
        add_str(cJSON_AddObjectToObject(out, "ocsp"), "url", ocsp);
    }
    else {
        cJSON_AddNullToObject(out, "ocsp");
    }
    *pout = out;
    return APR_SUCCESS;
}

/* ************************************************************************************
 * Walking the store
 */

typedef apr_status_t each_fn(void *baton, const acmpca_ca_t *ca, apr_pool_t *pca, int *stop);

/* Every CA of account (NULL: all) in creation order, one page at a time; fn gets a
 * pool cleared after each CA, so memory stays flat however many CAs there are. */
static apr_status_t each_ca(acmpca_store_t *store, const char *account, each_fn *fn, void *baton,
                            apr_pool_t *p)
{
    apr_pool_t *ppage, *pca;
    apr_array_header_t *recs;
    apr_int64_t after = 0;
    apr_status_t rv = APR_SUCCESS;
    int i, stop = 0;

    apr_pool_create(&ppage, p);
    do {
        apr_pool_clear(ppage);
        apr_pool_create(&pca, ppage);
        rv = store->provider->ca_list(store, account, after, PAGE_SIZE, &recs, ppage);
        if (rv == APR_NOTFOUND) {
            rv = APR_SUCCESS;
            break;
        }
        for (i = 0; rv == APR_SUCCESS && !stop && i < recs->nelts; i++) {
            acmpca_ca_rec_t *rec = APR_ARRAY_IDX(recs, i, acmpca_ca_rec_t *);
            acmpca_ca_t ca;
            after = rec->seq;
            apr_pool_clear(pca);
            if (ca_from_rec(&ca, rec, pca)) {
                rv = fn(baton, &ca, pca, &stop);
            }
        }
    } while (rv == APR_SUCCESS && !stop && recs->nelts == PAGE_SIZE);
    apr_pool_destroy(ppage);
    return rv;
}

typedef struct feed_ctx {
    const acmpca_pki_env_t *env;
    apr_time_t now;
    cJSON *list;
    int n, max;
    int truncated;
} feed_ctx;

static apr_status_t feed_one(void *baton, const acmpca_ca_t *ca, apr_pool_t *pca, int *stop)
{
    feed_ctx *fc = baton;
    cJSON *item = NULL;
    apr_status_t rv;

    if (!is_listed(ca, fc->env->filter, fc->now)) {
        return APR_SUCCESS;
    }
    if (fc->n >= fc->max) {
        fc->truncated = 1;
        *stop = 1;
        return APR_SUCCESS;
    }
    if ((rv = ca_json(&item, ca, fc->env, fc->now, pca)) == APR_SUCCESS && item) {
        cJSON_AddItemToArray(fc->list, item); /* cJSON memory: not in pca */
        fc->n++;
    }
    return rv;
}

apr_status_t acmpca_pki_feed(const char **pjson, apr_size_t *plen, const acmpca_pki_env_t *env,
                             apr_time_t now, apr_pool_t *p)
{
    cJSON *root = acmpca_json_own(cJSON_CreateObject(), p);
    feed_ctx fc = {env, now, NULL, 0, env->max_cas > 0 ? env->max_cas : DEFAULT_MAX_CAS, 0};
    apr_status_t rv;

    add_str(root, "generatedAt", iso_time(now, p));
    fc.list = cJSON_AddArrayToObject(root, "certificateAuthorities");
    if (env->filter && env->filter->enabled) {
        rv = each_ca(env->store, env->filter->account, feed_one, &fc, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    cJSON_AddBoolToObject(root, "truncated", fc.truncated);
    if (!(*pjson = acmpca_json_print(root, p))) {
        return APR_ENOMEM;
    }
    *plen = strlen(*pjson);
    return APR_SUCCESS;
}

/* ************************************************************************************
 * Downloads
 */

typedef enum { FILE_PEM, FILE_DER, FILE_CHAIN_PEM, FILE_CHAIN_P7 } file_kind_t;

static const struct {
    const char *suffix;
    file_kind_t kind;
    const char *content_type;
} file_kinds[] = {
    {"-chain.pem", FILE_CHAIN_PEM, "application/pem-certificate-chain"},
    {"-chain.p7c", FILE_CHAIN_P7, "application/pkcs7-mime"},
    {".pem", FILE_PEM, "application/x-pem-file"},
    {".der", FILE_DER, "application/pkix-cert"},
};

apr_status_t acmpca_pki_file(const unsigned char **pdata, apr_size_t *plen,
                             const char **pcontent_type, const acmpca_pki_env_t *env,
                             const char *name, apr_time_t now, apr_pool_t *p)
{
    size_t n = strlen(name), i, sl;
    const char *id = NULL, *pem, *chain;
    acmpca_ca_rec_t *rec;
    acmpca_ca_t ca;
    apr_status_t rv;

    for (i = 0; i < sizeof(file_kinds) / sizeof(file_kinds[0]); i++) {
        sl = strlen(file_kinds[i].suffix);
        if (n > sl && !strcmp(name + n - sl, file_kinds[i].suffix)) {
            id = apr_pstrndup(p, name, n - sl);
            break;
        }
    }
    if (!id || !acmpca_is_uuid(id) || !env->filter || !env->filter->enabled) {
        return APR_NOTFOUND;
    }
    if ((rv = env->store->provider->ca_get(env->store, id, &rec, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!ca_from_rec(&ca, rec, p) || !is_listed(&ca, env->filter, now)) {
        return APR_NOTFOUND;
    }
    pem = acmpca_json_str(ca.doc, ACMPCA_D_CERT);
    chain = acmpca_json_str(ca.doc, ACMPCA_D_CHAIN);
    *pcontent_type = file_kinds[i].content_type;
    switch (file_kinds[i].kind) {
    case FILE_PEM:
        *pdata = (const unsigned char *)pem;
        *plen = strlen(pem);
        return APR_SUCCESS;
    case FILE_DER:
        return acmpca_x509_pem_to_der(pdata, plen, pem, p) == APR_SUCCESS ? APR_SUCCESS
                                                                          : APR_NOTFOUND;
    case FILE_CHAIN_PEM:
    case FILE_CHAIN_P7:
        /* The CA certificate first, then its issuers up to the root. */
        n = strlen(pem);
        pem = apr_pstrcat(p, pem, n && pem[n - 1] != '\n' ? "\n" : "", chain ? chain : "", NULL);
        if (file_kinds[i].kind == FILE_CHAIN_PEM) {
            *pdata = (const unsigned char *)pem;
            *plen = strlen(pem);
            return APR_SUCCESS;
        }
        return acmpca_x509_chain_p7(pdata, plen, pem, p) == APR_SUCCESS ? APR_SUCCESS
                                                                        : APR_NOTFOUND;
    }
    return APR_NOTFOUND;
}

/* ************************************************************************************
 * CRL facts for the metrics
 */

typedef struct crl_ctx {
    acmpca_store_t *store;
    acmpca_pki_crl_cb *cb;
    void *baton;
    apr_time_t now;
} crl_ctx;

static apr_status_t crl_one(void *baton, const acmpca_ca_t *ca, apr_pool_t *pca, int *stop)
{
    crl_ctx *cc = baton;
    acmpca_object_t *obj;
    acmpca_crl_info_t info;
    crl_loc_t loc;
    apr_status_t rv;

    if (!crl_location(&loc, ca, NULL, cc->now, pca)) {
        return APR_SUCCESS;
    }
    rv = cc->store->provider->object_get(cc->store, loc.bucket, loc.key, &obj, pca);
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (acmpca_crl_info(&info, obj->data, obj->len, pca) == APR_SUCCESS) {
        *stop = cc->cb(cc->baton, ca->rec->id, &info, obj->modified);
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_pki_crl_each(acmpca_store_t *store, acmpca_pki_crl_cb *cb, void *baton,
                                 apr_time_t now, apr_pool_t *p)
{
    crl_ctx cc = {store, cb, baton, now};
    return each_ca(store, NULL, crl_one, &cc, p);
}
