/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The CRL builder of a process: one thread that republishes the CRLs of revocations that
 * did not wait for them (acmpca_crl_revoker_builds), so that a CRL which has grown slow
 * to build costs the revoking request nothing. The revocation is on the CRL moments after
 * the answer instead of before it, still long before the 30 minutes AWS allows; OCSP
 * answers "revoked" at once either way.
 *
 * The thread starts with the process's first queued CA and stops with the process
 * (acmpca_crl_builder_stop, a pre-cleanup of the child's pool: the store must outlive
 * it). It builds one pass of one queued CA at a time (acmpca_crl_publish_queued): the
 * first in the queue whose pace (crl_busy.c) lets its next pass begin now, so that a CA
 * that waits for its pace holds no other back. A build that runs elsewhere in the
 * process takes the revocation instead; the store's lock does so across processes and
 * hosts. Revocations that come during a pass queue the CA again. A CA left queued when
 * the process goes is the CRL job's: it repairs a CRL that lacks revocations
 * (crl_job.c). */
#include <pthread.h>
#include <string.h>

#include <apr_allocator.h>
#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define QUEUE_SLOTS 64
#define ARN_BYTES   160 /* arn:aws:acm-pca:<region>:<account>:certificate-authority/<uuid> */
#define MAX_FREE    (2 * 1024 * 1024) /* bytes the builder's allocator keeps between passes */

typedef struct queued_ca {
    const acmpca_env_t *env;
    char account[16];
    char arn[ARN_BYTES]; /* the CA's id follows its last '/' */
} queued_ca;

static pthread_mutex_t builder_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t builder_wake; /* on CLOCK_MONOTONIC: see builder_init */
static pthread_once_t builder_once = PTHREAD_ONCE_INIT;
static struct {
    pid_t pid; /* of the process whose thread runs; 0: none */
    pthread_t thread;
    int stopping;
    int n;
    queued_ca queue[QUEUE_SLOTS];
} builder;

static void builder_init(void)
{
    acmpca_cond_init_mono(&builder_wake);
}

/* Under builder_lock: the first queued CA whose pace lets its next pass begin now into
 * *out, once there is one; 0 once the builder is to stop. */
static int next_ca(queued_ca *out)
{
    apr_interval_time_t left, soonest;
    int i;

    for (;;) {
        while (!builder.n && !builder.stopping) {
            pthread_cond_wait(&builder_wake, &builder_lock);
        }
        if (builder.stopping) {
            return 0;
        }
        for (i = 0, soonest = 0; i < builder.n; i++) {
            if ((left = acmpca_crl_busy_pace_left(strrchr(builder.queue[i].arn, '/') + 1)) == 0) {
                *out = builder.queue[i];
                builder.n--;
                memmove(&builder.queue[i], &builder.queue[i + 1],
                        (size_t)(builder.n - i) * sizeof(queued_ca));
                return 1;
            }
            soonest = soonest && soonest < left ? soonest : left;
        }
        acmpca_cond_wait_until(&builder_wake, &builder_lock, acmpca_mono_now() + soonest);
    }
}

static void *builder_main(void *arg)
{
    apr_allocator_t *a;
    apr_pool_t *p = NULL;
    queued_ca ca;
    int left;
    (void)arg;

    /* A pool with an allocator of its own (nothing here contends with the workers) that
     * gives a big CRL's memory back once it is written. */
    if (apr_allocator_create(&a) == APR_SUCCESS) {
        apr_allocator_max_free_set(a, MAX_FREE);
        if (apr_pool_create_unmanaged_ex(&p, NULL, a) == APR_SUCCESS) {
            apr_allocator_owner_set(a, p);
        }
        else {
            apr_allocator_destroy(a);
            p = NULL;
        }
    }
    pthread_mutex_lock(&builder_lock);
    while (next_ca(&ca)) {
        pthread_mutex_unlock(&builder_lock);
        if (p) {
            acmpca_op_ctx_t sys;

            acmpca_ops_system_ctx(&sys, ca.env, ca.account, apr_time_now());
            acmpca_crl_publish_queued(&sys, ca.arn, p);
            apr_pool_clear(p);
        }
        pthread_mutex_lock(&builder_lock);
    }
    left = builder.n;
    pthread_mutex_unlock(&builder_lock);
    if (p) {
        if (left) {
            acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_INFO, 0, p,
                       "ACMPCA0713: the process exits with %d CRLs left to build: the CRL job "
                       "republishes them",
                       left);
        }
        apr_pool_destroy(p);
    }
    return NULL;
}

/* Under builder_lock: this process's builder runs, started now if need be. A thread
 * inherited through fork is not running in this process: its state is forgotten. */
static int builder_running(void)
{
    pid_t pid = acmpca_pid();

    if (builder.pid == pid) {
        return 1;
    }
    builder.pid = 0;
    builder.n = 0;
    builder.stopping = 0;
    if (pthread_create(&builder.thread, NULL, builder_main, NULL) != 0) {
        return 0;
    }
    builder.pid = pid;
    return 1;
}

int acmpca_crl_builder_queue(const acmpca_env_t *env, const char *account, const char *ca_arn)
{
    int i, queued = 0;

    if (strlen(ca_arn) >= ARN_BYTES || strlen(account) >= sizeof(builder.queue[0].account)
        || !strchr(ca_arn, '/')) {
        return 0;
    }
    pthread_once(&builder_once, builder_init);
    pthread_mutex_lock(&builder_lock);
    if (builder.stopping || !builder_running()) {
        pthread_mutex_unlock(&builder_lock);
        return 0;
    }
    for (i = 0; i < builder.n && !queued; i++) {
        queued = builder.queue[i].env == env && !strcmp(builder.queue[i].arn, ca_arn);
    }
    if (!queued && builder.n < QUEUE_SLOTS) {
        queued_ca *q = &builder.queue[builder.n++];

        q->env = env;
        apr_cpystrn(q->account, account, sizeof(q->account));
        apr_cpystrn(q->arn, ca_arn, sizeof(q->arn));
        queued = 1;
        pthread_cond_signal(&builder_wake);
    }
    pthread_mutex_unlock(&builder_lock);
    return queued;
}

void acmpca_crl_builder_stop(void)
{
    pthread_t thread;

    pthread_mutex_lock(&builder_lock);
    if (builder.pid != acmpca_pid()) {
        pthread_mutex_unlock(&builder_lock);
        return;
    }
    builder.stopping = 1;
    thread = builder.thread;
    pthread_cond_broadcast(&builder_wake);
    pthread_mutex_unlock(&builder_lock);
    /* Waits for a pass under way: it uses the store, which goes after this. */
    pthread_join(thread, NULL);
    pthread_mutex_lock(&builder_lock);
    builder.pid = 0;
    builder.n = 0;
    pthread_mutex_unlock(&builder_lock);
}
