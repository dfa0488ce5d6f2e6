/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The glue of identity and access: the credentials file's entries, ACMPCAAuthentication
 * and ACMPCAThrottle, turning a request_rec into a verified caller (SigV4 or httpd's own
 * authentication), the identity policy check, and the throttle table in shared memory.
 *
 * Credentials file (ACMPCACredentialsFile), JSON:
 *   {"Credentials": [
 *     {"AccessKeyId": "AKIA...", "SecretAccessKey": "...", "AccountId": "111122223333",
 *      "Principal": "arn:aws:iam::111122223333:user/alice",   (default: the account root)
 *      "SessionToken": "...",                                 (optional: must be sent)
 *      "Policy": {"Version": "2012-10-17", "Statement": [...]}},  (optional identity policy)
 *     {"User": "bob", "AccountId": "444455556666", "Policy": ...},  (httpd user name)
 *     {"User": "*", "AccountId": "444455556666"}]}                  (any other user)
 * An entry without a Policy may do everything in its own account; with one, only what
 * the policy allows (an explicit Deny wins). Entries of "ACMPCAAuthentication httpd" map
 * r->user to an account: by "User", else the "*" entry, else (no credentials file at all)
 * ACMPCAAccountId; the principal is then arn:aws:iam::<account>:user/<name>. */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_mutex.h>

#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "acmpca/auth.h"
#include "acmpca/json.h"
#include "acmpca/model.h"
#include "mod_acmpca.h"

APLOG_USE_MODULE(acmpca);

#define TARGET_PREFIX    "ACMPrivateCA."
#define THROTTLE_MUTEX   "acmpca-throttle"
#define THROTTLE_SLOTS   4096
#define THROTTLE_MAX     1000000.0
#define THROTTLE_MESSAGE "Rate exceeded"

/* The throttle table: created in post_config, inherited by every child (anonymous
 * shared memory), guarded by a global mutex re-opened in child_init. */
static apr_shm_t *throttle_shm;
static void *throttle_base;
static apr_global_mutex_t *throttle_mutex;

/* ************************************************************************************
 * The credentials file
 */

static apr_status_t wipe(void *s)
{
    acmpca_auth_wipe(s, strlen(s));
    return APR_SUCCESS;
}

static const char *secret_dup(const char *s, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, s);
    apr_pool_cleanup_register(p, copy, wipe, apr_pool_cleanup_null);
    return copy;
}

static int is_account_id(const char *s)
{
    return s && strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

static const char *entry_policy(credential_t *cred, const cJSON *c, apr_pool_t *p)
{
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(c, "Policy");
    const char *text, *why;
    acmpca_policy_t *parsed;

    if (!pol) {
        return NULL;
    }
    /* An object in place, or a string holding one (as IAM hands policies around). */
    text = cJSON_IsString(pol) ? pol->valuestring : acmpca_json_print(pol, p);
    if (!text
        || acmpca_policy_parse(&parsed, text, strlen(text), ACMPCA_POLICY_IDENTITY, &why, p)
               != APR_SUCCESS) {
        return apr_psprintf(p, "the Policy of %s is not an IAM identity policy: %s",
                            cred->access_key ? cred->access_key : cred->user,
                            text ? why : "unprintable");
    }
    cred->policy = parsed;
    return NULL;
}

const char *acmpca_credential_add(apr_hash_t *keys, apr_hash_t *users, const cJSON *c,
                                  apr_pool_t *p)
{
    credential_t *cred = apr_pcalloc(p, sizeof(*cred));
    const char *akid = acmpca_json_str(c, "AccessKeyId");
    const char *secret = acmpca_json_str(c, "SecretAccessKey");
    const char *token = acmpca_json_str(c, "SessionToken");
    const char *user = acmpca_json_str(c, "User");
    const char *account = acmpca_json_str(c, "AccountId");
    const char *principal = acmpca_json_str(c, "Principal");

    if (!((akid && secret) || user) || !is_account_id(account)) {
        return "every entry needs AccessKeyId and SecretAccessKey (or a User) and a 12-digit "
               "AccountId";
    }
    if (akid && apr_hash_get(keys, akid, APR_HASH_KEY_STRING)) {
        return apr_psprintf(p, "access key %s appears twice", akid);
    }
    if (user && apr_hash_get(users, user, APR_HASH_KEY_STRING)) {
        return apr_psprintf(p, "user %s appears twice", user);
    }
    cred->access_key = akid ? apr_pstrdup(p, akid) : NULL;
    cred->secret = secret ? secret_dup(secret, p) : NULL;
    cred->session_token = token ? secret_dup(token, p) : NULL;
    cred->user = user ? apr_pstrdup(p, user) : NULL;
    cred->caller.access_key = cred->access_key;
    cred->caller.account = apr_pstrdup(p, account);
    if (principal) {
        cred->caller.principal = apr_pstrdup(p, principal);
    }
    else if (user && !akid && strcmp(user, "*")) {
        cred->caller.principal = apr_psprintf(p, "arn:aws:iam::%s:user/%s", account, user);
    }
    else if (!user || akid) {
        cred->caller.principal = apr_psprintf(p, "arn:aws:iam::%s:root", account);
    }
    if ((principal = entry_policy(cred, c, p)) != NULL) {
        return principal;
    }
    if (akid) {
        apr_hash_set(keys, cred->access_key, APR_HASH_KEY_STRING, cred);
    }
    if (user) {
        apr_hash_set(users, cred->user, APR_HASH_KEY_STRING, cred);
    }
    return NULL;
}

/* ************************************************************************************
 * Directives
 */

const char *acmpca_cmd_authentication(cmd_parms *cmd, void *dc, const char *arg)
{
    acmpca_srv_conf_t *conf = acmpca_srv_conf(cmd->server);
    (void)dc;

    if (!strcasecmp(arg, "sigv4")) {
        conf->authn = ACMPCA_AUTHN_SIGV4;
    }
    else if (!strcasecmp(arg, "httpd")) {
        conf->authn = ACMPCA_AUTHN_HTTPD;
    }
    else if (!strcasecmp(arg, "none")) {
        conf->authn = ACMPCA_AUTHN_NONE;
    }
    else {
        return apr_psprintf(cmd->pool, "%s '%s': expected sigv4, httpd or none", cmd->cmd->name,
                            arg);
    }
    return NULL;
}

static int known_operation(const char *name)
{
    int i;
    for (i = 0; i < acmpca_model_n_ops; i++) {
        if (!strcmp(acmpca_model_ops[i].name, name)) {
            return 1;
        }
    }
    return 0;
}

static int parse_rate(double *pv, const char *s, double min)
{
    char *end;
    double v = strtod(s, &end);
    return !(*end || end == s || !(v >= min) || v > THROTTLE_MAX) && (*pv = v, 1);
}

const char *acmpca_cmd_throttle(cmd_parms *cmd, void *dc, const char *op, const char *rate,
                                const char *burst)
{
    acmpca_srv_conf_t *conf = acmpca_srv_conf(cmd->server);
    acmpca_throttle_rule_t *rule = NULL;
    int i;
    (void)dc;

    if (strcmp(op, "*") && !known_operation(op)) {
        return apr_psprintf(cmd->pool,
                            "%s '%s': expected * or an operation such as "
                            "IssueCertificate",
                            cmd->cmd->name, op);
    }
    if (!conf->throttle) {
        conf->throttle = apr_array_make(cmd->pool, 4, sizeof(acmpca_throttle_rule_t));
    }
    for (i = 0; i < conf->throttle->nelts; i++) { /* a later line replaces an earlier one */
        if (!strcmp(APR_ARRAY_IDX(conf->throttle, i, acmpca_throttle_rule_t).operation, op)) {
            rule = &APR_ARRAY_IDX(conf->throttle, i, acmpca_throttle_rule_t);
        }
    }
    if (!rule) {
        rule = apr_array_push(conf->throttle);
    }
    rule->operation = op;
    if (!parse_rate(&rule->rate, rate, 0.001)) {
        return apr_psprintf(cmd->pool, "%s %s '%s': expected requests per second, more than 0",
                            cmd->cmd->name, op, rate);
    }
    rule->burst = rule->rate < 1 ? 1 : rule->rate;
    if (burst && !parse_rate(&rule->burst, burst, 1)) {
        return apr_psprintf(cmd->pool, "%s %s %s '%s': expected a burst of at least 1 request",
                            cmd->cmd->name, op, rate, burst);
    }
    return NULL;
}

/* ************************************************************************************
 * Hooks
 */

int acmpca_auth_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return ap_mutex_register(pconf, THROTTLE_MUTEX, NULL, APR_LOCK_DEFAULT, 0) == APR_SUCCESS
               ? OK
               : HTTP_INTERNAL_SERVER_ERROR;
}

static apr_status_t throttle_gone(void *data)
{
    (void)data;
    throttle_shm = NULL;
    throttle_base = NULL;
    throttle_mutex = NULL;
    return APR_SUCCESS;
}

int acmpca_auth_post_config(apr_pool_t *pconf, server_rec *base)
{
    apr_size_t size = acmpca_throttle_size(THROTTLE_SLOTS);
    int throttled = 0;
    server_rec *s;
    apr_status_t rv;

    for (s = base; s; s = s->next) {
        acmpca_srv_conf_t *conf = acmpca_srv_conf(s);
        if (conf->authn == ACMPCA_AUTHN_SIGV4 && !conf->credentials) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "ACMPCA0500: ACMPCAAuthentication sigv4 needs ACMPCACredentialsFile");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        throttled |= conf->store && conf->throttle && conf->throttle->nelts;
    }
    /* The first pass over the configuration only checks it. */
    if (!throttled || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    rv = ap_global_mutex_create(&throttle_mutex, NULL, THROTTLE_MUTEX, NULL, base, pconf, 0);
    if (rv != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR; /* ap_global_mutex_create logged why */
    }
    rv = apr_shm_create(&throttle_shm, size, NULL, pconf);
    if (rv == APR_ENOTIMPL) { /* no anonymous shared memory: a file under the runtime dir */
        const char *file = ap_runtime_dir_relative(pconf, "acmpca-throttle.shm");
        apr_shm_remove(file, pconf);
        rv = apr_shm_create(&throttle_shm, size, file, pconf);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, base,
                     "ACMPCA0502: cannot create %" APR_SIZE_T_FMT " bytes of shared memory for "
                     "ACMPCAThrottle",
                     size);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    throttle_base = apr_shm_baseaddr_get(throttle_shm);
    acmpca_throttle_init(throttle_base, apr_shm_size_get(throttle_shm));
    apr_pool_cleanup_register(pconf, NULL, throttle_gone, apr_pool_cleanup_null);
    return OK;
}

void acmpca_auth_child_init(apr_pool_t *pchild, server_rec *base)
{
    apr_status_t rv;

    if (!throttle_mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&throttle_mutex, apr_global_mutex_lockfile(throttle_mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, base,
                     "ACMPCA0503: cannot attach to the ACMPCAThrottle mutex; throttling is off "
                     "in this process");
        throttle_base = NULL;
    }
}

/* ************************************************************************************
 * Requests
 */

/* "ACMPrivateCA.IssueCertificate" -> "IssueCertificate", if that is an operation. */
static const char *operation_of(const char *target)
{
    size_t n = strlen(TARGET_PREFIX);
    return target && !strncmp(target, TARGET_PREFIX, n) && known_operation(target + n) ? target + n
                                                                                       : NULL;
}

static acmpca_authn_t authn_mode(const acmpca_srv_conf_t *conf)
{
    if (conf->authn != ACMPCA_AUTHN_UNSET) {
        return (acmpca_authn_t)conf->authn;
    }
    return conf->credentials ? ACMPCA_AUTHN_SIGV4 : ACMPCA_AUTHN_NONE;
}

static apr_status_t key_lookup(acmpca_sigv4_key_t *key, const char *access_key, void *baton)
{
    const acmpca_srv_conf_t *conf = baton;
    const credential_t *cred =
        conf->credentials ? apr_hash_get(conf->credentials, access_key, APR_HASH_KEY_STRING) : NULL;

    if (!cred) {
        return APR_NOTFOUND;
    }
    key->secret = cred->secret;
    key->session_token = cred->session_token;
    key->data = cred;
    return APR_SUCCESS;
}

apr_status_t acmpca_auth_sigv4(const credential_t **pcred, request_rec *r,
                               const acmpca_srv_conf_t *conf, const char *const *services,
                               const char *body, apr_size_t body_len, apr_time_t now,
                               acmpca_err_t *err)
{
    acmpca_sigv4_opts_t opts = {services, conf->env.region, 0};
    acmpca_sigv4_req_t req;
    acmpca_sigv4_result_t res;
    apr_status_t rv;

    req.method = r->method;
    req.path = r->parsed_uri.path ? r->parsed_uri.path : "/";
    req.query = r->args;
    req.headers = r->headers_in;
    req.body = body;
    req.body_len = body_len;
    req.now = now;
    rv = acmpca_sigv4_verify(&res, &req, &opts, key_lookup, (void *)conf, err, r->pool);
    if (rv == APR_SUCCESS) {
        *pcred = res.data;
    }
    return rv;
}

static apr_status_t authn_sigv4(const credential_t **pcred, const acmpca_call_t *call,
                                request_rec *r, const acmpca_srv_conf_t *conf, acmpca_err_t *err)
{
    static const char *const services[] = {"acm-pca", NULL};
    return acmpca_auth_sigv4(pcred, r, conf, services, call->body, call->body_len, call->now, err);
}

/* r->user, mapped by the credentials file (see the file header). */
static apr_status_t authn_httpd(const credential_t **pcred, request_rec *r,
                                const acmpca_srv_conf_t *conf, acmpca_err_t *err)
{
    const credential_t *found = NULL;
    credential_t *cred;

    if (!r->user || !*r->user) {
        return acmpca_err_set(err, ACMPCA_ERR_MISSING_AUTH_TOKEN, r->pool,
                              "Missing Authentication Token");
    }
    if (conf->users) {
        found = apr_hash_get(conf->users, r->user, APR_HASH_KEY_STRING);
        if (!found) {
            found = apr_hash_get(conf->users, "*", 1);
        }
    }
    if (!found && (conf->users || conf->credentials)) {
        return acmpca_err_set(err, ACMPCA_ERR_UNRECOGNIZED_CLIENT, r->pool,
                              "The security token included in the request is invalid.");
    }
    cred = apr_pcalloc(r->pool, sizeof(*cred));
    if (found) {
        *cred = *found;
    }
    else {
        cred->caller.account = conf->env.account;
    }
    if (!cred->caller.principal) {
        cred->caller.principal =
            apr_psprintf(r->pool, "arn:aws:iam::%s:user/%s", cred->caller.account, r->user);
    }
    *pcred = cred;
    return APR_SUCCESS;
}

/* ACMPCAAuthentication none: the access key, unverified, only names the account. */
static void authn_none(const credential_t **pcred, request_rec *r, const acmpca_srv_conf_t *conf)
{
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    const char *cred, *slash;

    if (!auth || !conf->credentials || !(cred = strstr(auth, "Credential="))
        || !(slash = strchr(cred + 11, '/'))) {
        return;
    }
    *pcred = apr_hash_get(conf->credentials, cred + 11, (apr_ssize_t)(slash - cred - 11));
}

static const acmpca_throttle_rule_t *throttle_rule(const acmpca_srv_conf_t *conf, const char *op)
{
    const acmpca_throttle_rule_t *any = NULL;
    int i;

    for (i = 0; conf->throttle && i < conf->throttle->nelts; i++) {
        const acmpca_throttle_rule_t *rule =
            &APR_ARRAY_IDX(conf->throttle, i, acmpca_throttle_rule_t);
        if (!strcmp(rule->operation, op)) {
            return rule;
        }
        if (!strcmp(rule->operation, "*")) {
            any = rule;
        }
    }
    return any;
}

static int throttle_ok(const acmpca_srv_conf_t *conf, const char *account, const char *op,
                       apr_time_t now, apr_pool_t *p)
{
    const acmpca_throttle_rule_t *rule = throttle_rule(conf, op);
    int ok;

    if (!rule || !throttle_base || !throttle_mutex
        || apr_global_mutex_lock(throttle_mutex) != APR_SUCCESS) {
        return 1;
    }
    ok = acmpca_throttle_take(throttle_base, apr_pstrcat(p, account, ":", op, NULL), rule->rate,
                              rule->burst, now);
    apr_global_mutex_unlock(throttle_mutex);
    return ok;
}

static apr_status_t decide(acmpca_call_t *call, request_rec *r, const acmpca_srv_conf_t *conf,
                           const char *op, const credential_t *cred, const char **pwhy,
                           acmpca_err_t *err)
{
    acmpca_authz_req_t req;
    acmpca_authz_t verdict;

    if (!throttle_ok(conf, call->caller.account, op, call->now, r->pool)) {
        *pwhy = "throttled";
        return acmpca_err_set(err, ACMPCA_ERR_THROTTLING, r->pool, THROTTLE_MESSAGE);
    }
    if (!cred || !cred->policy) {
        *pwhy = cred ? "allowed (no identity policy)" : "allowed (unauthenticated)";
        return APR_SUCCESS;
    }
    acmpca_authz_request_body(&req, op, call->body, call->body_len, call->caller.account,
                              call->caller.principal, r->pool);
    verdict = acmpca_policy_eval(cred->policy, &req);
    if (verdict != ACMPCA_AUTHZ_ALLOW) {
        *pwhy = verdict == ACMPCA_AUTHZ_DENY ? "denied (explicit deny in the identity policy)"
                                             : "denied (not allowed by the identity policy)";
        return acmpca_err_set(
            err, ACMPCA_ERR_ACCESS_DENIED, r->pool, "%s",
            acmpca_authz_denied_message(&req, verdict, "identity-based", r->pool));
    }
    *pwhy = "allowed by the identity policy";
    return APR_SUCCESS;
}

apr_status_t acmpca_auth_request(acmpca_call_t *call, request_rec *r, const acmpca_srv_conf_t *conf,
                                 acmpca_err_t *err)
{
    const char *op = operation_of(call->target), *why = "allowed";
    const credential_t *cred = NULL;
    apr_status_t rv = APR_SUCCESS;
    acmpca_authn_t mode = authn_mode(conf);

    switch (mode) {
    case ACMPCA_AUTHN_SIGV4:
        rv = authn_sigv4(&cred, call, r, conf, err);
        break;
    case ACMPCA_AUTHN_HTTPD:
        rv = authn_httpd(&cred, r, conf, err);
        break;
    default:
        authn_none(&cred, r, conf);
        break;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "ACMPCA0504: request %s: %s not authenticated (%s): %s", call->request_id,
                      op ? op : "(unknown operation)", acmpca_err_name(err->type),
                      err->message ? err->message : "");
        return rv;
    }
    if (cred) {
        call->caller = cred->caller;
    }
    if (!call->caller.account) {
        call->caller.account = conf->env.account;
    }
    if (op) {
        rv = decide(call, r, conf, op, cred, &why, err);
    }
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r, "ACMPCA0505: request %s: %s by %s (account %s, %s%s%s): %s",
        call->request_id, op ? op : "(unknown operation)",
        call->caller.principal ? call->caller.principal : "(anonymous)", call->caller.account,
        mode == ACMPCA_AUTHN_SIGV4   ? "sigv4 key "
        : mode == ACMPCA_AUTHN_HTTPD ? "httpd user "
                                     : "unauthenticated",
        mode == ACMPCA_AUTHN_SIGV4 && call->caller.access_key ? call->caller.access_key : "",
        mode == ACMPCA_AUTHN_HTTPD ? r->user : "", why);
    return rv;
}
