/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Base64 with the standard alphabet and padding (RFC 4648 section 4), strict on input. */
#include <apr_strings.h>

#include "acmpca/util.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of an alphabet character, or -1 for anything else (including '=', whitespace,
 * NUL and the URL-safe "-_", which the JSON protocol never sends for blobs). */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

apr_status_t acmpca_b64_decode(unsigned char **pout, apr_size_t *poutlen, const char *s,
                               apr_size_t len, apr_pool_t *p)
{
    const unsigned char *in = (const unsigned char *)s;
    unsigned char *out;
    apr_size_t i, n = 0, pad = 0;

    *pout = NULL;
    *poutlen = 0;
    /* Blobs arrive padded (botocore uses base64.b64encode), so anything that is not a
     * whole number of quanta is truncated or corrupt. */
    if (len % 4 != 0 || (len > 0 && !s)) {
        return APR_EINVAL;
    }
    if (len > 0 && in[len - 1] == '=') {
        pad = (in[len - 2] == '=') ? 2 : 1;
    }
    out = apr_palloc(p, len / 4 * 3 + 1);

    for (i = 0; i < len; i += 4) {
        int v[4], k, last = (i + 4 == len);
        apr_uint32_t q;

        for (k = 0; k < 4; k++) {
            if (last && k >= 4 - (int)pad) {
                v[k] = 0; /* the '=' found above */
            }
            else if ((v[k] = b64_value(in[i + k])) < 0) {
                return APR_EINVAL; /* bad character, or '=' before the end */
            }
        }
        q = ((apr_uint32_t)v[0] << 18) | ((apr_uint32_t)v[1] << 12) | ((apr_uint32_t)v[2] << 6)
            | (apr_uint32_t)v[3];
        /* RFC 4648 section 3.5: the bits the padding leaves unused must be zero; a
         * decoder that ignored them would accept many spellings of one blob. */
        if (last && ((pad == 1 && (q & 0xff)) || (pad == 2 && (q & 0xffff)))) {
            return APR_EINVAL;
        }
        out[n++] = (unsigned char)(q >> 16);
        if (!last || pad < 2) {
            out[n++] = (unsigned char)(q >> 8);
        }
        if (!last || pad < 1) {
            out[n++] = (unsigned char)q;
        }
    }
    out[n] = '\0';
    *pout = out;
    *poutlen = n;
    return APR_SUCCESS;
}

const char *acmpca_b64_encode(const unsigned char *buf, apr_size_t len, apr_pool_t *p)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    char *o = out;
    apr_size_t i;

    for (i = 0; i + 3 <= len; i += 3) {
        apr_uint32_t q =
            ((apr_uint32_t)buf[i] << 16) | ((apr_uint32_t)buf[i + 1] << 8) | buf[i + 2];
        *o++ = b64_alphabet[(q >> 18) & 0x3f];
        *o++ = b64_alphabet[(q >> 12) & 0x3f];
        *o++ = b64_alphabet[(q >> 6) & 0x3f];
        *o++ = b64_alphabet[q & 0x3f];
    }
    if (len - i == 1) {
        apr_uint32_t q = (apr_uint32_t)buf[i] << 16;
        *o++ = b64_alphabet[(q >> 18) & 0x3f];
        *o++ = b64_alphabet[(q >> 12) & 0x3f];
        *o++ = '=';
        *o++ = '=';
    }
    else if (len - i == 2) {
        apr_uint32_t q = ((apr_uint32_t)buf[i] << 16) | ((apr_uint32_t)buf[i + 1] << 8);
        *o++ = b64_alphabet[(q >> 18) & 0x3f];
        *o++ = b64_alphabet[(q >> 12) & 0x3f];
        *o++ = b64_alphabet[(q >> 6) & 0x3f];
        *o++ = '=';
    }
    *o = '\0';
    return out;
}
