/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Strict intake of the CSRs IssueCertificate receives (PCA-API.md §5.5): one PKCS #10
 * request in DER, or in one PEM block with nothing around it, self-signed with a hash
 * that still resists collisions, for a key the CA can certify, with sound extensions. */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "intake_int.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Far above what a sensible request carries and far below what would make parsing or
 * path validation of the certificate slow: a CSR with more is refused, not trimmed. */
#define MAX_EXTENSIONS 100
#define MAX_ATTRIBUTES 16

/* RSA moduli the CA certifies: 2048 bits and up (NIST SP 800-57 part 1, 112-bit
 * strength); the upper bound keeps signature checks cheap for everyone downstream. */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

static apr_status_t req_cleanup(void *data)
{
    X509_REQ_free(data);
    return APR_SUCCESS;
}

static apr_status_t exts_cleanup(void *data)
{
    sk_X509_EXTENSION_pop_free(data, X509_EXTENSION_free);
    return APR_SUCCESS;
}

static apr_status_t malformed(acmpca_err_t *err, apr_pool_t *p, const char *msg)
{
    return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p, "%s", msg);
}

/* The short name of an OID OpenSSL knows ("subjectAltName"), else its dotted form. */
static const char *oid_text(const ASN1_OBJECT *obj, apr_pool_t *p)
{
    int nid = OBJ_obj2nid(obj);
    char buf[128];

    if (nid != NID_undef && OBJ_nid2sn(nid)) {
        return OBJ_nid2sn(nid);
    }
    if (OBJ_obj2txt(buf, sizeof(buf), obj, 1) <= 0) {
        return "(unknown)";
    }
    return apr_pstrdup(p, buf);
}

/* ******************************************************************************** */
/* Framing: PEM or DER, and nothing else                                             */
/* ******************************************************************************** */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int only_space(const unsigned char *s, apr_size_t n)
{
    while (n > 0 && is_space(*s)) {
        s++;
        n--;
    }
    return n == 0;
}

/* Text whose first visible character opens a PEM BEGIN line. */
static int pem_like(const unsigned char *s, apr_size_t n)
{
    while (n > 0 && is_space(*s)) {
        s++;
        n--;
    }
    return n > 0 && *s == '-';
}

/* One whole DER structure with nothing after it. */
static X509_REQ *der_req(const unsigned char *der, long len)
{
    const unsigned char *d = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &d, len);

    if (req && d != der + len) {
        X509_REQ_free(req);
        req = NULL;
    }
    return req;
}

#define PEM_REQ_BEGIN   "-----BEGIN CERTIFICATE REQUEST-----"
#define PEM_REQ_END     "-----END CERTIFICATE REQUEST-----"
#define PEM_PLAIN_LINE  76 /* the longest base64 line pem_plain takes (RFC 7468 writes 64) */
#define PEM_PLAIN_LINES 64 /* and at most this many: 3.6 KiB of DER */

/* The length of the line at s (up to its LF, without a CR before it); -1 when it does
 * not end in LF within n. */
static long line_len(const unsigned char *s, apr_size_t n)
{
    const unsigned char *lf = memchr(s, '\n', n);

    if (!lf) {
        return -1;
    }
    return (long)(lf - s) - (lf > s && lf[-1] == '\r');
}

/* The common shape of a PEM request decoded without a BIO (PEM_read_bio and its base64
 * filter cost a tenth of a lean issuance's intake): the BEGIN line, lines of whole
 * base64 quanta with padding only at the very end, the END line, then white space only.
 * Anything else, NULL: pem_block's general reading decides, and words the refusal.
 * What it takes, PEM_read_bio reads as the same bytes. buf starts at the BEGIN line. */
static unsigned char *pem_plain(long *plen, const unsigned char *buf, apr_size_t len, apr_pool_t *p)
{
    const unsigned char *s = buf, *end = buf + len;
    char *b64 = apr_palloc(p, PEM_PLAIN_LINE * PEM_PLAIN_LINES);
    unsigned char *der = NULL;
    apr_size_t n = 0, der_len = 0;
    long l = line_len(s, len);
    int lines;

    if (l != (long)sizeof(PEM_REQ_BEGIN) - 1 || memcmp(s, PEM_REQ_BEGIN, (size_t)l)) {
        return NULL;
    }
    s = (const unsigned char *)memchr(s, '\n', len) + 1;
    for (lines = 0; s < end && *s != '-'; lines++) {
        if (lines == PEM_PLAIN_LINES || (l = line_len(s, (apr_size_t)(end - s))) <= 0
            || l > PEM_PLAIN_LINE || l % 4) {
            return NULL;
        }
        memcpy(b64 + n, s, (size_t)l);
        n += (apr_size_t)l;
        s = (const unsigned char *)memchr(s, '\n', (size_t)(end - s)) + 1;
    }
    if ((apr_size_t)(end - s) < sizeof(PEM_REQ_END) - 1
        || memcmp(s, PEM_REQ_END, sizeof(PEM_REQ_END) - 1)
        || !only_space(s + sizeof(PEM_REQ_END) - 1,
                       (apr_size_t)(end - s) - (sizeof(PEM_REQ_END) - 1))
        || acmpca_b64_decode(&der, &der_len, b64, n, p) != APR_SUCCESS || der_len == 0) {
        return NULL;
    }
    *plen = (long)der_len;
    return der;
}

/* The DER inside the one PEM block of buf, in p. Returns NULL and a message when the
 * block is not exactly one CERTIFICATE REQUEST with only white space around it. */
static unsigned char *pem_block(long *plen, const unsigned char *buf, apr_size_t len,
                                const char **why, apr_pool_t *p)
{
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL, *out = NULL;
    const char *rest;
    long n = 0, nrest;
    BIO *bio;

    *why = "The CSR could not be parsed as a PKCS #10 certificate request.";
    while (len > 0 && is_space(*buf)) {
        buf++;
        len--;
    }
    /* OpenSSL skips any text before a BEGIN line; an API input is one request only. */
    if (len < 11 || memcmp(buf, "-----BEGIN ", 11)) {
        return NULL;
    }
    if ((out = pem_plain(plen, buf, len, p)) != NULL || !(bio = BIO_new_mem_buf(buf, (int)len))) {
        return out;
    }
    if (PEM_read_bio(bio, &name, &header, &der, &n) == 1) {
        nrest = BIO_get_mem_data(bio, &rest);
        if (strcmp(name, PEM_STRING_X509_REQ) && strcmp(name, PEM_STRING_X509_REQ_OLD)) {
            *why = "The CSR must be a PEM block labelled CERTIFICATE REQUEST.";
        }
        else if (header && *header) {
            *why = "The CSR PEM block must not carry headers.";
        }
        else if (nrest > 0 && !only_space((const unsigned char *)rest, (apr_size_t)nrest)) {
            *why = "The CSR has data after the certificate request.";
        }
        else if (n > 0) {
            out = apr_pmemdup(p, der, (apr_size_t)n);
            *plen = n;
        }
    }
    BIO_free(bio);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    return out;
}

/* DER (X.690 §10) rather than BER: re-encoding the parsed request gives the same bytes.
 * Call after the signature check: re-encoding replaces the cached signed bytes. */
static int is_der(X509_REQ *req, const unsigned char *der, long len)
{
    unsigned char *out = NULL;
    int n, same;

    if (i2d_re_X509_REQ_tbs(req, NULL) <= 0 || (n = i2d_X509_REQ(req, &out)) <= 0) {
        return 0;
    }
    same = n == len && !memcmp(out, der, (size_t)len);
    OPENSSL_free(out);
    return same;
}

/* ******************************************************************************** */
/* Signature and key                                                                 */
/* ******************************************************************************** */

/* Digests a CSR self-signature may use: MD5 and SHA-1 are refused, their collisions are
 * practical (RFC 6151, SHAttered), and so is anything the CA does not know. */
static const int good_digests[] = {NID_sha224,   NID_sha256,   NID_sha384,   NID_sha512,
                                   NID_sha3_224, NID_sha3_256, NID_sha3_384, NID_sha3_512};

apr_status_t acmpca_intake_sigalg(const X509_ALGOR *alg, int key_nid, acmpca_err_t *err,
                                  apr_pool_t *p)
{
    const ASN1_OBJECT *obj;
    int ptype, md_nid = NID_undef, pk_nid = NID_undef;
    size_t i;

    X509_ALGOR_get0(&obj, &ptype, NULL, alg);
    if (!OBJ_find_sigid_algs(OBJ_obj2nid(obj), &md_nid, &pk_nid) || pk_nid != key_nid) {
        return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                              "The CSR is signed with %s, which is not supported for its key.",
                              oid_text(obj, p));
    }
    for (i = 0; i < COUNT(good_digests) && good_digests[i] != md_nid; i++) {
    }
    if (i == COUNT(good_digests)) {
        return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                              "The CSR is signed with %s, which is too weak: sign it with "
                              "SHA-256 or stronger.",
                              oid_text(obj, p));
    }
    /* RFC 4055 §5: NULL parameters for PKCS #1 v1.5 (absent is tolerated, as many
     * verifiers do); RFC 5758 §3.2: none for ECDSA. */
    if (key_nid == NID_X9_62_id_ecPublicKey ? ptype != V_ASN1_UNDEF
                                            : ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
        return malformed(err, p, "The CSR signature algorithm has malformed parameters.");
    }
    return APR_SUCCESS;
}

static const int named_curves[] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};

int acmpca_intake_named_curve(int nid)
{
    size_t i;

    for (i = 0; i < COUNT(named_curves) && named_curves[i] != nid; i++) {
    }
    return i < COUNT(named_curves);
}

/* Key types and sizes of PCA-API.md §7.1 that the CA certifies: RSA from 2048 bits, EC
 * on the named curves P-256, P-384 and P-521. The algorithm is read from the request's
 * own SubjectPublicKeyInfo so that explicit curve parameters, which OpenSSL may quietly
 * match to a named curve, are seen as what they are (RFC 5480 §2.1.1). */
static apr_status_t check_key(int *pkey_nid, X509_REQ *req, acmpca_err_t *err, apr_pool_t *p)
{
    X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(req);
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    ASN1_OBJECT *alg = NULL;
    X509_ALGOR *pa = NULL;
    const void *pval = NULL;
    EVP_PKEY_CTX *ctx;
    int nid, ptype = V_ASN1_UNDEF, ok, bits;

    if (!xpk || !X509_PUBKEY_get0_param(&alg, NULL, NULL, &pa, xpk) || !pub) {
        return malformed(err, p, "The CSR public key cannot be decoded.");
    }
    X509_ALGOR_get0(NULL, &ptype, &pval, pa);
    *pkey_nid = nid = OBJ_obj2nid(alg);
    if (nid == NID_rsaEncryption) {
        bits = EVP_PKEY_get_bits(pub);
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
            return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                                  "The CSR carries a %d-bit RSA key: the certificate authority "
                                  "certifies RSA keys of %d to %d bits.",
                                  bits, RSA_MIN_BITS, RSA_MAX_BITS);
        }
    }
    else if (nid == NID_X9_62_id_ecPublicKey) {
        if (ptype != V_ASN1_OBJECT) {
            return malformed(err, p,
                             "The CSR carries EC domain parameters given explicitly: only the "
                             "named curves P-256, P-384 and P-521 are accepted.");
        }
        if (!acmpca_intake_named_curve(OBJ_obj2nid(pval))) {
            return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                                  "The CSR carries a key on curve %s: only P-256, P-384 and "
                                  "P-521 are accepted.",
                                  oid_text(pval, p));
        }
    }
    else {
        return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                              "The CSR carries a key of type %s, which the certificate "
                              "authority cannot certify: use RSA or EC.",
                              oid_text(alg, p));
    }
    /* Point on the curve and not at infinity; RSA modulus and exponent sane. */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? APR_SUCCESS : malformed(err, p, "The CSR public key is not a valid key.");
}

/* ******************************************************************************** */
/* Subject and extensions                                                            */
/* ******************************************************************************** */

/* Every attribute value must decode to text (valid UTF-8, even-length BMPString...). */
static apr_status_t check_subject(X509_REQ *req, acmpca_err_t *err, apr_pool_t *p)
{
    const X509_NAME *name = X509_REQ_get_subject_name(req);
    int i;

    for (i = 0; i < X509_NAME_entry_count(name); i++) {
        unsigned char *utf8 = NULL;
        const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ne));

        OPENSSL_free(utf8);
        if (n < 0) {
            return malformed(err, p, "The CSR subject has an attribute that is not valid text.");
        }
    }
    return APR_SUCCESS;
}

static int ia5_ok(int type, const ASN1_STRING *s)
{
    return acmpca_ia5_name_ok(type, (const char *)ASN1_STRING_get0_data(s),
                              (size_t)ASN1_STRING_length(s));
}

/* RFC 5280 §4.2.1.6: at least one name, text names in their syntax (the same rules as
 * for ApiPassthrough names), addresses of 4 or 16 octets; and no more than the CA is
 * willing to sign. */
static apr_status_t check_san(X509_EXTENSION *ext, acmpca_err_t *err, apr_pool_t *p)
{
    GENERAL_NAMES *gns = X509V3_EXT_d2i(ext);
    apr_status_t rv = APR_SUCCESS;
    int i, n = gns ? sk_GENERAL_NAME_num(gns) : 0;

    if (n < 1) {
        rv = malformed(err, p, "The CSR subject alternative name extension is empty.");
    }
    else if (n > ACMPCA_CSR_MAX_SAN_NAMES) {
        rv = acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                            "The CSR has %d subject alternative names: at most %d are accepted.", n,
                            ACMPCA_CSR_MAX_SAN_NAMES);
    }
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
        int ok = 1;

        switch (gn->type) {
        case GEN_DNS:
        case GEN_EMAIL:
        case GEN_URI:
            ok = ia5_ok(gn->type, gn->d.ia5);
            break;
        case GEN_IPADD:
            ok = ASN1_STRING_length(gn->d.ip) == 4 || ASN1_STRING_length(gn->d.ip) == 16;
            break;
        default:
            break;
        }
        if (!ok) {
            rv = malformed(err, p, "The CSR has a malformed subject alternative name.");
        }
    }
    GENERAL_NAMES_free(gns);
    return rv;
}

/* The extensionRequest attribute: at most one (PKCS #9 §5.4.2 gives it one value), every
 * extension once, each a well-formed value; returns the extensions in *pexts (owned by p,
 * NULL when there are none). */
static apr_status_t check_extensions(STACK_OF(X509_EXTENSION) * *pexts, X509_REQ *req,
                                     acmpca_err_t *err, apr_pool_t *p)
{
    STACK_OF(X509_EXTENSION) * exts;
    int i, j, n, ext_req = 0, nattr = X509_REQ_get_attr_count(req);

    *pexts = NULL;
    if (nattr > MAX_ATTRIBUTES) {
        return malformed(err, p, "The CSR has too many attributes.");
    }
    for (i = 0; i < nattr; i++) {
        X509_ATTRIBUTE *a = X509_REQ_get_attr(req, i);
        int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a));

        if (nid == NID_ext_req || nid == NID_ms_ext_req) {
            if (++ext_req > 1 || X509_ATTRIBUTE_count(a) != 1) {
                return malformed(err, p, "The CSR must carry at most one extension request.");
            }
        }
    }
    if (!ext_req) {
        return APR_SUCCESS;
    }
    if (!(exts = X509_REQ_get_extensions(req))) {
        return malformed(err, p, "The CSR extension request cannot be decoded.");
    }
    apr_pool_cleanup_register(p, exts, exts_cleanup, apr_pool_cleanup_null);
    if ((n = sk_X509_EXTENSION_num(exts)) > MAX_EXTENSIONS) {
        return malformed(err, p, "The CSR requests too many extensions.");
    }
    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);

        /* RFC 5280 §4.2: "MUST NOT include more than one instance of a particular
         * extension"; which copy would a verifier honour? */
        for (j = 0; j < i; j++) {
            if (!OBJ_cmp(obj, X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j)))) {
                return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                                      "The CSR requests extension %s more than once.",
                                      oid_text(obj, p));
            }
        }
        if (!acmpca_ext_well_formed(ext)) {
            return acmpca_err_set(err, ACMPCA_ERR_MALFORMED_CSR, p,
                                  "The CSR extension %s is malformed.", oid_text(obj, p));
        }
        if (OBJ_obj2nid(obj) == NID_subject_alt_name) {
            apr_status_t rv = check_san(ext, err, p);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
    }
    *pexts = exts;
    return APR_SUCCESS;
}

/* [AWS] a subject or a SAN; with an empty subject the SAN is critical (RFC 5280
 * §4.2.1.6), in AWS's words (aws-privateca-issuer#6). */
static apr_status_t check_names(X509_REQ *req, STACK_OF(X509_EXTENSION) * exts, acmpca_err_t *err,
                                apr_pool_t *p)
{
    int i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);

    if (X509_NAME_entry_count(X509_REQ_get_subject_name(req)) > 0) {
        return APR_SUCCESS;
    }
    if (i < 0) {
        return malformed(err, p, "The CSR has neither a subject nor a subject alternative name.");
    }
    if (!X509_EXTENSION_get_critical(X509v3_get_ext(exts, i))) {
        return malformed(err, p,
                         "CSR must mark the SAN extension critical when it has an empty subject");
    }
    return APR_SUCCESS;
}

/* ******************************************************************************** */
/* The entry point                                                                   */
/* ******************************************************************************** */

static const char *const unparsable =
    "The CSR could not be parsed as a PKCS #10 certificate request.";

apr_status_t acmpca_intake_der(const unsigned char **pder, long *plen, const unsigned char *buf,
                               apr_size_t len, acmpca_err_t *err, apr_pool_t *p)
{
    const char *why = unparsable;
    const unsigned char *der = buf;
    long dlen = (long)len;

    if (!buf || len == 0 || len > ACMPCA_CSR_MAX_LEN) {
        return malformed(err, p, why);
    }
    /* PEM is text that opens with a BEGIN line; anything else is taken for DER, which
     * opens with a SEQUENCE tag. */
    if (pem_like(buf, len)) {
        der = pem_block(&dlen, buf, len, &why, p);
    }
    if (!der) {
        return malformed(err, p, why);
    }
    *pder = der;
    *plen = dlen;
    return APR_SUCCESS;
}

static apr_status_t read_req(X509_REQ **preq, const unsigned char **pder, long *plen,
                             const unsigned char *buf, apr_size_t len, acmpca_err_t *err,
                             apr_pool_t *p)
{
    apr_status_t rv;

    *preq = NULL;
    if ((rv = acmpca_intake_der(pder, plen, buf, len, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!(*preq = der_req(*pder, *plen))) {
        return malformed(err, p, unparsable);
    }
    apr_pool_cleanup_register(p, *preq, req_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t acmpca_intake_content(X509_REQ *req, acmpca_err_t *err, apr_pool_t *p)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    apr_status_t rv;

    if ((rv = check_subject(req, err, p)) == APR_SUCCESS
        && (rv = check_extensions(&exts, req, err, p)) == APR_SUCCESS) {
        rv = check_names(req, exts, err, p);
    }
    return rv;
}

apr_status_t acmpca_csr_parse(X509_REQ **pcsr, const unsigned char *buf, apr_size_t len,
                              acmpca_err_t *err, apr_pool_t *p)
{
    const X509_ALGOR *sigalg = NULL;
    const unsigned char *der = NULL;
    X509_REQ *req = NULL;
    apr_status_t rv;
    long dlen = 0;
    int key_nid = NID_undef, ok;

    *pcsr = NULL;
    /* Faults here are the client's, not ours: keep OpenSSL's error queue clean. */
    ERR_set_mark();
    rv = read_req(&req, &der, &dlen, buf, len, err, p);
    if (rv == APR_SUCCESS && X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
        rv = malformed(err, p, "The CSR must be a version 1 PKCS #10 request.");
    }
    if (rv == APR_SUCCESS) {
        rv = check_key(&key_nid, req, err, p);
    }
    if (rv == APR_SUCCESS) {
        X509_REQ_get0_signature(req, NULL, &sigalg);
        rv = acmpca_intake_sigalg(sigalg, key_nid, err, p);
    }
    if (rv == APR_SUCCESS) {
        /* PCA-API.md §11.5 [DECISION]: the self-signature is checked. */
        ok = X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1;
        rv = ok ? APR_SUCCESS
                : malformed(err, p, "The CSR signature could not be verified with its public key.");
    }
    if (rv == APR_SUCCESS && !is_der(req, der, dlen)) {
        rv = malformed(err, p, "The CSR is not DER-encoded.");
    }
    if (rv == APR_SUCCESS) {
        rv = acmpca_intake_content(req, err, p);
    }
    ERR_pop_to_mark();
    if (rv == APR_SUCCESS) {
        *pcsr = req;
    }
    return rv;
}
