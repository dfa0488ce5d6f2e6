/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * One CRL rebuild per CA at a time in this process: a revocation that arrives while its
 * CA's CRL is being built marks it dirty and returns; the builder goes once more. (A
 * million entries take seconds; twenty revocations a second must not start twenty.)
 *
 * Passes are paced: after a pass of d, the CA's next one starts ACMPCA_CRL_PACE * d
 * later, so that its CRL takes at most a quarter of the time however fast revocations
 * come. Back to back, the builds left too little for the revocations themselves: 2,000
 * a second on the Redis provider, where a build also writes the whole CRL to the append
 * only file, against 5,500 without builds. A revocation that arrives while the next pass
 * waits for its time returns at once: that pass begins after it.
 *
 * Under a steady stream of revocations the builder would go on for as long as the
 * stream lasts, and its own caller with it (a p99 of 1.4 s in a 2 s benchmark run, one
 * child). So a builder that waits for the time of another pass gives it up to the next
 * revocation that arrives, which leads from then on; and once it has built
 * ACMPCA_CRL_BUILDER_PASSES times for others, a revocation that arrives during its pass
 * waits for that pass to end and takes over. No caller builds more than that many times
 * for others, nor waits for more than one pass and one pace of another's. The last
 * builder still goes on until no revocation is left out, so nothing is left for later.
 * Across processes and hosts, crl.c's store lock takes over. A CA's pace is remembered
 * after its builder leaves, for the next one.
 *
 * A revocation (acmpca_crl_publish_revocation) builds one pass at most, its own, and
 * only when acmpca_crl_busy_wait foresees a short wait for it: the passes for others
 * are the process's CRL builder thread's (crl_builder.c), which builds one pass at a
 * time too, each once the CA's pace allows (acmpca_crl_busy_pace_left). */
#include <pthread.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/util.h"
#include "ops_int.h"

#define BUSY_SLOTS 64
/* However long the last pass took, never wait longer than this for the next. */
#define PACE_MAX apr_time_from_sec(5)

enum { IDLE, PACING, BUILDING };
enum { NO_SUCCESSOR, SUCCESSOR_WAITS, SUCCESSOR_LEADS };

static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_handed; /* on the monotonic clock, as the pace: see busy_init */
static pthread_once_t busy_once = PTHREAD_ONCE_INIT;
static struct {
    char ca_id[40];                /* "" when free */
    int state;                     /* IDLE (only the pace is kept), PACING or BUILDING */
    int built;                     /* the thread that paces has built a pass already */
    int dirty;                     /* a revocation came since the pass under way began */
    int passes;                    /* the builder's passes for others so far */
    int successor;                 /* NO_SUCCESSOR, SUCCESSOR_WAITS or SUCCESSOR_LEADS */
    unsigned int lead;             /* bumped when a newcomer takes the lead from a pacing builder */
    apr_time_t pass_from;          /* when the pass under way began */
    apr_time_t next_from;          /* the earliest start of the CA's next pass */
    apr_interval_time_t last_pass; /* how long the CA's last pass took; 0: none yet */
} busy[BUSY_SLOTS];

static void busy_init(void)
{
    acmpca_cond_init_mono(&busy_handed);
}

/* Under busy_lock: how long slot i's pace still holds its next pass back at now. */
static apr_interval_time_t pace_rest(int i, apr_time_t now)
{
    apr_interval_time_t rest = busy[i].next_from - now;

    return rest <= 0 ? 0 : rest > PACE_MAX ? PACE_MAX : rest;
}

/* Under busy_lock: wait for slot i's next pass, then begin it; 0 when a newcomer took
 * the lead meanwhile (it builds instead). */
static int pace_then_build(int i)
{
    unsigned int lead = busy[i].lead;
    apr_time_t now = acmpca_mono_now(), until = now + pace_rest(i, now);

    busy[i].state = PACING;
    while (now < until && busy[i].lead == lead) {
        acmpca_cond_wait_until(&busy_handed, &busy_lock, until);
        now = acmpca_mono_now();
    }
    if (busy[i].lead != lead) {
        return 0;
    }
    busy[i].state = BUILDING;
    busy[i].dirty = 0;
    busy[i].pass_from = now;
    return 1;
}

/* Under busy_lock: the slot of ca_id, or -1. */
static int slot_of(const char *ca_id)
{
    int i;

    for (i = 0; i < BUSY_SLOTS; i++) {
        if (!strcmp(busy[i].ca_id, ca_id)) {
            return i;
        }
    }
    return -1;
}

/* Under busy_lock: does a revocation that comes now leave slot i to its builder, whose
 * next pass has it? Otherwise it takes over (from a builder that has built enough
 * for others, or one that waits to go again), or builds on an idle slot. */
static int covered(int i)
{
    return busy[i].state == BUILDING
               ? busy[i].passes < ACMPCA_CRL_BUILDER_PASSES || busy[i].successor != NO_SUCCESSOR
               : busy[i].state == PACING && !busy[i].built; /* its first pass is after us */
}

int acmpca_crl_busy_claim(const char *ca_id, int *took_over)
{
    apr_time_t now = acmpca_mono_now();
    int i, slot = -2, free_slot = -2;

    pthread_once(&busy_once, busy_init);
    *took_over = 0;
    pthread_mutex_lock(&busy_lock);
    for (i = 0; i < BUSY_SLOTS; i++) {
        if (!strcmp(busy[i].ca_id, ca_id)) {
            slot = i;
            break;
        }
        /* A free slot, or an idle one whose pace holds nothing back any more. */
        if (free_slot == -2
            && (!busy[i].ca_id[0] || (busy[i].state == IDLE && busy[i].next_from <= now))) {
            free_slot = i;
        }
    }
    if (slot >= 0 && busy[slot].state == BUILDING) {
        busy[slot].dirty = 1;
    }
    if (slot >= 0 && covered(slot)) {
        pthread_mutex_unlock(&busy_lock);
        return -1;
    }
    if (slot >= 0 && busy[slot].state == BUILDING) {
        busy[slot].successor = SUCCESSOR_WAITS;
        while (busy[slot].successor != SUCCESSOR_LEADS) {
            pthread_cond_wait(&busy_handed, &busy_lock);
        }
        busy[slot].successor = NO_SUCCESSOR;
        *took_over = 1;
    }
    else if (slot >= 0 && busy[slot].state == PACING) {
        busy[slot].lead++; /* the builder waiting to go again leaves it to us */
        pthread_cond_broadcast(&busy_handed);
        *took_over = 1;
    }
    else if (slot < 0 && (slot = free_slot) >= 0) {
        apr_cpystrn(busy[slot].ca_id, ca_id, sizeof(busy[slot].ca_id));
        busy[slot].next_from = 0;
    }
    if (slot >= 0) {
        busy[slot].built = 0;
        busy[slot].passes = 0;
        busy[slot].successor = NO_SUCCESSOR;
        pace_then_build(slot); /* only a builder that has built is ever taken over */
    }
    pthread_mutex_unlock(&busy_lock);
    return slot;
}

apr_interval_time_t acmpca_crl_busy_wait(const char *ca_id)
{
    apr_time_t now = acmpca_mono_now();
    apr_interval_time_t wait = 0, last;
    int i;

    pthread_mutex_lock(&busy_lock);
    if ((i = slot_of(ca_id)) >= 0 && !covered(i)) {
        last = busy[i].last_pass;
        if (busy[i].state == BUILDING) { /* the rest of its pass, a pace, ours */
            wait = busy[i].pass_from + last > now ? busy[i].pass_from + last - now : 0;
            wait = (wait > last ? last : wait) + (ACMPCA_CRL_PACE + 1) * last;
        }
        else { /* idle or pacing: the rest of the pace (pace_then_build's), then our pass */
            wait = pace_rest(i, now) + last;
        }
    }
    pthread_mutex_unlock(&busy_lock);
    return wait;
}

apr_interval_time_t acmpca_crl_busy_pace_left(const char *ca_id)
{
    apr_time_t now = acmpca_mono_now();
    apr_interval_time_t left = 0;
    int i;

    pthread_mutex_lock(&busy_lock);
    if ((i = slot_of(ca_id)) >= 0 && busy[i].state != BUILDING) {
        left = pace_rest(i, now);
    }
    pthread_mutex_unlock(&busy_lock);
    return left;
}

int acmpca_crl_busy_release(int slot, int keep, int hand_off)
{
    apr_time_t now = acmpca_mono_now();
    int again;

    if (slot < 0) {
        return keep && hand_off ? ACMPCA_CRL_BUSY_OWED : keep;
    }
    pthread_mutex_lock(&busy_lock);
    busy[slot].last_pass = now - busy[slot].pass_from;
    busy[slot].next_from = now + ACMPCA_CRL_PACE * busy[slot].last_pass;
    if (busy[slot].successor == SUCCESSOR_WAITS) { /* it builds next, for keep's host too */
        busy[slot].successor = SUCCESSOR_LEADS;
        busy[slot].state = PACING;
        busy[slot].built = 0; /* newcomers leave it to the successor's pass */
        pthread_cond_broadcast(&busy_handed);
        pthread_mutex_unlock(&busy_lock);
        return 0;
    }
    again = busy[slot].dirty || keep;
    if (!again) {
        busy[slot].state = IDLE;
    }
    else if (hand_off) { /* the next pass is the caller's to pass on: it claims anew */
        busy[slot].state = IDLE;
        again = ACMPCA_CRL_BUSY_OWED;
    }
    else {
        busy[slot].passes++;
        busy[slot].built = 1;
        again = pace_then_build(slot);
    }
    pthread_mutex_unlock(&busy_lock);
    return again;
}
