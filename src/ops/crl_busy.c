/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * One CRL rebuild per CA at a time in this process: a revocation that arrives while its
 * CA's CRL is being built marks it dirty and returns; the builder goes once more. (A
 * million entries take seconds; twenty revocations a second must not start twenty.)
 *
 * Under a steady stream of revocations the builder would go on for as long as the
 * stream lasts, and its own caller with it (a p99 of 1.4 s in a 2 s benchmark run, one
 * child). Once it has built ACMPCA_CRL_BUILDER_PASSES times for others, the next
 * revocation to arrive waits for the pass under way to end and takes over: no caller
 * builds more than that many times for others, nor waits for more than one pass of
 * another's. The last builder still goes on until no revocation is left out, so nothing
 * is left for later. Across processes and hosts, crl.c's store lock takes over. */
#include <pthread.h>
#include <string.h>

#include <apr_strings.h>

#include "ops_int.h"

#define BUSY_SLOTS 64

enum { NO_SUCCESSOR, SUCCESSOR_WAITS, SUCCESSOR_LEADS };

static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_handed = PTHREAD_COND_INITIALIZER;
static struct {
    char ca_id[40]; /* "" when free */
    int dirty;      /* a revocation came since the pass under way began */
    int passes;     /* the builder's passes for others so far */
    int successor;  /* NO_SUCCESSOR, SUCCESSOR_WAITS or SUCCESSOR_LEADS */
} busy[BUSY_SLOTS];

int acmpca_crl_busy_claim(const char *ca_id, int *took_over)
{
    int i, free_slot = -2;

    *took_over = 0;
    pthread_mutex_lock(&busy_lock);
    for (i = 0; i < BUSY_SLOTS; i++) {
        if (!strcmp(busy[i].ca_id, ca_id)) {
            busy[i].dirty = 1;
            if (busy[i].passes < ACMPCA_CRL_BUILDER_PASSES || busy[i].successor != NO_SUCCESSOR) {
                pthread_mutex_unlock(&busy_lock);
                return -1;
            }
            busy[i].successor = SUCCESSOR_WAITS;
            while (busy[i].successor != SUCCESSOR_LEADS) {
                pthread_cond_wait(&busy_handed, &busy_lock);
            }
            /* Our first pass starts now: it has every revocation so far. */
            busy[i].successor = NO_SUCCESSOR;
            busy[i].passes = 0;
            busy[i].dirty = 0;
            pthread_mutex_unlock(&busy_lock);
            *took_over = 1;
            return i;
        }
        if (free_slot == -2 && !busy[i].ca_id[0]) {
            free_slot = i;
        }
    }
    if (free_slot >= 0) {
        apr_cpystrn(busy[free_slot].ca_id, ca_id, sizeof(busy[free_slot].ca_id));
        busy[free_slot].dirty = 0;
        busy[free_slot].passes = 0;
        busy[free_slot].successor = NO_SUCCESSOR;
    }
    pthread_mutex_unlock(&busy_lock);
    return free_slot;
}

int acmpca_crl_busy_release(int slot, int keep)
{
    int again;

    if (slot < 0) {
        return keep;
    }
    pthread_mutex_lock(&busy_lock);
    if (busy[slot].successor == SUCCESSOR_WAITS) { /* it builds next, for keep's host too */
        busy[slot].successor = SUCCESSOR_LEADS;
        pthread_cond_broadcast(&busy_handed);
        pthread_mutex_unlock(&busy_lock);
        return 0;
    }
    again = busy[slot].dirty || keep;
    busy[slot].dirty = 0;
    if (again) {
        busy[slot].passes++;
    }
    else {
        busy[slot].ca_id[0] = '\0';
    }
    pthread_mutex_unlock(&busy_lock);
    return again;
}
