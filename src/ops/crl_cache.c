/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The CRLs this process served, kept in memory per CA so that a download costs one
 * small store read (the CA's record, for its version) instead of two CA loads, two
 * document parses and a copy of the CRL out of the store.
 *
 * Exactness: publishing a CRL records its number in the CA document (crl.c record_fn)
 * before the object is written, and every write of the document bumps the record's
 * version. An entry is made only when the CRL object just read carries the number the
 * document of that version records (a reader between the two writes of a publication
 * sees the old object and caches nothing), and it is used only for that same version: a
 * newer CRL, a revocation, a configuration change or a deletion on any process or host
 * changes the version, and the next download reads the store again. Whether the CRL is
 * served at all depends on the version's document alone once the CA is ACTIVE, DISABLED
 * or EXPIRED (acmpca_crl_target), the only states whose CRL is ever cached here.
 *
 * Bounded: CRL_SLOTS CAs, each CRL at most CRL_MAX_LEN bytes (larger ones, the
 * million-entry kind, are served from the store every time); least recently used first.
 *
 * A hit copies nothing: the entry is immutable and counted, the answer points into it,
 * and a cleanup of the request's pool lets go of it; an entry replaced meanwhile is
 * freed by whichever of the slot and the last request lets go of it last. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/x509_info.h"
#include "ops_int.h"

#define CRL_SLOTS   16
#define CRL_MAX_LEN (1024 * 1024)
#define ID_LEN      40

typedef struct entry_t {
    unsigned int refs; /* the slot's and the requests', under lock */
    char *bucket, *key, *etag, *content_type;
    unsigned char *data;
    apr_size_t len;
    apr_time_t modified, next_update;
} entry_t;

typedef struct slot_t {
    char ca_id[ID_LEN]; /* "" when free */
    const void *scope;  /* the acmpca_env_t: store, region and all */
    apr_int64_t version;
    entry_t *e;
    apr_uint64_t used;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[CRL_SLOTS];
static apr_uint64_t clock_now;

static void entry_free(entry_t *e)
{
    if (e) {
        free(e->bucket);
        free(e->key);
        free(e->etag);
        free(e->content_type);
        free(e->data);
        free(e);
    }
}

/* Under lock: one reference less; the entry to free (after unlocking) when it was the last. */
static entry_t *entry_unref(entry_t *e)
{
    return e && --e->refs == 0 ? e : NULL;
}

static apr_status_t entry_release(void *data)
{
    entry_t *gone;

    pthread_mutex_lock(&lock);
    gone = entry_unref(data);
    pthread_mutex_unlock(&lock);
    entry_free(gone);
    return APR_SUCCESS;
}

static slot_t *find(const void *scope, const char *ca_id)
{
    int i;

    for (i = 0; i < CRL_SLOTS; i++) {
        if (slots[i].ca_id[0] && slots[i].scope == scope && !strcmp(slots[i].ca_id, ca_id)) {
            return &slots[i];
        }
    }
    return NULL;
}

int acmpca_crl_cache_get(acmpca_served_t *out, const acmpca_env_t *env, const char *ca_id,
                         apr_int64_t version, const char *bucket, const char *key, apr_pool_t *p)
{
    acmpca_object_t *obj;
    entry_t *e = NULL;
    slot_t *s;

    if (strlen(ca_id) >= ID_LEN) {
        return 0;
    }
    pthread_mutex_lock(&lock);
    s = find(env, ca_id);
    if (s && s->version == version
        && (!bucket || (!strcmp(s->e->bucket, bucket) && !strcmp(s->e->key, key)))) {
        s->used = ++clock_now;
        e = s->e;
        e->refs++;
    }
    pthread_mutex_unlock(&lock);
    if (!e) {
        return 0;
    }
    /* Registered before anything in p can point into e: cleanups run last-in first-out,
     * so a pool bucket made of e->data later copies it out before e goes. */
    apr_pool_cleanup_register(p, e, entry_release, apr_pool_cleanup_null);
    obj = apr_pcalloc(p, sizeof(*obj));
    obj->bucket = e->bucket;
    obj->key = e->key;
    obj->content_type = e->content_type;
    obj->etag = e->etag;
    obj->data = e->data;
    obj->len = e->len;
    obj->modified = e->modified;
    memset(out, 0, sizeof(*out));
    out->obj = obj;
    out->is_public = 1;
    out->ca_id = apr_pstrdup(p, ca_id);
    out->next_update = e->next_update;
    return 1;
}

/* Is served the CRL ca's document records, at the place it records? */
static int is_recorded(const acmpca_ca_t *ca, const acmpca_object_t *obj, apr_pool_t *p)
{
    const cJSON *rec = acmpca_json_obj(ca->doc, ACMPCA_D_CRL);
    const char *bucket = acmpca_json_str(rec, "Bucket"), *key = acmpca_json_str(rec, "Key");
    acmpca_crl_info_t info;

    return rec && bucket && key && !strcmp(bucket, obj->bucket) && !strcmp(key, obj->key)
           && acmpca_crl_info(&info, obj->data, obj->len, p) == APR_SUCCESS && info.number
           && apr_strtoi64(info.number, NULL, 10)
                  == (apr_int64_t)acmpca_json_num(rec, "Number", -1);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void acmpca_crl_cache_put(const acmpca_env_t *env, const acmpca_ca_t *ca,
                          const acmpca_served_t *served, apr_pool_t *p)
{
    const void *scope = env;
    const acmpca_object_t *obj = served->obj;
    entry_t *e, *gone;
    slot_t *s;
    int i;

    if (!ca->rec || !obj || !obj->bucket || !obj->key || obj->len == 0 || obj->len > CRL_MAX_LEN
        || strlen(ca->ref.id) >= ID_LEN || !is_recorded(ca, obj, p)) {
        return;
    }
    if ((e = calloc(1, sizeof(*e))) == NULL) {
        return;
    }
    e->refs = 1; /* the slot's */
    e->bucket = strdup(obj->bucket);
    e->key = strdup(obj->key);
    e->etag = dup_or_null(obj->etag);
    e->content_type = dup_or_null(obj->content_type);
    e->data = malloc(obj->len);
    if (!e->bucket || !e->key || !e->data || (obj->etag && !e->etag)
        || (obj->content_type && !e->content_type)) {
        entry_free(e);
        return;
    }
    memcpy(e->data, obj->data, obj->len);
    e->len = obj->len;
    e->modified = obj->modified;
    e->next_update = served->next_update;

    pthread_mutex_lock(&lock);
    if ((s = find(scope, ca->ref.id)) == NULL) {
        s = &slots[0];
        for (i = 0; i < CRL_SLOTS; i++) {
            if (!slots[i].ca_id[0]) {
                s = &slots[i];
                break;
            }
            if (slots[i].used < s->used) {
                s = &slots[i];
            }
        }
    }
    /* A slower thread must not put back an older version than the one cached. */
    if (s->ca_id[0] && !strcmp(s->ca_id, ca->ref.id) && s->version > ca->rec->version) {
        pthread_mutex_unlock(&lock);
        entry_free(e);
        return;
    }
    gone = entry_unref(s->e);
    apr_cpystrn(s->ca_id, ca->ref.id, sizeof(s->ca_id));
    s->scope = scope;
    s->version = ca->rec->version;
    s->e = e;
    s->used = ++clock_now;
    pthread_mutex_unlock(&lock);
    entry_free(gone);
}
