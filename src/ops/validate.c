/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Shape validation of request bodies against the generated service model, with the
 * messages AWS's front end sends ("1 validation error detected: Value '0' at
 * 'maxResults' failed to satisfy constraint: Member must have value greater than or
 * equal to 1"). botocore checks only required members, types and minimums on the client
 * side, so maximums, enums and patterns are ours to enforce. */
#include <math.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/model.h"
#include "acmpca/util.h"
#include "ops_int.h"

#define VALUE_SHOWN_MAX 128

typedef struct vctx {
    apr_array_header_t *violations;
    apr_pool_t *p;
    const char *serialization; /* first type error, ends the walk */
} vctx;

static const char *member_path(const char *parent, const char *name, apr_pool_t *p)
{
    char *n = apr_pstrdup(p, name);
    n[0] = (char)apr_tolower(n[0]); /* AWS names members lowerCamel in these messages */
    return parent ? apr_pstrcat(p, parent, ".", n, NULL) : n;
}

static const char *show(const cJSON *j, apr_pool_t *p)
{
    const char *s;

    if (!j || cJSON_IsNull(j)) {
        return "null";
    }
    if (cJSON_IsString(j)) {
        s = j->valuestring;
    }
    else {
        s = acmpca_json_print(j, p);
        if (!s) {
            return "?";
        }
    }
    if (strlen(s) > VALUE_SHOWN_MAX) {
        s = apr_pstrcat(p, apr_pstrndup(p, s, VALUE_SHOWN_MAX), "...", NULL);
    }
    return apr_psprintf(p, "'%s'", s); /* AWS quotes numbers too: Value '0' at ... */
}

static void violate(vctx *v, const cJSON *j, const char *path, const char *constraint)
{
    APR_ARRAY_PUSH(v->violations, const char *) = apr_psprintf(
        v->p, "Value %s at '%s' failed to satisfy constraint: %s", show(j, v->p), path, constraint);
}

static void serialization(vctx *v, const char *path, const char *expected)
{
    if (!v->serialization) {
        v->serialization =
            apr_psprintf(v->p, "Unexpected value type at '%s': expected %s", path, expected);
    }
}

static void check_length(vctx *v, const cJSON *j, const acmpca_shape_t *sh, const char *path,
                         long long len)
{
    if (sh->has_min && len < sh->min) {
        violate(v, j, path,
                apr_psprintf(v->p,
                             "Member must have length greater than or equal to %" APR_INT64_T_FMT,
                             (apr_int64_t)sh->min));
    }
    if (sh->has_max && len > sh->max) {
        violate(v, j, path,
                apr_psprintf(v->p,
                             "Member must have length less than or equal to %" APR_INT64_T_FMT,
                             (apr_int64_t)sh->max));
    }
}

static void check_enum(vctx *v, const cJSON *j, const acmpca_shape_t *sh, const char *path)
{
    const char *const *e;
    const char *set = NULL;

    for (e = sh->enums; *e; e++) {
        if (!strcmp(*e, j->valuestring)) {
            return;
        }
        set = set ? apr_pstrcat(v->p, set, ", ", *e, NULL) : *e;
    }
    violate(v, j, path, apr_psprintf(v->p, "Member must satisfy enum value set: [%s]", set));
}

static void check_string(vctx *v, const cJSON *j, const acmpca_shape_t *sh, const char *path)
{
    long len;
    int known;

    if (!cJSON_IsString(j)) {
        serialization(v, path, "a string");
        return;
    }
    len = acmpca_utf8_length(j->valuestring);
    if (len < 0) {
        serialization(v, path, "UTF-8 text");
        return;
    }
    check_length(v, j, sh, path, len);
    if (sh->enums) {
        check_enum(v, j, sh, path);
    }
    if (sh->pattern && !acmpca_pattern_match(sh->pattern, j->valuestring, &known, v->p)) {
        violate(
            v, j, path,
            apr_psprintf(v->p, "Member must satisfy regular expression pattern: %s", sh->pattern));
    }
}

static void check_number(vctx *v, const cJSON *j, const acmpca_shape_t *sh, const char *path)
{
    double d;
    double limit = sh->type == ACMPCA_SH_INTEGER ? 2147483647.0 : 9223372036854775807.0;

    if (!cJSON_IsNumber(j)) {
        serialization(v, path, "a number");
        return;
    }
    d = j->valuedouble;
    if (d != floor(d) || d > limit || d < -limit - 1) {
        serialization(v, path, sh->type == ACMPCA_SH_INTEGER ? "an integer" : "a long");
        return;
    }
    if (sh->has_min && d < (double)sh->min) {
        violate(v, j, path,
                apr_psprintf(v->p,
                             "Member must have value greater than or equal to %" APR_INT64_T_FMT,
                             (apr_int64_t)sh->min));
    }
    if (sh->has_max && d > (double)sh->max) {
        violate(v, j, path,
                apr_psprintf(v->p, "Member must have value less than or equal to %" APR_INT64_T_FMT,
                             (apr_int64_t)sh->max));
    }
}

static void check_blob(vctx *v, const cJSON *j, const acmpca_shape_t *sh, const char *path)
{
    unsigned char *buf;
    apr_size_t len;

    if (!cJSON_IsString(j)) {
        serialization(v, path, "a base64-encoded string");
        return;
    }
    if (acmpca_b64_decode(&buf, &len, j->valuestring, strlen(j->valuestring), v->p)
        != APR_SUCCESS) {
        serialization(v, path, "valid base64");
        return;
    }
    check_length(v, j, sh, path, (long long)len);
}

static void check(vctx *v, const cJSON *j, int shape, const char *path);

static void check_structure(vctx *v, const cJSON *j, const acmpca_shape_t *sh, const char *path)
{
    int i;

    if (!cJSON_IsObject(j)) {
        serialization(v, path ? path : "body", "an object");
        return;
    }
    for (i = 0; i < sh->n_members && !v->serialization; i++) {
        const acmpca_member_t *m = &sh->members[i];
        const cJSON *mj = cJSON_GetObjectItemCaseSensitive(j, m->name);
        const char *mpath = member_path(path, m->name, v->p);

        if (!mj || cJSON_IsNull(mj)) {
            if (m->required) {
                violate(v, NULL, mpath, "Member must not be null");
            }
            continue;
        }
        check(v, mj, m->shape, mpath);
    }
}

static void check_list(vctx *v, const cJSON *j, const acmpca_shape_t *sh, const char *path)
{
    const cJSON *e;
    int i = 0;

    if (!cJSON_IsArray(j)) {
        serialization(v, path, "a list");
        return;
    }
    check_length(v, j, sh, path, cJSON_GetArraySize(j));
    cJSON_ArrayForEach(e, j)
    {
        if (v->serialization) {
            return;
        }
        /* AWS names list elements "<list>.<n>.member" (1-based). */
        check(v, e, sh->element, apr_psprintf(v->p, "%s.%d.member", path, ++i));
    }
}

static void check(vctx *v, const cJSON *j, int shape, const char *path)
{
    const acmpca_shape_t *sh = &acmpca_model_shapes[shape];

    switch (sh->type) {
    case ACMPCA_SH_STRUCTURE:
        check_structure(v, j, sh, path);
        break;
    case ACMPCA_SH_LIST:
        check_list(v, j, sh, path);
        break;
    case ACMPCA_SH_STRING:
        check_string(v, j, sh, path);
        break;
    case ACMPCA_SH_INTEGER:
    case ACMPCA_SH_LONG:
        check_number(v, j, sh, path);
        break;
    case ACMPCA_SH_TIMESTAMP:
        if (!cJSON_IsNumber(j)) {
            serialization(v, path, "a timestamp (epoch seconds)");
        }
        break;
    case ACMPCA_SH_BOOLEAN:
        if (!cJSON_IsBool(j)) {
            serialization(v, path, "a boolean");
        }
        break;
    case ACMPCA_SH_BLOB:
        check_blob(v, j, sh, path);
        break;
    case ACMPCA_SH_MAP:
        if (!cJSON_IsObject(j)) {
            serialization(v, path, "a map");
        }
        break;
    }
}

apr_status_t acmpca_validate(const cJSON *in, int shape, acmpca_err_t *err, apr_pool_t *p)
{
    vctx v = {apr_array_make(p, 4, sizeof(const char *)), p, NULL};
    const char *list = "";
    int i, n;

    check(&v, in, shape, NULL);
    if (v.serialization) {
        return acmpca_err_set(err, ACMPCA_ERR_SERIALIZATION, p, "%s", v.serialization);
    }
    n = v.violations->nelts;
    if (n == 0) {
        return APR_SUCCESS;
    }
    for (i = 0; i < n; i++) { /* AWS separates the violations with "; " */
        list =
            apr_pstrcat(p, list, i ? "; " : "", APR_ARRAY_IDX(v.violations, i, const char *), NULL);
    }
    return acmpca_err_set(err, ACMPCA_ERR_VALIDATION, p, "%d validation error%s detected: %s", n,
                          n == 1 ? "" : "s", list);
}
