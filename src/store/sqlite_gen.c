/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The write generation of the sqlite store: when the CA records a thread keeps (memo.c)
 * may be used.
 *
 * Nearly every request reads its CA's record (GetCertificate, Describe, ListTags, a CRL
 * download's freshness check), and each read is a SQLite read transaction: two locks of
 * the WAL index under one mutex per database that every thread of the process takes.
 * Under load that mutex was the most contended lock of the read path, and skipping the
 * transaction made GetCertificate 20 % faster.
 *
 * The write generation: a counter in the first bytes of the -writer file, mapped shared
 * by every process of the store (the children inherit httpd's mapping; tools map it
 * when they write). A commit leader whose group may change a CA record (ca_create,
 * ca_update, ca_purge, a restore), holding the -writer lock so that writers take turns,
 * makes it odd before its transaction and the next even number after it, commit or not,
 * and before any caller of that group hears back; groups that write only other tables
 * (certificates, objects, counters) leave it. A memo made while it was even, from a
 * read made after loading it, is good while the counter still has that value: every CA
 * write acknowledged before the load is in the read, and any such commit since moved
 * the counter. An odd counter (a write under way, or a writer that died in one) makes
 * every read go to the database. Writes that bypass the provider (the sqlite3 shell),
 * or come from a process that cannot map the file for writing, are not seen: the store
 * is the module's to write, as the user it runs as. */
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acmpca/util.h"
#include "sqlite_int.h"

#define GEN_MAP_LEN 4096

static apr_status_t gen_unmap(void *data)
{
    munmap(data, GEN_MAP_LEN);
    return APR_SUCCESS;
}

volatile apr_uint64_t *acmpca_sqlite_gen_map(int fd, apr_pool_t *p)
{
    struct stat sb;
    void *m;

    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size < GEN_MAP_LEN) {
        return NULL;
    }
    m = mmap(NULL, GEN_MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        return NULL;
    }
    apr_pool_cleanup_register(p, m, gen_unmap, apr_pool_cleanup_null);
    return m;
}

int acmpca_sqlite_gen_size(int fd)
{
    struct stat sb;

    return fstat(fd, &sb) == 0 && (sb.st_size >= GEN_MAP_LEN || ftruncate(fd, GEN_MAP_LEN) == 0);
}

void acmpca_sqlite_gen_begin(volatile apr_uint64_t *gen)
{
    if (gen) {
        __atomic_fetch_or(gen, 1, __ATOMIC_SEQ_CST);
    }
}

void acmpca_sqlite_gen_end(volatile apr_uint64_t *gen)
{
    if (gen) { /* writers take turns: no other one moves it meanwhile */
        __atomic_store_n(gen, (__atomic_load_n(gen, __ATOMIC_SEQ_CST) | 1) + 1, __ATOMIC_SEQ_CST);
    }
}

int acmpca_sqlite_gen_now(volatile apr_uint64_t *gen, apr_uint64_t *pnow)
{
    if (!gen) {
        return 0;
    }
    *pnow = __atomic_load_n(gen, __ATOMIC_SEQ_CST);
    return !(*pnow & 1);
}
