/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Dump records to and from JSON lines, driven by one table of fields per record type. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <apr_strings.h>

#include <cjson/cJSON.h>

#include "acmpca/dump.h"
#include "acmpca/json.h"
#include "acmpca/util.h"

typedef enum {
    F_STR,  /* const char *, required */
    F_OPT,  /* const char *, may be NULL (left out) */
    F_I64,  /* apr_int64_t or apr_time_t */
    F_BLOB, /* const unsigned char * and its apr_size_t length, base64; required */
    F_OPTBLOB,
} field_kind;

typedef struct field_t {
    const char *name;
    field_kind kind;
    size_t off;
    size_t len_off; /* F_BLOB, F_OPTBLOB: the length */
} field_t;

#define R(m) offsetof(acmpca_dump_rec_t, m)

static const field_t f_seq[] = {{"value", F_I64, R(value), 0}, {NULL, F_STR, 0, 0}};

static const field_t f_ca[] = {
    {"id", F_STR, R(ca.id), 0},   {"account", F_STR, R(ca.account), 0},
    {"seq", F_I64, R(ca.seq), 0}, {"version", F_I64, R(ca.version), 0},
    {"doc", F_STR, R(ca.doc), 0}, {"key", F_OPTBLOB, R(key), R(keylen)},
    {NULL, F_STR, 0, 0},
};

static const field_t f_cert[] = {
    {"ca_id", F_STR, R(cert.ca_id), 0},
    {"serial", F_STR, R(cert.serial), 0},
    {"pem", F_STR, R(cert.pem), 0},
    {"subject", F_OPT, R(cert.subject), 0},
    {"template_arn", F_OPT, R(cert.template_arn), 0},
    {"not_before", F_I64, R(cert.not_before), 0},
    {"not_after", F_I64, R(cert.not_after), 0},
    {"issued_at", F_I64, R(cert.issued_at), 0},
    {"revoked_at", F_I64, R(cert.revoked_at), 0},
    {"revocation_reason", F_OPT, R(cert.revocation_reason), 0},
    {"requested_by", F_OPT, R(cert.requested_by), 0},
    {NULL, F_STR, 0, 0},
};

static const field_t f_report[] = {
    {"ca_id", F_STR, R(report.ca_id), 0},
    {"id", F_STR, R(report.id), 0},
    {"status", F_STR, R(report.status), 0},
    {"bucket", F_OPT, R(report.bucket), 0},
    {"key", F_OPT, R(report.key), 0},
    {"format", F_OPT, R(report.format), 0},
    {"created_at", F_I64, R(report.created_at), 0},
    {NULL, F_STR, 0, 0},
};

static const field_t f_idem[] = {
    {"scope", F_STR, R(idem.scope), 0},
    {"token", F_STR, R(idem.token), 0},
    {"result", F_STR, R(result), 0},
    {"expires", F_I64, R(idem.expires), 0},
    {NULL, F_STR, 0, 0},
};

static const field_t f_object[] = {
    {"bucket", F_STR, R(object.bucket), 0},
    {"key", F_STR, R(object.key), 0},
    {"content_type", F_OPT, R(object.content_type), 0},
    {"data", F_BLOB, R(object.data), R(object.len)},
    {"modified", F_I64, R(object.modified), 0},
    {"etag", F_STR, R(object.etag), 0},
    {NULL, F_STR, 0, 0},
};

static const field_t f_counter[] = {
    {"name", F_STR, R(name), 0}, {"value", F_I64, R(value), 0}, {NULL, F_STR, 0, 0}};

static const struct {
    const char *name;
    const field_t *fields;
} types[ACMPCA_DUMP_NTYPES] = {
    [ACMPCA_DUMP_CA_SEQ] = {"ca_seq", f_seq},       [ACMPCA_DUMP_CA] = {"ca", f_ca},
    [ACMPCA_DUMP_CERT] = {"cert", f_cert},          [ACMPCA_DUMP_REPORT] = {"report", f_report},
    [ACMPCA_DUMP_IDEM] = {"idem", f_idem},          [ACMPCA_DUMP_OBJECT] = {"object", f_object},
    [ACMPCA_DUMP_COUNTER] = {"counter", f_counter},
};

/* The largest integer a JSON number (a double in cJSON) carries exactly. */
#define JSON_INT_MAX 9007199254740992.0

#define AT(rec, off, type) ((type *)(void *)((char *)(rec) + (off)))

const char *acmpca_dump_type_name(acmpca_dump_type_t type)
{
    return type > 0 && type < ACMPCA_DUMP_NTYPES ? types[type].name : NULL;
}

const char *acmpca_dump_to_json(const acmpca_dump_rec_t *rec, apr_pool_t *p)
{
    const field_t *f;
    cJSON *j;
    char *text;
    const char *out;
    int ok;

    if (!acmpca_dump_type_name(rec->type) || !(j = cJSON_CreateObject())) {
        return NULL;
    }
    ok = cJSON_AddStringToObject(j, "t", types[rec->type].name) != NULL;
    for (f = types[rec->type].fields; ok && f->name; ++f) {
        const char *s = *AT(rec, f->off, const char *const);
        const unsigned char *b = *AT(rec, f->off, const unsigned char *const);
        switch (f->kind) {
        case F_STR:
        case F_OPT:
            ok = !s || cJSON_AddStringToObject(j, f->name, s);
            break;
        case F_I64:
            /* Raw: printed exactly, not through a double. */
            ok = cJSON_AddRawToObject(
                     j, f->name,
                     apr_psprintf(p, "%" APR_INT64_T_FMT, *AT(rec, f->off, const apr_int64_t)))
                 != NULL;
            break;
        default:
            ok = !b
                 || cJSON_AddStringToObject(
                     j, f->name, acmpca_b64_encode(b, *AT(rec, f->len_off, const apr_size_t), p));
            break;
        }
    }
    text = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) {
        return NULL;
    }
    out = apr_pstrdup(p, text);
    cJSON_free(text);
    return out;
}

static apr_status_t bad(const char **perr, const char *why)
{
    *perr = why;
    return APR_EINVAL;
}

static apr_status_t field_from_json(acmpca_dump_rec_t *rec, const field_t *f, const cJSON *v,
                                    const char **perr, apr_pool_t *p)
{
    unsigned char *bytes;
    apr_size_t len;
    double d;

    if (!v || cJSON_IsNull(v)) {
        if (f->kind == F_STR || f->kind == F_I64 || f->kind == F_BLOB) {
            return bad(perr, apr_psprintf(p, "\"%s\" is missing", f->name));
        }
        return APR_SUCCESS;
    }
    switch (f->kind) {
    case F_I64:
        d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        if (!(d >= -JSON_INT_MAX && d <= JSON_INT_MAX) || d != floor(d)) {
            return bad(perr, apr_psprintf(p, "\"%s\" is not an integer", f->name));
        }
        *AT(rec, f->off, apr_int64_t) = (apr_int64_t)d;
        return APR_SUCCESS;
    case F_BLOB:
    case F_OPTBLOB:
        if (!cJSON_IsString(v)
            || acmpca_b64_decode(&bytes, &len, v->valuestring, strlen(v->valuestring), p)
                   != APR_SUCCESS) {
            return bad(perr, apr_psprintf(p, "\"%s\" is not base64", f->name));
        }
        *AT(rec, f->off, const unsigned char *) = bytes;
        *AT(rec, f->len_off, apr_size_t) = len;
        return APR_SUCCESS;
    default:
        if (!cJSON_IsString(v)) {
            return bad(perr, apr_psprintf(p, "\"%s\" is not a string", f->name));
        }
        *AT(rec, f->off, const char *) = apr_pstrdup(p, v->valuestring);
        return APR_SUCCESS;
    }
}

apr_status_t acmpca_dump_from_json(acmpca_dump_rec_t *rec, const char *line, apr_size_t len,
                                   const char **perr, apr_pool_t *p)
{
    const cJSON *j, *t;
    const field_t *f;
    apr_status_t rv;
    int type;

    memset(rec, 0, sizeof(*rec));
    *perr = NULL;
    if (!(j = acmpca_json_parse(line, len, p)) || !cJSON_IsObject(j)) {
        return bad(perr, "not a JSON object");
    }
    t = cJSON_GetObjectItemCaseSensitive(j, "t");
    for (type = 1; type < ACMPCA_DUMP_NTYPES; ++type) {
        if (cJSON_IsString(t) && !strcmp(t->valuestring, types[type].name)) {
            break;
        }
    }
    if (type == ACMPCA_DUMP_NTYPES) {
        return bad(perr, "no known record type (\"t\")");
    }
    rec->type = (acmpca_dump_type_t)type;
    for (f = types[type].fields; f->name; ++f) {
        rv = field_from_json(rec, f, cJSON_GetObjectItemCaseSensitive(j, f->name), perr, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

void acmpca_dump_rec_copy(acmpca_dump_rec_t *dst, const acmpca_dump_rec_t *src, apr_pool_t *p)
{
    const field_t *f;

    *dst = *src;
    if (!acmpca_dump_type_name(src->type)) {
        return;
    }
    for (f = types[src->type].fields; f->name; ++f) {
        const char *s = *AT(src, f->off, const char *const);
        if (f->kind == F_STR || f->kind == F_OPT) {
            *AT(dst, f->off, const char *) = s ? apr_pstrdup(p, s) : NULL;
        }
        else if (f->kind != F_I64 && s) {
            apr_size_t len = *AT(src, f->len_off, const apr_size_t);
            /* Never NULL for a value that is there, even empty. */
            *AT(dst, f->off, const void *) = len ? apr_pmemdup(p, s, len) : apr_pcalloc(p, 1);
        }
    }
}
