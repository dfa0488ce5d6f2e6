/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * NextToken = base64("<pos>." <hex HMAC-SHA256(kind NUL scope NUL pos)>), so a client
 * cannot forge a position or replay a token on another listing. */
#include <string.h>
#include <stdlib.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "acmpca/token.h"
#include "acmpca/util.h"

#define MAC_LEN 16 /* truncated HMAC-SHA256: 128 bits is plenty for a page cursor */

static int token_mac(unsigned char *mac, const unsigned char *secret, apr_size_t secret_len,
                     const char *kind, const char *scope, const char *pos)
{
    static const char label[] = "acmpca NextToken v1";
    unsigned char key[EVP_MAX_MD_SIZE], full[EVP_MAX_MD_SIZE];
    unsigned int key_len = 0, full_len = 0;
    int ok;

    /* Derive a key of its own so the KEK is never used directly for another purpose. */
    ok = HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)label,
              sizeof(label) - 1, key, &key_len)
         != NULL;
    if (ok) {
        size_t kl = strlen(kind) + 1, sl = strlen(scope) + 1, pl = strlen(pos);
        unsigned char *msg = malloc(kl + sl + pl);
        if (!msg) {
            ok = 0;
        }
        else {
            memcpy(msg, kind, kl);
            memcpy(msg + kl, scope, sl);
            memcpy(msg + kl + sl, pos, pl);
            ok = HMAC(EVP_sha256(), key, (int)key_len, msg, kl + sl + pl, full, &full_len) != NULL;
            free(msg);
        }
    }
    OPENSSL_cleanse(key, sizeof(key));
    if (ok) {
        memcpy(mac, full, MAC_LEN);
    }
    return ok;
}

const char *acmpca_token_make(const unsigned char *secret, apr_size_t secret_len, const char *kind,
                              const char *scope, apr_int64_t pos, apr_pool_t *p)
{
    unsigned char mac[MAC_LEN];
    const char *spos = apr_psprintf(p, "%" APR_INT64_T_FMT, pos);
    const char *plain;

    if (!token_mac(mac, secret, secret_len, kind, scope, spos)) {
        return NULL;
    }
    plain = apr_pstrcat(p, spos, ".", acmpca_hex(mac, MAC_LEN, 0, p), NULL);
    return acmpca_b64_encode((const unsigned char *)plain, strlen(plain), p);
}

apr_status_t acmpca_token_parse(apr_int64_t *ppos, const unsigned char *secret,
                                apr_size_t secret_len, const char *kind, const char *scope,
                                const char *token, apr_pool_t *p)
{
    unsigned char *plain, mac[MAC_LEN];
    apr_size_t len;
    char *dot, *end;
    const char *want;
    apr_int64_t pos;

    if (acmpca_b64_decode(&plain, &len, token, strlen(token), p) != APR_SUCCESS
        || strlen((char *)plain) != len || !(dot = strchr((char *)plain, '.'))) {
        return APR_EINVAL;
    }
    *dot = '\0';
    pos = apr_strtoi64((char *)plain, &end, 10);
    if (*end || end == (char *)plain || pos < 0
        || !token_mac(mac, secret, secret_len, kind, scope, (char *)plain)) {
        return APR_EINVAL;
    }
    want = acmpca_hex(mac, MAC_LEN, 0, p);
    if (strlen(dot + 1) != strlen(want) || CRYPTO_memcmp(dot + 1, want, strlen(want)) != 0) {
        return APR_EINVAL;
    }
    *ppos = pos;
    return APR_SUCCESS;
}
