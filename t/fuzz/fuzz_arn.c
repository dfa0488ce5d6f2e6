/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: ARNs and NextTokens (src/util/arn.c, token.c), the two strings clients
 * hand back to the server that the server made. A CA or certificate ARN that parses must
 * rebuild to itself; a NextToken opens only for the listing and scope it was made for,
 * and one the server makes always opens again.
 *
 * Input: one string, tried as every kind of ARN and as a NextToken; its first line is
 * also taken as a listing position for a token round trip. */
#include <string.h>

#include <apr_strings.h>

#include "fuzz.h"

#include "acmpca/arn.h"
#include "acmpca/token.h"
#include "acmpca/util.h"

static const unsigned char secret[32] = "fuzz-nexttoken-secret-0123456789";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_cstr(data, size, p);
    acmpca_arn_t arn;
    acmpca_ca_ref_t ref;
    const char *serial, *token;
    apr_int64_t pos = -1, back = -1;
    char *end;

    if (acmpca_arn_split(&arn, s, p) == APR_SUCCESS) {
        FUZZ_ASSERT(arn.partition && arn.service && arn.region && arn.account && arn.resource);
        FUZZ_ASSERT(!strcmp(apr_pstrcat(p, "arn:", arn.partition, ":", arn.service, ":", arn.region,
                                        ":", arn.account, ":", arn.resource, NULL),
                            s));
    }
    if (acmpca_arn_parse_ca(&ref, s, p) == APR_SUCCESS) {
        FUZZ_ASSERT(acmpca_is_uuid(ref.id) && strlen(ref.account) == 12);
        FUZZ_ASSERT(!strcmp(ref.arn, s));
        if (!strncmp(s, "arn:aws:", 8)) {
            FUZZ_ASSERT(!strcmp(acmpca_arn_ca(ref.region, ref.account, ref.id, p), s));
        }
    }
    if (acmpca_arn_parse_cert(&ref, &serial, s, p) == APR_SUCCESS) {
        size_t n = strlen(serial);

        FUZZ_ASSERT(n >= 1 && n <= 40 && strspn(serial, "0123456789abcdef") == n);
        FUZZ_ASSERT(!strcasecmp(acmpca_arn_cert(ref.arn, serial, p), s));
    }
    else {
        FUZZ_ASSERT(serial == NULL);
    }

    /* NextToken: made for ListCertificateAuthorities of one account, it opens for that and
     * nothing else. */
    if (acmpca_token_parse(&pos, secret, sizeof(secret), "ListCertificateAuthorities",
                           "123456789012", s, p)
        == APR_SUCCESS) {
        FUZZ_ASSERT(pos >= 0);
        FUZZ_ASSERT(
            acmpca_token_parse(&back, secret, sizeof(secret), "ListTags", "123456789012", s, p)
            == APR_EINVAL);
    }
    (void)acmpca_token_parse(&pos, secret, 0, "", "", s, p);
    pos = apr_strtoi64(s, &end, 10);
    if (pos >= 0) {
        token = acmpca_token_make(secret, sizeof(secret), "ListPermissions", s, pos, p);
        FUZZ_ASSERT(token != NULL);
        FUZZ_ASSERT(
            acmpca_token_parse(&back, secret, sizeof(secret), "ListPermissions", s, token, p)
            == APR_SUCCESS);
        FUZZ_ASSERT(back == pos);
    }
    apr_pool_destroy(p);
    return 0;
}
