/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * GetCertificate's per-process cache of quoted certificates (src/ops/cert_cache.c): a
 * hit only for the very key that was kept (store, CA id, CA creation sequence, serial),
 * copies that belong to the caller's pool, a bound on what it holds, and threads
 * reading and writing colliding slots at once without ever seeing another key's text. */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "../../src/ops/ops_int.h"

#define CA_ID  "0b3a4c1e-9a51-4b0e-8d57-3c2f6f1d9a10"
#define CA_ID2 "6f1d9a10-3c2f-4b0e-8d57-0b3a4c1e9a51"

static int store_a, store_b; /* two stores: only their addresses matter */

static acmpca_ca_rec_t ca_rec(const char *id, apr_int64_t seq)
{
    acmpca_ca_rec_t rec = {id, "123456789012", seq, 1, "{}"};
    return rec;
}

static int cache_setup(void **state)
{
    acmpca_cert_cache_clear();
    return unit_pool_setup(state);
}

static void test_miss_then_hit(void **state)
{
    apr_pool_t *p = *state;
    acmpca_ca_rec_t ca = ca_rec(CA_ID, 7);
    const char *q = NULL,
               *pem = "\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\"";
    apr_size_t len = 0;
    int self = -1;

    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0a1b", p),
                     APR_NOTFOUND);
    acmpca_cert_cache_put(&store_a, &ca, "0a1b", pem, 0);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0a1b", p), APR_SUCCESS);
    assert_string_equal(q, pem);
    assert_int_equal(len, strlen(pem));
    assert_int_equal(self, 0);
    assert_ptr_not_equal(q, pem); /* a copy of the caller's */

    /* A self-signed one keeps its flag. */
    acmpca_cert_cache_put(&store_a, &ca, "0c", "\"root\"", 1);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0c", p), APR_SUCCESS);
    assert_string_equal(q, "\"root\"");
    assert_int_equal(self, 1);
}

/* Each part of the key tells entries apart. */
static void test_key_exact(void **state)
{
    apr_pool_t *p = *state;
    acmpca_ca_rec_t ca = ca_rec(CA_ID, 7), other_id = ca_rec(CA_ID2, 7);
    acmpca_ca_rec_t other_seq = ca_rec(CA_ID, 8);
    const char *q;
    apr_size_t len;
    int self;

    acmpca_cert_cache_put(&store_a, &ca, "0a1b", "\"a\"", 0);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_b, &ca, "0a1b", p),
                     APR_NOTFOUND);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &other_id, "0a1b", p),
                     APR_NOTFOUND);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &other_seq, "0a1b", p),
                     APR_NOTFOUND);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0a1c", p),
                     APR_NOTFOUND);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0a1", p), APR_NOTFOUND);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0A1B", p),
                     APR_NOTFOUND);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0a1b", p), APR_SUCCESS);
    assert_string_equal(q, "\"a\"");

    /* After clear nothing is left. */
    acmpca_cert_cache_clear();
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "0a1b", p),
                     APR_NOTFOUND);
}

/* Keys too long for a slot are never kept (and never confused with a shorter one). */
static void test_long_keys(void **state)
{
    apr_pool_t *p = *state;
    acmpca_ca_rec_t ca = ca_rec(CA_ID, 1);
    acmpca_ca_rec_t long_id = ca_rec(apr_pstrcat(p, CA_ID, "-0123456789", NULL), 1);
    const char *serial = "0123456789abcdef0123456789abcdef0123456789abcdef0123"; /* 52 */
    const char *q;
    apr_size_t len;
    int self;

    acmpca_cert_cache_put(&store_a, &ca, serial, "\"x\"", 0);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, serial, p),
                     APR_NOTFOUND);
    acmpca_cert_cache_put(&store_a, &long_id, "0a", "\"y\"", 0);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &long_id, "0a", p),
                     APR_NOTFOUND);
}

/* Bounded: of many more certificates than slots, at most the slots' worth stay, and the
 * last one kept is there. */
static void test_bounded(void **state)
{
    apr_pool_t *p = *state;
    acmpca_ca_rec_t ca = ca_rec(CA_ID, 3);
    const char *q;
    apr_size_t len;
    int i, self, hits = 0;

    for (i = 0; i < 10000; i++) {
        const char *serial = apr_psprintf(p, "%x", 0x100000 + i);
        acmpca_cert_cache_put(&store_a, &ca, serial, apr_psprintf(p, "\"%s\"", serial), 0);
    }
    for (i = 0; i < 10000; i++) {
        const char *serial = apr_psprintf(p, "%x", 0x100000 + i);
        if (acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, serial, p) == APR_SUCCESS) {
            assert_string_equal(q, apr_psprintf(p, "\"%s\"", serial));
            hits++;
        }
    }
    assert_true(hits > 0 && hits <= 2048);
    assert_int_equal(acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, "10270f", p),
                     APR_SUCCESS);
}

/* Threads keep and read 4,096 keys (more than the slots, so they collide and replace
 * each other); every hit must be its own key's text. */
#define THREADS 8
#define ROUNDS  20000

static void *APR_THREAD_FUNC hammer(apr_thread_t *t, void *data)
{
    int *bad = data, i;
    apr_pool_t *p;
    acmpca_ca_rec_t ca = ca_rec(CA_ID, 5);
    unsigned int x = (unsigned int)(apr_uintptr_t)t;

    apr_pool_create(&p, NULL);
    for (i = 0; i < ROUNDS; i++) {
        char serial[16], text[40];
        const char *q;
        apr_size_t len;
        int self;

        x = x * 1103515245u + 12345u;
        snprintf(serial, sizeof(serial), "%x", (x >> 8) & 4095);
        snprintf(text, sizeof(text), "\"cert %s\"", serial);
        if (acmpca_cert_cache_get(&q, &len, &self, &store_a, &ca, serial, p) == APR_SUCCESS) {
            if (strcmp(q, text) || len != strlen(text) || self != (int)(serial[0] & 1)) {
                (*bad)++;
            }
        }
        else {
            acmpca_cert_cache_put(&store_a, &ca, serial, text, serial[0] & 1);
        }
        if (i % 256 == 0) {
            apr_pool_clear(p);
        }
    }
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_threads(void **state)
{
    apr_pool_t *p = *state;
    apr_thread_t *t[THREADS];
    int bad[THREADS] = {0}, i;
    apr_status_t rv;

    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_create(&t[i], NULL, hammer, &bad[i], p), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
        assert_int_equal(bad[i], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_miss_then_hit, cache_setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_key_exact, cache_setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_long_keys, cache_setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_bounded, cache_setup, unit_pool_teardown),
        cmocka_unit_test_setup_teardown(test_threads, cache_setup, unit_pool_teardown),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
