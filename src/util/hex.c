/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Lowercase hex strings of byte buffers (serials, fingerprints). */
#include <string.h>

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

int acmpca_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

apr_status_t acmpca_unhex(unsigned char **pout, apr_size_t *plen, const char *hex, apr_pool_t *p)
{
    apr_size_t n = strlen(hex), i;
    unsigned char *out;

    if (n % 2) {
        return APR_EINVAL;
    }
    out = apr_palloc(p, n / 2 + 1);
    for (i = 0; i < n; i += 2) {
        int hi = acmpca_hex_digit(hex[i]), lo = acmpca_hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return APR_EINVAL;
        }
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *pout = out;
    *plen = n / 2;
    return APR_SUCCESS;
}
