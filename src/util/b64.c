/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Base64 with the standard alphabet and padding (RFC 4648 section 4), strict on input. */
#include <apr_strings.h>

#include "acmpca/util.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of each byte: its alphabet value, or 0xff for anything else (including '=',
 * whitespace, NUL and the URL-safe "-_", which the JSON protocol never sends for blobs).
 * A table: every CSR and certificate of the API passes through here, and a chain of
 * comparisons per character cost more than the rest of the decoding. */
#define X 0xff
/* clang-format off */
static const unsigned char b64_values[256] = {
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, 62,  X,  X,  X, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61,  X,  X,  X,  X,  X,  X,
     X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,  X,  X,  X,  X,  X,
     X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
};
/* clang-format on */
#undef X

apr_status_t acmpca_b64_decode(unsigned char **pout, apr_size_t *poutlen, const char *s,
                               apr_size_t len, apr_pool_t *p)
{
    const unsigned char *in = (const unsigned char *)s;
    unsigned char *out, v[4];
    apr_size_t i, n = 0, pad = 0, body;
    apr_uint32_t q;
    int k;

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
    /* Every quantum but the last: four alphabet characters ('=' before the end is not). */
    body = len ? len - 4 : 0;
    for (i = 0; i < body; i += 4) {
        if ((v[0] = b64_values[in[i]]) == 0xff || (v[1] = b64_values[in[i + 1]]) == 0xff
            || (v[2] = b64_values[in[i + 2]]) == 0xff || (v[3] = b64_values[in[i + 3]]) == 0xff) {
            return APR_EINVAL;
        }
        q = ((apr_uint32_t)v[0] << 18) | ((apr_uint32_t)v[1] << 12) | ((apr_uint32_t)v[2] << 6)
            | v[3];
        out[n++] = (unsigned char)(q >> 16);
        out[n++] = (unsigned char)(q >> 8);
        out[n++] = (unsigned char)q;
    }
    if (len) {
        for (k = 0; k < 4; k++) {
            if (k >= 4 - (int)pad) {
                v[k] = 0; /* the '=' found above */
            }
            else if ((v[k] = b64_values[in[body + k]]) == 0xff) {
                return APR_EINVAL; /* bad character, or '=' before the end */
            }
        }
        q = ((apr_uint32_t)v[0] << 18) | ((apr_uint32_t)v[1] << 12) | ((apr_uint32_t)v[2] << 6)
            | v[3];
        /* RFC 4648 section 3.5: the bits the padding leaves unused must be zero; a
         * decoder that ignored them would accept many spellings of one blob. */
        if ((pad == 1 && (q & 0xff)) || (pad == 2 && (q & 0xffff))) {
            return APR_EINVAL;
        }
        out[n++] = (unsigned char)(q >> 16);
        if (pad < 2) {
            out[n++] = (unsigned char)(q >> 8);
        }
        if (pad < 1) {
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
