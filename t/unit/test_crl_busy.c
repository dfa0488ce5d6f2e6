/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * One CRL build per CA at a time in a process (src/ops/crl_busy.c): revocations that
 * arrive during a build are coalesced into the builder's next pass, and after
 * ACMPCA_CRL_BUILDER_PASSES such passes a newcomer takes over; passes are paced. */
#include <pthread.h>
#include <unistd.h>
#include "unit.h"
#include "acmpca/util.h"
#include "../../src/ops/ops_int.h"

/* Coalescing: later arrivals mark the slot dirty and leave; the builder goes again once
 * for all of them, then releases the slot, which the next claim gets afresh. Other CAs
 * have slots of their own. */
static void test_busy_coalesces(void **state)
{
    int slot, other, took_over;

    (void)state;
    slot = acmpca_crl_busy_claim("ca-coalesce", &took_over);
    assert_true(slot >= 0);
    assert_false(took_over);
    assert_int_equal(acmpca_crl_busy_claim("ca-coalesce", &took_over), -1);
    assert_int_equal(acmpca_crl_busy_claim("ca-coalesce", &took_over), -1);
    other = acmpca_crl_busy_claim("ca-other", &took_over);
    assert_true(other >= 0 && other != slot);
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 1);  /* one more pass for both */
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);  /* nothing new: released */
    assert_int_equal(acmpca_crl_busy_release(other, 1, 0), 1); /* keep: another host wants one */
    assert_int_equal(acmpca_crl_busy_release(other, 0, 0), 0);
    slot = acmpca_crl_busy_claim("ca-coalesce", &took_over);
    assert_true(slot >= 0);
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);
}

typedef struct {
    int slot, took_over;
    volatile int done;
} newcomer_t;

static void *newcomer(void *arg)
{
    newcomer_t *n = arg;

    n->slot = acmpca_crl_busy_claim("ca-handover", &n->took_over);
    __atomic_store_n(&n->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A builder that built ACMPCA_CRL_BUILDER_PASSES times for others hands over: the next
 * arrival waits for the pass under way, then leads with a clean slot, and the builder's
 * release says stop. Arrivals while the newcomer waits only mark the slot dirty. */
static void test_busy_hands_over(void **state)
{
    newcomer_t n = {0, 0, 0};
    pthread_t t;
    int slot, took_over, i;

    (void)state;
    slot = acmpca_crl_busy_claim("ca-handover", &took_over);
    assert_true(slot >= 0);
    for (i = 0; i < ACMPCA_CRL_BUILDER_PASSES; i++) {
        assert_int_equal(acmpca_crl_busy_claim("ca-handover", &took_over), -1);
        assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 1);
    }
    assert_int_equal(pthread_create(&t, NULL, newcomer, &n), 0);
    /* It waits for the builder's pass: it cannot have the slot before the release. */
    for (i = 0; i < 50 && !__atomic_load_n(&n.done, __ATOMIC_ACQUIRE); i++) {
        usleep(2000);
    }
    assert_false(__atomic_load_n(&n.done, __ATOMIC_ACQUIRE));
    assert_int_equal(acmpca_crl_busy_claim("ca-handover", &took_over), -1); /* one waits */
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);               /* handed over: stop */
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(n.slot, slot);
    assert_true(n.took_over);
    /* The newcomer's first pass has everything so far: nothing left, released. */
    assert_int_equal(acmpca_crl_busy_release(n.slot, 0, 0), 0);
    slot = acmpca_crl_busy_claim("ca-handover", &took_over);
    assert_true(slot >= 0);
    assert_false(took_over);
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);
}

#define PASS_MS 20

/* After a pass of d, the CA's next pass begins ACMPCA_CRL_PACE * d later: the claim
 * waits for it. Another CA is not held back. */
static void test_busy_paces(void **state)
{
    apr_time_t t;
    int slot, other, took_over;

    (void)state;
    slot = acmpca_crl_busy_claim("ca-pace", &took_over);
    assert_true(slot >= 0);
    usleep(PASS_MS * 1000);
    t = acmpca_mono_now(); /* the pass ends after this: the next begins 3 passes after t at least */
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);
    other = acmpca_crl_busy_claim("ca-pace-other", &took_over);
    assert_true(other >= 0 && other != slot);
    assert_int_equal(acmpca_crl_busy_release(other, 0, 0), 0);
    slot = acmpca_crl_busy_claim("ca-pace", &took_over);
    assert_true(slot >= 0);
    assert_false(took_over);
    assert_true(acmpca_mono_now() - t >= apr_time_from_msec(ACMPCA_CRL_PACE * PASS_MS - 1));
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);
}

typedef struct {
    int slot, again;
    volatile int pacing;
} builder_t;

/* A pass of PASS_MS, during which a revocation comes; then the paced release. */
static void *builder(void *arg)
{
    builder_t *b = arg;

    usleep(PASS_MS * 1000);
    __atomic_store_n(&b->pacing, 1, __ATOMIC_RELEASE);
    b->again = acmpca_crl_busy_release(b->slot, 0, 0);
    return NULL;
}

/* A builder that waits for the pace to go again for others gives the lead up to the
 * next revocation, which builds after the pace; a revocation that arrives while a new
 * lead waits for its first pass leaves it to that pass. */
static void test_busy_pacer_taken_over(void **state)
{
    builder_t b = {0, -1, 0};
    pthread_t t;
    int slot, took_over, i;

    (void)state;
    b.slot = acmpca_crl_busy_claim("ca-lead", &took_over);
    assert_true(b.slot >= 0);
    assert_int_equal(acmpca_crl_busy_claim("ca-lead", &took_over), -1); /* dirty */
    assert_int_equal(pthread_create(&t, NULL, builder, &b), 0);
    for (i = 0; i < 500 && !__atomic_load_n(&b.pacing, __ATOMIC_ACQUIRE); i++) {
        usleep(1000);
    }
    /* Until the builder paces (its pace is three passes long), a claim only marks the
     * slot dirty. */
    for (i = 0; i < 500 && (slot = acmpca_crl_busy_claim("ca-lead", &took_over)) == -1; i++) {
        usleep(1000);
    }
    assert_int_equal(slot, b.slot);
    assert_true(took_over);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(b.again, 0); /* it left the pass to us */
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);
}

typedef struct {
    int slot, took_over;
    volatile int claimed;
} pacer_t;

static void *fresh_lead(void *arg)
{
    pacer_t *n = arg;

    n->slot = acmpca_crl_busy_claim("ca-fresh", &n->took_over);
    __atomic_store_n(&n->claimed, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_busy_fresh_lead_covers(void **state)
{
    pacer_t n = {0, 0, 0};
    pthread_t t;
    int slot, took_over;

    (void)state;
    slot = acmpca_crl_busy_claim("ca-fresh", &took_over);
    usleep(PASS_MS * 1000);
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 0), 0);
    assert_int_equal(pthread_create(&t, NULL, fresh_lead, &n), 0); /* waits for the pace */
    usleep(PASS_MS * 1000);
    assert_false(__atomic_load_n(&n.claimed, __ATOMIC_ACQUIRE));
    assert_int_equal(acmpca_crl_busy_claim("ca-fresh", &took_over), -1);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(n.slot, slot);
    assert_false(n.took_over);
    assert_int_equal(acmpca_crl_busy_release(n.slot, 0, 0), 0); /* nothing after its pass */
}

/* A revocation that builds one pass only (hand_off): one that came during its pass, or
 * another host's wish, makes its release say another pass is owed, and leaves the slot
 * to whoever claims it next (the process's CRL builder). What a revocation would wait:
 * nothing for a CA never built here or while a builder will go again; after a pass, the
 * rest of the pace and a pass. */
static void test_busy_hand_off_and_wait(void **state)
{
    apr_interval_time_t w;
    int slot, took_over;

    (void)state;
    assert_int_equal(acmpca_crl_busy_wait("ca-handoff"), 0);
    slot = acmpca_crl_busy_claim("ca-handoff", &took_over);
    assert_true(slot >= 0);
    assert_int_equal(acmpca_crl_busy_wait("ca-handoff"), 0);
    usleep(PASS_MS * 1000);
    assert_int_equal(acmpca_crl_busy_claim("ca-handoff", &took_over), -1); /* dirty */
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 1), ACMPCA_CRL_BUSY_OWED);
    w = acmpca_crl_busy_wait("ca-handoff");
    assert_true(w >= apr_time_from_msec((ACMPCA_CRL_PACE + 1) * PASS_MS - 2));
    slot = acmpca_crl_busy_claim("ca-handoff", &took_over); /* free: the pace, then ours */
    assert_true(slot >= 0);
    assert_false(took_over);
    assert_int_equal(acmpca_crl_busy_release(slot, 1, 1), ACMPCA_CRL_BUSY_OWED);
    slot = acmpca_crl_busy_claim("ca-handoff", &took_over);
    assert_true(slot >= 0);
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 1), 0); /* nothing new: done */
}

/* What the CRL builder thread asks before it claims a queued CA: how long the CA's pace
 * still holds its next pass back. Nothing for a CA never built here, nor during a
 * pass; after a pass of d, ACMPCA_CRL_PACE * d less the time gone by since; nothing
 * once that is over. */
static void test_busy_pace_left(void **state)
{
    apr_interval_time_t left;
    int slot, took_over;

    (void)state;
    assert_int_equal(acmpca_crl_busy_pace_left("ca-left"), 0);
    slot = acmpca_crl_busy_claim("ca-left", &took_over);
    assert_true(slot >= 0);
    assert_int_equal(acmpca_crl_busy_pace_left("ca-left"), 0);
    usleep(PASS_MS * 1000);
    assert_int_equal(acmpca_crl_busy_release(slot, 0, 1), 0);
    left = acmpca_crl_busy_pace_left("ca-left");
    assert_true(left >= apr_time_from_msec(ACMPCA_CRL_PACE * PASS_MS - 10));
    usleep((useconds_t)left + 1000);
    assert_int_equal(acmpca_crl_busy_pace_left("ca-left"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_busy_coalesces),        UNIT_TEST(test_busy_hand_off_and_wait),
        UNIT_TEST(test_busy_hands_over),       UNIT_TEST(test_busy_paces),
        UNIT_TEST(test_busy_pacer_taken_over), UNIT_TEST(test_busy_fresh_lead_covers),
        UNIT_TEST(test_busy_pace_left),
    };

    return cmocka_run_group_tests_name("crl_busy", tests, unit_group_setup, unit_group_teardown);
}
