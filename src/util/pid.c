/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * This process's id without a system call.
 *
 * The store providers and the CA key cache check, on every call, that what they hold
 * was made by this process and not inherited across fork(). getpid() is a system call
 * (glibc no longer caches it): one per store call, a few per request. The id is read
 * once and renewed by a fork handler in the child, which then runs alone. */
#include <pthread.h>
#include <unistd.h>

#include "acmpca/util.h"

static pid_t pid_now;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_forked(void)
{
    pid_now = getpid();
}

static void pid_first(void)
{
    pid_now = getpid();
    pthread_atfork(NULL, NULL, pid_forked);
}

pid_t acmpca_pid(void)
{
    pthread_once(&pid_once, pid_first);
    return pid_now;
}
