/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * GetCertificate's per-certificate work, per process: the certificate as a quoted JSON
 * string and whether it is self-signed (which decides whether a chain goes with it).
 * Quoting the PEM and base64-decoding it to compare issuer and subject cost about
 * 65,000 instructions a call, and the store read of the row 19,000 more.
 *
 * Why this is exact without asking the store: a certificate row is written once and
 * never changed (cert_put refuses an existing (CA, serial) with APR_EEXIST; revocation
 * writes other columns, which GetCertificate does not return) and goes only with its CA
 * (ca_purge), whose record every GetCertificate reads first. So once this process has
 * read (store, CA id, serial) -> PEM from the store, that is the answer for as long as
 * the CA record exists, whatever another process or host writes. The CA's creation
 * sequence joins the key too: it costs nothing and tells apart a CA record made anew
 * under an id seen before (only a store loaded from another's dump could). Entries are
 * filled only after a successful store read: a serial the store does not know is never
 * cached, and asks the store every time.
 *
 * The chain depends on the CA document and is kept with it (doc_cache.c). Bounded:
 * SLOTS entries, direct-mapped by a hash of the key (a collision replaces), each behind
 * one of LOCKS mutexes so that the 25-64 threads of a child rarely meet. An entry holds
 * only public data (a certificate). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ops_int.h"

#define SLOTS      2048 /* power of two; ~2 KiB each when full */
#define LOCKS      32
#define ID_LEN     40
#define SERIAL_MAX 48
#define QUOTED_MAX (32 * 1024) /* larger certificates are not kept */

typedef struct slot_t {
    const void *store; /* NULL when free */
    apr_int64_t seq;
    char ca_id[ID_LEN];
    char serial[SERIAL_MAX];
    char *quoted; /* malloc'd, "\"-----BEGIN ...\"" */
    size_t len;
    int self_signed;
} slot_t;

static pthread_mutex_t locks[LOCKS] = {
#define M4                                                                                         \
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,               \
        PTHREAD_MUTEX_INITIALIZER
    M4, M4, M4, M4, M4,
    M4, M4, M4
#undef M4
};
static slot_t slots[SLOTS];

/* FNV-1a over the key's parts. */
static unsigned int index_of(const void *store, const char *ca_id, apr_int64_t seq,
                             const char *serial)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);
    const char *s;

    for (s = ca_id; *s; s++) {
        h = (h ^ (unsigned char)*s) * APR_UINT64_C(1099511628211);
    }
    for (s = serial; *s; s++) {
        h = (h ^ (unsigned char)*s) * APR_UINT64_C(1099511628211);
    }
    h ^= (apr_uint64_t)(apr_uintptr_t)store ^ (apr_uint64_t)seq;
    h *= APR_UINT64_C(1099511628211);
    return (unsigned int)(h >> 21) & (SLOTS - 1);
}

static int fits(const char *ca_id, const char *serial)
{
    return strlen(ca_id) < ID_LEN && strlen(serial) < SERIAL_MAX;
}

static int same(const slot_t *s, const void *store, const char *ca_id, apr_int64_t seq,
                const char *serial)
{
    return s->store == store && s->seq == seq && !strcmp(s->serial, serial)
           && !strcmp(s->ca_id, ca_id);
}

apr_status_t acmpca_cert_cache_get(const char **pquoted, apr_size_t *plen, int *pself_signed,
                                   const void *store, const acmpca_ca_rec_t *ca, const char *serial,
                                   apr_pool_t *p)
{
    unsigned int i;
    slot_t *s;
    char *copy = NULL;

    if (!fits(ca->id, serial)) {
        return APR_NOTFOUND;
    }
    i = index_of(store, ca->id, ca->seq, serial);
    s = &slots[i];
    pthread_mutex_lock(&locks[i % LOCKS]);
    if (same(s, store, ca->id, ca->seq, serial)) {
        /* Copied out under the lock: a colliding key may replace the entry right after. */
        copy = apr_pmemdup(p, s->quoted, s->len + 1);
        *plen = s->len;
        *pself_signed = s->self_signed;
    }
    pthread_mutex_unlock(&locks[i % LOCKS]);
    if (!copy) {
        return APR_NOTFOUND;
    }
    *pquoted = copy;
    return APR_SUCCESS;
}

void acmpca_cert_cache_put(const void *store, const acmpca_ca_rec_t *ca, const char *serial,
                           const char *quoted, int self_signed)
{
    size_t len = strlen(quoted);
    unsigned int i;
    char *copy, *old;
    slot_t *s;

    if (!fits(ca->id, serial) || len > QUOTED_MAX || !(copy = malloc(len + 1))) {
        return;
    }
    memcpy(copy, quoted, len + 1);
    i = index_of(store, ca->id, ca->seq, serial);
    s = &slots[i];
    pthread_mutex_lock(&locks[i % LOCKS]);
    old = s->quoted;
    s->store = store;
    s->seq = ca->seq;
    strcpy(s->ca_id, ca->id);
    strcpy(s->serial, serial);
    s->quoted = copy;
    s->len = len;
    s->self_signed = self_signed;
    pthread_mutex_unlock(&locks[i % LOCKS]);
    free(old);
}

void acmpca_cert_cache_clear(void)
{
    int i;

    for (i = 0; i < SLOTS; i++) {
        pthread_mutex_lock(&locks[i % LOCKS]);
        free(slots[i].quoted);
        memset(&slots[i], 0, sizeof(slots[i]));
        pthread_mutex_unlock(&locks[i % LOCKS]);
    }
}
