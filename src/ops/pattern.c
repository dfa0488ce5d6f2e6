/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The service model's regular expressions, as hand-written matchers. The model has a
 * dozen patterns in Java syntax (\p{L}, \u0009, ...) that POSIX regex cannot express;
 * each gets a small exact matcher here, and a unit test proves every pattern of the
 * generated model has one. */
#include <string.h>

#include "acmpca/util.h"
#include "ops_int.h"

/* Decode one UTF-8 code point; -1 on malformed input. */
static long utf8_next(const unsigned char **ps)
{
    const unsigned char *s = *ps;
    long cp;
    int n, i;

    if (s[0] < 0x80) {
        *ps = s + 1;
        return s[0];
    }
    if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1F, n = 1;
    }
    else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0F, n = 2;
    }
    else if ((s[0] & 0xF8) == 0xF0) {
        cp = s[0] & 0x07, n = 3;
    }
    else {
        return -1;
    }
    for (i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *ps = s + n + 1;
    return cp;
}

long acmpca_utf8_length(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    long n = 0;

    while (*u) {
        /* ASCII a byte at a time: every ARN and most members are nothing else. */
        if (*u < 0x80) {
            u++;
        }
        else if (utf8_next(&u) < 0) {
            return -1;
        }
        n++;
    }
    return n;
}

/* Every code point in "\u0009\u000A\u000D\u0020-\u00FF" (IdempotencyToken, AWSPolicy). */
static int latin1_text(const char *s, int allow_empty)
{
    const unsigned char *u = (const unsigned char *)s;
    long cp;

    if (!*u && !allow_empty) {
        return 0;
    }
    while (*u) {
        cp = utf8_next(&u);
        if (!(cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0xFF))) {
            return 0;
        }
    }
    return 1;
}

static int all_of(const char *s, const char *set, int allow_alnum, int allow_empty)
{
    if (!*s && !allow_empty) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!(alnum && allow_alnum) && !strchr(set, c)) {
            return 0;
        }
    }
    return 1;
}

/* [\w+=/,.@-]: \w is [A-Za-z0-9_] */
#define ARN_CHARS     "_+=/,.@-"
#define ARN_RES_CHARS "_+=,.@-"

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [\w+=,.@-]: every request names a CA, so this runs over ~90 characters of each. */
static int arn_res_char(unsigned char c)
{
    return is_alnum(c) || (c && strchr(ARN_RES_CHARS, c));
}

static int arn_segment(const char **ps, int allow_empty, const char *chars)
{
    const char *s = *ps;
    const char *end = strchr(s, ':');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    size_t i;

    if (!end || (n == 0 && !allow_empty)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = chars ? is_alnum(c) || strchr(chars, c) : (c >= '0' && c <= '9');
        if (!ok) {
            return 0;
        }
    }
    *ps = end + 1;
    return 1;
}

/* arn:[\w+=/,.@-]+:[\w+=/,.@-]+:[\w+=/,.@-]*:[0-9]*:[\w+=,.@-]+(/[\w+=,.@-]+)* */
static int arn(const char *s)
{
    const char *seg;

    if (strncmp(s, "arn:", 4) != 0) {
        return 0;
    }
    s += 4;
    if (!arn_segment(&s, 0, ARN_CHARS) || !arn_segment(&s, 0, ARN_CHARS)
        || !arn_segment(&s, 1, ARN_CHARS) || !arn_segment(&s, 1, NULL)) {
        return 0;
    }
    /* resource: segments of [\w+=,.@-]+ joined by single slashes */
    for (seg = s;; s++) {
        if (*s == '/' || *s == '\0') {
            if (s == seg) {
                return 0;
            }
            if (*s == '\0') {
                return 1;
            }
            seg = s + 1;
        }
        else if (!arn_res_char((unsigned char)*s)) {
            return 0;
        }
    }
}

static int digits(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* ^([0-2])\.([0-9]|([0-3][0-9]))((\.([0-9]+)){0,126})$ */
static int custom_oid(const char *s)
{
    int arcs = 0;
    size_t n;

    if (s[0] < '0' || s[0] > '2' || s[1] != '.') {
        return 0;
    }
    s += 2;
    n = strspn(s, "0123456789");
    if (n == 0 || n > 2 || (n == 2 && s[0] > '3')) {
        return 0;
    }
    for (s += n; *s; s += n) {
        if (*s++ != '.' || (n = strspn(s, "0123456789")) == 0 || ++arcs > 126) {
            return 0;
        }
    }
    return 1;
}

/* [a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12} */
static int report_id(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    int g;
    size_t n;

    for (g = 0; g < 5; g++) {
        n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");
        if ((int)n != groups[g]) {
            return 0;
        }
        s += n;
        if (g < 4 && *s++ != '-') {
            return 0;
        }
    }
    return *s == '\0';
}

static int base64(const char *s, apr_pool_t *p)
{
    unsigned char *buf;
    apr_size_t len;
    return acmpca_b64_decode(&buf, &len, s, strlen(s), p) == APR_SUCCESS;
}

/* CnameString and CrlPathString: RFC 2396 characters (the path form allows '/'). */
#define URIC_CHARS "-;?:@&=+$,%_.!~*()'"

int acmpca_pattern_match(const char *pattern, const char *s, int *known, apr_pool_t *p)
{
    *known = 1;
    if (!strcmp(pattern, "[a-zA-Z0-9'()+-.?:/= ]*")) {
        return all_of(s, "'()+,-.?:/= ", 1, 1); /* "+-." is the range + , - . */
    }
    if (!strcmp(pattern, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")) {
        return latin1_text(s, 0);
    }
    if (!strcmp(pattern, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]*")) {
        return latin1_text(s, 1);
    }
    if (!strcmp(pattern, "[0-9]+")) {
        return *s && digits(s, strlen(s));
    }
    if (!strncmp(pattern, "arn:", 4)) {
        return arn(s);
    }
    if (!strcmp(pattern, "[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}")) {
        return report_id(s);
    }
    if (!strncmp(pattern, "^(?:[A-Za-z0-9+/]{4})*", 22)) {
        return base64(s, p);
    }
    if (!strcmp(pattern, "[A-Za-z]{2}")) {
        return strlen(s) == 2 && all_of(s, "", 1, 0) && !digits(s, 1) && !digits(s + 1, 1);
    }
    if (!strncmp(pattern, "^([0-2])\\.", 10)) {
        return custom_oid(s);
    }
    if (!strcmp(pattern, "^[^*]+$")) {
        return *s && !strchr(s, '*');
    }
    if (!strcmp(pattern, "[-a-zA-Z0-9;/?:@&=+$,%_.!~*()']*")) {
        return all_of(s, URIC_CHARS "/", 1, 1);
    }
    if (!strncmp(pattern, "[-a-zA-Z0-9;?:@&=+$,%_.!~*()']*(/", 33)) {
        return all_of(s, URIC_CHARS "/", 1, 1);
    }
    *known = 0;
    return 1;
}
