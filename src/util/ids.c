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
 * rest of a CRL download: request ids draw on RAND_ID_BATCH ids' worth per call (4 KiB
 * per thread; at 32 the calls were still 0.4 % of a read's time under load). The
 * bytes are per thread and per process; they name requests, nothing secret. A child
 * forked with a filled batch would repeat its parent's ids: the fork handler empties the
 * batch of the forking thread, the only one the child has (this replaced a getpid()
 * system call per request). It is registered before any batch is filled. */
#define RAND_ID_BATCH 256

static _Thread_local unsigned char id_batch[RAND_ID_BATCH * 16];
static _Thread_local unsigned int id_next = RAND_ID_BATCH;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_forked(void)
{
    id_next = RAND_ID_BATCH;
}

static void id_register(void)
{
    pthread_atfork(NULL, NULL, id_forked);
}

const char *acmpca_request_id(apr_pool_t *p)
{
    unsigned char b[16];

    if (id_next >= RAND_ID_BATCH) {
        pthread_once(&id_once, id_register);
        if (acmpca_random(id_batch, sizeof(id_batch)) != APR_SUCCESS) {
            return NULL;
        }
        id_next = 0;
    }
    memcpy(b, id_batch + 16 * id_next++, sizeof(b));
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
