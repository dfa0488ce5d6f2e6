/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The records of a store dump (acmpca_dump_rec_t, store.h) as JSON lines: the format of
 * build/acmpca-store and scripts/store-migrate. */
#ifndef ACMPCA_DUMP_H
#define ACMPCA_DUMP_H

#include <apr_pools.h>

#include "acmpca/store.h"

/* The first line of a dump names the format; the last counts the records before it, so
 * that a dump cut short is never taken for a whole one. */
#define ACMPCA_DUMP_FORMAT  "acmpca-store-dump"
#define ACMPCA_DUMP_VERSION 1

/** The type's name in the format ("ca", "cert", ...), NULL when unknown. */
const char *acmpca_dump_type_name(acmpca_dump_type_t type);

/** One record as one line of JSON (no newline) in p: {"t":"<type>", fields...}; binary
 *  values (wrapped key, object data) in base64, times and numbers as integers, absent
 *  values left out. NULL for a record of no known type. */
const char *acmpca_dump_to_json(const acmpca_dump_rec_t *rec, apr_pool_t *p);

/** Parse one line made by acmpca_dump_to_json into *rec (values in p). APR_EINVAL and
 *  *perr (a short reason) when it is not one. */
apr_status_t acmpca_dump_from_json(acmpca_dump_rec_t *rec, const char *line, apr_size_t len,
                                   const char **perr, apr_pool_t *p);

/** A copy of src whose values all live in p (a dump's records live only until its
 *  callback returns). */
void acmpca_dump_rec_copy(acmpca_dump_rec_t *dst, const acmpca_dump_rec_t *src, apr_pool_t *p);

#endif
