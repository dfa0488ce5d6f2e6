/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Identity and access: SigV4 verification (a pure function of the request), IAM policy
 * evaluation (principal x action x resource) and token-bucket throttling over a block of
 * memory the host shares between processes. Nothing here knows httpd. */
#ifndef ACMPCA_AUTH_H
#define ACMPCA_AUTH_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <cjson/cJSON.h>

#include "acmpca/err.h"

/* ************************************************************************************
 * SigV4
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
 */

/** One request as received, in the terms of SigV4. Nothing is decoded by the host. */
typedef struct acmpca_sigv4_req_t {
    const char *method;         /* "POST" */
    const char *path;           /* as on the request line, still percent-encoded */
    const char *query;          /* raw query string without '?'; NULL or "" when none */
    const apr_table_t *headers; /* as received; repeated fields as separate entries */
    const char *body;           /* the body received (not NUL-terminated) */
    apr_size_t body_len;
    apr_time_t now;
} acmpca_sigv4_req_t;

/** What the verifier needs to know about one access key (from the host's lookup). */
typedef struct acmpca_sigv4_key_t {
    const char *secret;        /* the secret access key: never logged */
    const char *session_token; /* NULL: any X-Amz-Security-Token is accepted */
    const void *data;          /* the host's own record, handed back in the result */
} acmpca_sigv4_key_t;

/** Find an access key: APR_SUCCESS and *key filled, or APR_NOTFOUND. */
typedef apr_status_t acmpca_sigv4_lookup_fn(acmpca_sigv4_key_t *key, const char *access_key,
                                            void *baton);

typedef struct acmpca_sigv4_opts_t {
    const char *const *services; /* services a scope may name, NULL-terminated */
    const char *region;          /* the region a scope must name; NULL: any */
    apr_interval_time_t skew;    /* allowed clock difference; 0: 5 minutes (AWS) */
} acmpca_sigv4_opts_t;

/** A verified request. */
typedef struct acmpca_sigv4_result_t {
    const char *access_key;
    const char *region;
    const char *service;
    const char *amz_date; /* the request's ISO 8601 basic date */
    int presigned;        /* authenticated by query parameters (X-Amz-Signature) */
    const void *data;     /* acmpca_sigv4_key_t.data of the key */
} acmpca_sigv4_result_t;

/** Verify a SigV4 request (Authorization header, or presigned query parameters).
 *  APR_SUCCESS fills *res. Otherwise err carries the error AWS sends:
 *  MissingAuthenticationTokenException (no signature at all), IncompleteSignatureException
 *  (unparsable), UnrecognizedClientException (unknown key or security token),
 *  InvalidSignatureException (mismatch, wrong scope, expired). Never logs; the secret and
 *  derived keys are wiped before returning. Thread-safe. */
apr_status_t acmpca_sigv4_verify(acmpca_sigv4_result_t *res, const acmpca_sigv4_req_t *req,
                                 const acmpca_sigv4_opts_t *opts, acmpca_sigv4_lookup_fn *lookup,
                                 void *baton, acmpca_err_t *err, apr_pool_t *p);

/** The canonical request of SigV4 for req, signing signed_headers (";"-separated,
 *  lowercase) with payload_hash. s3 selects S3's path rule (no normalisation, one
 *  encoding); presigned leaves X-Amz-Signature out of the query. For tests and fuzzing. */
const char *acmpca_sigv4_canonical_request(const acmpca_sigv4_req_t *req,
                                           const char *signed_headers, const char *payload_hash,
                                           int s3, int presigned, apr_pool_t *p);

/** Wipe a secret (a secret access key, a session token) so that no copy lingers in
 *  freed memory: OPENSSL_cleanse, which the compiler may not optimise away. */
void acmpca_auth_wipe(void *secret, apr_size_t len);

/** The SigV4 signing key HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 *  "aws4_request"), remembered per process for each (secret, date, region, service) so
 *  that a request costs one HMAC, not five. 1 on success. */
int acmpca_sigv4_signing_key(unsigned char out[32], const char *secret, const char *date,
                             const char *region, const char *service);

/** Wipe the remembered signing keys (the glue calls it when a child exits). */
void acmpca_sigv4_keys_clear(void);

/* ************************************************************************************
 * IAM policies
 */

typedef struct acmpca_policy_t acmpca_policy_t;

typedef enum {
    ACMPCA_POLICY_IDENTITY = 0, /* attached to a principal: no Principal element */
    ACMPCA_POLICY_RESOURCE = 1  /* attached to a CA (PutPolicy): Principal required */
} acmpca_policy_kind_t;

/** Parse an IAM policy document of len bytes: Version, Statement (object or non-empty
 *  list), each with Effect Allow|Deny, Action or NotAction (strings or lists, wildcards
 *  * and ?), Resource (ARN patterns), Principal (resource policies: "*", {"AWS": account
 *  id | ARN | "*" | list}, {"Service": name | list}) and an optional Condition with the
 *  String* and Arn* operators (also ...IfExists). APR_EINVAL with *pwhy (client-safe,
 *  in p) when the document is not such a policy. The result lives in p. */
apr_status_t acmpca_policy_parse(acmpca_policy_t **ppol, const char *text, apr_size_t len,
                                 acmpca_policy_kind_t kind, const char **pwhy, apr_pool_t *p);

/** Every statement of the policy, as parsed, for extra checks (PutPolicy). */
int acmpca_policy_statements(const acmpca_policy_t *pol);
/** The Action (or NotAction, *pnot set) and Resource patterns of statement i. */
const apr_array_header_t *acmpca_policy_actions(const acmpca_policy_t *pol, int i, int *pnot);
const apr_array_header_t *acmpca_policy_resources(const acmpca_policy_t *pol, int i);

/** One question to a policy. */
typedef struct acmpca_authz_req_t {
    const char *action;         /* "acm-pca:IssueCertificate" */
    const char *resource;       /* an ARN, or "*" for actions without a resource */
    const char *account;        /* the caller's account */
    const char *principal;      /* the caller's ARN ("arn:aws:iam::<acct>:user/x"),
                                   or a service name ("acm.amazonaws.com"); may be NULL */
    const apr_table_t *context; /* condition keys ("acm-pca:TemplateArn"); may be NULL */
} acmpca_authz_req_t;

typedef enum {
    ACMPCA_AUTHZ_IMPLICIT_DENY = 0, /* no statement applies */
    ACMPCA_AUTHZ_ALLOW,             /* an Allow applies and no Deny does */
    ACMPCA_AUTHZ_DENY               /* an explicit Deny applies: it always wins */
} acmpca_authz_t;

/** Evaluate pol (NULL: no statement applies) for req. Pure; safe from any thread. */
acmpca_authz_t acmpca_policy_eval(const acmpca_policy_t *pol, const acmpca_authz_req_t *req);

/** Case-insensitive (ci) or exact glob match with '*' and '?', as IAM matches. */
int acmpca_authz_glob(const char *pattern, const char *s, int ci);

/** Fill req for the API operation op ("IssueCertificate") with the JSON input in (may be
 *  NULL): action "acm-pca:<op>"; resource the CertificateAuthorityArn or ResourceArn of
 *  in, else "*" (Create and List act on no CA); and the condition keys: aws:PrincipalAccount,
 *  aws:PrincipalArn and, for IssueCertificate, acm-pca:TemplateArn (EndEntityCertificate/V1
 *  when none is given). Everything is allocated in p. */
void acmpca_authz_request(acmpca_authz_req_t *req, const char *op, const cJSON *in,
                          const char *account, const char *principal, apr_pool_t *p);

/** The same for a request body of len bytes that may not be JSON at all. */
void acmpca_authz_request_body(acmpca_authz_req_t *req, const char *op, const char *body,
                               apr_size_t len, const char *account, const char *principal,
                               apr_pool_t *p);

/** The template a cross-account issuer may use (PCA-API.md §7.3). */
#define ACMPCA_CROSS_ACCOUNT_TEMPLATE "arn:aws:acm-pca:::template/EndEntityCertificate/V1"

/** The AccessDeniedException message AWS sends, e.g. "User: arn:... is not authorized to
 *  perform: acm-pca:IssueCertificate on resource: arn:... with an explicit deny in an
 *  identity-based policy". why names the kind of policy and decision. */
const char *acmpca_authz_denied_message(const acmpca_authz_req_t *req, acmpca_authz_t decision,
                                        const char *policy_kind, apr_pool_t *p);

/* ************************************************************************************
 * Throttling: token buckets in a block of memory shared by every process
 */

/** Bytes a bucket table of n slots needs (header included). */
apr_size_t acmpca_throttle_size(int slots);

/** Format a zeroed block of size bytes as an empty table. */
void acmpca_throttle_init(void *base, apr_size_t size);

/** Take one token from the bucket of key (e.g. "<account>:<operation>"), creating it
 *  full (burst tokens) on first use; rate tokens per second refill it up to burst.
 *  Returns 1 when the request may proceed, 0 when it is throttled. The caller holds the
 *  lock that guards base (a global mutex): this function does not lock. A full table
 *  reuses the least recently used slot. */
int acmpca_throttle_take(void *base, const char *key, double rate, double burst, apr_time_t now);

#endif
