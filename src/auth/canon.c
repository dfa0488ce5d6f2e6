/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The SigV4 canonical request: method, canonical URI, canonical query string, canonical
 * headers, signed headers and payload hash, exactly as the AWS signers build it (botocore
 * auth.py SigV4Auth.canonical_request is the reference every client here follows). */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <apr_strings.h>

#include "acmpca/auth.h"
#include "acmpca/util.h"

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.' || c == '~';
}

/* SigV4's UriEncode: unreserved characters stay, everything else is %XX (upper case);
 * '/' stays when keep_slash is set (paths). */
static char *uri_encode(const char *s, apr_size_t n, int keep_slash, apr_pool_t *p)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, n * 3 + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* %XX -> byte; anything else, '+' included, stays as it is (SigV4 clients encode spaces as
 * %20, so a '+' on the wire is a plus sign). */
static char *pct_decode(const char *s, apr_size_t n, apr_size_t *plen, apr_pool_t *p)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = acmpca_hex_digit(s[i + 1])) >= 0
            && (lo = acmpca_hex_digit(s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *plen = (apr_size_t)(o - out);
    return out;
}

/* ************************************************************************************
 * Canonical URI
 */

/* RFC 3986 section 5.2.4 plus AWS's removal of empty segments, on the raw path, as
 * botocore's remove_dot_segments does. */
static const char *remove_dot_segments(const char *path, apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    const char *s = path, *e;
    size_t n = strlen(path);
    char *joined;
    int i;

    while (*s) {
        for (e = s; *e && *e != '/'; e++)
            ;
        if (e > s && !(e - s == 1 && s[0] == '.')) {
            if (e - s == 2 && s[0] == '.' && s[1] == '.') {
                if (out->nelts) {
                    out->nelts--;
                }
            }
            else {
                APR_ARRAY_PUSH(out, const char *) = apr_pstrndup(p, s, (apr_size_t)(e - s));
            }
        }
        s = *e ? e + 1 : e;
    }
    joined = apr_pstrdup(p, path[0] == '/' ? "/" : "");
    for (i = 0; i < out->nelts; i++) {
        joined = apr_pstrcat(p, joined, i ? "/" : "", APR_ARRAY_IDX(out, i, const char *), NULL);
    }
    if (n && path[n - 1] == '/' && out->nelts) {
        joined = apr_pstrcat(p, joined, "/", NULL);
    }
    return joined;
}

/* Every service but S3 normalises the path and encodes it once more, so a percent
 * sign on the wire becomes %25 ("each path segment must be URI-encoded twice").
 * S3 takes the path as it is, encoded once. */
static const char *canonical_uri(const char *raw, int s3, apr_pool_t *p)
{
    apr_size_t len;
    char *decoded;

    if (!raw || !*raw) {
        return "/";
    }
    if (s3) {
        decoded = pct_decode(raw, strlen(raw), &len, p);
        return uri_encode(decoded, len, 1, p);
    }
    raw = remove_dot_segments(raw, p);
    return *raw ? uri_encode(raw, strlen(raw), 1, p) : "/";
}

/* ************************************************************************************
 * Canonical query string
 */

typedef struct query_pair {
    const char *key;
    const char *value;
} query_pair;

static int pair_cmp(const void *a, const void *b)
{
    const query_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Each name and value decoded and encoded again, so that any client's spelling of the
 * same query gives the same text; sorted by name, then value. */
static const char *canonical_query(const char *raw, int presigned, apr_pool_t *p)
{
    apr_array_header_t *pairs = apr_array_make(p, 8, sizeof(query_pair));
    const char *s = raw, *e, *eq;
    char *out;
    apr_size_t total = 1;
    int i;

    if (!raw || !*raw) {
        return "";
    }
    while (*s) {
        for (e = s; *e && *e != '&'; e++)
            ;
        if (e > s) {
            query_pair *qp = apr_array_push(pairs);
            apr_size_t klen, vlen = 0;
            const char *k, *v = "";

            for (eq = s; eq < e && *eq != '='; eq++)
                ;
            k = pct_decode(s, (apr_size_t)(eq - s), &klen, p);
            if (eq < e) {
                v = pct_decode(eq + 1, (apr_size_t)(e - eq - 1), &vlen, p);
            }
            if (presigned && klen == 15 && !memcmp(k, "X-Amz-Signature", 15)) {
                pairs->nelts--; /* the signature does not sign itself */
            }
            else {
                qp->key = uri_encode(k, klen, 0, p);
                qp->value = uri_encode(v, vlen, 0, p);
                total += strlen(qp->key) + strlen(qp->value) + 2;
            }
        }
        s = *e ? e + 1 : e;
    }
    qsort(pairs->elts, (size_t)pairs->nelts, sizeof(query_pair), pair_cmp);
    out = apr_palloc(p, total);
    out[0] = '\0';
    for (i = 0; i < pairs->nelts; i++) {
        const query_pair *qp = &APR_ARRAY_IDX(pairs, i, query_pair);
        if (i) {
            strcat(out, "&");
        }
        strcat(out, qp->key);
        strcat(out, "=");
        strcat(out, qp->value);
    }
    return out;
}

/* ************************************************************************************
 * Canonical headers
 */

typedef struct header_acc {
    apr_pool_t *p;
    char *value;
} header_acc;

/* Trimall: no leading or trailing white space, runs of it become one space. */
static char *trimall(const char *v, apr_pool_t *p)
{
    char *out = apr_palloc(p, strlen(v) + 1), *o = out;
    int space = 0;

    for (; *v; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n' || *v == '\v' || *v == '\f') {
            space = o > out;
            continue;
        }
        if (space) {
            *o++ = ' ';
            space = 0;
        }
        *o++ = *v;
    }
    *o = '\0';
    return out;
}

/* Repeated header fields join with ',' in the order received. (httpd itself merges
 * repeated fields with ", " before we see them, which no SDK relies on.) */
static int header_collect(void *baton, const char *key, const char *value)
{
    header_acc *acc = baton;
    (void)key;
    acc->value = acc->value ? apr_pstrcat(acc->p, acc->value, ",", trimall(value, acc->p), NULL)
                            : trimall(value, acc->p);
    return 1;
}

/* apr_pstrcatv only reads the parts. */
static void push(apr_array_header_t *parts, const char *s, size_t n)
{
    struct iovec *v = apr_array_push(parts);

    v->iov_base = (void *)s;
    v->iov_len = n;
}

static const char *canonical_headers(const apr_table_t *headers, const char *signed_headers,
                                     apr_pool_t *p)
{
    char *list = apr_pstrdup(p, signed_headers), *name, *last;
    apr_array_header_t *parts = apr_array_make(p, 32, sizeof(struct iovec));
    apr_size_t len;

    /* Joined once at the end: concatenating line by line copied the text so far per
     * header. */
    for (name = apr_strtok(list, ";", &last); name; name = apr_strtok(NULL, ";", &last)) {
        header_acc acc = {p, NULL};
        char *c;

        for (c = name; *c; c++) { /* names compare case-insensitively, print in lower case */
            if (*c >= 'A' && *c <= 'Z') {
                *c = (char)(*c - 'A' + 'a');
            }
        }
        if (headers) {
            apr_table_do(header_collect, &acc, headers, name, NULL);
        }
        push(parts, name, (size_t)(c - name));
        push(parts, ":", 1);
        push(parts, acc.value ? acc.value : "", acc.value ? strlen(acc.value) : 0);
        push(parts, "\n", 1);
    }
    return apr_pstrcatv(p, (const struct iovec *)parts->elts, (apr_size_t)parts->nelts, &len);
}

const char *acmpca_sigv4_canonical_request(const acmpca_sigv4_req_t *req,
                                           const char *signed_headers, const char *payload_hash,
                                           int s3, int presigned, apr_pool_t *p)
{
    return apr_pstrcat(p, req->method, "\n", canonical_uri(req->path, s3, p), "\n",
                       canonical_query(req->query, presigned, p), "\n",
                       canonical_headers(req->headers, signed_headers, p), "\n", signed_headers,
                       "\n", payload_hash, NULL);
}
