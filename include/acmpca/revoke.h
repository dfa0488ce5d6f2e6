/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * What the GET routes and the periodic job of the glue ask of the core: objects of the
 * emulated S3 namespace (CRLs, audit reports), CRL refreshes and OCSP answers
 * (PCA-API.md §7.4, §8, §9; RFC 6960). Implemented in src/ops: objects.c, crl.c, crl_job.c,
 * ocsp.c. */
#ifndef ACMPCA_REVOKE_H
#define ACMPCA_REVOKE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "acmpca/ops.h"
#include "acmpca/store.h"

/** Longest key of the object namespace, as S3 allows. */
#define ACMPCA_OBJECT_KEY_MAX 1024

/** Is bucket/key a name of the object namespace? Buckets follow the S3 naming rules
 *  (3-63 of a-z 0-9 . -, no "..", not an IPv4 address); keys are 1-1024 printable ASCII
 *  characters without '%', '\\', NUL, controls or spaces, made of non-empty segments
 *  that are neither "." nor "..", without a leading or trailing '/'. Every name is
 *  checked before it reaches the store, whichever way it came in. */
int acmpca_object_name_ok(const char *bucket, const char *key);

/** An object as the routes serve it. */
typedef struct acmpca_served_t {
    const acmpca_object_t *obj;
    int is_public;             /* a CRL: anyone may read it */
    const char *ca_id;         /* the CA the object belongs to; NULL when unknown */
    const char *owner_account; /* that CA's account */
    apr_time_t next_update;    /* a CRL's nextUpdate; 0 otherwise */
} acmpca_served_t;

/** The object <bucket>/<key> (GET /<bucket>/<key>). A CRL that a CA's configuration
 *  names here but that was not built yet is built first; so is the CRL of a CA with a
 *  CustomCname asked for at /<CustomPath>/<ca-id>.crl (bucket is then the first segment
 *  of that path). APR_NOTFOUND when there is no such object; other statuses are store
 *  or build failures (logged). Results live in p. */
apr_status_t acmpca_object_serve(acmpca_served_t *out, const acmpca_env_t *env, const char *bucket,
                                 const char *key, apr_time_t now, apr_pool_t *p);

/** The current CRL of CA ca_id (GET /crl/<ca-id>.crl, any Host), built first when it
 *  does not exist yet. APR_NOTFOUND when the CA is unknown or has its CRL disabled. */
apr_status_t acmpca_crl_serve(acmpca_served_t *out, const acmpca_env_t *env, const char *ca_id,
                              apr_time_t now, apr_pool_t *p);

/** May caller read a served object? Public objects: anyone. Audit reports: a principal
 *  of the CA's own account, unless the CA's resource policy denies it. */
int acmpca_object_readable(const acmpca_env_t *env, const acmpca_served_t *obj,
                           const acmpca_caller_t *caller, apr_time_t now, apr_pool_t *p);

/** The periodic job: build the CRL of every CA that has CRLs enabled and either has none
 *  yet, has revocations its CRL lacks (a failed rebuild), changed where its CRL goes,
 *  or is past the middle of its CRL's validity, so that a fresh CRL is always out well
 *  before nextUpdate. Safe to run on several hosts at once; meant to run once per host
 *  (mod_watchdog singleton), not once per worker. */
apr_status_t acmpca_crl_refresh_all(const acmpca_env_t *env, apr_time_t now, apr_pool_t *p);

/** Stop this process's CRL builder thread (src/ops/crl_builder.c), after the pass under
 *  way: before the stores close, when the process exits. Nothing when none runs. */
void acmpca_crl_builder_stop(void);

/** An OCSP answer: always a DER OCSPResponse to send with 200 (RFC 6960 §2.3 errors are
 *  responses too). */
typedef struct acmpca_ocsp_reply_t {
    const unsigned char *der;
    apr_size_t len;
    apr_time_t next_update; /* 0 for error responses (not cacheable) */
    int status;             /* 0 successful, else the ACMPCA_OCSP_* response status */
} acmpca_ocsp_reply_t;

/** Answer a DER OCSPRequest for the CAs of env's store whose OcspConfiguration is
 *  enabled: good, revoked (time and reason) or unknown per CertID, signed by the CA,
 *  nonce echoed. Garbage -> malformedRequest; a CA we do not answer for ->
 *  unauthorized; a store failure -> tryLater. Never fails. */
void acmpca_ocsp_answer(acmpca_ocsp_reply_t *reply, const acmpca_env_t *env,
                        const unsigned char *req, apr_size_t len, apr_time_t now, apr_pool_t *p);

#endif
