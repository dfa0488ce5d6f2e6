/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Fuzz target: names of the object namespace (GET /<bucket>/<key>, GET /crl/<id>.crl;
 * src/ops/objects.c) as the routes hand them to the core once the glue has split the
 * path: acmpca_object_name_ok, then acmpca_object_serve, acmpca_crl_serve and
 * acmpca_object_readable against a store whose CA publishes a CRL (fuzz_store.h). A name
 * the core accepts is one that cannot climb out of its bucket or escape anything.
 *
 * Input: "<bucket>\n<key>", with the placeholders of fuzz_store.h replaced (@BUCKET@,
 * @CA_ID@). The key is also tried as a CA id for the /crl/ route. */
#include "fuzz_store.h"

#include "acmpca/revoke.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_store();
    return 0;
}

/* What acmpca_object_name_ok promises (include/acmpca/revoke.h). */
static void name_invariants(const char *bucket, const char *key)
{
    size_t n = strlen(key), i;

    FUZZ_ASSERT(strlen(bucket) >= 3 && strlen(bucket) <= 63);
    FUZZ_ASSERT(strspn(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") == strlen(bucket));
    FUZZ_ASSERT(n >= 1 && n <= ACMPCA_OBJECT_KEY_MAX && key[0] != '/' && key[n - 1] != '/');
    FUZZ_ASSERT(!strstr(key, "//") && !strstr(key, "/../") && !strstr(key, "/./"));
    FUZZ_ASSERT(strncmp(key, "../", 3) && strncmp(key, "./", 2) && strcmp(key, "..")
                && strcmp(key, "."));
    FUZZ_ASSERT(!(n >= 3 && !strcmp(key + n - 3, "/.."))
                && !(n >= 2 && !strcmp(key + n - 2, "/.")));
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        FUZZ_ASSERT(c > 0x20 && c < 0x7f && c != '%' && c != '\\');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const fuzz_store_t *st = fuzz_store();
    acmpca_caller_t caller = {NULL, FUZZ_ACCOUNT, NULL};
    acmpca_caller_t other = {NULL, "210987654321", NULL};
    acmpca_served_t out;
    const char *bucket, *key;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    bucket = fuzz_store_expand(fuzz_line(&data, &size, p), p);
    key = fuzz_store_expand(fuzz_cstr(data, size, p), p);
    if (acmpca_object_name_ok(bucket, key)) {
        name_invariants(bucket, key);
    }
    rv = acmpca_object_serve(&out, &st->env, bucket, key, now, p);
    if (rv == APR_SUCCESS) {
        FUZZ_ASSERT(acmpca_object_name_ok(bucket, key));
        FUZZ_ASSERT(out.obj && out.obj->data && out.obj->len > 0);
        (void)acmpca_object_readable(&st->env, &out, &caller, now, p);
        /* Another account never reads a private object. */
        FUZZ_ASSERT(out.is_public || !acmpca_object_readable(&st->env, &out, &other, now, p));
    }
    else {
        FUZZ_ASSERT(rv == APR_NOTFOUND);
    }
    rv = acmpca_crl_serve(&out, &st->env, key, now, p);
    FUZZ_ASSERT(rv == APR_SUCCESS || rv == APR_NOTFOUND);
    if (rv == APR_SUCCESS) {
        FUZZ_ASSERT(out.is_public && !strcmp(key, st->ca_id));
    }
    fuzz_store_input_done();
    apr_pool_destroy(p);
    return 0;
}
