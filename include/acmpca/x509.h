/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The x509 layer: everything that touches OpenSSL (keys, CSRs, certificates, templates,
 * key wrapping). Objects returned here are owned by the pool passed in: a pool cleanup
 * frees them, so callers never call OpenSSL free functions. */
#ifndef ACMPCA_X509_H
#define ACMPCA_X509_H

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_tables.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <cjson/cJSON.h>

#include "acmpca/err.h"

/* ---- keys (src/x509/key.c) ----------------------------------------------------------- */

/** Generate the key pair of a KeyAlgorithm ("RSA_2048", "EC_prime256v1", ...).
 *  Unsupported algorithms (ML_DSA_*, SM2, unknown) -> InvalidArgsException. */
apr_status_t acmpca_key_generate(EVP_PKEY **pkey, const char *key_algorithm, acmpca_err_t *err,
                                 apr_pool_t *p);

/** The KeyAlgorithm name that describes key ("RSA_2048", "EC_secp384r1"); NULL if none. */
const char *acmpca_key_algorithm_of(EVP_PKEY *key);

/** Check that a SigningAlgorithm ("SHA256WITHRSA", ...) can be used with a key of
 *  key_algorithm. Otherwise InvalidArgsException with AWS's message:
 *  "Signing algorithm SHA384WITHECDSA cannot be used with key type RSA_2048. Valid signing
 *  algorithms are: SHA256WITHRSA, SHA384WITHRSA, SHA512WITHRSA." */
apr_status_t acmpca_sigalg_check(const char *signing_algorithm, const char *key_algorithm,
                                 acmpca_err_t *err, apr_pool_t *p);

/** Size in bytes of the AES-256 key-encryption key. */
#define ACMPCA_KEK_LEN 32

/** Wrap a private key (PKCS#8 DER) with AES-256-GCM under kek. aad (e.g. the CA id) is
 *  bound into the tag so a wrapped key cannot be moved to another CA. Output:
 *  version byte | 12-byte nonce | ciphertext | 16-byte tag, allocated in p. */
apr_status_t acmpca_key_wrap(unsigned char **pout, apr_size_t *poutlen, EVP_PKEY *key,
                             const unsigned char *kek, const char *aad, apr_pool_t *p);

/** Reverse of acmpca_key_wrap. APR_EINVAL (nothing else said) when the blob was tampered
 *  with, wrapped under another kek or for another aad. Plaintext is cleansed. */
apr_status_t acmpca_key_unwrap(EVP_PKEY **pkey, const unsigned char *in, apr_size_t inlen,
                               const unsigned char *kek, const char *aad, apr_pool_t *p);

/** True when the public key of key equals pub. */
int acmpca_key_same_public(EVP_PKEY *key, EVP_PKEY *pub);

/* ---- names (src/x509/name.c) --------------------------------------------------------- */

/** Build an X509_NAME from an ASN1Subject JSON object (standard attributes in the
 *  order of PCA-API.md §7.1, or CustomAttributes in their order). Standard and custom
 *  mixed, an empty subject, or a bad OID -> InvalidArgsException. */
apr_status_t acmpca_name_from_json(X509_NAME **pname, const cJSON *subject, acmpca_err_t *err,
                                   apr_pool_t *p);

/** RFC 2253 string of a name ("CN=x,O=y,C=US"), in p. */
const char *acmpca_name_rfc2253(const X509_NAME *name, apr_pool_t *p);

/* ---- CSRs (src/x509/csr.c) ----------------------------------------------------------- */

/** Make the CA's PKCS#10 CSR: subject from JSON, CsrExtensions (KeyUsage critical,
 *  SubjectInformationAccess), signed with signing_algorithm. PEM text into ppem. */
apr_status_t acmpca_csr_make(const char **ppem, EVP_PKEY *key, const cJSON *subject,
                             const cJSON *csr_extensions, const char *signing_algorithm,
                             acmpca_err_t *err, apr_pool_t *p);

/** Largest CSR (decoded bytes) acmpca_csr_parse looks at; the model allows 32768
 *  base64 characters, so this only guards direct callers. */
#define ACMPCA_CSR_MAX_LEN 65536

/** Most subject alternative names a CSR may request [DECISION]: a bound, so that a
 *  hostile request cannot make the CA sign a certificate that is slow to check. */
#define ACMPCA_CSR_MAX_SAN_NAMES 1000

/** Parse a CSR as it arrives (src/x509/intake.c) and verify its self-signature. Strict:
 *  one DER request, or one PEM block labelled CERTIFICATE REQUEST with only white space
 *  around it, in DER; version 1; an RSA key of 2048..8192 bits or an EC key on P-256,
 *  P-384 or P-521 given by name; signed with SHA-224 or stronger (not MD5, not SHA-1);
 *  subject text decodable; at most one extension request, no extension twice, each
 *  well-formed; a SAN of at most ACMPCA_CSR_MAX_SAN_NAMES sane names; a subject or a
 *  SAN, and a critical SAN when the subject is empty. Anything else ->
 *  MalformedCSRException. The request is owned by p. */
apr_status_t acmpca_csr_parse(X509_REQ **pcsr, const unsigned char *buf, apr_size_t len,
                              acmpca_err_t *err, apr_pool_t *p);

/** acmpca_csr_parse's verdict on every input, cheaper for an EC key on a named curve
 *  (src/x509/intake_lean.c), for a request the CA will not self-sign: the request it
 *  returns may carry its key encoded only (X509_REQ_get0_pubkey() NULL), which the
 *  certificate builder copies as it is. */
apr_status_t acmpca_csr_parse_lean(X509_REQ **pcsr, const unsigned char *buf, apr_size_t len,
                                   acmpca_err_t *err, apr_pool_t *p);

/** True when the CSR carries the public key of key (a root signing its own CSR). */
int acmpca_csr_has_key(X509_REQ *csr, EVP_PKEY *key);

/* ---- certificates (src/x509/cert.c, template.c) -------------------------------------- */

typedef struct acmpca_template_t {
    const char *name;       /* "SubordinateCACertificate_PathLen0/V1" */
    int is_ca;              /* BasicConstraints CA:TRUE */
    int path_len;           /* -1: no pathLenConstraint */
    int root;               /* a root template: self-signed on the CA's own CSR */
    int csr_passthrough;    /* copies CSR extensions the template does not define */
    int api_passthrough;    /* applies ApiPassthrough */
    int blank;              /* only BasicConstraints (+AKI/SKI); rest from API */
    int bc_critical;        /* BasicConstraints marked critical */
    unsigned int key_usage; /* X509v3_KU_* bits; 0: none from the template */
    const char *const *eku; /* NULL-terminated OID short names, or NULL */
    int eku_critical;
} acmpca_template_t;

#define ACMPCA_TEMPLATE_ARN_PREFIX "arn:aws:acm-pca:::template/"
#define ACMPCA_TEMPLATE_DEFAULT    "EndEntityCertificate/V1"

/** Look a template up by ARN (arn:aws:acm-pca:::template/<Name>/V1); NULL if unknown. */
const acmpca_template_t *acmpca_template_find(const char *template_arn);

/** The i-th of every template (0, 1, ...), NULL past the last: for listing them all. */
const acmpca_template_t *acmpca_template_nth(int i);

typedef struct acmpca_cert_info_t {
    const char *serial_hex;    /* lowercase, no colons, no leading zero octets */
    const char *serial_colons; /* "e8:cb:..." */
    apr_time_t not_before;
    apr_time_t not_after;
    const char *subject; /* RFC 2253 */
    int is_ca;
    int path_len;    /* -1 when unconstrained or not a CA */
    int self_signed; /* subject == issuer and the signature verifies with its key */
} acmpca_cert_info_t;

/** What the issuer hands the certificate builder. */
typedef struct acmpca_issue_t {
    X509_REQ *csr;        /* parsed and verified */
    EVP_PKEY *issuer_key; /* the CA's private key */
    X509 *issuer_cert;    /* NULL when self-signing (root template) */
    const char *signing_algorithm;
    const acmpca_template_t *tmpl;
    const unsigned char *serial; /* big-endian, positive */
    apr_size_t serial_len;
    apr_time_t not_before;
    apr_time_t not_after;
    const char *crl_url;          /* CDP URI, NULL for none */
    const char *ocsp_url;         /* AIA OCSP URI, NULL for none */
    const cJSON *api_passthrough; /* NULL unless the template honours it */
} acmpca_issue_t;

/** Build and sign a certificate as PCA-API.md §7.2/§7.3 say. Problems with the
 *  request (e.g. passthrough content) -> InvalidArgsException. */
apr_status_t acmpca_cert_issue(X509 **pcert, const acmpca_issue_t *in, acmpca_err_t *err,
                               apr_pool_t *p);

/** acmpca_cert_issue for a certificate that is only read and encoded, as IssueCertificate
 *  does: the same bytes, but an EC subject key is copied from the CSR as encoded rather
 *  than re-encoded and decoded again (the CSR may come from acmpca_csr_parse_lean), so
 *  X509_get0_pubkey of the result is NULL (its public key bits and every other field are
 *  there). */
apr_status_t acmpca_cert_issue_lean(X509 **pcert, const acmpca_issue_t *in, acmpca_err_t *err,
                                    apr_pool_t *p);

/** The certificate acmpca_cert_issue_lean issues, as PEM text made from the encoding it
 *  was signed with, and its summary (acmpca_cert_info); for the common request it is
 *  written as DER directly, without an X509 (src/x509/cert_der.c). */
apr_status_t acmpca_cert_issue_pem(acmpca_cert_info_t *info, const char **ppem,
                                   const acmpca_issue_t *in, acmpca_err_t *err, apr_pool_t *p);

/** PEM text of a certificate, in p. */
const char *acmpca_cert_pem(X509 *cert, apr_pool_t *p);

/** PEM text of a DER certificate, as PEM_write_bio_X509 writes it, in p. */
const char *acmpca_pem_cert_der(const unsigned char *der, apr_size_t len, apr_pool_t *p);

/** Parse one PEM certificate (DER tolerated); MalformedCertificateException otherwise. */
apr_status_t acmpca_cert_parse(X509 **pcert, const unsigned char *buf, apr_size_t len,
                               acmpca_err_t *err, apr_pool_t *p);

/** Parse a PEM bundle into an array of X509 * (in order); MalformedCertificateException
 *  when any block is not a certificate or there is none. */
apr_status_t acmpca_chain_parse(apr_array_header_t **pchain, const unsigned char *buf,
                                apr_size_t len, acmpca_err_t *err, apr_pool_t *p);

void acmpca_cert_info(acmpca_cert_info_t *info, X509 *cert, apr_pool_t *p);

/** acmpca_cert_info's self_signed of a PEM certificate, for read paths (src/x509/peek.c):
 *  certificates whose issuer and subject differ are told from their DER names alone,
 *  without the public-key decoding a parse costs. 0 when pem holds no certificate. */
int acmpca_cert_pem_self_signed(const char *pem, apr_pool_t *p);

/** Every check of ImportCertificateAuthorityCertificate (PCA-API.md §5.7): cert carries
 *  ca_key's public key (CertificateMismatch); ROOT: self-signed, chain absent; SUBORDINATE:
 *  not self-signed, chain present, ordered issuer->root, each signs the one before, last
 *  self-signed, signatures and validity (InvalidRequest / CertificateMismatch); CA:TRUE
 *  critical basic constraints, path lengths; only allowed critical extensions
 *  (MalformedCertificate). chain may be NULL. */
apr_status_t acmpca_ca_import_check(X509 *cert, const apr_array_header_t *chain, EVP_PKEY *ca_key,
                                    int is_root, apr_time_t now, acmpca_err_t *err, apr_pool_t *p);

/* ---- helpers shared by the files of src/x509 ---------------------------------------- */

/** The digest a usable SigningAlgorithm signs with ("SHA384WITHECDSA" -> SHA-384);
 *  NULL when the name is unknown or the module cannot sign with it (SM3WITHSM2, ML_DSA_*). */
const EVP_MD *acmpca_sigalg_md(const char *signing_algorithm);

/** X509v3_KU_* bits of a KeyUsage JSON object (CsrExtensions, ApiPassthrough); members
 *  that are absent or not true count as false. 0 when key_usage is NULL. */
unsigned int acmpca_key_usage_bits(const cJSON *key_usage);

/** A critical keyUsage extension with the X509v3_KU_* bits of ku, owned by p. */
apr_status_t acmpca_ext_key_usage(X509_EXTENSION **pext, unsigned int ku, apr_pool_t *p);

/** Syntax of a text GeneralName (RFC 5280 §4.2.1.6) of type GEN_DNS (preferred name
 *  syntax, '_' tolerated, a leading "*." wildcard), GEN_EMAIL (local@domain) or GEN_URI
 *  (scheme:...); printable ASCII only. Other types: true. */
int acmpca_ia5_name_ok(int type, const char *s, size_t n);

/** True when ext's extnValue is exactly one DER element and, for an extension OpenSSL
 *  knows, decodes as that extension (src/x509/cert.c). */
int acmpca_ext_well_formed(X509_EXTENSION *ext);

/** A GENERAL_NAME from a GeneralName JSON object (exactly one member set), owned by p.
 *  Bad content (no or several members, non-ASCII IA5 text, bad IP address or OID)
 *  -> InvalidArgsException. */
apr_status_t acmpca_general_name_from_json(GENERAL_NAME **pgn, const cJSON *json, acmpca_err_t *err,
                                           apr_pool_t *p);

/* ---- CRLs and OCSP (src/x509/crl.c, src/x509/ocsp.c) -------------------------------- */

/** No reasonCode / revocationReason (UNSPECIFIED, PCA-API.md §7.4 [DECISION]). Other
 *  reasons are RFC 5280 §5.3.1 CRLReason codes (keyCompromise = 1, ...). */
#define ACMPCA_REASON_NONE (-1)

/** Hands one revoked certificate to the CRL being built: serial as lowercase hex (the
 *  store's form), revocation time, reason code or ACMPCA_REASON_NONE. */
typedef apr_status_t acmpca_crl_emit_fn(void *emit_baton, const char *serial_hex,
                                        apr_time_t revoked_at, int reason);

/** Streams the revoked entries of a CRL: calls emit once per entry (e.g. from a store
 *  iteration) and returns APR_SUCCESS, or another status to abandon the CRL. */
typedef apr_status_t acmpca_crl_entries_fn(void *baton, acmpca_crl_emit_fn *emit, void *emit_baton);

typedef struct acmpca_crl_params_t {
    X509 *ca_cert;                 /* issuer (its subject, byte for byte) and AKI (its SKI) */
    EVP_PKEY *ca_key;              /* signs */
    const char *signing_algorithm; /* the CA's SigningAlgorithm */
    apr_int64_t number;            /* cRLNumber */
    apr_time_t this_update;
    apr_time_t next_update;
} acmpca_crl_params_t;

/** Build and sign a v2 CRL (PCA-API.md §7.4). Entries are encoded as they arrive, into
 *  one growing buffer of DER bytes (about 40 per entry), never as OpenSSL objects, so a
 *  million entries cost their bytes only. *pder lives until p is cleared; *pcount (may
 *  be NULL) is the number of entries. APR_EINVAL for a serial that is not hex or an
 *  algorithm the module cannot sign with; whatever entries returns, when not success. */
apr_status_t acmpca_crl_build(const unsigned char **pder, apr_size_t *plen, apr_size_t *pcount,
                              const acmpca_crl_params_t *in, acmpca_crl_entries_fn *entries,
                              void *baton, apr_pool_t *p);

/** nextUpdate of a DER CRL, read without decoding its entries; 0 when absent or when
 *  der is not a CRL. */
apr_time_t acmpca_crl_next_update(const unsigned char *der, apr_size_t len);

/** An OCSP request (RFC 6960 §4.1), owned by the pool it was parsed in. */
typedef struct acmpca_ocsp_req_t acmpca_ocsp_req_t;

/* CertStatus of a single response (RFC 6960 §4.2.1). */
#define ACMPCA_OCSP_GOOD    0
#define ACMPCA_OCSP_REVOKED 1
#define ACMPCA_OCSP_UNKNOWN 2

/* OCSPResponseStatus values answered without a signed response. */
#define ACMPCA_OCSP_MALFORMED_REQUEST 1
#define ACMPCA_OCSP_INTERNAL_ERROR    2
#define ACMPCA_OCSP_TRY_LATER         3
#define ACMPCA_OCSP_UNAUTHORIZED      6

typedef struct acmpca_ocsp_status_t {
    int status;            /* ACMPCA_OCSP_GOOD, _REVOKED, _UNKNOWN */
    apr_time_t revoked_at; /* _REVOKED only */
    int reason;            /* _REVOKED only; ACMPCA_REASON_NONE for none */
} acmpca_ocsp_status_t;

typedef struct acmpca_ocsp_signer_t {
    X509 *ca_cert; /* the responder is the CA itself: ResponderID byKey of this key */
    EVP_PKEY *ca_key;
    const char *signing_algorithm;
    apr_time_t this_update;
    apr_time_t next_update;
} acmpca_ocsp_signer_t;

/** Parse a DER OCSPRequest; APR_EINVAL (answer malformedRequest) when it is not exactly
 *  one well-formed request with at least one CertID. */
apr_status_t acmpca_ocsp_parse(acmpca_ocsp_req_t **preq, const unsigned char *der, apr_size_t len,
                               apr_pool_t *p);

/** Number of CertIDs in the request. */
int acmpca_ocsp_count(const acmpca_ocsp_req_t *req);

/** True when the request carries a nonce (RFC 6960 §4.4.1): its answer is its own. */
int acmpca_ocsp_has_nonce(const acmpca_ocsp_req_t *req);

/** Serial of CertID i as lowercase hex without leading zero octets (the store's form);
 *  NULL when it is negative or absurdly long (never issued). */
const char *acmpca_ocsp_serial(const acmpca_ocsp_req_t *req, int i, apr_pool_t *p);

/** "<hash algorithm>:<issuerKeyHash hex>" of CertID i, a key to remember which CA
 *  answered it; NULL when unreadable. In p. */
const char *acmpca_ocsp_issuer_id(const acmpca_ocsp_req_t *req, int i, apr_pool_t *p);

/** True when CertID i names ca_cert as issuer (name and key hashes, in the CertID's own
 *  hash algorithm). */
int acmpca_ocsp_issued_by(const acmpca_ocsp_req_t *req, int i, X509 *ca_cert);

/** A successful, signed BasicOCSPResponse: one SingleResponse per CertID with
 *  statuses[i], the request's nonce echoed when it sent one. DER in p. */
apr_status_t acmpca_ocsp_respond(const unsigned char **pder, apr_size_t *plen,
                                 const acmpca_ocsp_req_t *req, const acmpca_ocsp_status_t *statuses,
                                 const acmpca_ocsp_signer_t *signer, apr_pool_t *p);

/** An unsigned error response with one of the ACMPCA_OCSP_* response statuses. DER in p. */
apr_status_t acmpca_ocsp_error(const unsigned char **pder, apr_size_t *plen, int status,
                               apr_pool_t *p);

#endif
