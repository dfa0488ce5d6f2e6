/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * OCSP (RFC 6960): parsing requests from the network and signing responses as the CA
 * itself (no delegated responder certificate). */
#include <string.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"

/* An OCSP request names a handful of certificates; a bound keeps one request cheap. */
#define MAX_CERT_IDS    64
#define MAX_SERIAL_LEN  64
#define MAX_REQUEST_LEN (64 * 1024)

struct acmpca_ocsp_req_t {
    OCSP_REQUEST *req;
};

static apr_status_t req_cleanup(void *data)
{
    OCSP_REQUEST_free(data);
    return APR_SUCCESS;
}

apr_status_t acmpca_ocsp_parse(acmpca_ocsp_req_t **preq, const unsigned char *der, apr_size_t len,
                               apr_pool_t *p)
{
    const unsigned char *pp = der;
    OCSP_REQUEST *req;
    int n;

    *preq = NULL;
    if (!der || len == 0 || len > MAX_REQUEST_LEN) {
        return APR_EINVAL;
    }
    ERR_set_mark();
    req = d2i_OCSP_REQUEST(NULL, &pp, (long)len);
    ERR_pop_to_mark();
    if (!req) {
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, req, req_cleanup, apr_pool_cleanup_null);
    /* Trailing bytes mean the sender and we disagree on what the request is. */
    n = OCSP_request_onereq_count(req);
    if (pp != der + len || n < 1 || n > MAX_CERT_IDS) {
        return APR_EINVAL;
    }
    *preq = apr_palloc(p, sizeof(**preq));
    (*preq)->req = req;
    return APR_SUCCESS;
}

int acmpca_ocsp_count(const acmpca_ocsp_req_t *req)
{
    return OCSP_request_onereq_count(req->req);
}

int acmpca_ocsp_has_nonce(const acmpca_ocsp_req_t *req)
{
    return OCSP_REQUEST_get_ext_by_NID(req->req, NID_id_pkix_OCSP_Nonce, -1) >= 0;
}

static OCSP_CERTID *cert_id(const acmpca_ocsp_req_t *req, int i)
{
    return OCSP_onereq_get0_id(OCSP_request_onereq_get0(req->req, i));
}

const char *acmpca_ocsp_serial(const acmpca_ocsp_req_t *req, int i, apr_pool_t *p)
{
    ASN1_INTEGER *serial = NULL;
    unsigned char buf[MAX_SERIAL_LEN];
    BIGNUM *bn;
    int n;

    if (!OCSP_id_get0_info(NULL, NULL, NULL, &serial, cert_id(req, i)) || !serial
        || ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
        return NULL;
    }
    if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL) {
        return NULL;
    }
    n = BN_num_bytes(bn);
    if (n > MAX_SERIAL_LEN) {
        BN_free(bn);
        return NULL;
    }
    /* The store writes serials as their magnitude without leading zero octets; zero as
     * "00" (src/x509/cert.c). */
    if (n == 0) {
        buf[0] = 0;
        n = 1;
    }
    else {
        BN_bn2bin(bn, buf);
    }
    BN_free(bn);
    return acmpca_hex(buf, (apr_size_t)n, 0, p);
}

const char *acmpca_ocsp_issuer_id(const acmpca_ocsp_req_t *req, int i, apr_pool_t *p)
{
    ASN1_OBJECT *alg = NULL;
    ASN1_OCTET_STRING *key_hash = NULL;
    char name[80];

    if (!OCSP_id_get0_info(NULL, &alg, &key_hash, NULL, cert_id(req, i)) || !alg || !key_hash
        || OBJ_obj2txt(name, sizeof(name), alg, 1) <= 0) {
        return NULL;
    }
    return apr_pstrcat(
        p, name, ":",
        acmpca_hex(ASN1_STRING_get0_data(key_hash), (apr_size_t)ASN1_STRING_length(key_hash), 0, p),
        NULL);
}

int acmpca_ocsp_issued_by(const acmpca_ocsp_req_t *req, int i, X509 *ca_cert)
{
    ASN1_OBJECT *alg = NULL;
    OCSP_CERTID *mine;
    const EVP_MD *md;
    int same;

    if (!OCSP_id_get0_info(NULL, &alg, NULL, NULL, cert_id(req, i)) || !alg
        || (md = EVP_get_digestbyobj(alg)) == NULL) {
        return 0;
    }
    /* The CA's own CertID in the requester's hash algorithm (SHA-1 usually). */
    ERR_set_mark();
    mine = OCSP_cert_to_id(md, NULL, ca_cert);
    same = mine && OCSP_id_issuer_cmp(mine, cert_id(req, i)) == 0;
    OCSP_CERTID_free(mine);
    ERR_pop_to_mark();
    return same;
}

static ASN1_GENERALIZEDTIME *gtime(apr_time_t t)
{
    return ASN1_GENERALIZEDTIME_set(NULL, (time_t)apr_time_sec(t));
}

static apr_status_t to_der(const unsigned char **pder, apr_size_t *plen, OCSP_RESPONSE *resp,
                           apr_pool_t *p)
{
    unsigned char *der = NULL;
    int len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;

    if (len <= 0) {
        return APR_ENOMEM;
    }
    *pder = apr_pmemdup(p, der, (apr_size_t)len);
    *plen = (apr_size_t)len;
    OPENSSL_free(der);
    return APR_SUCCESS;
}

static int add_status(OCSP_BASICRESP *bs, OCSP_CERTID *cid, const acmpca_ocsp_status_t *st,
                      ASN1_TIME *this_update, ASN1_TIME *next_update)
{
    ASN1_GENERALIZEDTIME *revoked = NULL;
    int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS, ok;

    if (st->status == ACMPCA_OCSP_GOOD) {
        status = V_OCSP_CERTSTATUS_GOOD;
    }
    else if (st->status == ACMPCA_OCSP_REVOKED) {
        status = V_OCSP_CERTSTATUS_REVOKED;
        /* unspecified is not sent, as on the CRL (PCA-API.md §7.4) */
        reason = st->reason >= 1 ? st->reason : OCSP_REVOKED_STATUS_NOSTATUS;
        if ((revoked = gtime(st->revoked_at)) == NULL) {
            return 0;
        }
    }
    ok = OCSP_basic_add1_status(bs, cid, status, reason, revoked, this_update, next_update) != NULL;
    ASN1_GENERALIZEDTIME_free(revoked);
    return ok;
}

apr_status_t acmpca_ocsp_respond(const unsigned char **pder, apr_size_t *plen,
                                 const acmpca_ocsp_req_t *req, const acmpca_ocsp_status_t *statuses,
                                 const acmpca_ocsp_signer_t *signer, apr_pool_t *p)
{
    const EVP_MD *md = acmpca_sigalg_md(signer->signing_algorithm);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    ASN1_GENERALIZEDTIME *this_update = gtime(signer->this_update);
    ASN1_GENERALIZEDTIME *next_update = gtime(signer->next_update);
    OCSP_RESPONSE *resp = NULL;
    apr_status_t rv = APR_EGENERAL;
    int i, n = acmpca_ocsp_count(req), ok;

    ERR_set_mark();
    ok = md && bs && this_update && next_update;
    for (i = 0; ok && i < n; i++) {
        ok = add_status(bs, cert_id(req, i), &statuses[i], this_update, next_update);
    }
    /* OCSP_copy_nonce: 2 when the request had no nonce, which is fine too. */
    ok = ok && OCSP_copy_nonce(bs, req->req) > 0;
    /* ResponderID byKey, no certificates: the client knows its issuer (RFC 6960 §4.2.2.2
     * lets the CA sign its own responses). */
    ok = ok
         && OCSP_basic_sign(bs, signer->ca_cert, signer->ca_key, md, NULL,
                            OCSP_NOCERTS | OCSP_RESPID_KEY)
                == 1;
    if (ok) {
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
        rv = to_der(pder, plen, resp, p);
    }
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    ASN1_GENERALIZEDTIME_free(this_update);
    ASN1_GENERALIZEDTIME_free(next_update);
    ERR_pop_to_mark();
    return rv;
}

apr_status_t acmpca_ocsp_error(const unsigned char **pder, apr_size_t *plen, int status,
                               apr_pool_t *p)
{
    OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
    apr_status_t rv = to_der(pder, plen, resp, p);

    OCSP_RESPONSE_free(resp);
    return rv;
}
