/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * When a process may answer from the CA records it keeps (memo.c) instead of asking Redis.
 *
 * Nearly every request reads its CA's record; on the redis store each read was a round
 * trip, which held GetCertificateAuthorityCertificate to 0.54x and a small CRL download
 * to 0.69x of httpd's static file of the same size. Every write of the provider that
 * changes a CA record (ca_update, ca_purge, a load) also publishes the CA's id on
 * ACMPCA_REDIS_CHANNEL, in the same script. Each process subscribes to it from a thread of
 * its own (the watch), and a notice moves the generation of its CA's bucket: every memo
 * made from a read before the notice is stale from then on, in every thread.
 *
 * Memos are used only while the watch is known to hear: it has subscribed, a notice it
 * published itself through an ordinary connection came back (the ACL lets this user both
 * publish and subscribe), and the server answered a PING or sent a notice within the last
 * WATCH_LIVE. Otherwise (starting, a lost connection, a failover: the store's loss epoch
 * moved) every read goes to Redis, and once the watch hears again, memos made before are
 * stale (the state moved). So a write made on another host shows here as soon as its
 * notice arrives, about when the writer hears back; a memo is never older than
 * WATCH_LIVE when the watch goes deaf. This process's own writes (and the conflicts its
 * writes met, which say a memo was stale) move the bucket before their caller hears
 * back. Writes that bypass the provider (redis-cli) are not seen: the store is the
 * module's to write.
 *
 * The thread is started on first use in each process (never inherited across fork()) and
 * stopped when the pool given at creation goes. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/util.h"
#include "redis_int.h"

#define WATCH_PING_MS      250 /* a PING when nothing came for this long */
#define WATCH_LIVE         apr_time_from_msec(1000)
#define WATCH_RETRY_MS     1000 /* between attempts to subscribe, doubling up to ... */
#define WATCH_RETRY_MAX_MS 30000
#define PROBE_PREFIX       "probe:"
#define BUCKETS            256

/* Per process, shared by every store: a bucket's generation moves with each notice or
 * own write of a CA whose id hashes to it. */
static volatile apr_uint32_t bucket_gen[BUCKETS];

struct acmpca_redis_watch_t {
    acmpca_redis_open_fn *open;
    void *baton;
    const volatile apr_uint32_t *loss; /* the store's loss epoch */
    const char *target;
    pthread_mutex_t lock; /* guards starting */
    pid_t pid;            /* the process the watch was started in; 0: none */
    int running;          /* its thread could be started (else memos stay off there) */
    pthread_t thread;
    int wake[2]; /* a byte on wake[1] stops the thread */
    int fd;      /* the subscribed socket, for a forked child to close */
    volatile int stop;
    volatile apr_uint64_t state; /* odd: not hearing */
    apr_time_t heard;            /* the last reply of the subscribed connection (atomic) */
    unsigned int probes;
    int warned; /* a failure to subscribe was logged since the last success */
};

static unsigned int bucket_of(const char *id)
{
    unsigned int h = 2166136261u; /* FNV-1a */

    for (; *id; id++) {
        h = (h ^ (unsigned char)*id) * 16777619u;
    }
    return h % BUCKETS;
}

void acmpca_redis_watch_changed(const char *id)
{
    __atomic_add_fetch(&bucket_gen[bucket_of(id)], 1, __ATOMIC_SEQ_CST);
}

static void state_set(acmpca_redis_watch_t *w, int hearing)
{
    apr_uint64_t s = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);

    if ((s & 1) == (apr_uint64_t)hearing) { /* odd and hearing, or even and deaf */
        __atomic_store_n(&w->state, s + 1, __ATOMIC_SEQ_CST);
    }
}

/* ************************************************************************************
 * The thread
 */

/* Wait up to ms for the socket (or a stop): 1 when it has bytes to read. */
static int wait_readable(acmpca_redis_watch_t *w, int fd, int ms)
{
    struct pollfd pfd[2] = {{w->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};

    if (poll(pfd, fd >= 0 ? 2 : 1, ms) <= 0 || pfd[0].revents) {
        return 0;
    }
    return (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

/* The next reply read from ctx within ms, or NULL (none yet: *broken 0; lost: 1). */
static redisReply *next_reply(acmpca_redis_watch_t *w, redisContext *ctx, int ms, int *broken)
{
    void *r = NULL;

    *broken = 0;
    if (redisGetReplyFromReader(ctx, &r) != REDIS_OK) {
        *broken = 1;
        return NULL;
    }
    if (!r && wait_readable(w, ctx->fd, ms)
        && (redisBufferRead(ctx) != REDIS_OK || redisGetReplyFromReader(ctx, &r) != REDIS_OK)) {
        *broken = 1;
    }
    return r;
}

static int send_all(redisContext *ctx)
{
    int done = 0;

    while (!done) {
        if (redisBufferWrite(ctx, &done) != REDIS_OK) {
            return 0;
        }
    }
    return 1;
}

/* A published notice: its text, or NULL for any other reply (PING's, SUBSCRIBE's). */
static const char *notice_of(const redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->str
        && !strcmp(r->element[0]->str, "message") && r->element[2]->type == REDIS_REPLY_STRING) {
        return r->element[2]->str;
    }
    return NULL;
}

/* A notice names a CA whose record changed, or is a probe (of this or another process). */
static void take_notice(const char *text)
{
    if (strncmp(text, PROBE_PREFIX, sizeof(PROBE_PREFIX) - 1)) {
        acmpca_redis_watch_changed(text);
    }
}

/* Publish probe through a connection of its own: 1 when the server took it. */
static int publish(acmpca_redis_watch_t *w, const char *probe, apr_pool_t *p)
{
    redisContext *ctx;
    redisReply *r;
    int ok;

    if (w->open(w->baton, &ctx, p) != APR_SUCCESS) {
        return 0;
    }
    r = redisCommand(ctx, "PUBLISH %s %s", ACMPCA_REDIS_CHANNEL, probe);
    ok = r && r->type == REDIS_REPLY_INTEGER;
    if (r) {
        freeReplyObject(r);
    }
    redisFree(ctx);
    return ok;
}

/* Subscribe, prove that notices arrive (the probe published through another connection
 * comes back within WATCH_LIVE), then take them until the connection is lost or goes
 * quiet, the store loses one of its own, or the watch stops: 1 when it heard. */
static int watch_once(acmpca_redis_watch_t *w, apr_pool_t *p)
{
    redisContext *ctx = NULL;
    redisReply *r, *m;
    const char *text, *probe, *why = "the test notice did not come back";
    apr_uint32_t loss = __atomic_load_n(w->loss, __ATOMIC_SEQ_CST);
    apr_time_t start, pinged, now;
    int broken, hearing = 0;

    if (w->open(w->baton, &ctx, p) != APR_SUCCESS) {
        return 0;
    }
    w->fd = ctx->fd;
    probe = apr_psprintf(p, PROBE_PREFIX "%ld:%u", (long)getpid(), ++w->probes);
    r = redisCommand(ctx, "SUBSCRIBE %s", ACMPCA_REDIS_CHANNEL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        why = r && r->type == REDIS_REPLY_ERROR ? apr_pstrdup(p, r->str) : "no answer";
    }
    else if (!publish(w, probe, p)) {
        why = "the test notice could not be published";
    }
    else {
        freeReplyObject(r);
        r = NULL;
        start = pinged = apr_time_now();
        __atomic_store_n(&w->heard, start, __ATOMIC_SEQ_CST);
        while (!w->stop && __atomic_load_n(w->loss, __ATOMIC_SEQ_CST) == loss) {
            if ((m = next_reply(w, ctx, WATCH_PING_MS, &broken)) != NULL) {
                __atomic_store_n(&w->heard, apr_time_now(), __ATOMIC_SEQ_CST);
                if ((text = notice_of(m)) != NULL && !hearing && !strcmp(text, probe)) {
                    hearing = 1;
                    w->warned = 0;
                    state_set(w, 1);
                }
                else if (text) {
                    take_notice(text);
                }
                freeReplyObject(m);
                continue;
            }
            now = apr_time_now();
            /* Deaf: lost, or nothing for WATCH_LIVE (the probe's time, then a PING's). */
            if (broken
                || now - (hearing ? __atomic_load_n(&w->heard, __ATOMIC_SEQ_CST) : start)
                       > WATCH_LIVE) {
                break;
            }
            if (hearing && now - pinged >= apr_time_from_msec(WATCH_PING_MS)) {
                pinged = now;
                if (redisAppendCommand(ctx, "PING") != REDIS_OK || !send_all(ctx)) {
                    break;
                }
            }
        }
    }
    if (!hearing && !w->stop && !w->warned) {
        w->warned = 1;
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_WARNING, APR_EGENERAL, p,
                   "ACMPCA0454: redis %s: no notices on %s (%s): every read asks the server",
                   w->target, ACMPCA_REDIS_CHANNEL, why);
    }
    state_set(w, 0);
    if (r) {
        freeReplyObject(r);
    }
    w->fd = -1;
    redisFree(ctx);
    return hearing;
}

static void *watch_main(void *data)
{
    acmpca_redis_watch_t *w = data;
    apr_pool_t *p;
    int retry_ms = WATCH_RETRY_MS;

    while (!w->stop) {
        if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) == APR_SUCCESS) {
            if (watch_once(w, p)) {
                retry_ms = WATCH_RETRY_MS;
            }
            apr_pool_destroy(p);
        }
        if (!w->stop) {
            wait_readable(w, -1, retry_ms);
            retry_ms = retry_ms * 2 > WATCH_RETRY_MAX_MS ? WATCH_RETRY_MAX_MS : retry_ms * 2;
        }
    }
    return NULL;
}

/* ************************************************************************************
 * Starting and stopping
 */

static apr_status_t watch_stop(void *data)
{
    acmpca_redis_watch_t *w = data;
    char byte = 0;

    if (w->running && w->pid == acmpca_pid()) {
        w->stop = 1;
        if (write(w->wake[1], &byte, 1) < 0) { /* the thread still sees stop within a ping */
        }
        pthread_join(w->thread, NULL);
        close(w->wake[0]);
        close(w->wake[1]);
        w->running = 0;
    }
    pthread_mutex_destroy(&w->lock);
    return APR_SUCCESS;
}

acmpca_redis_watch_t *acmpca_redis_watch_create(acmpca_redis_open_fn *open, void *baton,
                                                const volatile apr_uint32_t *loss,
                                                const char *target, apr_pool_t *pool)
{
    acmpca_redis_watch_t *w = apr_pcalloc(pool, sizeof(*w));

    w->open = open;
    w->baton = baton;
    w->loss = loss;
    w->target = target;
    w->fd = -1;
    w->state = 1;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        return NULL;
    }
    apr_pool_cleanup_register(pool, w, watch_stop, apr_pool_cleanup_null);
    return w;
}

/* Under w->lock: the thread of this process, started now. What a parent left behind
 * (its pipe, its socket) is closed here; its thread does not exist in this process. A
 * thread that cannot be started is not tried again by every read: memos stay off. */
static void watch_start(acmpca_redis_watch_t *w, pid_t pid)
{
    pthread_attr_t attr;
    sigset_t all, old;
    int ok;

    if (w->running) {
        close(w->wake[0]);
        close(w->wake[1]);
        if (w->fd >= 0) {
            close(w->fd);
        }
        w->fd = -1;
        w->running = 0;
    }
    w->state |= 1;
    w->stop = 0;
    __atomic_store_n(&w->pid, pid, __ATOMIC_RELEASE);
    if (pipe(w->wake) != 0) {
        return;
    }
    /* Signals stay with httpd's own threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    ok = pthread_create(&w->thread, &attr, watch_main, w) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) {
        close(w->wake[0]);
        close(w->wake[1]);
        return;
    }
    w->running = 1;
}

int acmpca_redis_watch_now(acmpca_redis_watch_t *w, const char *id, apr_uint64_t *pgen)
{
    pid_t pid = acmpca_pid();
    apr_uint64_t state;

    if (!w) {
        return 0;
    }
    if (__atomic_load_n(&w->pid, __ATOMIC_ACQUIRE) != pid) {
        pthread_mutex_lock(&w->lock);
        if (w->pid != pid) {
            watch_start(w, pid);
        }
        pthread_mutex_unlock(&w->lock);
        return 0;
    }
    state = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
    if ((state & 1) || apr_time_now() - __atomic_load_n(&w->heard, __ATOMIC_SEQ_CST) > WATCH_LIVE) {
        return 0;
    }
    *pgen = (state << 32) | __atomic_load_n(&bucket_gen[bucket_of(id)], __ATOMIC_SEQ_CST);
    return 1;
}
