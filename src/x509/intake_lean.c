/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The lean CSR intake of IssueCertificate: the strict intake's verdict (intake.c) on every
 * input, at a fraction of its cost for the common request, an EC key on a named curve.
 *
 * d2i_X509_REQ decodes the public key through OpenSSL 3's decoder framework, and the
 * strict key check multiplies the point by the group order: together about four fifths
 * of what the strict intake spends on a P-256 request, several times the signature
 * check itself. Here the request is read with an ASN.1 template whose key is the raw
 * SubjectPublicKeyInfo (the same fields X509_PUBKEY encodes, so the DER comparison
 * decides alike), the verification key is built from the point with EVP_PKEY_fromdata,
 * and the point is checked on its curve (for P-256, P-384 and P-521, whose cofactor is
 * 1, every point on the curve but infinity has the group order: the multiplication
 * proves nothing more). EC_POINT_oct2point, which builds the key, already refuses
 * coordinates out of range and points off the curve; the one-byte encoding of infinity
 * is left to the strict intake, so EVP_PKEY_public_check_quick (a context of its own,
 * about 48k instructions) would only repeat it. The signature is checked over the
 * CertificationRequestInfo bytes as they came, which is what X509_REQ_verify hashes too.
 *
 * The lean path never refuses: whenever one of its checks fails, or the request is not
 * one it handles (an RSA key, explicit curve parameters), the strict intake decides and
 * words the refusal. It only accepts what passed the same checks, so both accept and
 * refuse the same inputs. The X509_REQ it returns holds the subject, the attributes and
 * the key's encoding, not a decoded key: X509_REQ_get0_pubkey() is NULL on it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "intake_int.h"

/* ******************************************************************************** */
/* PKCS #10 (RFC 2986 §4) with the key left encoded                                  */
/* ******************************************************************************** */

typedef struct lean_spki {
    X509_ALGOR *algor;
    ASN1_BIT_STRING *key;
} lean_spki;

typedef struct lean_req_info {
    ASN1_INTEGER *version;
    X509_NAME *subject;
    lean_spki *spki;
    STACK_OF(X509_ATTRIBUTE) * attributes;
} lean_req_info;

typedef struct lean_req {
    lean_req_info *info;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *signature;
} lean_req;

/* Field for field OpenSSL's X509_PUBKEY_INTERNAL, X509_REQ_INFO (attributes OPTIONAL as
 * there) and X509_REQ, so that what decodes and how it re-encodes are the same. */
/* The template macros are not C that clang-format understands. */
/* clang-format off */
ASN1_SEQUENCE(lean_spki) = {
    ASN1_SIMPLE(lean_spki, algor, X509_ALGOR),
    ASN1_SIMPLE(lean_spki, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(lean_spki)

ASN1_SEQUENCE(lean_req_info) = {
    ASN1_SIMPLE(lean_req_info, version, ASN1_INTEGER),
    ASN1_SIMPLE(lean_req_info, subject, X509_NAME),
    ASN1_SIMPLE(lean_req_info, spki, lean_spki),
    ASN1_IMP_SET_OF_OPT(lean_req_info, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END(lean_req_info)

ASN1_SEQUENCE(lean_req) = {
    ASN1_SIMPLE(lean_req, info, lean_req_info),
    ASN1_SIMPLE(lean_req, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(lean_req, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(lean_req)

static apr_status_t lean_cleanup(void *data)
{
    ASN1_item_free(data, ASN1_ITEM_rptr(lean_req));
    return APR_SUCCESS;
}
/* clang-format on */

static apr_status_t req_cleanup(void *data)
{
    X509_REQ_free(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* One whole request with nothing after it, in DER: re-encoded, the same bytes. */
static lean_req *lean_decode(const unsigned char *der, long len, apr_pool_t *p)
{
    const unsigned char *d = der;
    unsigned char *out = NULL;
    lean_req *req = (lean_req *)ASN1_item_d2i(NULL, &d, len, ASN1_ITEM_rptr(lean_req));
    int n, same;

    if (!req) {
        return NULL;
    }
    apr_pool_cleanup_register(p, req, lean_cleanup, apr_pool_cleanup_null);
    if (d != der + len
        || (n = ASN1_item_i2d((ASN1_VALUE *)req, &out, ASN1_ITEM_rptr(lean_req))) <= 0) {
        return NULL;
    }
    same = n == len && !memcmp(out, der, (size_t)len);
    OPENSSL_free(out);
    return same ? req : NULL;
}

/* The CertificationRequestInfo as encoded: the first element inside the request. */
static int info_bytes(const unsigned char **pinfo, long *plen, const unsigned char *der, long len)
{
    const unsigned char *d = der, *start;
    long n = 0;
    int tag, cls;

    if (ASN1_get_object(&d, &n, &tag, &cls, len) & 0x80) {
        return 0;
    }
    start = d;
    if (ASN1_get_object(&d, &n, &tag, &cls, len - (d - der)) & 0x80) {
        return 0;
    }
    *pinfo = start;
    *plen = (long)(d - start) + n;
    return *plen <= len - (start - der);
}

/* ******************************************************************************** */
/* The key and the signature                                                         */
/* ******************************************************************************** */

/* A public key on each curve, from the first request that carried one, and per thread
 * a copy of it (EVP_PKEY_dup, about 4 us) whose point each request replaces
 * (EVP_PKEY_set1_encoded_public_key): EVP_PKEY_fromdata builds the curve's group afresh,
 * about 15 us, and a copy per request cost 33k instructions. The point goes through the
 * same EC_POINT_oct2point either way. Each thread key has its verification context, made
 * once: a context per request (fetching the signature method, initialising it) cost about
 * a tenth of the check. The context holds the key's own EC_KEY, whose point the next
 * request sets in place, so each verification reads the point of its own request
 * (test_lean_key_replaced). The prototypes are kept for the life of the process and only
 * ever read; a thread's keys are freed when it exits, and one whose point was refused is
 * dropped with its context (oct2point may have left it half set). */
#define CURVES 3
static pthread_mutex_t protos_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int nid;
    EVP_PKEY *key;
} protos[CURVES] = {{NID_X9_62_prime256v1, NULL}, {NID_secp384r1, NULL}, {NID_secp521r1, NULL}};

/* A thread's key of one curve and its verification context (NULL until first needed). */
typedef struct thread_key {
    EVP_PKEY *key;
    EVP_PKEY_CTX *verify;
} thread_key;

static void *thread_keys_make(void)
{
    return calloc(CURVES, sizeof(thread_key));
}

static void thread_key_drop(thread_key *k)
{
    EVP_PKEY_CTX_free(k->verify);
    EVP_PKEY_free(k->key);
    k->verify = NULL;
    k->key = NULL;
}

static void thread_keys_free(void *data)
{
    thread_key *keys = data;
    int i;

    for (i = 0; i < CURVES; i++) {
        thread_key_drop(&keys[i]);
    }
    free(keys);
}

/* This thread's key slots, one per curve of protos. */
static acmpca_thread_slot_t thread_keys = ACMPCA_THREAD_SLOT(thread_keys_make, thread_keys_free);

static int curve_index(int curve)
{
    int i;

    for (i = 0; i < CURVES; i++) {
        if (protos[i].nid == curve) {
            return i;
        }
    }
    return -1;
}

/* The thread's key of curve with the request's point, owned by the thread (not to be
 * freed): NULL when the curve has no prototype yet or the point is refused. */
static thread_key *key_from_proto(int curve, const ASN1_BIT_STRING *point)
{
    thread_key *keys = acmpca_thread_obj(&thread_keys, 1);
    int i = curve_index(curve);

    if (!keys || i < 0) {
        return NULL;
    }
    if (!keys[i].key) {
        pthread_mutex_lock(&protos_lock);
        keys[i].key = protos[i].key ? EVP_PKEY_dup(protos[i].key) : NULL;
        pthread_mutex_unlock(&protos_lock);
    }
    if (keys[i].key
        && EVP_PKEY_set1_encoded_public_key(keys[i].key, point->data, (size_t)point->length) != 1) {
        thread_key_drop(&keys[i]);
    }
    return keys[i].key ? &keys[i] : NULL;
}

/* The thread key's verification context, made on first use; NULL when none can be. */
static EVP_PKEY_CTX *thread_verify_ctx(thread_key *k)
{
    if (!k->verify && (k->verify = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL))
        && EVP_PKEY_verify_init(k->verify) != 1) {
        EVP_PKEY_CTX_free(k->verify);
        k->verify = NULL;
    }
    return k->verify;
}

static EVP_PKEY *key_from_data(int curve, const ASN1_BIT_STRING *point)
{
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;

    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)OBJ_nid2sn(curve), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point->data,
                                                  (size_t)point->length);
    params[2] = OSSL_PARAM_construct_end();
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* Keep a checked key as the curve's prototype, unless it has one. */
static void proto_keep(int curve, EVP_PKEY *key)
{
    int i = curve_index(curve);

    pthread_mutex_lock(&protos_lock);
    if (i >= 0 && !protos[i].key) {
        protos[i].key = EVP_PKEY_dup(key);
    }
    pthread_mutex_unlock(&protos_lock);
}

/* The verification key of an EC SubjectPublicKeyInfo on a named curve the CA certifies,
 * checked on its curve (see the top of the file); NULL for anything else. Not the
 * caller's to free: the thread's key of that curve (good until the thread's next
 * request), whose verification context *pctx is then, or one in p (*pctx NULL). */
static EVP_PKEY *ec_key(EVP_PKEY_CTX **pctx, const lean_spki *spki, apr_pool_t *p)
{
    const ASN1_OBJECT *alg = NULL;
    const void *pval = NULL;
    thread_key *tk;
    EVP_PKEY *key;
    int ptype = V_ASN1_UNDEF, curve;

    *pctx = NULL;
    /* Every encoding of a finite point is longer than one byte. */
    X509_ALGOR_get0(&alg, &ptype, &pval, spki->algor);
    if (OBJ_obj2nid(alg) != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT
        || !acmpca_intake_named_curve(curve = OBJ_obj2nid(pval)) || spki->key->length <= 1
        || (spki->key->flags & 0x07)) {
        return NULL;
    }
    if ((tk = key_from_proto(curve, spki->key)) != NULL) {
        *pctx = thread_verify_ctx(tk);
        return tk->key;
    }
    if (!(key = key_from_data(curve, spki->key))) {
        return NULL;
    }
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
    proto_keep(curve, key);
    return key;
}

/* ECDSA over info with digest md_nid. SHA-256, the digest of nearly every request, is
 * hashed apart (a context per thread, acmpca_sha256) and the digest verified with
 * EVP_PKEY_verify: the same check as EVP_DigestVerify, without fetching the digest by
 * name and setting up a digest-verify context for each request; with vctx, the key's
 * verification context of its thread, not even a context. */
static int ecdsa_ok(EVP_PKEY *key, EVP_PKEY_CTX *vctx, int md_nid, const unsigned char *sig,
                    size_t sig_len, const unsigned char *info, long info_len)
{
    unsigned char digest[32];
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *mctx;
    int ok;

    if (md_nid == NID_sha256) {
        if (!acmpca_sha256(digest, info, (apr_size_t)info_len)) {
            return 0;
        }
        if (!vctx) {
            vctx = pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
            if (pctx && EVP_PKEY_verify_init(pctx) != 1) {
                vctx = NULL;
            }
        }
        ok = vctx && EVP_PKEY_verify(vctx, sig, sig_len, digest, sizeof(digest)) == 1;
        EVP_PKEY_CTX_free(pctx);
        return ok;
    }
    if (!(mctx = EVP_MD_CTX_new())) {
        return 0;
    }
    EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_FINALISE); /* no copy of the context to verify */
    ok = EVP_DigestVerifyInit_ex(mctx, NULL, OBJ_nid2sn(md_nid), NULL, NULL, key, NULL) == 1
         && EVP_DigestVerify(mctx, sig, sig_len, info, (size_t)info_len) == 1;
    EVP_MD_CTX_free(mctx);
    return ok;
}

/* What X509_REQ_verify checks for an EC key: no unused bits in the signature, then
 * ECDSA with the algorithm's digest over the request information. */
static int signature_ok(const lean_req *req, EVP_PKEY *key, EVP_PKEY_CTX *vctx,
                        const unsigned char *der, long len)
{
    const ASN1_OBJECT *obj = NULL;
    const unsigned char *info;
    long info_len;
    int md_nid = NID_undef, pk_nid = NID_undef;

    X509_ALGOR_get0(&obj, NULL, NULL, req->sig_alg);
    return !(req->signature->flags & 0x07) && info_bytes(&info, &info_len, der, len)
           && OBJ_find_sigid_algs(OBJ_obj2nid(obj), &md_nid, &pk_nid)
           && ecdsa_ok(key, vctx, md_nid, req->signature->data, (size_t)req->signature->length,
                       info, info_len);
}

/* ******************************************************************************** */
/* The request handed on                                                             */
/* ******************************************************************************** */

/* An X509_REQ with what the certificate builder reads: subject, attributes and the key
 * as encoded (X509_PUBKEY_set0_param: nothing is decoded or re-encoded). */
static X509_REQ *request_of(const lean_req *lr, apr_pool_t *p)
{
    const lean_spki *spki = lr->info->spki;
    const ASN1_OBJECT *alg = NULL;
    const void *curve = NULL;
    ASN1_OBJECT *aobj = NULL, *cobj = NULL;
    unsigned char *bits = NULL;
    X509_REQ *req = X509_REQ_new();
    int i, ok, ptype;

    /* ppval is only set along with pptype. */
    X509_ALGOR_get0(&alg, &ptype, &curve, spki->algor);
    ok = req && X509_REQ_set_version(req, X509_REQ_VERSION_1)
         && X509_REQ_set_subject_name(req, lr->info->subject) && (aobj = OBJ_dup(alg))
         && (cobj = OBJ_dup(curve))
         && (bits = OPENSSL_memdup(spki->key->data, (size_t)spki->key->length))
         && X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), aobj, V_ASN1_OBJECT, cobj, bits,
                                   spki->key->length);
    if (!ok) {
        ASN1_OBJECT_free(aobj);
        ASN1_OBJECT_free(cobj);
        OPENSSL_free(bits);
    }
    for (i = 0; ok && i < sk_X509_ATTRIBUTE_num(lr->info->attributes); i++) {
        ok = X509_REQ_add1_attr(req, sk_X509_ATTRIBUTE_value(lr->info->attributes, i));
    }
    if (!ok) {
        X509_REQ_free(req);
        return NULL;
    }
    apr_pool_cleanup_register(p, req, req_cleanup, apr_pool_cleanup_null);
    return req;
}

/* The lean checks, in the strict intake's order; NULL when any fails. */
static X509_REQ *lean_parse(const unsigned char *buf, apr_size_t len, apr_pool_t *p)
{
    acmpca_err_t ignored = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};
    const unsigned char *der;
    lean_req *lr;
    X509_REQ *req;
    EVP_PKEY_CTX *vctx;
    EVP_PKEY *key;
    long dlen;

    if (acmpca_intake_der(&der, &dlen, buf, len, &ignored, p) != APR_SUCCESS
        || !(lr = lean_decode(der, dlen, p)) || ASN1_INTEGER_get(lr->info->version) != 0
        || !(key = ec_key(&vctx, lr->info->spki, p))
        || acmpca_intake_sigalg(lr->sig_alg, NID_X9_62_id_ecPublicKey, &ignored, p) != APR_SUCCESS
        || !signature_ok(lr, key, vctx, der, dlen) || !(req = request_of(lr, p))
        || acmpca_intake_content(req, &ignored, p) != APR_SUCCESS) {
        return NULL;
    }
    return req;
}

apr_status_t acmpca_csr_parse_lean(X509_REQ **pcsr, const unsigned char *buf, apr_size_t len,
                                   acmpca_err_t *err, apr_pool_t *p)
{
    X509_REQ *req;

    /* Its faults are the client's: keep OpenSSL's error queue clean. */
    ERR_set_mark();
    req = lean_parse(buf, len, p);
    ERR_pop_to_mark();
    if (req) {
        *pcsr = req;
        return APR_SUCCESS;
    }
    return acmpca_csr_parse(pcsr, buf, len, err, p);
}
