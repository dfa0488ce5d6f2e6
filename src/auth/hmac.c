/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * A memo of derived SigV4 signing keys. The signing key, HMAC over the date, region and
 * service, changes once a day per secret: it is kept per (secret, date, region, service)
 * in a small table, wiped when its slot is reused. */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acmpca/auth.h"
#include "acmpca/util.h"

#define KEY_SLOTS  16
#define SECRET_MAX 128
#define SCOPE_MAX  64
#define TERMINATOR "aws4_request"

typedef struct key_slot_t {
    char secret[SECRET_MAX]; /* "" when free */
    char scope[SCOPE_MAX];   /* "<date>/<region>/<service>" */
    unsigned char key[32];
} key_slot_t;

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static key_slot_t slots[KEY_SLOTS];
static unsigned int slots_next;

static int derive(unsigned char out[32], const char *secret, const char *date, const char *region,
                  const char *service)
{
    size_t slen = strlen(secret);
    unsigned char k0[4 + SECRET_MAX], k[32];
    int ok;

    if (slen > SECRET_MAX) {
        return 0;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen);
    ok = acmpca_hmac_sha256(k, k0, slen + 4, date, strlen(date))
         && acmpca_hmac_sha256(k, k, 32, region, strlen(region))
         && acmpca_hmac_sha256(k, k, 32, service, strlen(service))
         && acmpca_hmac_sha256(out, k, 32, TERMINATOR, strlen(TERMINATOR));
    OPENSSL_cleanse(k0, sizeof(k0));
    OPENSSL_cleanse(k, sizeof(k));
    return ok;
}

int acmpca_sigv4_signing_key(unsigned char out[32], const char *secret, const char *date,
                             const char *region, const char *service)
{
    char scope[SCOPE_MAX];
    size_t slen = strlen(secret), dlen = strlen(date), rlen = strlen(region);
    size_t vlen = strlen(service);
    int i, n = (int)(dlen + rlen + vlen + 2);

    if (dlen + rlen + vlen + 2 >= sizeof(scope) || slen >= SECRET_MAX) {
        return derive(out, secret, date, region, service); /* too long to keep */
    }
    /* "<date>/<region>/<service>", without snprintf's format parsing on every request */
    memcpy(scope, date, dlen);
    scope[dlen] = '/';
    memcpy(scope + dlen + 1, region, rlen);
    scope[dlen + 1 + rlen] = '/';
    memcpy(scope + dlen + rlen + 2, service, vlen + 1);
    pthread_mutex_lock(&slots_lock);
    for (i = 0; i < KEY_SLOTS; i++) {
        if (!strcmp(slots[i].scope, scope) && strlen(slots[i].secret) == slen
            && !CRYPTO_memcmp(slots[i].secret, secret, slen)) {
            memcpy(out, slots[i].key, 32);
            pthread_mutex_unlock(&slots_lock);
            return 1;
        }
    }
    pthread_mutex_unlock(&slots_lock);
    if (!derive(out, secret, date, region, service)) {
        return 0;
    }
    /* Round robin: a day's keys of a handful of principals fit; more only cost HMACs. */
    pthread_mutex_lock(&slots_lock);
    i = (int)(slots_next++ % KEY_SLOTS);
    OPENSSL_cleanse(&slots[i], sizeof(slots[i]));
    memcpy(slots[i].secret, secret, slen + 1);
    memcpy(slots[i].scope, scope, (size_t)n + 1);
    memcpy(slots[i].key, out, 32);
    pthread_mutex_unlock(&slots_lock);
    return 1;
}

void acmpca_sigv4_keys_clear(void)
{
    pthread_mutex_lock(&slots_lock);
    OPENSSL_cleanse(slots, sizeof(slots));
    pthread_mutex_unlock(&slots_lock);
}
