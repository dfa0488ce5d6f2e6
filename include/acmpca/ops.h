/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The operations of the PCA API: a JSON request in, a JSON reply or an AWS error out.
 * Nothing here knows httpd; the glue fills acmpca_call_t from request_rec. */
#ifndef ACMPCA_OPS_H
#define ACMPCA_OPS_H

#include <apr_pools.h>
#include <apr_time.h>

#include "acmpca/err.h"
#include "acmpca/store.h"
#include "acmpca/x509.h"

/** Server-wide settings the operations need (built at config time, read-only after). */
typedef struct acmpca_env_t {
    acmpca_store_t *store;
    const char *region;       /* "us-east-1" */
    const char *account;      /* account of unsigned callers */
    const unsigned char *kek; /* ACMPCA_KEK_LEN bytes */
    const char *public_url;   /* base of CRL/OCSP URLs, no trailing slash */
    int max_cas;              /* CAs per account (quota) */
    int max_certs_per_ca;     /* certificates a CA may issue (quota; 0: 1,000,000) */
    /* One audit report per CA per this interval (PCA-API.md §11.11): 0 means the AWS
     * default of 30 minutes, a negative value no limit (ACMPCAAuditReportInterval). */
    apr_interval_time_t audit_report_interval;
    /* A revocation rebuilds its CA's CRL before it answers while the last CRL covered at
     * most this many revoked certificates; above, the CRL job republishes it
     * (ACMPCACrlSyncEntries): 0 means the default, 100,000; a negative value no limit. */
    apr_int64_t crl_sync_entries;
    /* Below that, a revocation waits for the rebuild while the CA's last CRL took at most
     * this long to build; a slower one is left to the process's CRL builder thread
     * (ACMPCACrlSyncTime): 0 means the default, 20 ms; a negative value never waits. */
    apr_interval_time_t crl_sync_time;
} acmpca_env_t;

/** Who is calling (from SigV4 or httpd's authentication). */
typedef struct acmpca_caller_t {
    const char *access_key; /* NULL when unsigned */
    const char *account;
    const char *principal; /* ARN of the principal, or NULL */
} acmpca_caller_t;

/** One API request as the glue hands it over. */
typedef struct acmpca_call_t {
    const acmpca_env_t *env;
    acmpca_caller_t caller;
    const char *target; /* X-Amz-Target header value, may be NULL */
    const char *body;   /* not NUL-terminated */
    apr_size_t body_len;
    const char *request_id;
    apr_time_t now;
} acmpca_call_t;

/** The answer: status, body (JSON text) and, for errors, the __type. */
typedef struct acmpca_reply_t {
    int status;
    const char *body;
    apr_size_t body_len;
    const char *error_type; /* NULL on success */
    const char *operation;  /* the operation name when the target was known */
} acmpca_reply_t;

/** Run one request end to end: dispatch on the target, validate the input against the
 *  service model, run the operation, render the reply. Never fails: every error becomes
 *  an AWS error reply (internal ones are logged with their cause). */
void acmpca_ops_call(acmpca_reply_t *reply, const acmpca_call_t *call, apr_pool_t *p);

/** Empty this process's cache of unwrapped CA keys (keys freed and cleansed) and zero
 *  its counters; safe while requests run (they unwrap again). The glue calls it when a
 *  child exits. */
void acmpca_ca_cache_clear(void);

/** Free the cache itself too, for leak checkers at the end of a test program: nothing
 *  may be using it. A later use starts a new one. */
void acmpca_ca_cache_destroy(void);

/** Render an error reply (used by the glue for errors found before dispatch). */
void acmpca_ops_error_reply(acmpca_reply_t *reply, const acmpca_err_t *err, apr_pool_t *p);

#endif
