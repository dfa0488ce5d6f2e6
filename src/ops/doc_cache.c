/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Parsed CA documents, per process: nearly every request loads a CA, and parsing its
 * document (a few KiB of JSON holding PEM texts) was the largest single cost of the
 * read operations after SigV4.
 *
 * An entry keeps the document's text and a parsed tree that nobody changes; a load whose
 * record carries the very same text gets a copy of the tree (cJSON_Duplicate, about half
 * the cost of a parse) that the caller owns and may change. The text itself is the key,
 * so whatever wrote the record (this process, another one, another host), a different
 * text is a miss and gets parsed. Bounded: DOC_SLOTS documents, least recently used
 * first. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ops_int.h"

#define DOC_SLOTS 64
#define ID_LEN    40
#define DOC_MAX   (64 * 1024) /* larger documents are parsed every time */

typedef struct slot_t {
    char id[ID_LEN]; /* "" when free */
    const void *store;
    char *text;
    size_t len;
    cJSON *tree;
    apr_uint64_t used;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[DOC_SLOTS];
static apr_uint64_t clock_now;

static void slot_free(slot_t *s)
{
    free(s->text);
    cJSON_Delete(s->tree);
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

cJSON *acmpca_ca_doc_parse(const void *store, const acmpca_ca_rec_t *rec, apr_pool_t *p)
{
    size_t len = strlen(rec->doc);
    cJSON *copy = NULL, *tree;
    slot_t *s;

    if (strlen(rec->id) >= ID_LEN || len > DOC_MAX) {
        return acmpca_json_parse(rec->doc, len, p);
    }
    pthread_mutex_lock(&lock);
    s = find(store, rec->id);
    if (s && s->len == len && !memcmp(s->text, rec->doc, len)) {
        s->used = ++clock_now;
        copy = cJSON_Duplicate(s->tree, 1);
    }
    pthread_mutex_unlock(&lock);
    if (copy) {
        return acmpca_json_own(copy, p);
    }
    /* A miss: parse for the caller, and once more for the cache (the caller may change
     * its tree). Unreadable documents are not kept. */
    if (!(copy = acmpca_json_parse(rec->doc, len, p)) || !(tree = cJSON_Duplicate(copy, 1))) {
        return copy;
    }
    pthread_mutex_lock(&lock);
    if ((s = find(store, rec->id)) != NULL) {
        slot_free(s);
    }
    else {
        s = victim();
    }
    if ((s->text = malloc(len + 1)) != NULL) {
        memcpy(s->text, rec->doc, len + 1);
        apr_cpystrn(s->id, rec->id, sizeof(s->id));
        s->store = store;
        s->len = len;
        s->tree = tree;
        s->used = ++clock_now;
        tree = NULL;
    }
    pthread_mutex_unlock(&lock);
    cJSON_Delete(tree);
    return copy;
}
