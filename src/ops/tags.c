/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * TagCertificateAuthority, UntagCertificateAuthority, ListTags (PCA-API.md §5.20). */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/token.h"
#include "ops_int.h"

#define TAGS_MAX 50

/* [\p{L}\p{Z}\p{N}_.:/=+\-@]*: ASCII letters, digits, space and those marks; beyond
 * ASCII we accept every character but the C1 controls (letters, numbers and separators
 * are nearly all of Unicode that a tag would carry). */
static int tag_text_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    for (; *u; u++) {
        if (*u >= 0x80) {
            if (u[0] == 0xC2 && u[1] >= 0x80 && u[1] < 0xA0) {
                return 0; /* U+0080..U+009F */
            }
            continue;
        }
        if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9')
              || strchr(" _.:/=+-@", *u))) {
            return 0;
        }
    }
    return 1;
}

apr_status_t acmpca_tags_check(const cJSON *tags, acmpca_err_t *err, apr_pool_t *p)
{
    const cJSON *t, *u;

    cJSON_ArrayForEach(t, tags)
    {
        const char *key = acmpca_json_str(t, ACMPCA_K_KEY);
        const char *value = acmpca_json_str(t, ACMPCA_K_VALUE);

        if (!key || !tag_text_ok(key) || (value && !tag_text_ok(value))) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_TAG, p,
                                  "The tag %s contains characters that are not allowed.",
                                  key ? key : "");
        }
        if (!strncasecmp(key, "aws:", 4)) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_TAG, p,
                                  "Tag keys beginning with aws: are reserved: %s.", key);
        }
        for (u = t->next; u; u = u->next) {
            const char *other = acmpca_json_str(u, ACMPCA_K_KEY);
            if (other && !strcmp(other, key)) {
                return acmpca_err_set(err, ACMPCA_ERR_INVALID_TAG, p,
                                      "The tag key %s appears more than once.", key);
            }
        }
    }
    return APR_SUCCESS;
}

static cJSON *tag_find(cJSON *tags, const char *key)
{
    cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        if (!strcmp(acmpca_json_str(t, ACMPCA_K_KEY), key)) {
            return t;
        }
    }
    return NULL;
}

typedef struct tag_baton {
    const acmpca_op_ctx_t *ctx;
    const cJSON *in;
    const char *op;
    int untag;
} tag_baton;

/* TagCertificateAuthority adds or replaces each given tag; UntagCertificateAuthority
 * removes each given key, and with a Value only a tag carrying that value (AWS). */
static apr_status_t retag(acmpca_ca_t *ca, void *baton, acmpca_err_t *err, apr_pool_t *p)
{
    tag_baton *b = baton;
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(ca->doc, ACMPCA_D_TAGS);
    const cJSON *t;
    apr_status_t rv;

    if ((rv = acmpca_state_allow(b->op, ca, b->ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(b->in, ACMPCA_K_TAGS))
    {
        cJSON *old = tag_find(tags, acmpca_json_str(t, ACMPCA_K_KEY));

        if (b->untag) {
            const char *value = acmpca_json_str(t, ACMPCA_K_VALUE);
            const char *old_value = old ? acmpca_json_str(old, ACMPCA_K_VALUE) : NULL;
            if (old && (!value || (old_value && !strcmp(value, old_value)))) {
                cJSON_Delete(cJSON_DetachItemViaPointer(tags, old));
            }
        }
        else if (old) {
            cJSON_ReplaceItemViaPointer(tags, old, cJSON_Duplicate(t, 1));
        }
        else {
            cJSON_AddItemToArray(tags, cJSON_Duplicate(t, 1));
        }
    }
    /* All or nothing: the document is only written when the result fits. */
    if (cJSON_GetArraySize(tags) > TAGS_MAX) {
        return acmpca_err_set(err, ACMPCA_ERR_TOO_MANY_TAGS, p,
                              "A certificate authority can have at most %d tags.", TAGS_MAX);
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_op_tag_ca(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                              acmpca_err_t *err, apr_pool_t *p)
{
    tag_baton b = {ctx, in, "TagCertificateAuthority", 0};
    apr_status_t rv;

    (void)pout;
    if ((rv = acmpca_tags_check(cJSON_GetObjectItemCaseSensitive(in, ACMPCA_K_TAGS), err, p))
        != APR_SUCCESS) {
        /* An unknown CA is reported before a bad tag (PCA-API.md §1.5). */
        acmpca_ca_t *ca;
        apr_status_t lrv = acmpca_ca_load(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p);
        return lrv != APR_SUCCESS ? lrv : rv;
    }
    return acmpca_ca_mutate(NULL, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), retag, &b, err, p);
}

apr_status_t acmpca_op_untag_ca(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                acmpca_err_t *err, apr_pool_t *p)
{
    tag_baton b = {ctx, in, "UntagCertificateAuthority", 1};
    (void)pout;
    return acmpca_ca_mutate(NULL, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), retag, &b, err, p);
}

apr_status_t acmpca_op_list_tags(cJSON **pout, const acmpca_op_ctx_t *ctx, const cJSON *in,
                                 acmpca_err_t *err, apr_pool_t *p)
{
    const char *token = acmpca_json_str(in, ACMPCA_K_NEXT_TOKEN);
    int page = (int)acmpca_json_num(in, ACMPCA_K_MAX_RESULTS, 1000);
    apr_int64_t start = 0;
    const cJSON *tags, *t;
    const char *text;
    cJSON *list;
    acmpca_ca_t *ca;
    apr_status_t rv;
    int i = 0, whole;

    if ((rv = acmpca_ca_view(&ca, ctx, acmpca_json_str(in, ACMPCA_K_CA_ARN), err, p)) != APR_SUCCESS
        || (rv = acmpca_state_allow("ListTags", ca, ctx->now, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (token
        && acmpca_token_parse(&start, ctx->env->kek, ACMPCA_KEK_LEN, "ListTags", ca->ref.id, token,
                              p)
               != APR_SUCCESS) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_NEXT_TOKEN, p,
                              "The token passed is not valid.");
    }
    tags = cJSON_GetObjectItemCaseSensitive(ca->doc, ACMPCA_D_TAGS);
    /* The usual request, all tags on one page, depends on the document alone: rendered
     * once per document text (doc_cache.c). */
    whole = !token && cJSON_GetArraySize(tags) <= page;
    if (whole && (text = acmpca_ca_doc_answer(ca->entry, ACMPCA_ANSWER_LIST_TAGS, "")) != NULL) {
        *pout = acmpca_ops_rendered(text, p);
        return APR_SUCCESS;
    }
    *pout = acmpca_json_own(cJSON_CreateObject(), p);
    list = cJSON_AddArrayToObject(*pout, ACMPCA_K_TAGS);
    cJSON_ArrayForEach(t, tags)
    {
        if (i >= start + page) {
            cJSON_AddStringToObject(
                *pout, ACMPCA_K_NEXT_TOKEN,
                acmpca_token_make(ctx->env->kek, ACMPCA_KEK_LEN, "ListTags", ca->ref.id, i, p));
            break;
        }
        if (i++ >= start) {
            cJSON_AddItemToArray(list, cJSON_Duplicate(t, 1));
        }
    }
    if (whole && (text = acmpca_json_print(*pout, p)) != NULL) {
        acmpca_ca_doc_answer_keep(ca->entry, ACMPCA_ANSWER_LIST_TAGS, "", text);
        *pout = acmpca_ops_rendered(text, p);
    }
    return APR_SUCCESS;
}
