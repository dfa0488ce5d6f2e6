/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Logging from the core through a callback the host (httpd glue, tests) installs. */
#ifndef ACMPCA_LOG_H
#define ACMPCA_LOG_H

#include <apr_pools.h>
#include <apr_errno.h>

/* Same numbers as httpd's APLOG_* so the glue can forward them unchanged. */
typedef enum {
    ACMPCA_LOG_EMERG = 0,
    ACMPCA_LOG_ALERT,
    ACMPCA_LOG_CRIT,
    ACMPCA_LOG_ERR,
    ACMPCA_LOG_WARNING,
    ACMPCA_LOG_NOTICE,
    ACMPCA_LOG_INFO,
    ACMPCA_LOG_DEBUG,
    ACMPCA_LOG_TRACE1
} acmpca_log_level_t;

#define ACMPCA_LOG_MARK __FILE__, __LINE__

typedef void acmpca_log_fn(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                           apr_pool_t *p, const char *msg, void *baton);

/** Install the sink (NULL: log nowhere) and the most verbose level it wants. */
void acmpca_log_set(acmpca_log_fn *fn, acmpca_log_level_t max_level, void *baton);

int acmpca_log_is_level(acmpca_log_level_t level);

/** Log a message; by convention it starts with a stable "ACMPCAnnnn: " tag.
 *  Never pass secrets, keys, signatures or request bodies. */
void acmpca_log(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                apr_pool_t *p, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
