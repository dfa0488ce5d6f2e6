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
 * million-entry kind, are served from the store every time); least recently used first. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acmpca/x509_info.h"
#include "ops_int.h"

#define CRL_SLOTS   16
#define CRL_MAX_LEN (1024 * 1024)
#define ID_LEN      40

typedef struct slot_t {
    char ca_id[ID_LEN]; /* "" when free */
    const void *scope;  /* the acmpca_env_t: store, region and all */
    apr_int64_t version;
    char *bucket, *key, *etag, *content_type;
    unsigned char *data;
    apr_size_t len;
    apr_time_t modified, next_update;
    apr_uint64_t used;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[CRL_SLOTS];
static apr_uint64_t clock_now;

static void slot_free(slot_t *s)
{
    free(s->bucket);
    free(s->key);
    free(s->etag);
    free(s->content_type);
    free(s->data);
    memset(s, 0, sizeof(*s));
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
    slot_t *s;
    int hit = 0;

    if (strlen(ca_id) >= ID_LEN) {
        return 0;
    }
    pthread_mutex_lock(&lock);
    s = find(env, ca_id);
    if (s && s->version == version
        && (!bucket || (!strcmp(s->bucket, bucket) && !strcmp(s->key, key)))) {
        s->used = ++clock_now;
        obj = apr_pcalloc(p, sizeof(*obj));
        obj->bucket = apr_pstrdup(p, s->bucket);
        obj->key = apr_pstrdup(p, s->key);
        obj->content_type = s->content_type ? apr_pstrdup(p, s->content_type) : NULL;
        obj->etag = s->etag ? apr_pstrdup(p, s->etag) : NULL;
        obj->data = apr_pmemdup(p, s->data, s->len);
        obj->len = s->len;
        obj->modified = s->modified;
        memset(out, 0, sizeof(*out));
        out->obj = obj;
        out->is_public = 1;
        out->ca_id = apr_pstrdup(p, ca_id);
        out->next_update = s->next_update;
        hit = 1;
    }
    pthread_mutex_unlock(&lock);
    return hit;
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
    slot_t fresh = {0}, *s;
    int i;

    if (!ca->rec || !obj || !obj->bucket || !obj->key || obj->len == 0 || obj->len > CRL_MAX_LEN
        || strlen(ca->ref.id) >= ID_LEN || !is_recorded(ca, obj, p)) {
        return;
    }
    apr_cpystrn(fresh.ca_id, ca->ref.id, sizeof(fresh.ca_id));
    fresh.scope = scope;
    fresh.version = ca->rec->version;
    fresh.bucket = strdup(obj->bucket);
    fresh.key = strdup(obj->key);
    fresh.etag = dup_or_null(obj->etag);
    fresh.content_type = dup_or_null(obj->content_type);
    fresh.data = malloc(obj->len);
    if (!fresh.bucket || !fresh.key || !fresh.data || (obj->etag && !fresh.etag)
        || (obj->content_type && !fresh.content_type)) {
        slot_free(&fresh);
        return;
    }
    memcpy(fresh.data, obj->data, obj->len);
    fresh.len = obj->len;
    fresh.modified = obj->modified;
    fresh.next_update = served->next_update;

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
    if (s->ca_id[0] && !strcmp(s->ca_id, fresh.ca_id) && s->version > fresh.version) {
        pthread_mutex_unlock(&lock);
        slot_free(&fresh);
        return;
    }
    slot_free(s);
    *s = fresh;
    s->used = ++clock_now;
    pthread_mutex_unlock(&lock);
}
