/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Per-thread objects (util.h): a pthread key made once per slot, the object made on a
 * thread's first use and destroyed when the thread exits. And waits on the monotonic
 * clock. */
#include <time.h>

#include "acmpca/util.h"

void *acmpca_thread_obj(acmpca_thread_slot_t *slot, int make)
{
    int state = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
    void *obj;

    if (state == 0) {
        pthread_mutex_lock(&slot->lock);
        if ((state = slot->state) == 0) {
            state = pthread_key_create(&slot->key, slot->destroy) == 0 ? 1 : -1;
            __atomic_store_n(&slot->state, state, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&slot->lock);
    }
    if (state < 0) {
        return NULL;
    }
    if (!(obj = pthread_getspecific(slot->key)) && make && (obj = slot->make()) != NULL
        && pthread_setspecific(slot->key, obj) != 0) {
        slot->destroy(obj);
        obj = NULL;
    }
    return obj;
}

apr_time_t acmpca_mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_time_t)ts.tv_sec * APR_USEC_PER_SEC + ts.tv_nsec / 1000;
}

void acmpca_cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

void acmpca_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, apr_time_t until)
{
    struct timespec ts = {(time_t)(until / APR_USEC_PER_SEC),
                          (long)(until % APR_USEC_PER_SEC) * 1000};

    pthread_cond_timedwait(c, m, &ts);
}
