/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Lowercase hex strings of byte buffers (serials, fingerprints). */
#include <apr_strings.h>

#include "acmpca/util.h"

const char *acmpca_hex(const unsigned char *buf, apr_size_t len, int colons, apr_pool_t *p)
{
    static const char digits[] = "0123456789abcdef";
    /* Two digits per byte, plus a separator between bytes when asked. */
    char *out = apr_palloc(p, len * (colons ? 3 : 2) + 1);
    char *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (colons && i > 0) {
            *o++ = ':';
        }
        *o++ = digits[buf[i] >> 4];
        *o++ = digits[buf[i] & 0x0f];
    }
    *o = '\0';
    return out;
}
