/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Core logging: formats the message and hands it to the installed sink. */
#include <stdarg.h>

#include <apr_strings.h>

#include "acmpca/log.h"

static acmpca_log_fn *log_fn;
static acmpca_log_level_t log_max = ACMPCA_LOG_WARNING;
static void *log_baton;

void acmpca_log_set(acmpca_log_fn *fn, acmpca_log_level_t max_level, void *baton)
{
    log_fn = fn;
    log_max = max_level;
    log_baton = baton;
}

int acmpca_log_is_level(acmpca_log_level_t level)
{
    return log_fn != NULL && level <= log_max;
}

void acmpca_log(const char *file, int line, acmpca_log_level_t level, apr_status_t rv,
                apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    if (!acmpca_log_is_level(level)) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    log_fn(file, line, level, rv, p, msg, log_baton);
}
