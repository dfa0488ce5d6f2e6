/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Random bytes and the UUIDs that name CAs, audit reports and requests. */
#include <limits.h>
#include <string.h>
#include <unistd.h>

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
    const char *hex;

    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    hex = acmpca_hex(b, 16, 0, p);
    return apr_psprintf(p, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
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
 * rest of a CRL download: request ids draw on RAND_ID_BATCH ids' worth per call. The
 * bytes are per thread and per process (a child forked with a filled batch would repeat
 * its parent's ids); they name requests, nothing secret. */
#define RAND_ID_BATCH 32

static _Thread_local unsigned char id_batch[RAND_ID_BATCH * 16];
static _Thread_local unsigned int id_next = RAND_ID_BATCH;
static _Thread_local pid_t id_pid;

const char *acmpca_request_id(apr_pool_t *p)
{
    unsigned char b[16];

    if (id_next >= RAND_ID_BATCH || id_pid != getpid()) {
        if (acmpca_random(id_batch, sizeof(id_batch)) != APR_SUCCESS) {
            return NULL;
        }
        id_next = 0;
        id_pid = getpid();
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
