/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * What the glue files (mod_acmpca*.c) share: the server configuration. Only glue files
 * include this header; the core never sees httpd. */
#ifndef MOD_ACMPCA_H
#define MOD_ACMPCA_H

#include <httpd.h>
#include <http_config.h>

#include <apr_hash.h>

#include "acmpca/ops.h"

extern module AP_MODULE_DECLARE_DATA acmpca_module;

/* One access key of the credentials file. */
typedef struct credential_t {
    const char *access_key;
    const char *secret; /* checked by SigV4 (identity issue); never logged */
    acmpca_caller_t caller;
} credential_t;

typedef struct acmpca_srv_conf_t {
    const char *store_spec;
    acmpca_store_t *store;
    const char *region;
    const char *account;
    const char *key_file;
    unsigned char *kek;
    const char *credentials_file;
    apr_hash_t *credentials; /* access key -> credential_t */
    const char *public_url;
    apr_off_t max_body;
    int max_cas;
    acmpca_env_t env; /* built in post_config */
} acmpca_srv_conf_t;

static inline acmpca_srv_conf_t *acmpca_srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &acmpca_module);
}

#endif
