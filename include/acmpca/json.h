/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * cJSON owned by APR pools, and the wire member names of the PCA API. */
#ifndef ACMPCA_JSON_H
#define ACMPCA_JSON_H

#include <apr_pools.h>
#include <cjson/cJSON.h>

/* Wire member names, defined once (as mod_md's MD_KEY_*). */
#define ACMPCA_K_ARN                  "Arn"
#define ACMPCA_K_CA_ARN               "CertificateAuthorityArn"
#define ACMPCA_K_CA                   "CertificateAuthority"
#define ACMPCA_K_CAS                  "CertificateAuthorities"
#define ACMPCA_K_CA_CONFIG            "CertificateAuthorityConfiguration"
#define ACMPCA_K_CA_TYPE              "CertificateAuthorityType"
#define ACMPCA_K_CERT                 "Certificate"
#define ACMPCA_K_CERT_ARN             "CertificateArn"
#define ACMPCA_K_CERT_CHAIN           "CertificateChain"
#define ACMPCA_K_CREATED_AT           "CreatedAt"
#define ACMPCA_K_CSR                  "Csr"
#define ACMPCA_K_CSR_EXTENSIONS       "CsrExtensions"
#define ACMPCA_K_CRL_CONFIG           "CrlConfiguration"
#define ACMPCA_K_CUSTOM_ATTRIBUTES    "CustomAttributes"
#define ACMPCA_K_ENABLED              "Enabled"
#define ACMPCA_K_FAILURE_REASON       "FailureReason"
#define ACMPCA_K_IDEMPOTENCY_TOKEN    "IdempotencyToken"
#define ACMPCA_K_KEY                  "Key"
#define ACMPCA_K_KEY_ALGORITHM        "KeyAlgorithm"
#define ACMPCA_K_KEY_STORAGE_STANDARD "KeyStorageSecurityStandard"
#define ACMPCA_K_KEY_USAGE            "KeyUsage"
#define ACMPCA_K_LAST_STATE_CHANGE_AT "LastStateChangeAt"
#define ACMPCA_K_MAX_RESULTS          "MaxResults"
#define ACMPCA_K_NEXT_TOKEN           "NextToken"
#define ACMPCA_K_NOT_AFTER            "NotAfter"
#define ACMPCA_K_NOT_BEFORE           "NotBefore"
#define ACMPCA_K_OCSP_CONFIG          "OcspConfiguration"
#define ACMPCA_K_OWNER_ACCOUNT        "OwnerAccount"
#define ACMPCA_K_PERMANENT_DELETION   "PermanentDeletionTimeInDays"
#define ACMPCA_K_RESOURCE_OWNER       "ResourceOwner"
#define ACMPCA_K_RESTORABLE_UNTIL     "RestorableUntil"
#define ACMPCA_K_REVOCATION_CONFIG    "RevocationConfiguration"
#define ACMPCA_K_SERIAL               "Serial"
#define ACMPCA_K_SIGNING_ALGORITHM    "SigningAlgorithm"
#define ACMPCA_K_STATUS               "Status"
#define ACMPCA_K_SUBJECT              "Subject"
#define ACMPCA_K_TAGS                 "Tags"
#define ACMPCA_K_TEMPLATE_ARN         "TemplateArn"
#define ACMPCA_K_TYPE                 "Type"
#define ACMPCA_K_USAGE_MODE           "UsageMode"
#define ACMPCA_K_VALIDITY             "Validity"
#define ACMPCA_K_VALIDITY_NOT_BEFORE  "ValidityNotBefore"
#define ACMPCA_K_VALUE                "Value"
#define ACMPCA_K_API_PASSTHROUGH      "ApiPassthrough"

/** Hand a cJSON tree to pool p: cJSON_Delete runs when p is cleared. Returns j. */
cJSON *acmpca_json_own(cJSON *j, apr_pool_t *p);

/** Parse len bytes (not NUL-terminated); NULL when not JSON. The tree belongs to p. */
cJSON *acmpca_json_parse(const char *buf, apr_size_t len, apr_pool_t *p);

/** s as a JSON string, quotes included, escaped as cJSON prints it: for answers rendered
 *  without building a tree. */
const char *acmpca_json_quote(const char *s, apr_pool_t *p);

/** Print unformatted into p (NULL on allocation failure). */
const char *acmpca_json_print(const cJSON *j, apr_pool_t *p);

/** Member lookups (case-sensitive); NULL/def when absent or of another type. */
const char *acmpca_json_str(const cJSON *obj, const char *key);
double acmpca_json_num(const cJSON *obj, const char *key, double def);
int acmpca_json_bool(const cJSON *obj, const char *key, int def);
cJSON *acmpca_json_obj(const cJSON *obj, const char *key);

/** Replace (or add) a member; the old value is freed. */
void acmpca_json_set(cJSON *obj, const char *key, cJSON *value);

#endif
