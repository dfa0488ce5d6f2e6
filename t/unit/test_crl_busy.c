/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * One CRL build per CA at a time in a process (src/ops/crl_busy.c): revocations that
 * arrive during a build are coalesced into the builder's next pass, and after
 * ACMPCA_CRL_BUILDER_PASSES such passes a newcomer takes over. */
#include <pthread.h>
#include <unistd.h>
#include "unit.h"
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
    assert_int_equal(acmpca_crl_busy_release(slot, 0), 1);  /* one more pass for both */
    assert_int_equal(acmpca_crl_busy_release(slot, 0), 0);  /* nothing new: released */
    assert_int_equal(acmpca_crl_busy_release(other, 1), 1); /* keep: another host wants one */
    assert_int_equal(acmpca_crl_busy_release(other, 0), 0);
    slot = acmpca_crl_busy_claim("ca-coalesce", &took_over);
    assert_true(slot >= 0);
    assert_int_equal(acmpca_crl_busy_release(slot, 0), 0);
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
        assert_int_equal(acmpca_crl_busy_release(slot, 0), 1);
    }
    assert_int_equal(pthread_create(&t, NULL, newcomer, &n), 0);
    /* It waits for the builder's pass: it cannot have the slot before the release. */
    for (i = 0; i < 50 && !__atomic_load_n(&n.done, __ATOMIC_ACQUIRE); i++) {
        usleep(2000);
    }
    assert_false(__atomic_load_n(&n.done, __ATOMIC_ACQUIRE));
    assert_int_equal(acmpca_crl_busy_claim("ca-handover", &took_over), -1); /* one waits */
    assert_int_equal(acmpca_crl_busy_release(slot, 0), 0);                  /* handed over: stop */
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(n.slot, slot);
    assert_true(n.took_over);
    /* The newcomer's first pass has everything so far: nothing left, released. */
    assert_int_equal(acmpca_crl_busy_release(n.slot, 0), 0);
    slot = acmpca_crl_busy_claim("ca-handover", &took_over);
    assert_true(slot >= 0);
    assert_false(took_over);
    assert_int_equal(acmpca_crl_busy_release(slot, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_busy_coalesces),
        UNIT_TEST(test_busy_hands_over),
    };

    return cmocka_run_group_tests_name("crl_busy", tests, unit_group_setup, unit_group_teardown);
}
