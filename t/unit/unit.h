/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Shared fixture for the cmocka unit tests: a fresh APR pool per test. */
#ifndef ACMPCA_UNIT_H
#define ACMPCA_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>

/* setup/teardown pair: *state becomes an apr_pool_t * destroyed after the test. */
static inline int unit_pool_setup(void **state)
{
    apr_pool_t *p;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static inline int unit_pool_teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

static inline int unit_group_setup(void **state)
{
    (void)state;
    return apr_initialize() == APR_SUCCESS ? 0 : -1;
}

static inline int unit_group_teardown(void **state)
{
    (void)state;
    apr_terminate();
    return 0;
}

#define UNIT_TEST(f) cmocka_unit_test_setup_teardown(f, unit_pool_setup, unit_pool_teardown)

#endif
