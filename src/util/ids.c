/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Random bytes and the UUIDs that name CAs, audit reports and requests. */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <apr_strings.h>

#include <openssl/rand.h>

#include "acmpca/util.h"

apr_status_t acmpca_random(unsigned char *buf, apr_size_t len)
{
    /* RAND_bytes takes an int; serials and ids are tiny, but keep large requests right. */
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;

        if (RAND_bytes(buf, n) != 1) {
            return APR_EGENERAL;
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* RFC 9562 section 5.4: version 4 in the high nibble of octet 6, variant 10xx in octet 8. */
static const char *uuid_of(unsigned char *b, apr_pool_t *p)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, 37), *o = out;
    int i;

    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (i = 0; i < 16; i++) { /* 8-4-4-4-12 */
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *o++ = '-';
        }
        *o++ = digits[b[i] >> 4];
        *o++ = digits[b[i] & 15];
    }
    *o = '\0';
    return out;
}

const char *acmpca_uuid(apr_pool_t *p)
{
    unsigned char b[16];

    /* Without a working CSPRNG there is no safe identifier to hand out: callers get
     * NULL rather than a predictable one. */
    if (acmpca_random(b, sizeof(b)) != APR_SUCCESS) {
        return NULL;
    }
    return uuid_of(b, p);
}

/* A RAND_bytes call costs about 6,600 instructions whatever its length, as much as the
 * rest of a CRL download: small draws (request ids, serials) take their bytes from a
 * per-thread batch of RAND_BATCH bytes, one RAND_bytes call each (at 512 bytes the
 * calls were still 0.4 % of a read's time under load, and the serial's call was 1.3 %
 * of an issuance). Each byte is handed out once, and all are the CSPRNG's: a serial
 * stays unpredictable. A child forked with a filled batch would repeat its parent's
 * bytes: the fork handler empties the batch of the forking thread, the only one the
 * child has (this replaced a getpid() system call per request). It is registered
 * before any batch is filled. */
#define RAND_BATCH 4096

static _Thread_local unsigned char rand_batch[RAND_BATCH];
static _Thread_local unsigned int rand_next = RAND_BATCH;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void rand_forked(void)
{
    rand_next = RAND_BATCH;
}

static void rand_register(void)
{
    pthread_atfork(NULL, NULL, rand_forked);
}

apr_status_t acmpca_random_small(unsigned char *buf, apr_size_t len)
{
    if (len > ACMPCA_RANDOM_SMALL_MAX) {
        return acmpca_random(buf, len);
    }
    if (RAND_BATCH - rand_next < len) {
        pthread_once(&rand_once, rand_register);
        if (acmpca_random(rand_batch, sizeof(rand_batch)) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        rand_next = 0;
    }
    memcpy(buf, rand_batch + rand_next, len);
    /* Handed out: not left in memory for a later reader of the thread's stack or heap. */
    memset(rand_batch + rand_next, 0, len);
    rand_next += (unsigned int)len;
    return APR_SUCCESS;
}

const char *acmpca_request_id(apr_pool_t *p)
{
    unsigned char b[16];

    if (acmpca_random_small(b, sizeof(b)) != APR_SUCCESS) {
        return NULL;
    }
    return uuid_of(b, p);
}

int acmpca_is_uuid(const char *s)
{
    int i;

    if (!s) {
        return 0;
    }
    /* 8-4-4-4-12 lowercase hex. The version and variant nibbles are not checked: the
     * service's own documentation names CAs like 12345678-1234-1234-1234-123456789012,
     * and a well-formed id of a CA we never made is a ResourceNotFound, not a bad ARN. */
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        }
        else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0; /* also stops at the NUL of a short string */
        }
    }
    return s[36] == '\0';
}
