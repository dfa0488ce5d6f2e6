/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The operation table and the request pipeline: target -> JSON -> model validation ->
 * operation -> reply. Error precedence follows PCA-API.md §1.5. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/log.h"
#include "acmpca/model.h"
#include "ops_int.h"

#define TARGET_PREFIX "ACMPrivateCA."

typedef struct op_entry_t {
    const char *name;
    acmpca_op_fn *fn;
} op_entry_t;

/* The operations this server implements. The input shapes come from the model. */
static const op_entry_t op_table[] = {
    {"CreateCertificateAuthority", acmpca_op_create_ca},
    {"DeleteCertificateAuthority", acmpca_op_delete_ca},
    {"DescribeCertificateAuthority", acmpca_op_describe_ca},
    {"GetCertificate", acmpca_op_get_cert},
    {"GetCertificateAuthorityCertificate", acmpca_op_get_ca_cert},
    {"GetCertificateAuthorityCsr", acmpca_op_get_ca_csr},
    {"ImportCertificateAuthorityCertificate", acmpca_op_import_ca_cert},
    {"IssueCertificate", acmpca_op_issue_cert},
    {"ListCertificateAuthorities", acmpca_op_list_cas},
    {"ListTags", acmpca_op_list_tags},
    {"RestoreCertificateAuthority", acmpca_op_restore_ca},
    {"TagCertificateAuthority", acmpca_op_tag_ca},
    {"UntagCertificateAuthority", acmpca_op_untag_ca},
    {"UpdateCertificateAuthority", acmpca_op_update_ca},
    {"PutPolicy", acmpca_op_put_policy},
    {"GetPolicy", acmpca_op_get_policy},
    {"DeletePolicy", acmpca_op_delete_policy},
    {"CreatePermission", acmpca_op_create_permission},
    {"ListPermissions", acmpca_op_list_permissions},
    {"DeletePermission", acmpca_op_delete_permission},
    {"RevokeCertificate", acmpca_op_revoke_cert},
    {"CreateCertificateAuthorityAuditReport", acmpca_op_create_audit_report},
    {"DescribeCertificateAuthorityAuditReport", acmpca_op_describe_audit_report},
};

static const op_entry_t *op_find(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++) {
        if (!strcmp(op_table[i].name, name)) {
            return &op_table[i];
        }
    }
    return NULL;
}

static int model_input(const char *name)
{
    int i;
    for (i = 0; i < acmpca_model_n_ops; i++) {
        if (!strcmp(acmpca_model_ops[i].name, name)) {
            return acmpca_model_ops[i].input;
        }
    }
    return -1;
}

void acmpca_ops_error_reply(acmpca_reply_t *reply, const acmpca_err_t *err, apr_pool_t *p)
{
    cJSON *body = acmpca_json_own(cJSON_CreateObject(), p);
    acmpca_errtype_t type = err->type == ACMPCA_ERR_NONE ? ACMPCA_ERR_INTERNAL : err->type;
    const char *message = err->message;

    /* Our own faults never show their cause to the client. */
    if (type == ACMPCA_ERR_INTERNAL) {
        message = "An internal error occurred. Try again later.";
    }
    else if (type == ACMPCA_ERR_STORE_UNAVAILABLE) {
        message = "The service is temporarily unavailable. Try again later.";
    }
    cJSON_AddStringToObject(body, "__type", acmpca_err_name(type));
    cJSON_AddStringToObject(body, "message", message ? message : "");
    reply->status = acmpca_err_http_status(type);
    reply->error_type = acmpca_err_name(type);
    reply->body = acmpca_json_print(body, p);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
}

static apr_status_t run(cJSON **pout, const acmpca_call_t *call, const char **popname,
                        acmpca_err_t *err, apr_pool_t *p)
{
    const op_entry_t *op = NULL;
    acmpca_op_ctx_t ctx;
    cJSON *in;
    apr_status_t rv;
    int shape;

    if (call->target && !strncmp(call->target, TARGET_PREFIX, strlen(TARGET_PREFIX))) {
        op = op_find(call->target + strlen(TARGET_PREFIX));
    }
    if (!op) {
        return acmpca_err_set(err, ACMPCA_ERR_UNKNOWN_OPERATION, p, "Operation %s is unknown.",
                              call->target ? call->target : "(no X-Amz-Target)");
    }
    *popname = op->name;
    /* An empty body is an empty request (PCA-API.md §1.1). */
    in = call->body_len ? acmpca_json_parse(call->body, call->body_len, p)
                        : acmpca_json_own(cJSON_CreateObject(), p);
    if (!in) {
        return acmpca_err_set(err, ACMPCA_ERR_SERIALIZATION, p,
                              "The request body is not valid JSON.");
    }
    if (!cJSON_IsObject(in)) {
        return acmpca_err_set(err, ACMPCA_ERR_SERIALIZATION, p,
                              "The request body must be a JSON object.");
    }
    shape = model_input(op->name);
    if (shape >= 0 && (rv = acmpca_validate(in, shape, err, p)) != APR_SUCCESS) {
        return rv;
    }
    ctx.call = call;
    ctx.env = call->env;
    ctx.store = call->env->store;
    ctx.account = call->caller.account ? call->caller.account : call->env->account;
    ctx.now = call->now;
    ctx.operation = op->name;
    ctx.in = in;
    return op->fn(pout, &ctx, in, err, p);
}

cJSON *acmpca_ops_rendered(const char *text, apr_pool_t *p)
{
    /* A raw item referencing text: cJSON_Delete leaves the text alone. */
    cJSON *j = acmpca_json_own(cJSON_CreateNull(), p);

    if (j) {
        j->type = cJSON_Raw | cJSON_IsReference;
        j->valuestring = (char *)text;
    }
    return j;
}

void acmpca_ops_call(acmpca_reply_t *reply, const acmpca_call_t *call, apr_pool_t *p)
{
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    cJSON *out = NULL;
    apr_status_t rv;

    memset(reply, 0, sizeof(*reply));
    rv = run(&out, call, &reply->operation, &err, p);
    if (rv == APR_SUCCESS) {
        reply->status = 200;
        reply->body = !out ? "{}" : cJSON_IsRaw(out) ? out->valuestring : acmpca_json_print(out, p);
        if (reply->body) {
            reply->body_len = strlen(reply->body);
            return;
        }
        rv = acmpca_err_internal(&err, APR_ENOMEM, "rendering the reply");
    }
    if (err.type == ACMPCA_ERR_NONE || err.type == ACMPCA_ERR_INTERNAL
        || err.type == ACMPCA_ERR_STORE_UNAVAILABLE) {
        acmpca_log(ACMPCA_LOG_MARK, ACMPCA_LOG_ERR, err.cause ? err.cause : rv, p,
                   "ACMPCA0101: request %s: %s failed: %s", call->request_id,
                   reply->operation ? reply->operation : "request",
                   err.message ? err.message : "unexpected status");
    }
    acmpca_ops_error_reply(reply, &err, p);
}
