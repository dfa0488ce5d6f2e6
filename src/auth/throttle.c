/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Token buckets per (account, operation) in a block of memory that every httpd process
 * maps (the glue puts it in APR shared memory and guards it with a global mutex).
 *
 * The block holds offsets and plain numbers only, never pointers: processes may map it
 * at different addresses.
 *
 *   offset  size  field
 *   ------  ----  --------------------------------------------------------------------
 *        0     4  magic "ACTB"
 *        4     4  layout version (1)
 *        8     4  number of slots N
 *       12    52  reserved (zero)
 *       64   128  slot 0
 *      192   128  slot 1
 *       ...
 *   64+128i  128  slot i, i < N:
 *                   +0   96  key, NUL-terminated "<account>:<operation>"; "" = free
 *                   +96   8  tokens left (double)
 *                   +104  8  time of the last refill (apr_time_t, microseconds)
 *                   +112  8  time of the last use (apr_time_t), for eviction
 *                   +120  4  hash of the key (FNV-1a)
 *                   +124  4  reserved
 *
 * Slots are found by open addressing from hash % N. A slot, once used, is never freed,
 * only reused: when every slot is taken the least recently used one gets the new key,
 * which loses at most that bucket's history (it starts full again). */
#include <stddef.h>
#include <string.h>

#include <apr.h>
#include <apr_strings.h>

#include "acmpca/auth.h"

#define HEADER_SIZE 64
#define KEY_SIZE    96
#define MAGIC       0x42544341u /* "ACTB" little-endian */
#define VERSION     1u

typedef struct tb_header {
    apr_uint32_t magic;
    apr_uint32_t version;
    apr_uint32_t slots;
    char reserved[HEADER_SIZE - 12];
} tb_header;

typedef struct tb_slot {
    char key[KEY_SIZE];
    double tokens;
    apr_int64_t refilled;
    apr_int64_t used;
    apr_uint32_t hash;
    apr_uint32_t reserved;
} tb_slot;

/* The layout above, checked at compile time. */
typedef char tb_header_size_ok[sizeof(tb_header) == HEADER_SIZE ? 1 : -1];
typedef char tb_slot_size_ok[sizeof(tb_slot) == 128 ? 1 : -1];
typedef char tb_slot_tokens_ok[offsetof(tb_slot, tokens) == 96 ? 1 : -1];
typedef char tb_slot_hash_ok[offsetof(tb_slot, hash) == 120 ? 1 : -1];

apr_size_t acmpca_throttle_size(int slots)
{
    return HEADER_SIZE + (apr_size_t)(slots > 0 ? slots : 1) * sizeof(tb_slot);
}

void acmpca_throttle_init(void *base, apr_size_t size)
{
    tb_header *h = base;

    memset(base, 0, size);
    h->magic = MAGIC;
    h->version = VERSION;
    h->slots = (apr_uint32_t)((size - HEADER_SIZE) / sizeof(tb_slot));
}

static apr_uint32_t fnv1a(const char *s)
{
    apr_uint32_t h = 2166136261u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

static tb_slot *slot_at(void *base, apr_uint32_t i)
{
    return (tb_slot *)((char *)base + HEADER_SIZE + (apr_size_t)i * sizeof(tb_slot));
}

static tb_slot *find_slot(void *base, const char *key, apr_uint32_t hash, int *pfresh)
{
    const tb_header *h = base;
    tb_slot *lru = NULL;
    apr_uint32_t i, n = h->slots;

    for (i = 0; i < n; i++) {
        tb_slot *s = slot_at(base, (hash + i) % n);
        if (!s->key[0]) {
            *pfresh = 1;
            return s;
        }
        if (s->hash == hash && !strcmp(s->key, key)) {
            *pfresh = 0;
            return s;
        }
    }
    for (i = 0; i < n; i++) { /* full: reuse the least recently used */
        tb_slot *s = slot_at(base, i);
        if (!lru || s->used < lru->used) {
            lru = s;
        }
    }
    *pfresh = 1;
    return lru;
}

int acmpca_throttle_take(void *base, const char *key, double rate, double burst, apr_time_t now)
{
    const tb_header *h = base;
    apr_uint32_t hash;
    tb_slot *s;
    int fresh;

    if (!h || h->magic != MAGIC || h->version != VERSION || !h->slots || rate <= 0) {
        return 1; /* no table: nothing is throttled */
    }
    if (burst < 1) {
        burst = 1;
    }
    hash = fnv1a(key);
    s = find_slot(base, key, hash, &fresh);
    if (fresh) {
        memset(s, 0, sizeof(*s));
        apr_cpystrn(s->key, key, sizeof(s->key));
        s->hash = hash;
        s->tokens = burst;
        s->refilled = now;
    }
    else if (now > s->refilled) {
        s->tokens += (double)(now - s->refilled) / (double)APR_USEC_PER_SEC * rate;
        if (s->tokens > burst) {
            s->tokens = burst;
        }
        s->refilled = now;
    }
    s->used = now;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return 1;
    }
    return 0;
}
