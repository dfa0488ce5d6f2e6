/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The public PKI repository: which CAs are public, the JSON feed the repository page
 * reads (/pki/cas.json), the CA certificate downloads, and the CRL facts the metrics
 * report. Only public facts leave here: never tags, policies, permissions, audit data,
 * account IDs or ARNs. */
#ifndef ACMPCA_PKI_H
#define ACMPCA_PKI_H

#include <apr_pools.h>
#include <apr_time.h>

#include "acmpca/store.h"
#include "acmpca/x509_info.h"

/** Which CAs the repository lists (ACMPCAPublicRepository). Conditions are ANDed. */
typedef struct acmpca_pki_filter_t {
    int enabled;           /* 0: "off", the repository is not served */
    const char *account;   /* "account:<id>": only this tenant's CAs; NULL: every account */
    const char *tag_key;   /* "tag:<key>=<value>": only CAs carrying this tag; NULL: any */
    const char *tag_value; /* may be "" */
} acmpca_pki_filter_t;

/** Parse the arguments of ACMPCAPublicRepository into *f: "off", "all", or one or more
 *  of "account:<12 digits>" and "tag:<key>=<value>". Returns NULL or an error text in p.
 *  Config time. */
const char *acmpca_pki_filter_parse(acmpca_pki_filter_t *f, int argc, char *const argv[],
                                    apr_pool_t *p);

/** What the repository needs from the server. */
typedef struct acmpca_pki_env_t {
    acmpca_store_t *store;
    const acmpca_pki_filter_t *filter;
    const char *public_url; /* base of CRL/OCSP URLs as in certificates, no trailing slash */
    int max_cas;            /* most CAs listed (0: 10000) */
} acmpca_pki_env_t;

/** The feed: {"generatedAt", "certificateAuthorities": [...]} with, for each listed CA
 *  (in creation order), its subject, issuer, type, status, key and signing algorithms,
 *  serial, validity, SHA-256 fingerprint, download links (relative to the repository:
 *  "ca/<id>.pem", ".der", "-chain.pem", "-chain.p7c"), the CRL (its URL, the path it is
 *  downloadable at on this server and, when published, its number, thisUpdate,
 *  nextUpdate and entry count) and the OCSP URL.
 *  A CA is listed when it passes the filter, has a CA certificate and is ACTIVE,
 *  DISABLED or EXPIRED (never PENDING_CERTIFICATE, CREATING, FAILED or DELETED).
 *  Store failures are returned as they are (the caller answers 503); the JSON text
 *  lives in p. Safe to call from any thread or process. */
apr_status_t acmpca_pki_feed(const char **pjson, apr_size_t *plen, const acmpca_pki_env_t *env,
                             apr_time_t now, apr_pool_t *p);

/** One download of the repository, by file name: "<id>.pem" (the CA certificate, PEM),
 *  "<id>.der" (DER), "<id>-chain.pem" (the certificate followed by its chain up to the
 *  root, PEM) or "<id>-chain.p7c" (the same as degenerate PKCS#7, DER).
 *  APR_NOTFOUND when the name is not one of these, or the CA is unknown, not listed or
 *  has no certificate; other statuses are store failures. Bytes and type live in p. */
apr_status_t acmpca_pki_file(const unsigned char **pdata, apr_size_t *plen,
                             const char **pcontent_type, const acmpca_pki_env_t *env,
                             const char *name, apr_time_t now, apr_pool_t *p);

/** Called for each CA with a CRL enabled whose CRL object is in the store; return
 *  non-zero to stop. modified is when the store last wrote the object. */
typedef int acmpca_pki_crl_cb(void *baton, const char *ca_id, const acmpca_crl_info_t *info,
                              apr_time_t modified);

/** Walk every CA of the store (all accounts, no filter: for operators' metrics) that
 *  has a CRL enabled and published, as the feed would show it at now. Store failures
 *  are returned. */
apr_status_t acmpca_pki_crl_each(acmpca_store_t *store, acmpca_pki_crl_cb *cb, void *baton,
                                 apr_time_t now, apr_pool_t *p);

#endif
