/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * cJSON trees owned by APR pools, and small lookups. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/json.h"

static apr_status_t json_cleanup(void *data)
{
    cJSON_Delete(data);
    return APR_SUCCESS;
}

cJSON *acmpca_json_own(cJSON *j, apr_pool_t *p)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    }
    return j;
}

/* cJSON keeps strings NUL-terminated, so a string holding U+0000 ("a\u0000b", or a raw
 * NUL) would be cut short without a word: the validator would check, and the operation
 * store, another value than the client sent. RFC 8259 §7 wants control characters
 * escaped, so raw ones (U+0000-U+001F) are not JSON either, as AWS's parser holds. Both
 * are refused; buf is already known to be well-formed JSON. */
static int has_nul_or_control(const char *buf, apr_size_t len)
{
    apr_size_t i;
    int in_string = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (!in_string) {
            in_string = c == '"';
        }
        else if (c == '"') {
            in_string = 0;
        }
        else if (c < 0x20) {
            return 1;
        }
        else if (c == '\\' && i + 1 < len) {
            if (buf[i + 1] == 'u' && i + 5 < len && !memcmp(buf + i + 2, "0000", 4)) {
                return 1;
            }
            i++; /* the escaped character, a quote or a backslash included */
        }
    }
    return 0;
}

cJSON *acmpca_json_parse(const char *buf, apr_size_t len, apr_pool_t *p)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);

    if (!j) {
        return NULL;
    }
    /* Trailing garbage after the value is not JSON either (whitespace aside). */
    while (end && end < buf + len
           && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n' || *end == '\0')) {
        end++;
    }
    if ((end && end < buf + len) || has_nul_or_control(buf, len)) {
        cJSON_Delete(j);
        return NULL;
    }
    return acmpca_json_own(j, p);
}

/* The two-character escape of c, NULL when it has none. */
static const char *short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        return NULL;
    }
}

#define NEEDS_ESCAPE(c) ((c) < 0x20 || (c) == '"' || (c) == '\\')

const char *acmpca_json_quote(const char *s, apr_pool_t *p)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *c, *run;
    const char *e;
    apr_size_t n = 2;
    char *out, *o;

    for (c = (const unsigned char *)s; *c; c++) {
        n += !NEEDS_ESCAPE(*c) ? 1 : short_escape(*c) ? 2 : 6;
    }
    o = out = apr_palloc(p, n + 1);
    *o++ = '"';
    for (c = run = (const unsigned char *)s;; c++) {
        if (*c && !NEEDS_ESCAPE(*c)) {
            continue;
        }
        memcpy(o, run, (size_t)(c - run)); /* PEM texts: a line at a time */
        o += c - run;
        run = c + 1;
        if (!*c) {
            break;
        }
        if ((e = short_escape(*c)) != NULL) {
            memcpy(o, e, 2);
            o += 2;
        }
        else { /* \u00XX, lower case as cJSON writes it */
            memcpy(o, "\\u00", 4);
            o[4] = hex[*c >> 4];
            o[5] = hex[*c & 0xf];
            o += 6;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *acmpca_json_print(const cJSON *j, apr_pool_t *p)
{
    char *s = cJSON_PrintUnformatted(j);
    const char *copy;

    if (!s) {
        return NULL;
    }
    copy = apr_pstrdup(p, s);
    cJSON_free(s);
    return copy;
}

const char *acmpca_json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double acmpca_json_num(const cJSON *obj, const char *key, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int acmpca_json_bool(const cJSON *obj, const char *key, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

cJSON *acmpca_json_obj(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsObject(v) ? v : NULL;
}

void acmpca_json_set(cJSON *obj, const char *key, cJSON *value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, value);
    }
    else {
        cJSON_AddItemToObject(obj, key, value);
    }
}
