/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The store provider registry: "name:args" to a provider and its store. */
#include <string.h>

#include <apr_strings.h>

#include "acmpca/store.h"

/* Every provider compiled in, in the order the error message lists them. */
const acmpca_store_provider_t *const acmpca_store_providers[] = {
    &acmpca_store_sqlite,
    &acmpca_store_redis,
    &acmpca_store_redis_unix,
    &acmpca_store_redis_sentinel,
    NULL,
};

static const acmpca_store_provider_t *provider_find(const char *name)
{
    int i;

    for (i = 0; acmpca_store_providers[i]; ++i) {
        if (!strcmp(acmpca_store_providers[i]->name, name)) {
            return acmpca_store_providers[i];
        }
    }
    return NULL;
}

static const char *provider_names(apr_pool_t *p)
{
    const char *names = NULL;
    int i;

    for (i = 0; acmpca_store_providers[i]; ++i) {
        const char *name = acmpca_store_providers[i]->name;
        names = names ? apr_pstrcat(p, names, ", ", name, NULL) : name;
    }
    return names ? names : "none";
}

/* As ssl_cmd_SSLSessionCache: the name ends at the first ':' (a redis spec carries more
 * colons in its args), and an unknown name is answered with the names we do know. */
const char *acmpca_store_create(acmpca_store_t **ps, const char *spec, apr_pool_t *p)
{
    const acmpca_store_provider_t *provider;
    const char *colon, *name, *args, *err;

    *ps = NULL;
    colon = spec ? strchr(spec, ':') : NULL;
    name = colon ? apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec)) : spec;
    args = apr_pstrdup(p, colon ? colon + 1 : "");
    provider = (name && *name) ? provider_find(name) : NULL;
    if (!provider) {
        return apr_psprintf(p, "store '%s' is not supported (known stores: %s)", name ? name : "",
                            provider_names(p));
    }
    if ((err = provider->create(ps, args, p)) != NULL) {
        *ps = NULL;
        return apr_psprintf(p, "%s store: %s", provider->name, err);
    }
    (*ps)->provider = provider;
    (*ps)->args = args;
    return NULL;
}

/* The one query option whose value is a secret (redis-sentinel://, src/store/redis_spec.c). */
#define SECRET_OPTION "sentinel_password="

/* A query ("?a=1&b=2", or "") with the value of SECRET_OPTION hidden. */
static const char *redact_query(const char *query, apr_pool_t *p)
{
    const char *out = "", *opt, *end;
    size_t n = strlen(SECRET_OPTION);

    for (opt = query; *opt; opt = end) { /* opt at its '?' or '&' */
        end = opt + 1 + strcspn(opt + 1, "&");
        out = !strncmp(opt + 1, SECRET_OPTION, n)
                  ? apr_pstrcat(p, out, apr_pstrmemdup(p, opt, n + 1), "***", NULL)
                  : apr_pstrcat(p, out, apr_pstrmemdup(p, opt, (size_t)(end - opt)), NULL);
    }
    return out;
}

const char *acmpca_store_redact(const char *spec, apr_pool_t *p)
{
    const char *auth = spec ? strstr(spec, "://") : NULL;
    const char *query, *at = NULL, *c;

    if (!spec) {
        return spec;
    }
    query = spec + strcspn(spec, "?");
    /* The last '@' before the query ends the userinfo, as the providers parse it: a
     * password may hold a raw '/' or '@'. */
    for (c = auth ? auth + 3 : query; c < query; ++c) {
        if (*c == '@') {
            at = c;
        }
    }
    return apr_pstrcat(p,
                       at ? apr_pstrcat(p, apr_pstrmemdup(p, spec, (size_t)(auth + 3 - spec)),
                                        "***", apr_pstrmemdup(p, at, (size_t)(query - at)), NULL)
                          : apr_pstrmemdup(p, spec, (size_t)(query - spec)),
                       redact_query(query, p), NULL);
}
