/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Per-thread objects (util.h): a pthread key made once per slot, the object made on a
 * thread's first use and destroyed when the thread exits. */
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
