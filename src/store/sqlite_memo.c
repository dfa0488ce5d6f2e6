/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The CA records a thread read from the sqlite store, kept until any process changes one.
 *
 * Nearly every request reads its CA's record (GetCertificate, Describe, ListTags, a CRL
 * download's freshness check), and each read is a SQLite read transaction: two locks of
 * the WAL index under one mutex per database that every thread of the process takes.
 * Under load that mutex was the most contended lock of the read path, and skipping the
 * transaction made GetCertificate 20 % faster.
 *
 * The write generation: a counter in the first bytes of the -writer file, mapped shared
 * by every process of the store (the children inherit httpd's mapping; tools map it
 * when they write). A commit leader whose group may change a CA record (ca_create,
 * ca_update, ca_purge, a restore), holding the -writer lock so that writers take turns,
 * makes it odd before its transaction and the next even number after it, commit or not,
 * and before any caller of that group hears back; groups that write only other tables
 * (certificates, objects, counters) leave it. A memo made while it was even, from a
 * read made after loading it, is good while the counter still has that value: every CA
 * write acknowledged before the load is in the read, and any such commit since moved
 * the counter. An odd counter (a write under way, or a writer that died in one) makes
 * every read go to the database. Writes that bypass the provider (the sqlite3 shell),
 * or come from a process that cannot map the file for writing, are not seen: the store
 * is the module's to write, as the user it runs as.
 *
 * Per thread, MEMO_SLOTS records, replaced round-robin: no lock at all on a hit. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acmpca/util.h"
#include "sqlite_int.h"

#define GEN_MAP_LEN 4096
#define MEMO_SLOTS  8
#define ID_LEN      40

/* ************************************************************************************
 * The write generation
 */

static apr_status_t gen_unmap(void *data)
{
    munmap(data, GEN_MAP_LEN);
    return APR_SUCCESS;
}

volatile apr_uint64_t *acmpca_sqlite_gen_map(int fd, apr_pool_t *p)
{
    struct stat sb;
    void *m;

    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size < GEN_MAP_LEN) {
        return NULL;
    }
    m = mmap(NULL, GEN_MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        return NULL;
    }
    apr_pool_cleanup_register(p, m, gen_unmap, apr_pool_cleanup_null);
    return m;
}

int acmpca_sqlite_gen_size(int fd)
{
    struct stat sb;

    return fstat(fd, &sb) == 0 && (sb.st_size >= GEN_MAP_LEN || ftruncate(fd, GEN_MAP_LEN) == 0);
}

void acmpca_sqlite_gen_begin(volatile apr_uint64_t *gen)
{
    if (gen) {
        __atomic_fetch_or(gen, 1, __ATOMIC_SEQ_CST);
    }
}

void acmpca_sqlite_gen_end(volatile apr_uint64_t *gen)
{
    if (gen) { /* writers take turns: no other one moves it meanwhile */
        __atomic_store_n(gen, (__atomic_load_n(gen, __ATOMIC_SEQ_CST) | 1) + 1, __ATOMIC_SEQ_CST);
    }
}

int acmpca_sqlite_gen_now(volatile apr_uint64_t *gen, apr_uint64_t *pnow)
{
    if (!gen) {
        return 0;
    }
    *pnow = __atomic_load_n(gen, __ATOMIC_SEQ_CST);
    return !(*pnow & 1);
}

/* ************************************************************************************
 * The memo
 */

typedef struct memo_t {
    apr_uint64_t store; /* the store's memo_id; 0: free */
    apr_uint64_t gen;
    char id[ID_LEN];
    acmpca_ca_rec_t rec; /* account and doc malloc'd; id points into the slot */
} memo_t;

typedef struct memo_table_t {
    memo_t slot[MEMO_SLOTS];
    unsigned int next;
} memo_table_t;

static void memo_clear(memo_t *m)
{
    free((void *)m->rec.account);
    free((void *)m->rec.doc);
    memset(m, 0, sizeof(*m));
}

static void *memo_table_make(void)
{
    return calloc(1, sizeof(memo_table_t));
}

static void memo_table_free(void *data)
{
    memo_table_t *t = data;
    int i;

    for (i = 0; i < MEMO_SLOTS; i++) {
        memo_clear(&t->slot[i]);
    }
    free(t);
}

static acmpca_thread_slot_t memo_tables = ACMPCA_THREAD_SLOT(memo_table_make, memo_table_free);

/* This thread's table, made if make is set and it has none; NULL without one. */
static memo_table_t *memo_table(int make)
{
    return acmpca_thread_obj(&memo_tables, make);
}

/* The slot of (store, id), whatever its generation. */
static memo_t *memo_slot(memo_table_t *t, apr_uint64_t store, const char *id)
{
    int i;

    for (i = 0; t && i < MEMO_SLOTS; i++) {
        if (t->slot[i].store == store && !strcmp(t->slot[i].id, id)) {
            return &t->slot[i];
        }
    }
    return NULL;
}

static memo_t *memo_find(memo_table_t *t, apr_uint64_t store, apr_uint64_t gen, const char *id)
{
    memo_t *m = memo_slot(t, store, id);

    return m && m->gen == gen ? m : NULL;
}

int acmpca_sqlite_memo_get(apr_uint64_t store, apr_uint64_t gen, const char *id,
                           acmpca_ca_rec_t **prec, apr_pool_t *p)
{
    memo_t *m = memo_find(memo_table(0), store, gen, id);
    acmpca_ca_rec_t *rec;

    if (!m) {
        return 0;
    }
    rec = apr_palloc(p, sizeof(*rec));
    rec->id = apr_pstrdup(p, m->id);
    rec->account = apr_pstrdup(p, m->rec.account);
    rec->seq = m->rec.seq;
    rec->version = m->rec.version;
    rec->doc = apr_pstrdup(p, m->rec.doc);
    *prec = rec;
    return 1;
}

int acmpca_sqlite_memo_version(apr_uint64_t store, apr_uint64_t gen, const char *id,
                               apr_int64_t *pversion)
{
    memo_t *m = memo_find(memo_table(0), store, gen, id);

    if (!m) {
        return 0;
    }
    *pversion = m->rec.version;
    return 1;
}

void acmpca_sqlite_memo_put(apr_uint64_t store, apr_uint64_t gen, const acmpca_ca_rec_t *rec)
{
    memo_table_t *t;
    memo_t *m;

    if (strlen(rec->id) >= ID_LEN || !(t = memo_table(1))) {
        return;
    }
    if (!(m = memo_slot(t, store, rec->id))) {
        m = &t->slot[t->next++ % MEMO_SLOTS];
    }
    memo_clear(m);
    if (!(m->rec.account = strdup(rec->account)) || !(m->rec.doc = strdup(rec->doc))) {
        memo_clear(m);
        return;
    }
    m->store = store;
    m->gen = gen;
    memcpy(m->id, rec->id, strlen(rec->id) + 1);
    m->rec.seq = rec->seq;
    m->rec.version = rec->version;
}
