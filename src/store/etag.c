/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The ETag a store gives an object on put, the same with either provider. */
#include <apr_strings.h>

#include "store_int.h"

#include "acmpca/util.h"

const char *acmpca_store_etag(const acmpca_object_t *obj, apr_pool_t *p)
{
    const unsigned char *data = obj->etag_basis ? obj->etag_basis : obj->data;
    apr_size_t len = obj->etag_basis ? obj->etag_basis_len : obj->len;
    unsigned char md[32];

    /* Strong: equal content gives an equal tag, on every host. */
    if (!acmpca_sha256(md, len ? (const void *)data : "", len)) {
        return NULL;
    }
    return apr_pstrcat(p, "\"", acmpca_hex(md, 16, 0, p), "\"", NULL);
}
