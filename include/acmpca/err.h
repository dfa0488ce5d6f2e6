/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The AWS error a core function hands back to the dispatcher. */
#ifndef ACMPCA_ERR_H
#define ACMPCA_ERR_H

#include <apr_pools.h>
#include <apr_errno.h>

/* Keep in step with the table in src/util/err.c (a unit test checks it against the
 * exception shapes of botocore's acm-pca service model). */
typedef enum {
    ACMPCA_ERR_NONE = 0,
    /* the service model's exceptions */
    ACMPCA_ERR_CERTIFICATE_MISMATCH,
    ACMPCA_ERR_CONCURRENT_MODIFICATION,
    ACMPCA_ERR_INVALID_ARGS,
    ACMPCA_ERR_INVALID_ARN,
    ACMPCA_ERR_INVALID_NEXT_TOKEN,
    ACMPCA_ERR_INVALID_POLICY,
    ACMPCA_ERR_INVALID_REQUEST,
    ACMPCA_ERR_INVALID_STATE,
    ACMPCA_ERR_INVALID_TAG,
    ACMPCA_ERR_LIMIT_EXCEEDED,
    ACMPCA_ERR_LOCKOUT_PREVENTED,
    ACMPCA_ERR_MALFORMED_CERTIFICATE,
    ACMPCA_ERR_MALFORMED_CSR,
    ACMPCA_ERR_PERMISSION_ALREADY_EXISTS,
    ACMPCA_ERR_REQUEST_ALREADY_PROCESSED,
    ACMPCA_ERR_REQUEST_FAILED,
    ACMPCA_ERR_REQUEST_IN_PROGRESS,
    ACMPCA_ERR_NOT_FOUND,
    ACMPCA_ERR_TOO_MANY_TAGS,
    /* protocol errors every AWS JSON service sends */
    ACMPCA_ERR_VALIDATION,
    ACMPCA_ERR_SERIALIZATION,
    ACMPCA_ERR_UNKNOWN_OPERATION,
    ACMPCA_ERR_ACCESS_DENIED,
    ACMPCA_ERR_THROTTLING,
    ACMPCA_ERR_MISSING_AUTH_TOKEN,
    ACMPCA_ERR_INCOMPLETE_SIGNATURE,
    ACMPCA_ERR_UNRECOGNIZED_CLIENT,
    ACMPCA_ERR_INVALID_SIGNATURE,
    ACMPCA_ERR_REQUEST_TOO_LARGE,
    ACMPCA_ERR_STORE_UNAVAILABLE, /* 503: store unreachable */
    ACMPCA_ERR_INTERNAL,          /* 500: our own fault */
    ACMPCA_ERR_COUNT
} acmpca_errtype_t;

typedef struct acmpca_err_t {
    acmpca_errtype_t type; /* -> "__type" in the body */
    const char *message;   /* client-safe text, from the request pool */
    apr_status_t cause;    /* underlying status, logged only */
} acmpca_err_t;

/* Status returned by core functions that filled an acmpca_err_t. */
#define ACMPCA_EAWS (APR_OS_START_USERERR + 1)
/* Optimistic write lost a race: the caller reloads and retries. */
#define ACMPCA_ECONFLICT (APR_OS_START_USERERR + 2)

/** Fill err (message formatted into p) and return ACMPCA_EAWS. */
apr_status_t acmpca_err_set(acmpca_err_t *err, acmpca_errtype_t type, apr_pool_t *p,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Record an internal failure with its cause; the client hears a generic message. */
apr_status_t acmpca_err_internal(acmpca_err_t *err, apr_status_t cause, const char *what);

/** The wire name ("InvalidArgsException") and HTTP status of an error type. */
const char *acmpca_err_name(acmpca_errtype_t type);
int acmpca_err_http_status(acmpca_errtype_t type);

#endif
