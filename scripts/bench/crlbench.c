/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The CRL-build item of `make bench` (scripts/bench/scale.sh), on a sqlite store the
 * benchmark seeded, each mode in a process of its own so that peak memories do not mix:
 *
 *   crlbench module  DB KEK CA_ARN OUT.der RUN
 *       the module's own publication (acmpca_crl_publish, what a revocation runs):
 *       reading the revoked certificates from the store, encoding, signing, recording
 *       the CRL number and writing the object. OUT.der: the published CRL.
 *   crlbench index   DB KEK CA_ARN - -
 *       untimed preparation: the store's CRL entry table (sqlite crl_chunks) filled from the
 *       revoked certificates that seed.py wrote straight into the certs table. A revocation
 *       through the API adds its entry there itself (cert_revoke), so this puts the seeded
 *       store where a million revocations through the API would have left it.
 *   crlbench openssl DB KEK CA_ARN MODULE.der RUN
 *       the same CRL (same entries, number, times, extensions) through the plain OpenSSL
 *       X509_CRL API: one X509_REVOKED per entry, X509_CRL_sort, X509_CRL_sign, i2d.
 *       The entries are read from the store into memory first, untimed: "seconds" is
 *       the API alone. Checks that its TBSCertList is byte for byte the module's.
 *
 * Each prints one JSON line for the results (server, op "crl-build", run, seconds,
 * cpu_seconds, peak_kb: VmHWM right after the build, base_kb: VmRSS just before it,
 * bytes, entries; for openssl also read_seconds and same_tbs) and a summary on stderr.
 * Exit status 1 when a build fails or the two TBSCertLists differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "acmpca/ops.h"
#include "acmpca/store.h"
#include "acmpca/util.h"
#include "acmpca/x509.h"
#include "../../src/ops/ops_int.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process: steadier than the clock on a shared machine. */
static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
           + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long status_kb(const char *field)
{
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, field, n)) {
            kb = strtol(line + n, NULL, 10);
        }
    }
    if (f) {
        fclose(f);
    }
    return kb;
}

static void report(const char *server, const char *run, double secs, double cpu, long base,
                   long peak, size_t bytes, size_t entries)
{
    printf("{\"server\":\"%s\",\"op\":\"crl-build\",\"run\":%s,\"seconds\":%.3f,"
           "\"cpu_seconds\":%.3f,\"peak_kb\":%ld,\"base_kb\":%ld,\"bytes\":%zu,\"entries\":%zu",
           server, run, secs, cpu, peak, base, bytes, entries);
    fprintf(stderr, "  %-8s %zu entries: %.2f s (%.2f s CPU), peak %ld kB over %ld kB, %zu bytes\n",
            server, entries, secs, cpu, peak - base, base, bytes);
}

static void die(const char *what)
{
    fprintf(stderr, "crlbench: %s\n", what);
    exit(1);
}

static void read_file(unsigned char **pdata, size_t *plen, const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)
        || !(*pdata = malloc((size_t)n + 1)) || fread(*pdata, 1, (size_t)n, f) != (size_t)n) {
        die(path);
    }
    fclose(f);
    *plen = (size_t)n;
}

/* The TBSCertList element of a DER CRL. */
static int tbs_of(const unsigned char **ptbs, long *plen, const unsigned char *der, size_t len)
{
    const unsigned char *p = der, *start;
    long l;
    int tag, xclass;

    if (ASN1_get_object(&p, &l, &tag, &xclass, (long)len) & 0x80) {
        return 0;
    }
    start = p;
    if (ASN1_get_object(&p, &l, &tag, &xclass, (long)(der + len - p)) & 0x80) {
        return 0;
    }
    *ptbs = start;
    *plen = (long)(p - start) + l;
    return 1;
}

typedef struct setup_t {
    acmpca_env_t env;
    acmpca_op_ctx_t ctx;
    acmpca_ca_t *ca;
    unsigned char kek[ACMPCA_KEK_LEN];
} setup_t;

static void setup(setup_t *s, const char *db, const char *kek_path, const char *arn, apr_pool_t *p)
{
    unsigned char *kek;
    size_t keklen;
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};

    memset(s, 0, sizeof(*s));
    if (!(db = realpath(db, NULL))) {
        die("no such store");
    }
    read_file(&kek, &keklen, kek_path);
    if (keklen != ACMPCA_KEK_LEN) {
        die("the key file is not 32 bytes");
    }
    memcpy(s->kek, kek, sizeof(s->kek));
    free(kek);
    if (acmpca_store_create(&s->env.store, apr_pstrcat(p, "sqlite:", db, NULL), p)
        || s->env.store->provider->open(s->env.store, -1, -1, p) != APR_SUCCESS
        || s->env.store->provider->attach(s->env.store, p) != APR_SUCCESS) {
        die("cannot open the store");
    }
    s->env.region = "us-east-1";
    s->env.kek = s->kek;
    s->env.public_url = "http://127.0.0.1";
    s->ctx.env = &s->env;
    s->ctx.store = s->env.store;
    s->ctx.now = apr_time_now();
    s->ctx.account = apr_pstrndup(p, arn + strlen("arn:aws:acm-pca:us-east-1:"), 12);
    if (acmpca_ca_load(&s->ca, &s->ctx, arn, &err, p) != APR_SUCCESS) {
        die("cannot load the CA");
    }
}

/* ************************************************************************************
 * The module
 */

static int run_module(const char *db, const char *kek, const char *arn, const char *out,
                      const char *run, apr_pool_t *p)
{
    setup_t s;
    const cJSON *crl;
    acmpca_object_t *obj;
    apr_int64_t revoked = 0;
    long base, peak;
    double t0, c0, secs, cpu;
    FILE *f;

    setup(&s, db, kek, arn, p);
    base = status_kb("VmRSS:");
    t0 = now_s();
    c0 = cpu_s();
    if (acmpca_crl_publish(&s.ctx, arn, "bench", p) != APR_SUCCESS) {
        die("the module's CRL build failed");
    }
    secs = now_s() - t0;
    cpu = cpu_s() - c0;
    peak = status_kb("VmHWM:"); /* before the CRL is read back below */
    if (acmpca_ca_load(&s.ca, &s.ctx, arn, NULL, p) != APR_SUCCESS
        || !(crl = acmpca_json_obj(s.ca->doc, ACMPCA_D_CRL))
        || s.env.store->provider->object_get(s.env.store, acmpca_json_str(crl, "Bucket"),
                                             acmpca_json_str(crl, "Key"), &obj, p)
               != APR_SUCCESS
        || s.env.store->provider->cert_count(s.env.store, s.ca->ref.id, ACMPCA_CERT_ITER_REVOKED,
                                             &revoked, p)
               != APR_SUCCESS
        || !(f = fopen(out, "wb")) || fwrite(obj->data, 1, obj->len, f) != obj->len || fclose(f)) {
        die("cannot read the published CRL back");
    }
    report("module", run, secs, cpu, base, peak, obj->len, (size_t)revoked);
    printf("}\n");
    return 0;
}

/* ************************************************************************************
 * The plain OpenSSL X509_CRL API
 */

typedef struct entry_t {
    char serial[2 * 64 + 1];
    time_t revoked_at;
    int reason;
} entry_t;

typedef struct entries_t {
    entry_t *v;
    size_t n, cap;
} entries_t;

static int collect(void *baton, const acmpca_cert_rec_t *rec)
{
    entries_t *e = baton;

    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 4096;
        if (!(e->v = realloc(e->v, e->cap * sizeof(*e->v)))) {
            die("out of memory");
        }
    }
    apr_cpystrn(e->v[e->n].serial, rec->serial, sizeof(e->v[e->n].serial));
    e->v[e->n].revoked_at = (time_t)apr_time_sec(rec->revoked_at);
    e->v[e->n].reason = acmpca_revocation_reason_code(rec->revocation_reason);
    e->n++;
    return 0;
}

static X509_REVOKED *revoked_of(const entry_t *e)
{
    X509_REVOKED *r = X509_REVOKED_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *when = ASN1_TIME_set(NULL, e->revoked_at);
    ASN1_ENUMERATED *reason = NULL;
    int ok = r && when && BN_hex2bn(&bn, e->serial) && (serial = BN_to_ASN1_INTEGER(bn, NULL))
             && X509_REVOKED_set_serialNumber(r, serial)
             && X509_REVOKED_set_revocationDate(r, when);

    if (ok && e->reason != ACMPCA_REASON_NONE) {
        ok = (reason = ASN1_ENUMERATED_new()) && ASN1_ENUMERATED_set(reason, e->reason)
             && X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) == 1;
    }
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(reason);
    if (!ok) {
        die("X509_REVOKED");
    }
    return r;
}

static int run_openssl(const char *db, const char *kek, const char *arn, const char *module_der,
                       const char *run, apr_pool_t *p)
{
    setup_t s;
    entries_t e = {0};
    const cJSON *doc_crl;
    EVP_PKEY *key;
    X509 *ca_cert;
    X509_CRL *crl;
    ASN1_TIME *t;
    ASN1_INTEGER *number;
    AUTHORITY_KEYID *akid;
    unsigned char *der = NULL, *mder;
    const unsigned char *tbs1, *tbs2;
    const char *pem;
    size_t mlen, i;
    long base, l1, l2;
    int len, ok, same;
    double t0, t1, c1, secs, cpu;
    acmpca_err_t err = {ACMPCA_ERR_NONE, NULL, APR_SUCCESS};

    setup(&s, db, kek, arn, p);
    doc_crl = acmpca_json_obj(s.ca->doc, ACMPCA_D_CRL);
    pem = acmpca_json_str(s.ca->doc, ACMPCA_D_CERT);
    if (!doc_crl || !pem || acmpca_ca_key(&key, &s.ctx, s.ca, &err, p) != APR_SUCCESS
        || acmpca_cert_parse(&ca_cert, (const unsigned char *)pem, strlen(pem), &err, p)
               != APR_SUCCESS) {
        die("the CA has no CRL, certificate or key");
    }
    t0 = now_s();
    if (s.env.store->provider->cert_iter(s.env.store, s.ca->ref.id, ACMPCA_CERT_ITER_REVOKED,
                                         collect, &e, p)
        != APR_SUCCESS) {
        die("cannot read the revoked certificates");
    }
    t1 = now_s();
    c1 = cpu_s();
    base = status_kb("VmRSS:");

    /* What `openssl ca -gencrl` does, without its text database. */
    crl = X509_CRL_new();
    ok = crl && X509_CRL_set_version(crl, X509_CRL_VERSION_2)
         && X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert));
    t = ASN1_TIME_set(NULL, (time_t)apr_time_sec(acmpca_json_time(doc_crl, "ThisUpdate")));
    ok = ok && t && X509_CRL_set1_lastUpdate(crl, t);
    ok = ok && ASN1_TIME_set(t, (time_t)apr_time_sec(acmpca_json_time(doc_crl, "NextUpdate")))
         && X509_CRL_set1_nextUpdate(crl, t);
    ASN1_TIME_free(t);
    for (i = 0; ok && i < e.n; i++) {
        ok = X509_CRL_add0_revoked(crl, revoked_of(&e.v[i]));
    }
    ok = ok && X509_CRL_sort(crl);
    akid = AUTHORITY_KEYID_new();
    ok = ok && akid && (akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(ca_cert)))
         && X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) == 1;
    AUTHORITY_KEYID_free(akid);
    number = ASN1_INTEGER_new();
    ok = ok && number
         && ASN1_INTEGER_set_int64(number, (int64_t)acmpca_json_num(doc_crl, "Number", 0))
         && X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) == 1;
    ASN1_INTEGER_free(number);
    ok = ok && X509_CRL_sign(crl, key, EVP_sha256()) > 0 && (len = i2d_X509_CRL(crl, &der)) > 0;
    secs = now_s() - t1;
    cpu = cpu_s() - c1;
    if (!ok) {
        die("the X509_CRL API failed");
    }
    read_file(&mder, &mlen, module_der);
    same = tbs_of(&tbs1, &l1, der, (size_t)len) && tbs_of(&tbs2, &l2, mder, mlen) && l1 == l2
           && !memcmp(tbs1, tbs2, (size_t)l1);
    report("openssl", run, secs, cpu, base, status_kb("VmHWM:"), (size_t)len, e.n);
    printf(",\"read_seconds\":%.3f,\"same_tbs\":%s}\n", t1 - t0, same ? "true" : "false");
    if (!same) {
        fprintf(stderr, "crlbench: the X509_CRL API's TBSCertList is not the module's\n");
    }
    X509_CRL_free(crl);
    OPENSSL_free(der);
    free(mder);
    free(e.v);
    return !same;
}

/* ************************************************************************************
 * The seeded store's CRL entry table
 */

static int run_index(const char *db, const char *kek, const char *arn, apr_pool_t *p)
{
    setup_t s;
    double t0;

    setup(&s, db, kek, arn, p);
    t0 = now_s();
    if (s.env.store->provider->crl_index
        && s.env.store->provider->crl_index(s.env.store, s.ca->ref.id, p) != APR_SUCCESS) {
        die("cannot fill the CRL entry table");
    }
    fprintf(stderr, "  index    the CRL entry table filled in %.2f s (untimed preparation)\n",
            now_s() - t0);
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;

    if (argc != 7
        || (strcmp(argv[1], "module") && strcmp(argv[1], "openssl") && strcmp(argv[1], "index"))) {
        fprintf(stderr, "usage: crlbench module|openssl|index DB KEK CA_ARN CRL.der RUN\n");
        return 2;
    }
    apr_app_initialize(NULL, NULL, NULL);
    apr_pool_create(&p, NULL);
    if (!strcmp(argv[1], "index")) {
        return run_index(argv[2], argv[3], argv[4], p);
    }
    if (strspn(argv[6], "0123456789") != strlen(argv[6]) || !argv[6][0]) {
        fprintf(stderr, "crlbench: RUN is a number\n");
        return 2;
    }
    return !strcmp(argv[1], "module") ? run_module(argv[2], argv[3], argv[4], argv[5], argv[6], p)
                                      : run_openssl(argv[2], argv[3], argv[4], argv[5], argv[6], p);
}
