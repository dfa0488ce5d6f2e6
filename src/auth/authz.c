/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * IAM policies: parsing a document into statements and evaluating principal x action x
 * resource (x condition keys) against them as IAM does: an explicit Deny wins, else an
 * Allow that applies, else an implicit deny.
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html) */
#include <stdarg.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <cjson/cJSON.h>

#include "acmpca/auth.h"
#include "acmpca/json.h"

/* Condition operators, each also with the IfExists suffix. */
#define OP_NEGATE 0x01
#define OP_LIKE   0x02
#define OP_CI     0x04

static const struct {
    const char *name;
    int flags;
} operators[] = {
    {"StringEquals", 0},
    {"StringNotEquals", OP_NEGATE},
    {"StringEqualsIgnoreCase", OP_CI},
    {"StringNotEqualsIgnoreCase", OP_NEGATE | OP_CI},
    {"StringLike", OP_LIKE},
    {"StringNotLike", OP_NEGATE | OP_LIKE},
    {"ArnEquals", OP_LIKE}, /* IAM matches ARNs with wildcards under both names */
    {"ArnLike", OP_LIKE},
    {"ArnNotEquals", OP_NEGATE | OP_LIKE},
    {"ArnNotLike", OP_NEGATE | OP_LIKE},
};

/* The operations of the service: an action naming anything else is a typo. */
static const char *const pca_actions[] = {
    "CreateCertificateAuthority",
    "CreateCertificateAuthorityAuditReport",
    "CreatePermission",
    "DeleteCertificateAuthority",
    "DeletePermission",
    "DeletePolicy",
    "DescribeCertificateAuthority",
    "DescribeCertificateAuthorityAuditReport",
    "GetCertificate",
    "GetCertificateAuthorityCertificate",
    "GetCertificateAuthorityCsr",
    "GetPolicy",
    "ImportCertificateAuthorityCertificate",
    "IssueCertificate",
    "ListCertificateAuthorities",
    "ListPermissions",
    "ListTags",
    "PutPolicy",
    "RestoreCertificateAuthority",
    "RevokeCertificate",
    "TagCertificateAuthority",
    "UntagCertificateAuthority",
    "UpdateCertificateAuthority",
};

typedef struct cond_t {
    int flags;
    int if_exists;
    const char *key;
    apr_array_header_t *values; /* const char * */
} cond_t;

typedef struct stmt_t {
    int deny;
    int not_action;
    apr_array_header_t *actions;   /* const char * patterns */
    apr_array_header_t *resources; /* const char * patterns */
    int any_principal;
    apr_array_header_t *aws;      /* account ids and ARNs */
    apr_array_header_t *services; /* service principals */
    apr_array_header_t *conds;    /* cond_t */
} stmt_t;

struct acmpca_policy_t {
    apr_array_header_t *stmts; /* stmt_t */
};

/* ************************************************************************************
 * Matching
 */

int acmpca_authz_glob(const char *pat, const char *s, int ci)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        }
        else if (*pat == '?' || *pat == *s
                 || (ci && *pat
                     && apr_tolower((unsigned char)*pat) == apr_tolower((unsigned char)*s))) {
            pat++;
            s++;
        }
        else if (star) {
            pat = star + 1;
            s = ++resume;
        }
        else {
            return 0;
        }
    }
    while (*pat == '*') {
        pat++;
    }
    return !*pat;
}

static int any_glob(const apr_array_header_t *pats, const char *s, int ci)
{
    int i;
    for (i = 0; pats && i < pats->nelts; i++) {
        if (acmpca_authz_glob(APR_ARRAY_IDX(pats, i, const char *), s, ci)) {
            return 1;
        }
    }
    return 0;
}

static int is_account_id(const char *s)
{
    return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

/* "123456789012" and "arn:aws:iam::123456789012:root" name a whole account; any other
 * ARN names one principal. */
static int principal_matches(const char *entry, const acmpca_authz_req_t *req)
{
    size_t n = strlen(entry);

    if (!strcmp(entry, "*")) {
        return 1;
    }
    if (is_account_id(entry)) {
        return req->account && !strcmp(entry, req->account);
    }
    if (n == 30 && !strncmp(entry, "arn:aws:iam::", 13) && !strcmp(entry + 25, ":root")) {
        return req->account && !strncmp(entry + 13, req->account, 12) && strlen(req->account) == 12;
    }
    return req->principal && !strcmp(entry, req->principal);
}

static int stmt_principal(const stmt_t *st, const acmpca_authz_req_t *req)
{
    int i;

    if (st->any_principal) {
        return 1;
    }
    for (i = 0; st->aws && i < st->aws->nelts; i++) {
        if (principal_matches(APR_ARRAY_IDX(st->aws, i, const char *), req)) {
            return 1;
        }
    }
    for (i = 0; st->services && i < st->services->nelts; i++) {
        if (req->principal
            && !strcmp(APR_ARRAY_IDX(st->services, i, const char *), req->principal)) {
            return 1;
        }
    }
    return 0;
}

static int cond_holds(const cond_t *c, const acmpca_authz_req_t *req)
{
    const char *v = req->context ? apr_table_get(req->context, c->key) : NULL;
    int i, hit = 0;

    if (!v) { /* a missing key satisfies only the negated and IfExists operators */
        return c->if_exists || (c->flags & OP_NEGATE);
    }
    for (i = 0; i < c->values->nelts && !hit; i++) {
        const char *want = APR_ARRAY_IDX(c->values, i, const char *);
        if (c->flags & OP_LIKE) {
            hit = acmpca_authz_glob(want, v, 0);
        }
        else {
            hit = (c->flags & OP_CI) ? !strcasecmp(want, v) : !strcmp(want, v);
        }
    }
    return (c->flags & OP_NEGATE) ? !hit : hit;
}

static int stmt_applies(const stmt_t *st, const acmpca_authz_req_t *req)
{
    int i;

    if ((st->aws || st->services || st->any_principal) && !stmt_principal(st, req)) {
        return 0;
    }
    if (any_glob(st->actions, req->action, 1) == st->not_action) {
        return 0;
    }
    if (!any_glob(st->resources, req->resource ? req->resource : "*", 0)) {
        return 0;
    }
    for (i = 0; st->conds && i < st->conds->nelts; i++) {
        if (!cond_holds(&APR_ARRAY_IDX(st->conds, i, cond_t), req)) {
            return 0;
        }
    }
    return 1;
}

acmpca_authz_t acmpca_policy_eval(const acmpca_policy_t *pol, const acmpca_authz_req_t *req)
{
    acmpca_authz_t verdict = ACMPCA_AUTHZ_IMPLICIT_DENY;
    int i;

    for (i = 0; pol && i < pol->stmts->nelts; i++) {
        const stmt_t *st = &APR_ARRAY_IDX(pol->stmts, i, stmt_t);
        if (stmt_applies(st, req)) {
            if (st->deny) {
                return ACMPCA_AUTHZ_DENY;
            }
            verdict = ACMPCA_AUTHZ_ALLOW;
        }
    }
    return verdict;
}

/* ************************************************************************************
 * Parsing
 */

typedef struct parse_ctx {
    acmpca_policy_kind_t kind;
    acmpca_policy_t *pol;
    const char *why;
    apr_pool_t *p;
} parse_ctx;

static int fail(parse_ctx *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parse_ctx *pc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pc->why = apr_pvsprintf(pc->p, fmt, ap);
    va_end(ap);
    return 0;
}

/* A string or a non-empty list of strings. */
static apr_array_header_t *strings(parse_ctx *pc, const cJSON *j, const char *what)
{
    apr_array_header_t *a = apr_array_make(pc->p, 4, sizeof(const char *));
    const cJSON *e;

    if (cJSON_IsString(j)) {
        APR_ARRAY_PUSH(a, const char *) = apr_pstrdup(pc->p, j->valuestring);
        return a;
    }
    if (!cJSON_IsArray(j) || !cJSON_GetArraySize(j)) {
        fail(pc, "%s must be a string or a non-empty list of strings.", what);
        return NULL;
    }
    cJSON_ArrayForEach(e, j)
    {
        if (!cJSON_IsString(e)) {
            fail(pc, "%s must be a string or a non-empty list of strings.", what);
            return NULL;
        }
        APR_ARRAY_PUSH(a, const char *) = apr_pstrdup(pc->p, e->valuestring);
    }
    return a;
}

static int known_pca_action(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof(pca_actions) / sizeof(pca_actions[0]); i++) {
        if (!strcasecmp(pca_actions[i], name)) {
            return 1;
        }
    }
    return 0;
}

/* "service:Name" with wildcards, or "*". A resource policy on a CA speaks of acm-pca
 * only; an acm-pca name without wildcards must be an operation of the service. */
static int check_action(parse_ctx *pc, const char *a)
{
    const char *colon = strchr(a, ':');
    int pca = colon && colon - a == 7 && !strncasecmp(a, "acm-pca", 7);

    if (!strcmp(a, "*")) {
        return 1;
    }
    if (!colon || colon == a || !colon[1] || strchr(colon + 1, ':')) {
        return fail(pc, "The action %s is not of the form service:Action.", a);
    }
    if (pc->kind == ACMPCA_POLICY_RESOURCE && !pca) {
        return fail(pc, "The action %s is not an acm-pca action.", a);
    }
    if (pca && !strpbrk(colon + 1, "*?") && !known_pca_action(colon + 1)) {
        return fail(pc, "The action %s is not an action of acm-pca.", a);
    }
    return 1;
}

static int check_aws_principal(parse_ctx *pc, const char *s)
{
    if (!strcmp(s, "*") || is_account_id(s)) {
        return 1;
    }
    if ((!strncmp(s, "arn:aws:iam::", 13) || !strncmp(s, "arn:aws:sts::", 13))
        && is_account_id(apr_pstrndup(pc->p, s + 13, 12)) && s[25] == ':' && s[26]) {
        return 1;
    }
    return fail(pc, "Invalid principal in policy: \"AWS\":\"%s\".", s);
}

static int parse_principal(parse_ctx *pc, stmt_t *st, const cJSON *j)
{
    const cJSON *m;
    int i;

    if (cJSON_IsString(j) && !strcmp(j->valuestring, "*")) {
        st->any_principal = 1;
        return 1;
    }
    if (!cJSON_IsObject(j) || !j->child) {
        return fail(pc, "%s",
                    "Principal must be \"*\" or an object such as {\"AWS\": "
                    "\"123456789012\"}.");
    }
    cJSON_ArrayForEach(m, j)
    {
        apr_array_header_t *list = strings(pc, m, "Principal");
        if (!list) {
            return 0;
        }
        if (!strcmp(m->string, "AWS")) {
            for (i = 0; i < list->nelts; i++) {
                if (!check_aws_principal(pc, APR_ARRAY_IDX(list, i, const char *))) {
                    return 0;
                }
            }
            st->aws = list;
        }
        else if (!strcmp(m->string, "Service")) {
            st->services = list;
        }
        else {
            return fail(pc, "Unsupported principal type %s.", m->string);
        }
    }
    return 1;
}

static int parse_condition(parse_ctx *pc, stmt_t *st, const cJSON *j)
{
    const cJSON *op, *k;
    size_t i;

    if (!cJSON_IsObject(j)) {
        return fail(pc, "%s", "Condition must be an object.");
    }
    st->conds = apr_array_make(pc->p, 2, sizeof(cond_t));
    cJSON_ArrayForEach(op, j)
    {
        size_t n = strlen(op->string);
        int if_exists = n > 8 && !strcmp(op->string + n - 8, "IfExists");
        const char *base = if_exists ? apr_pstrndup(pc->p, op->string, n - 8) : op->string;

        for (i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
            if (!strcmp(operators[i].name, base)) {
                break;
            }
        }
        if (i == sizeof(operators) / sizeof(operators[0])) {
            return fail(pc, "The condition operator %s is not supported.", op->string);
        }
        if (!cJSON_IsObject(op) || !op->child) {
            return fail(pc, "The condition %s must map keys to values.", op->string);
        }
        cJSON_ArrayForEach(k, op)
        {
            cond_t *c = apr_array_push(st->conds);
            c->flags = operators[i].flags;
            c->if_exists = if_exists;
            c->key = apr_pstrdup(pc->p, k->string);
            if (!(c->values = strings(pc, k, "A condition value"))) {
                return 0;
            }
        }
    }
    return 1;
}

static int parse_statement(parse_ctx *pc, const cJSON *j)
{
    stmt_t *st;
    const cJSON *m, *effect, *action, *not_action, *resource, *principal;
    int i;

    if (!cJSON_IsObject(j)) {
        return fail(pc, "%s", "Each statement must be an object.");
    }
    cJSON_ArrayForEach(m, j)
    {
        if (strcmp(m->string, "Sid") && strcmp(m->string, "Effect") && strcmp(m->string, "Action")
            && strcmp(m->string, "NotAction") && strcmp(m->string, "Resource")
            && strcmp(m->string, "Principal") && strcmp(m->string, "Condition")) {
            return fail(pc, "The statement element %s is not supported.", m->string);
        }
    }
    st = apr_array_push(pc->pol->stmts);
    memset(st, 0, sizeof(*st));
    effect = cJSON_GetObjectItemCaseSensitive(j, "Effect");
    if (!cJSON_IsString(effect)
        || (strcmp(effect->valuestring, "Allow") && strcmp(effect->valuestring, "Deny"))) {
        return fail(pc, "%s", "Each statement needs an Effect of Allow or Deny.");
    }
    st->deny = !strcmp(effect->valuestring, "Deny");
    action = cJSON_GetObjectItemCaseSensitive(j, "Action");
    not_action = cJSON_GetObjectItemCaseSensitive(j, "NotAction");
    if (!action == !not_action) {
        return fail(pc, "%s", "Each statement needs exactly one of Action and NotAction.");
    }
    st->not_action = !action;
    if (!(st->actions = strings(pc, action ? action : not_action, "Action"))) {
        return 0;
    }
    for (i = 0; i < st->actions->nelts; i++) {
        if (!check_action(pc, APR_ARRAY_IDX(st->actions, i, const char *))) {
            return 0;
        }
    }
    resource = cJSON_GetObjectItemCaseSensitive(j, "Resource");
    if (!resource) {
        return fail(pc, "%s", "Each statement needs a Resource.");
    }
    if (!(st->resources = strings(pc, resource, "Resource"))) {
        return 0;
    }
    principal = cJSON_GetObjectItemCaseSensitive(j, "Principal");
    if (pc->kind == ACMPCA_POLICY_IDENTITY && principal) {
        return fail(pc, "%s", "An identity policy cannot name a Principal.");
    }
    if (pc->kind == ACMPCA_POLICY_RESOURCE) {
        if (!principal) {
            return fail(pc, "%s", "Each statement of a resource policy needs a Principal.");
        }
        if (!parse_principal(pc, st, principal)) {
            return 0;
        }
    }
    m = cJSON_GetObjectItemCaseSensitive(j, "Condition");
    return !m || parse_condition(pc, st, m);
}

apr_status_t acmpca_policy_parse(acmpca_policy_t **ppol, const char *text, apr_size_t len,
                                 acmpca_policy_kind_t kind, const char **pwhy, apr_pool_t *p)
{
    acmpca_policy_t *pol = apr_pcalloc(p, sizeof(*pol));
    parse_ctx pc = {kind, pol, NULL, p};
    const cJSON *root = acmpca_json_parse(text, len, p), *version, *stmts, *s;
    int ok = 1;

    pol->stmts = apr_array_make(p, 4, sizeof(stmt_t));
    if (!cJSON_IsObject(root)) {
        *pwhy = "The policy is not a JSON object.";
        return APR_EINVAL;
    }
    version = cJSON_GetObjectItemCaseSensitive(root, "Version");
    if (version ? !cJSON_IsString(version)
                      || (strcmp(version->valuestring, "2012-10-17")
                          && strcmp(version->valuestring, "2008-10-17"))
                : kind == ACMPCA_POLICY_RESOURCE) {
        *pwhy = "The policy needs a Version of 2012-10-17 (or 2008-10-17).";
        return APR_EINVAL;
    }
    stmts = cJSON_GetObjectItemCaseSensitive(root, "Statement");
    if (!(cJSON_IsObject(stmts) || (cJSON_IsArray(stmts) && cJSON_GetArraySize(stmts) > 0))) {
        *pwhy = "The policy needs a Statement: an object or a non-empty list of them.";
        return APR_EINVAL;
    }
    if (cJSON_IsObject(stmts)) {
        ok = parse_statement(&pc, stmts);
    }
    else {
        cJSON_ArrayForEach(s, stmts)
        {
            if (!(ok = parse_statement(&pc, s))) {
                break;
            }
        }
    }
    if (!ok) {
        *pwhy = pc.why;
        return APR_EINVAL;
    }
    *ppol = pol;
    return APR_SUCCESS;
}

int acmpca_policy_statements(const acmpca_policy_t *pol)
{
    return pol ? pol->stmts->nelts : 0;
}

const apr_array_header_t *acmpca_policy_actions(const acmpca_policy_t *pol, int i, int *pnot)
{
    const stmt_t *st = &APR_ARRAY_IDX(pol->stmts, i, stmt_t);
    *pnot = st->not_action;
    return st->actions;
}

const apr_array_header_t *acmpca_policy_resources(const acmpca_policy_t *pol, int i)
{
    return APR_ARRAY_IDX(pol->stmts, i, stmt_t).resources;
}

/* ************************************************************************************
 * Requests and messages
 */

void acmpca_authz_request(acmpca_authz_req_t *req, const char *op, const cJSON *in,
                          const char *account, const char *principal, apr_pool_t *p)
{
    apr_table_t *ctx = apr_table_make(p, 4);
    const char *arn = acmpca_json_str(in, ACMPCA_K_CA_ARN);

    if (!arn) {
        arn = acmpca_json_str(in, "ResourceArn");
    }
    req->action = apr_pstrcat(p, "acm-pca:", op, NULL);
    req->resource = arn ? arn : "*";
    req->account = account;
    req->principal = principal;
    if (account) {
        apr_table_set(ctx, "aws:PrincipalAccount", account);
    }
    if (principal) {
        apr_table_set(ctx, "aws:PrincipalArn", principal);
    }
    if (!strcmp(op, "IssueCertificate")) {
        const char *tmpl = acmpca_json_str(in, ACMPCA_K_TEMPLATE_ARN);
        apr_table_set(ctx, "acm-pca:TemplateArn", tmpl ? tmpl : ACMPCA_CROSS_ACCOUNT_TEMPLATE);
    }
    req->context = ctx;
}

void acmpca_authz_request_body(acmpca_authz_req_t *req, const char *op, const char *body,
                               apr_size_t len, const char *account, const char *principal,
                               apr_pool_t *p)
{
    const cJSON *in = len ? acmpca_json_parse(body, len, p) : NULL;
    acmpca_authz_request(req, op, cJSON_IsObject(in) ? in : NULL, account, principal, p);
}

const char *acmpca_authz_denied_message(const acmpca_authz_req_t *req, acmpca_authz_t decision,
                                        const char *policy_kind, apr_pool_t *p)
{
    const char *who =
        req->principal ? req->principal : apr_psprintf(p, "arn:aws:iam::%s:root", req->account);
    const char *why = decision == ACMPCA_AUTHZ_DENY
                          ? apr_psprintf(p, "with an explicit deny in %s %s policy",
                                         policy_kind[0] == 'i' ? "an" : "a", policy_kind)
                          : apr_psprintf(p, "because no %s policy allows the %s action",
                                         policy_kind, req->action);
    return apr_psprintf(p, "User: %s is not authorized to perform: %s on resource: %s %s", who,
                        req->action, req->resource ? req->resource : "*", why);
}
