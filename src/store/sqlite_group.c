/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The sqlite provider's group commit: the writes of a process's threads committed
 * together by one of them, and the processes' commit leaders taking turns. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/file.h>
#include <unistd.h>

#include <apr_strings.h>

#include <sqlite3.h>

#include "acmpca/store.h"
#include "acmpca/util.h"
#include "sqlite_int.h"

/**************************************************************************************
 * Group commit
 *
 * With synchronous = FULL every commit waits for one fsync of the WAL, under SQLite's
 * write lock: writes are serialised on the disk's flush latency (about 600 a second on
 * the benchmark VM, whatever the CPU could do). So the threads of a process hand their
 * writes (every write call of this provider) to one of them, the leader, which runs
 * every write queued so far in one transaction, each in a savepoint of its own, and
 * commits them with one fsync; each caller returns only once the commit that holds its
 * write is on disk, as before. What a write hands back (a sequence number, a counter
 * value) is handed out only after that commit.
 *
 * - A write that fails (a taken key, a missing row) is rolled back to its savepoint and
 *   fails alone; the others commit. Writes run in queue order on one connection, so
 *   uniqueness and idempotency claims decide as if they had run one after another.
 * - A failed BEGIN or COMMIT (the disk, the lock timeout) fails every write of the group:
 *   none of them is committed then.
 * - The leader leads one group, then hands over: the next group is led by one of the
 *   threads still waiting, so no caller waits for more than two commits of others.
 * - Processes (prefork's children, or several children of event) each have their own
 *   leader; the leaders take turns through a lock on the -writer file next to the
 *   database (writer_turn), which wakes the next one as soon as a commit is done, where
 *   SQLite's write lock can only be polled (busy_wait in sqlite_conn.c, still there for
 *   other writers). The writes that arrive while another process commits make the next
 *   group larger.
 *
 * What a write is (SQ_WRITES_*) and why is told in sqlite_int.h.
 */

struct sq_job_t {
    sq_write_fn *fn;
    void *baton;
    const char *op;  /* the provider function, for the log */
    int what;        /* SQ_WRITES_* flags */
    apr_pool_t *p;   /* the caller's pool: the caller sleeps while the leader uses it */
    apr_status_t rv; /* the write's own result, then the commit's when that failed */
    int lead;        /* set by the leader handing over: the caller leads the next group */
    sem_t posted;    /* posted once: the write is done, or the caller leads */
    sq_job_t *next;
};

/* A statement of the group's own, on the leader's connection. */
static apr_status_t group_exec(sq_call_t *call, stmt_id id)
{
    return acmpca_sqlite_exec(call, id, "");
}

/* Run one write in a savepoint; a write that fails is undone and fails alone. Returns
 * non-success only when the group itself cannot go on (a broken connection). */
static apr_status_t group_run_one(sq_call_t *call, sq_job_t *job)
{
    apr_status_t rv;

    call->op = job->op;
    call->p = job->p;
    if ((rv = group_exec(call, ST_SAVEPOINT)) != APR_SUCCESS) {
        job->rv = rv;
        return rv;
    }
    job->rv = job->fn(call, job->baton);
    /* Ends the write's reads before its savepoint goes, and lets the next write bind the
     * same statements to its own values. */
    acmpca_sqlite_stmts_reset(call->conn);
    if (call->broken) {
        return job->rv;
    }
    if (job->rv != APR_SUCCESS && (rv = group_exec(call, ST_ROLLBACK_TO)) != APR_SUCCESS) {
        return rv;
    }
    return group_exec(call, ST_RELEASE);
}

/* A write alone in its group runs without a savepoint: when it fails, nothing else is
 * in the transaction, which is rolled back whole (call_end). A savepoint inside BEGIN makes
 * SQLite copy every page the write overwrites to a statement journal first, in case of a
 * ROLLBACK TO: republishing a 49 MB CRL read the old CRL's 49 MB back and wrote it to a
 * temporary file. */
static apr_status_t group_run_alone(sq_call_t *call, sq_job_t *job)
{
    call->op = job->op;
    call->p = job->p;
    job->rv = job->fn(call, job->baton);
    acmpca_sqlite_stmts_reset(call->conn);
    return job->rv;
}

/* This process's turn at writing: blocks on the -writer file's lock while another
 * process's leader commits, and wakes when it lets go. SQLite's own lock, which a busy
 * handler can only poll, then is free. Returns the descriptor to unlock, or -1 when the
 * file cannot be had (a store opened without acmpca_sqlite_open): SQLite's lock alone serialises.
 */
static int writer_turn(sq_store_t *st)
{
    pid_t pid = acmpca_pid();

    if (st->writer_pid != pid) { /* only the leader gets here: no race within a process */
        const char *path = apr_pstrcat(st->pool, st->path, SQ_WRITER_SUFFIX, NULL);

        if (st->writer_fd >= 0) { /* the parent's, inherited: its lock is the parent's */
            close(st->writer_fd);
        }
        /* Read-only still takes turns; it only cannot map the generation. */
        if ((st->writer_fd = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno == EACCES) {
            st->writer_fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        st->writer_pid = pid;
        if (st->writer_fd >= 0 && !__atomic_load_n(&st->gen, __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&st->gen, acmpca_sqlite_gen_map(st->writer_fd, st->pool),
                             __ATOMIC_RELEASE);
        }
    }
    if (st->writer_fd < 0) {
        return -1;
    }
    while (flock(st->writer_fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return st->writer_fd;
}

volatile apr_uint64_t *acmpca_sqlite_gen_of(sq_store_t *st)
{
    return __atomic_load_n(&st->gen, __ATOMIC_ACQUIRE);
}

/* A writer's turn, and, for a write that may change CA records (cas), the generation
 * odd while it writes. Without the turn the generation stays odd: with writers that do
 * not take turns, memos cannot be trusted. Other writes (certificates, revocations,
 * objects, counters) leave the generation, and every thread's memos, as they are. */
static int write_turn_take(sq_store_t *st, int cas)
{
    int turn = writer_turn(st);

    if (cas) {
        acmpca_sqlite_gen_begin(acmpca_sqlite_gen_of(st));
    }
    return turn;
}

static void write_turn_give(sq_store_t *st, int turn, int cas)
{
    if (turn >= 0) {
        if (cas) {
            acmpca_sqlite_gen_end(acmpca_sqlite_gen_of(st));
        }
        flock(turn, LOCK_UN);
    }
}

int acmpca_sqlite_write_turn(acmpca_store_t *s)
{
    return write_turn_take(s->impl, SQ_WRITES_CAS);
}

void acmpca_sqlite_write_done(acmpca_store_t *s, int turn)
{
    write_turn_give(s->impl, turn, SQ_WRITES_CAS);
}

/* The leader's work: one transaction for every write of jobs. */
static void group_commit(acmpca_store_t *s, sq_job_t *jobs)
{
    sq_store_t *st = s->impl;
    sq_call_t call;
    sq_job_t *job;
    apr_status_t rv;
    int turn, cas = 0, unsynced = SQ_WRITES_UNSYNCED;

    for (job = jobs; job; job = job->next) {
        cas |= job->what & SQ_WRITES_CAS;
        unsynced &= job->what;
    }
    turn = write_turn_take(st, cas);

    if ((rv = acmpca_sqlite_call_begin(&call, s, "group_commit", jobs->p)) == APR_SUCCESS
        && unsynced) {
        call.unsynced = 1;
        rv = group_exec(&call, ST_SYNC_NORMAL);
    }
    if (rv == APR_SUCCESS) {
        rv = group_exec(&call, ST_BEGIN);
    }
    for (job = jobs; rv == APR_SUCCESS && job; job = job->next) {
        rv = jobs->next ? group_run_one(&call, job) : group_run_alone(&call, job);
    }
    if (rv == APR_SUCCESS) {
        call.op = "group_commit";
        call.p = jobs->p;
        rv = group_exec(&call, ST_COMMIT);
    }
    /* Nothing was committed: whatever each write answered, the group's fault stands. */
    if (rv != APR_SUCCESS) {
        for (job = jobs; job; job = job->next) {
            job->rv = rv;
        }
    }
    acmpca_sqlite_call_end(&call, rv);
    write_turn_give(st, turn, cas);
}

/* The leader, done with group: hand the lead to the first write queued meanwhile, then
 * wake the callers of group. Each caller is posted exactly once, after the group mutex
 * is released (a caller woken under it would only sleep again on the mutex): once
 * posted, a caller returns and its job, on its stack, is gone, so next is read first.
 * The new leader's job stays valid: leading stays set, so no one else can run it. */
static void group_hand_over(sq_store_t *st, sq_job_t *group, sq_job_t *self)
{
    sq_job_t *lead, *next;

    pthread_mutex_lock(&st->group_mutex);
    if ((lead = st->queue) != NULL) {
        lead->lead = 1;
    }
    else {
        st->leading = 0;
    }
    pthread_mutex_unlock(&st->group_mutex);
    for (; group; group = next) {
        next = group->next;
        if (group != self) {
            sem_post(&group->posted);
        }
    }
    if (lead) {
        sem_post(&lead->posted);
    }
}

/* The checkpoint wal_noted leaves to the leaders: a PASSIVE one (it waits for no reader
 * or writer, and copies what it can), by one thread of the process at a time, on a
 * connection of its own. A checkpoint that fails is the next leader's to retry. */
static void checkpoint_due(acmpca_store_t *s, apr_pool_t *p)
{
    sq_store_t *st = s->impl;
    sq_call_t call;
    int idle = 0;

    if (__atomic_load_n(&st->wal_pages, __ATOMIC_RELAXED) < ACMPCA_SQLITE_CHECKPOINT_PAGES
        || !__atomic_compare_exchange_n(&st->checkpointing, &idle, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        return;
    }
    if (acmpca_sqlite_call_begin(&call, s, "checkpoint", p) == APR_SUCCESS) {
        sqlite3_wal_checkpoint_v2(call.conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        acmpca_sqlite_call_end(&call, APR_SUCCESS);
    }
    __atomic_store_n(&st->checkpointing, 0, __ATOMIC_RELEASE);
}

/* Queue a write and return once it is committed (or has failed). A caller sleeps on a
 * semaphore of its own (on its stack) until the leader posts it: two futex calls per
 * waiting writer, and no thundering herd on the group mutex. */
apr_status_t acmpca_sqlite_group_write(acmpca_store_t *s, const char *op, int what, sq_write_fn *fn,
                                       void *baton, apr_pool_t *p)
{
    sq_store_t *st = s->impl;
    sq_job_t job = {fn, baton, op, what, p, APR_SUCCESS, 0, {{0}}, NULL};
    sq_job_t *group;

    sem_init(&job.posted, 0, 0);
    pthread_mutex_lock(&st->group_mutex);
    *st->queue_tail = &job;
    st->queue_tail = &job.next;
    if (!st->leading) {
        st->leading = job.lead = 1;
    }
    pthread_mutex_unlock(&st->group_mutex);
    if (!job.lead) {
        while (sem_wait(&job.posted) != 0 && errno == EINTR) {
        }
    }
    if (job.lead) { /* lead the group queued so far, ours included */
        pthread_mutex_lock(&st->group_mutex);
        group = st->queue;
        st->queue = NULL;
        st->queue_tail = &st->queue;
        pthread_mutex_unlock(&st->group_mutex);
        group_commit(s, group);
        group_hand_over(st, group, &job);
        checkpoint_due(s, p);
    }
    sem_destroy(&job.posted);
    return job.rv;
}
