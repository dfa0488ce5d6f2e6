/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * What every fuzz target shares: the libFuzzer entry points, a process-wide APR pool with
 * a fresh subpool per input, and an invariant check that aborts loudly, so that a wrong
 * answer fails the replay in `make test` as a crash would (t/fuzz/README.md). */
#ifndef ACMPCA_FUZZ_H
#define ACMPCA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "acmpca/log.h"

/* LeakSanitizer cannot see pointers kept in APR pool memory (the allocator maps it with
 * mmap, which LSan does not scan), so what a fixture keeps for the whole process in the
 * root pool would be reported as leaked. Fixtures are made with LSan switched off; every
 * input's own pool is destroyed before LSan looks, so per-input leaks are still found. */
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HAVE_LSAN 1
#endif
#endif
#ifdef FUZZ_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#define FUZZ_FIXTURE_BEGIN() __lsan_disable()
#define FUZZ_FIXTURE_END()   __lsan_enable()
#else
#define FUZZ_FIXTURE_BEGIN() ((void)0)
#define FUZZ_FIXTURE_END()   ((void)0)
#endif

/* libFuzzer calls these; t/fuzz/replay.c calls them when libFuzzer is not linked. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding, as a crash is: say which and abort. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static apr_pool_t *fuzz_root;

/* FUZZ_VERBOSE=1 in the environment: targets say what each input came to (to check that a
 * corpus reaches the paths it was written for: `FUZZ_VERBOSE=1 build/fuzz/fuzz_x dir`). */
static inline int fuzz_verbose(void)
{
    static int verbose = -1;

    if (verbose < 0) {
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    }
    return verbose;
}

/* Once per process: APR up, the core's log silent (it is a target, not a witness). */
static inline apr_pool_t *fuzz_init(void)
{
    if (!fuzz_root) {
        if (apr_initialize() != APR_SUCCESS || apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            fprintf(stderr, "fuzz: cannot initialise APR\n");
            abort();
        }
        acmpca_log_set(NULL, ACMPCA_LOG_EMERG, NULL);
    }
    return fuzz_root;
}

/* A pool for one input; destroy it when the input is done, so that a leak per input shows
 * up under LeakSanitizer and valgrind rather than hiding in a pool that lives forever. */
static inline apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, fuzz_init()) != APR_SUCCESS) {
        abort();
    }
    return p;
}

/* The input as a NUL-terminated string in p (parsers of text take C strings). */
static inline const char *fuzz_cstr(const uint8_t *data, size_t size, apr_pool_t *p)
{
    char *s = apr_palloc(p, size + 1);

    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

/* Split off the first line of the input (without its '\n'); *prest and *prest_len get the
 * remainder. Targets that take several fields use one line each. */
static inline const char *fuzz_line(const uint8_t **pdata, size_t *psize, apr_pool_t *p)
{
    const uint8_t *nl = memchr(*pdata, '\n', *psize);
    size_t n = nl ? (size_t)(nl - *pdata) : *psize;
    const char *line = fuzz_cstr(*pdata, n, p);

    *pdata += nl ? n + 1 : n;
    *psize -= nl ? n + 1 : n;
    return line;
}

#endif
