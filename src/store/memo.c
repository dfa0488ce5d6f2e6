/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The CA records a thread read from a store, kept while the store's generation for them
 * stays the same: each provider says what a generation is and when memos may be used
 * (sqlite_gen.c: a counter every CA write moves, in a file every process maps;
 * redis_watch.c: the notices Redis sends each process when a CA record changes).
 *
 * Per thread, MEMO_SLOTS records, replaced round-robin: no lock at all on a hit. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/util.h"
#include "store_int.h"

#define MEMO_SLOTS 8
#define ID_LEN     40

static apr_uint64_t store_ids;

apr_uint64_t acmpca_memo_store_id(void)
{
    return __atomic_add_fetch(&store_ids, 1, __ATOMIC_RELAXED);
}

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

int acmpca_memo_get(apr_uint64_t store, apr_uint64_t gen, const char *id, acmpca_ca_rec_t **prec,
                    apr_pool_t *p)
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

int acmpca_memo_version(apr_uint64_t store, apr_uint64_t gen, const char *id, apr_int64_t *pversion)
{
    memo_t *m = memo_find(memo_table(0), store, gen, id);

    if (!m) {
        return 0;
    }
    *pversion = m->rec.version;
    return 1;
}

void acmpca_memo_put(apr_uint64_t store, apr_uint64_t gen, const acmpca_ca_rec_t *rec)
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
