/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Parsed CA documents, per process: nearly every request loads a CA, and parsing its
 * document (a few KiB of JSON holding PEM texts) was the largest single cost of the
 * read operations after SigV4.
 *
 * An entry keeps the document's text and a parsed tree that nobody changes. A load that
 * will change the document (acmpca_ca_load) gets a copy of the tree (cJSON_Duplicate,
 * about half the cost of a parse); a read-only one (acmpca_ca_view) shares the tree,
 * holding a reference on the entry until its pool goes. An entry also keeps the rendered
 * answers of the reads that depend on nothing but the document (Describe,
 * GetCertificateAuthorityCertificate, GetCertificate's CertificateChain, ListTags), each
 * with the tag it was rendered for.
 *
 * The text itself is the key, so whatever wrote the record (this process, another one,
 * another host), a different text is a miss and gets parsed; answers go with their entry.
 * An entry also remembers the rest of the newest record read with its text: issuance on
 * a store shared by hosts starts from it without reading the CA (acmpca_ca_doc_hint),
 * and its write checks the version.
 * Bounded: DOC_SLOTS documents, least recently used first, ACMPCA_ANSWERS answers each.
 * Documents hold no secret in the clear (the CA key is wrapped). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ops_int.h"

#define DOC_SLOTS 64
#define ID_LEN    40
#define TAG_LEN   24
#define DOC_MAX   (64 * 1024) /* larger documents are parsed every time */

struct acmpca_doc_entry_t {
    int refs; /* the slot's and every view's */
    char *text;
    size_t len;
    char *account;
    apr_int64_t seq, version; /* of the newest record read with this text */
    cJSON *tree;
    char *answer[ACMPCA_ANSWERS];
    char tag[ACMPCA_ANSWERS][TAG_LEN];
};

typedef struct slot_t {
    char id[ID_LEN]; /* "" when free */
    const void *store;
    acmpca_doc_entry_t *e;
    apr_uint64_t used;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[DOC_SLOTS];
static apr_uint64_t clock_now;

/* Called with the lock held. */
static void entry_release(acmpca_doc_entry_t *e)
{
    int i;

    if (--e->refs > 0) {
        return;
    }
    for (i = 0; i < ACMPCA_ANSWERS; i++) {
        free(e->answer[i]);
    }
    free(e->text);
    free(e->account);
    cJSON_Delete(e->tree);
    free(e);
}

static apr_status_t view_cleanup(void *data)
{
    pthread_mutex_lock(&lock);
    entry_release(data);
    pthread_mutex_unlock(&lock);
    return APR_SUCCESS;
}

static void slot_free(slot_t *s)
{
    entry_release(s->e);
    memset(s, 0, sizeof(*s));
}

static slot_t *find(const void *store, const char *id)
{
    int i;

    for (i = 0; i < DOC_SLOTS; i++) {
        if (slots[i].id[0] && slots[i].store == store && !strcmp(slots[i].id, id)) {
            return &slots[i];
        }
    }
    return NULL;
}

/* The entry of rec's very text, marked used; NULL on a miss. Called with the lock held. */
static acmpca_doc_entry_t *hit(const void *store, const acmpca_ca_rec_t *rec, size_t len)
{
    slot_t *s = find(store, rec->id);

    if (!s || s->e->len != len || memcmp(s->e->text, rec->doc, len)) {
        return NULL;
    }
    if (rec->version > s->e->version) { /* rewritten with the same text */
        s->e->version = rec->version;
    }
    s->used = ++clock_now;
    return s->e;
}

/* A free slot, or the least recently used one, emptied. */
static slot_t *victim(void)
{
    slot_t *s = &slots[0];
    int i;

    for (i = 0; i < DOC_SLOTS; i++) {
        if (!slots[i].id[0]) {
            return &slots[i];
        }
        if (slots[i].used < s->used) {
            s = &slots[i];
        }
    }
    slot_free(s);
    return s;
}

/* Keep a copy of parsed (rec's text) for the next loads. Unreadable documents are not
 * kept, nor is anything when memory runs out. */
static void keep(const void *store, const acmpca_ca_rec_t *rec, size_t len, const cJSON *parsed)
{
    acmpca_doc_entry_t *e = calloc(1, sizeof(*e));
    slot_t *s;

    if (!e || !(e->text = malloc(len + 1)) || !(e->account = strdup(rec->account))
        || !(e->tree = cJSON_Duplicate(parsed, 1))) {
        if (e) {
            free(e->text);
            free(e->account);
            free(e);
        }
        return;
    }
    memcpy(e->text, rec->doc, len + 1);
    e->len = len;
    e->seq = rec->seq;
    e->version = rec->version;
    e->refs = 1;
    pthread_mutex_lock(&lock);
    if ((s = find(store, rec->id)) != NULL) {
        slot_free(s);
    }
    else {
        s = victim();
    }
    apr_cpystrn(s->id, rec->id, sizeof(s->id));
    s->store = store;
    s->e = e;
    s->used = ++clock_now;
    pthread_mutex_unlock(&lock);
}

static cJSON *load(acmpca_doc_entry_t **pentry, const void *store, const acmpca_ca_rec_t *rec,
                   apr_pool_t *p)
{
    size_t len = strlen(rec->doc);
    acmpca_doc_entry_t *e;
    cJSON *tree = NULL;

    if (strlen(rec->id) >= ID_LEN || len > DOC_MAX) {
        return acmpca_json_parse(rec->doc, len, p);
    }
    pthread_mutex_lock(&lock);
    if ((e = hit(store, rec, len)) != NULL) {
        if (pentry) {
            e->refs++;
            tree = e->tree;
        }
        else {
            tree = cJSON_Duplicate(e->tree, 1);
        }
    }
    pthread_mutex_unlock(&lock);
    if (e && pentry) {
        apr_pool_cleanup_register(p, e, view_cleanup, apr_pool_cleanup_null);
        *pentry = e;
        return tree;
    }
    if (tree) {
        return acmpca_json_own(tree, p);
    }
    /* A miss: the caller gets a tree of its own either way. */
    if ((tree = acmpca_json_parse(rec->doc, len, p)) != NULL) {
        keep(store, rec, len, tree);
    }
    return tree;
}

cJSON *acmpca_ca_doc_parse(const void *store, const acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    return load(NULL, store, rec, p);
}

const cJSON *acmpca_ca_doc_view(acmpca_doc_entry_t **pentry, const void *store,
                                const acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    *pentry = NULL;
    return load(pentry, store, rec, p);
}

const cJSON *acmpca_ca_doc_hint(acmpca_ca_rec_t **prec, acmpca_doc_entry_t **pentry,
                                const void *store, const char *id, apr_pool_t *p)
{
    acmpca_ca_rec_t *rec = apr_pcalloc(p, sizeof(*rec));
    acmpca_doc_entry_t *e = NULL;
    slot_t *s;

    pthread_mutex_lock(&lock);
    if ((s = find(store, id)) != NULL) {
        e = s->e;
        e->refs++;
        s->used = ++clock_now;
        rec->version = e->version;
    }
    pthread_mutex_unlock(&lock);
    if (!e) {
        return NULL;
    }
    apr_pool_cleanup_register(p, e, view_cleanup, apr_pool_cleanup_null);
    /* The entry's strings stay as long as the reference just taken. */
    rec->id = apr_pstrdup(p, id);
    rec->account = e->account;
    rec->seq = e->seq;
    rec->doc = e->text;
    *prec = rec;
    *pentry = e;
    return e->tree;
}

const char *acmpca_ca_doc_answer(acmpca_doc_entry_t *e, int which, const char *tag)
{
    const char *text = NULL;

    if (!e) {
        return NULL;
    }
    pthread_mutex_lock(&lock);
    if (e->answer[which] && !strcmp(e->tag[which], tag)) {
        text = e->answer[which]; /* lives as long as the entry, which the caller holds */
    }
    pthread_mutex_unlock(&lock);
    return text;
}

void acmpca_ca_doc_answer_keep(acmpca_doc_entry_t *e, int which, const char *tag, const char *text)
{
    char *copy;

    if (!e || strlen(tag) >= TAG_LEN || !(copy = strdup(text))) {
        return;
    }
    pthread_mutex_lock(&lock);
    /* The first answer stays for the entry's life (a view may be sending it): one of
     * another tag (the CA expired meanwhile) is rendered each time. */
    if (!e->answer[which]) {
        e->answer[which] = copy;
        apr_cpystrn(e->tag[which], tag, TAG_LEN);
        copy = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(copy);
}
