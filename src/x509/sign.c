/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Sign a certificate and keep its encoding.
 *
 * X509_sign encodes the TBSCertificate to sign it, then every i2d_X509 (PEM_write_bio_X509
 * calls it twice: length, then bytes) encodes it again: about 37k instructions each for
 * an end-entity certificate, more than the rest of the encoding. Here the TBS is encoded
 * once and the Certificate (RFC 5280 §4.1: SEQUENCE { tbsCertificate, signatureAlgorithm,
 * signatureValue }) is put together around those bytes. The AlgorithmIdentifier is the
 * one the signature provider gives for the key and digest, as ASN1_item_sign_ctx asks
 * for it, and x gets the same fields X509_sign would set, so the certificate it holds
 * encodes to the same bytes (test_intake.c checks).
 *
 * Setting up a digest-sign context for each certificate (fetching the digest and the
 * signature method, initialising both) cost about a fifth of a P-256 signature. Each
 * thread keeps its contexts for the last few (key, digest) pairs it signed with, and signs
 * the digest of the TBS with EVP_PKEY_sign: the same provider function EVP_DigestSign
 * ends in, so the same signature (RSA PKCS #1 v1.5 is deterministic; test_x509.c compares). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "acmpca/util.h"
#include "sign_int.h"

/* The DER length octets of n (X.690 §8.1.3); returns their count. */
apr_size_t acmpca_der_len(unsigned char *out, apr_size_t n)
{
    apr_size_t k = 0, i;

    if (n < 0x80) {
        out[0] = (unsigned char)n;
        return 1;
    }
    for (i = n; i; i >>= 8) {
        k++;
    }
    out[0] = (unsigned char)(0x80 | k);
    for (i = 0; i < k; i++) {
        out[k - i] = (unsigned char)(n >> (8 * i));
    }
    return k + 1;
}

/* The signature's AlgorithmIdentifier (as the signer has it) into both places X509_sign
 * sets it. */
static int set_algorithm(X509 *x, const acmpca_signer_t *sg)
{
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *outer;
    X509_ALGOR *inner = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
    const unsigned char *pp = sg->aid;

    X509_get0_signature(&sig, &outer, x);
    if (!d2i_X509_ALGOR(&inner, &pp, (long)sg->aid_len)) {
        return 0;
    }
    pp = sg->aid;
    return d2i_X509_ALGOR((X509_ALGOR **)&outer, &pp, (long)sg->aid_len) != NULL;
}

/* The AlgorithmIdentifier the signature provider gives for pctx's key and digest, into
 * aid (ACMPCA_AID_MAX octets). */
static int aid_of(EVP_PKEY_CTX *pctx, unsigned char *aid, apr_size_t *plen)
{
    OSSL_PARAM params[2];

    params[0] =
        OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, ACMPCA_AID_MAX);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_PKEY_CTX_get_params(pctx, params) > 0 && (*plen = params[0].return_size) > 0;
}

/* The digest-sign context of sg, and the AlgorithmIdentifier its provider gives. */
static int mctx_begin(acmpca_signer_t *sg, EVP_PKEY *key, const EVP_MD *md)
{
    EVP_PKEY_CTX *pctx = NULL;

    if (!(sg->mctx = EVP_MD_CTX_new())) {
        return 0;
    }
    /* One signature per context: without FINALISE, EVP_DigestSignFinal signs with a copy
     * of the context (EVP_PKEY_CTX_dup) so that more data could follow. */
    EVP_MD_CTX_set_flags(sg->mctx, EVP_MD_CTX_FLAG_FINALISE);
    return EVP_DigestSignInit(sg->mctx, &pctx, md, NULL, key) == 1
           && aid_of(pctx, sg->aid, &sg->aid_len);
}

/* A thread's contexts for signing with key and md: the key held (so that its address
 * names it as long as the slot lives), the digest fetched once, a context to hash the
 * TBS and one to sign its digest, and the AlgorithmIdentifier the provider gives for
 * them (the same as for a digest-sign context), which the TBS must carry. A thread
 * keeps SIGNER_SLOTS of them, replaced in turn: a CA key outlives its CA in at most that
 * many slots of each thread that signed with it. */
#define SIGNER_SLOTS 4
typedef struct acmpca_signer_slot {
    EVP_PKEY *key;
    const EVP_MD *md; /* as the caller names it */
    EVP_MD *digest;
    EVP_MD_CTX *hash;
    EVP_PKEY_CTX *sign;
    unsigned char aid[ACMPCA_AID_MAX];
    apr_size_t aid_len;
} signer_slot;

typedef struct thread_signers {
    signer_slot slot[SIGNER_SLOTS];
    unsigned next; /* the slot to replace next */
} thread_signers;

static void slot_clear(signer_slot *sl)
{
    EVP_PKEY_CTX_free(sl->sign);
    EVP_MD_CTX_free(sl->hash);
    EVP_MD_free(sl->digest);
    EVP_PKEY_free(sl->key);
    memset(sl, 0, sizeof(*sl));
}

static void *signers_make(void)
{
    return calloc(1, sizeof(thread_signers));
}

static void signers_free(void *data)
{
    thread_signers *ts = data;
    int i;

    for (i = 0; i < SIGNER_SLOTS; i++) {
        slot_clear(&ts->slot[i]);
    }
    free(ts);
}

static acmpca_thread_slot_t thread_signers_slot = ACMPCA_THREAD_SLOT(signers_make, signers_free);

/* Fill sl for key and md; 0 (sl cleared) when a context cannot be had. */
static int slot_fill(signer_slot *sl, EVP_PKEY *key, const EVP_MD *md)
{
    if (!EVP_PKEY_up_ref(key)) {
        return 0;
    }
    sl->key = key;
    sl->md = md;
    if (!(sl->digest = EVP_MD_fetch(NULL, EVP_MD_get0_name(md), NULL))
        || !(sl->hash = EVP_MD_CTX_new())
        || !(sl->sign = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL))
        || EVP_PKEY_sign_init(sl->sign) != 1 || EVP_PKEY_CTX_set_signature_md(sl->sign, md) != 1
        || !aid_of(sl->sign, sl->aid, &sl->aid_len)) {
        slot_clear(sl);
        return 0;
    }
    return 1;
}

/* The thread's slot for key and md, filled now if it has none; NULL for a key whose
 * signature is not over a plain digest of the TBS (SM2 hashes its identity in, RSA-PSS
 * keys carry parameters), or when none can be had. */
static signer_slot *slot_for(EVP_PKEY *key, const EVP_MD *md)
{
    int type = EVP_PKEY_get_base_id(key), i;
    thread_signers *ts;
    signer_slot *sl;

    if (!md || (type != EVP_PKEY_EC && type != EVP_PKEY_RSA)
        || !(ts = acmpca_thread_obj(&thread_signers_slot, 1))) {
        return NULL;
    }
    for (i = 0; i < SIGNER_SLOTS; i++) {
        if (ts->slot[i].key == key && ts->slot[i].md == md) {
            return &ts->slot[i];
        }
    }
    sl = &ts->slot[ts->next++ % SIGNER_SLOTS];
    slot_clear(sl);
    return slot_fill(sl, key, md) ? sl : NULL;
}

int acmpca_signer_begin(acmpca_signer_t *sg, EVP_PKEY *key, const EVP_MD *md)
{
    memset(sg, 0, sizeof(*sg));
    sg->key = key;
    if ((sg->slot = slot_for(key, md)) != NULL) {
        memcpy(sg->aid, sg->slot->aid, sg->slot->aid_len);
        sg->aid_len = sg->slot->aid_len;
        return 1;
    }
    return mctx_begin(sg, key, md);
}

void acmpca_signer_end(acmpca_signer_t *sg)
{
    EVP_MD_CTX_free(sg->mctx);
    OPENSSL_free(sg->sig);
    sg->mctx = NULL;
    sg->sig = NULL;
    sg->slot = NULL;
}

/* The signature of tbs into sg->sig. */
static int sign_tbs(acmpca_signer_t *sg, const unsigned char *tbs, apr_size_t tbs_len)
{
    signer_slot *sl = sg->slot;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int max_len;

    if ((max_len = EVP_PKEY_get_size(sg->key)) <= 0
        || !(sg->sig = OPENSSL_malloc(sg->sig_len = (size_t)max_len))) {
        return 0;
    }
    if (!sl) {
        return EVP_DigestSign(sg->mctx, sg->sig, &sg->sig_len, tbs, tbs_len) == 1;
    }
    return EVP_DigestInit_ex2(sl->hash, sl->digest, NULL) == 1
           && EVP_DigestUpdate(sl->hash, tbs, tbs_len) == 1
           && EVP_DigestFinal_ex(sl->hash, digest, &n) == 1
           && EVP_PKEY_sign(sl->sign, sg->sig, &sg->sig_len, digest, n) == 1;
}

int acmpca_signer_wrap(acmpca_signer_t *sg, const unsigned char *tbs, apr_size_t tbs_len,
                       const unsigned char **pder, apr_size_t *plen, apr_pool_t *p)
{
    unsigned char head[8], bits_head[8], *der, *o;
    apr_size_t body, hn, bn;

    if (!sign_tbs(sg, tbs, tbs_len)) {
        return 0;
    }
    /* BIT STRING { 0 unused bits, signature } after TBS and algorithm, in a SEQUENCE. */
    bits_head[0] = V_ASN1_BIT_STRING;
    bn = 1 + acmpca_der_len(bits_head + 1, sg->sig_len + 1);
    bits_head[bn++] = 0;
    body = tbs_len + sg->aid_len + bn + sg->sig_len;
    head[0] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
    hn = 1 + acmpca_der_len(head + 1, body);
    o = der = apr_palloc(p, hn + body);
    memcpy(o, head, hn);
    memcpy(o += hn, tbs, tbs_len);
    memcpy(o += tbs_len, sg->aid, sg->aid_len);
    memcpy(o += sg->aid_len, bits_head, bn);
    memcpy(o + bn, sg->sig, sg->sig_len);
    *pder = der;
    *plen = hn + body;
    return 1;
}

int acmpca_x509_sign_der(X509 *x, EVP_PKEY *key, const EVP_MD *md, const unsigned char **pder,
                         apr_size_t *plen, apr_pool_t *p)
{
    acmpca_signer_t sg;
    unsigned char *tbs = NULL;
    const ASN1_BIT_STRING *cur;
    const X509_ALGOR *ignored;
    int tbs_len = 0, ok = 0;

    if (!acmpca_signer_begin(&sg, key, md) || !set_algorithm(x, &sg)
        || (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0
        || !acmpca_signer_wrap(&sg, tbs, (apr_size_t)tbs_len, pder, plen, p)) {
        goto done;
    }
    /* The signature into x, with no unused bits, as ASN1_item_sign_ctx leaves it. */
    X509_get0_signature(&cur, &ignored, x);
    if (!ASN1_BIT_STRING_set((ASN1_BIT_STRING *)cur, sg.sig, (int)sg.sig_len)) {
        goto done;
    }
    ((ASN1_BIT_STRING *)cur)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    ((ASN1_BIT_STRING *)cur)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    ok = 1;
done:
    OPENSSL_free(tbs);
    acmpca_signer_end(&sg);
    return ok;
}
