/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Small helpers of the util layer: base64, PEM, time, identifiers, per-thread objects. */
#ifndef ACMPCA_UTIL_H
#define ACMPCA_UTIL_H

#include <pthread.h>
#include <sys/types.h>

#include <apr_pools.h>
#include <apr_time.h>

/* ---- base64 (standard alphabet, padded) ---------------------------------------------- */

/** Strict decode: only the standard alphabet and correct padding (no whitespace).
 *  APR_EINVAL when s is not valid base64. The result (NUL-terminated too) lives in p. */
apr_status_t acmpca_b64_decode(unsigned char **pout, apr_size_t *poutlen, const char *s,
                               apr_size_t len, apr_pool_t *p);
const char *acmpca_b64_encode(const unsigned char *buf, apr_size_t len, apr_pool_t *p);

/* ---- hex ---------------------------------------------------------------------------- */

/** Lowercase hex ("e8cbd2"), and with colons ("e8:cb:d2") as Describe's Serial. */
const char *acmpca_hex(const unsigned char *buf, apr_size_t len, int colons, apr_pool_t *p);

/** Value of one hex digit (either case), -1 for anything else. */
int acmpca_hex_digit(char c);

/** Decode an even-length hex string (either case) into p; APR_EINVAL otherwise. */
apr_status_t acmpca_unhex(unsigned char **pout, apr_size_t *plen, const char *hex, apr_pool_t *p);

/* ---- time --------------------------------------------------------------------------- */

/** Epoch seconds as the wire carries timestamps (a JSON number). */
double acmpca_time_epoch(apr_time_t t);

/** Seconds since the epoch as apr_time_t. */
apr_time_t acmpca_time_from_epoch(double seconds);

/** Parse a Validity END_DATE: YYYYMMDDHHMMSS (GeneralizedTime) or YYMMDDHHMMSS (UTCTime,
 *  YY >= 50 -> 19YY). APR_EINVAL when malformed or not a real calendar instant. */
apr_status_t acmpca_time_parse_end_date(apr_time_t *pt, long long value);

/** t plus n calendar months (day clamped to the month's end), in UTC. */
apr_time_t acmpca_time_add_months(apr_time_t t, long long months);

/** Format as RFC 3339-ish "YYYY-MM-DDTHH:MM:SS+0000" (audit reports) in UTC. */
const char *acmpca_time_audit(apr_time_t t, apr_pool_t *p);

/* ---- identifiers -------------------------------------------------------------------- */

/** Fill buf with len bytes from the CSPRNG; APR_EGENERAL if it fails. */
apr_status_t acmpca_random(unsigned char *buf, apr_size_t len);

/** As acmpca_random for at most ACMPCA_RANDOM_SMALL_MAX bytes (more go to acmpca_random),
 *  from a per-thread batch of the CSPRNG's bytes, each handed out once. */
#define ACMPCA_RANDOM_SMALL_MAX 64
apr_status_t acmpca_random_small(unsigned char *buf, apr_size_t len);

/** A random lowercase UUID v4. */
const char *acmpca_uuid(apr_pool_t *p);

/** A random UUID naming a request (x-amzn-RequestId): as acmpca_uuid, its bytes drawn
 *  in batches. */
const char *acmpca_request_id(apr_pool_t *p);

/** getpid(), kept up to date across fork() without a system call per call. */
pid_t acmpca_pid(void);

/* ---- RevocationReason (PCA-API.md §7.4; reason.c) ------------------------------------ */

#define ACMPCA_REVOCATION_REASONS 8

/** Index of a RevocationReason value (UNSPECIFIED is 0), -1 for anything else. */
int acmpca_revocation_reason_index(const char *reason);

/** The value at index, NULL outside 0 .. ACMPCA_REVOCATION_REASONS - 1. */
const char *acmpca_revocation_reason_name(int index);

/** RFC 5280 CRLReason code of a RevocationReason; -1 (ACMPCA_REASON_NONE) for
 *  UNSPECIFIED and anything unknown. */
int acmpca_revocation_reason_code(const char *reason);

/** True if s is a lowercase UUID as the service makes them. */
int acmpca_is_uuid(const char *s);

/* ---- per-thread objects --------------------------------------------------------------- */

/* SHA-256 and HMAC-SHA256 on a digest fetched once per process and a context per thread
 * (src/util/sha256.c); 1 on success. */
int acmpca_sha256(unsigned char out[32], const void *data, apr_size_t len);
int acmpca_hmac_sha256(unsigned char out[32], const void *key, apr_size_t key_len, const void *msg,
                       apr_size_t msg_len);

/** Lowercase hex SHA-256 of len bytes (64 characters, in p). */
const char *acmpca_sha256_hex(const void *data, apr_size_t len, apr_pool_t *p);

/* An object each thread makes on first use and keeps until it exits (a digest context, a
 * table of memos, verification keys): static storage, ACMPCA_THREAD_SLOT(make, destroy). */
typedef struct acmpca_thread_slot_t {
    void *(*make)(void);     /* a new object, NULL when none can be made */
    void (*destroy)(void *); /* at the thread's exit */
    pthread_mutex_t lock;    /* guards making the key */
    pthread_key_t key;
    int state; /* 0: no key yet, 1: key made, -1: none can be */
} acmpca_thread_slot_t;

#define ACMPCA_THREAD_SLOT(make, destroy)                                                          \
    {                                                                                              \
        (make), (destroy), PTHREAD_MUTEX_INITIALIZER, 0, 0                                         \
    }

/** This thread's object of slot, made now if it has none and make is set; NULL when it
 *  has none (make unset) or none can be had. */
void *acmpca_thread_obj(acmpca_thread_slot_t *slot, int make);

/* ---- waits on the monotonic clock (thread.c): a wall clock set back stretches none --- */

/** Now on CLOCK_MONOTONIC, in microseconds. */
apr_time_t acmpca_mono_now(void);
/** Make c a condition variable whose timed waits run on CLOCK_MONOTONIC. */
void acmpca_cond_init_mono(pthread_cond_t *c);
/** Wait on c (made by acmpca_cond_init_mono), m held, until woken or until the monotonic
 *  time until (acmpca_mono_now's), whichever comes first. */
void acmpca_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, apr_time_t until);

#endif
