/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * AWS error types: their wire names and HTTP statuses. */
#include <stdarg.h>

#include <apr_strings.h>

#include "acmpca/err.h"

static const struct {
    const char *name;
    int status;
} err_table[ACMPCA_ERR_COUNT] = {
    [ACMPCA_ERR_NONE] = {"", 200},
    [ACMPCA_ERR_CERTIFICATE_MISMATCH] = {"CertificateMismatchException", 400},
    [ACMPCA_ERR_CONCURRENT_MODIFICATION] = {"ConcurrentModificationException", 400},
    [ACMPCA_ERR_INVALID_ARGS] = {"InvalidArgsException", 400},
    [ACMPCA_ERR_INVALID_ARN] = {"InvalidArnException", 400},
    [ACMPCA_ERR_INVALID_NEXT_TOKEN] = {"InvalidNextTokenException", 400},
    [ACMPCA_ERR_INVALID_POLICY] = {"InvalidPolicyException", 400},
    [ACMPCA_ERR_INVALID_REQUEST] = {"InvalidRequestException", 400},
    [ACMPCA_ERR_INVALID_STATE] = {"InvalidStateException", 400},
    [ACMPCA_ERR_INVALID_TAG] = {"InvalidTagException", 400},
    [ACMPCA_ERR_LIMIT_EXCEEDED] = {"LimitExceededException", 400},
    [ACMPCA_ERR_LOCKOUT_PREVENTED] = {"LockoutPreventedException", 400},
    [ACMPCA_ERR_MALFORMED_CERTIFICATE] = {"MalformedCertificateException", 400},
    [ACMPCA_ERR_MALFORMED_CSR] = {"MalformedCSRException", 400},
    [ACMPCA_ERR_PERMISSION_ALREADY_EXISTS] = {"PermissionAlreadyExistsException", 400},
    [ACMPCA_ERR_REQUEST_ALREADY_PROCESSED] = {"RequestAlreadyProcessedException", 400},
    [ACMPCA_ERR_REQUEST_FAILED] = {"RequestFailedException", 400},
    [ACMPCA_ERR_REQUEST_IN_PROGRESS] = {"RequestInProgressException", 400},
    [ACMPCA_ERR_NOT_FOUND] = {"ResourceNotFoundException", 400},
    [ACMPCA_ERR_TOO_MANY_TAGS] = {"TooManyTagsException", 400},
    [ACMPCA_ERR_VALIDATION] = {"ValidationException", 400},
    [ACMPCA_ERR_SERIALIZATION] = {"SerializationException", 400},
    [ACMPCA_ERR_UNKNOWN_OPERATION] = {"UnknownOperationException", 400},
    [ACMPCA_ERR_ACCESS_DENIED] = {"AccessDeniedException", 400},
    [ACMPCA_ERR_THROTTLING] = {"ThrottlingException", 400},
    [ACMPCA_ERR_MISSING_AUTH_TOKEN] = {"MissingAuthenticationTokenException", 400},
    [ACMPCA_ERR_INCOMPLETE_SIGNATURE] = {"IncompleteSignatureException", 400},
    [ACMPCA_ERR_UNRECOGNIZED_CLIENT] = {"UnrecognizedClientException", 400},
    [ACMPCA_ERR_INVALID_SIGNATURE] = {"InvalidSignatureException", 400},
    [ACMPCA_ERR_REQUEST_TOO_LARGE] = {"RequestEntityTooLargeException", 413},
    [ACMPCA_ERR_STORE_UNAVAILABLE] = {"ServiceUnavailable", 503},
    [ACMPCA_ERR_INTERNAL] = {"InternalFailure", 500},
};

apr_status_t acmpca_err_set(acmpca_err_t *err, acmpca_errtype_t type, apr_pool_t *p,
                            const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err->type = type;
    err->message = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    return ACMPCA_EAWS;
}

apr_status_t acmpca_err_internal(acmpca_err_t *err, apr_status_t cause, const char *what)
{
    err->type = ACMPCA_ERR_INTERNAL;
    err->message = what;
    err->cause = cause;
    return ACMPCA_EAWS;
}

const char *acmpca_err_name(acmpca_errtype_t type)
{
    if (type <= ACMPCA_ERR_NONE || type >= ACMPCA_ERR_COUNT) {
        return err_table[ACMPCA_ERR_INTERNAL].name;
    }
    return err_table[type].name;
}

int acmpca_err_http_status(acmpca_errtype_t type)
{
    if (type <= ACMPCA_ERR_NONE || type >= ACMPCA_ERR_COUNT) {
        return 500;
    }
    return err_table[type].status;
}
