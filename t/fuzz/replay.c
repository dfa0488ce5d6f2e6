/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * A main() for the fuzz targets when libFuzzer is not linked (as mod_auth_openidc's
 * test/fuzz/standalone.c): feeds every file named, and every file of every directory
 * named, to LLVMFuzzerTestOneInput once, in name order. `make fuzz-replay` builds each
 * target with it and the ordinary compiler and replays the committed corpora, so the
 * targets keep compiling and the known-nasty inputs keep passing without clang.
 *
 *   build/fuzz/fuzz_csr t/fuzz/corpus/fuzz_csr crash-1234
 *
 * Exits 1 when a path cannot be read or when nothing at all was replayed (a corpus that
 * moved must not pass as an empty success); a crash or a failed invariant aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int verbose;

/* One input: read it whole into a buffer of exactly its size, so that a read past the end
 * is a read past the allocation (what ASan and valgrind see). */
static long run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long size;
    size_t n;

    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: cannot size %s\n", path);
        fclose(f);
        return -1;
    }
    buf = malloc(size ? (size_t)size : 1);
    if (!buf) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (n != (size_t)size) {
        fprintf(stderr, "replay: short read of %s\n", path);
        free(buf);
        return -1;
    }
    if (verbose) {
        fprintf(stderr, "replay: %s (%ld bytes)\n", path, size);
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static long run_path(const char *path)
{
    struct dirent **names;
    struct stat st;
    long fed = 0, n;
    int i, count;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file or directory: %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return run_file(path);
    }
    if ((count = scandir(path, &names, NULL, by_name)) < 0) {
        fprintf(stderr, "replay: cannot list %s\n", path);
        return -1;
    }
    for (i = 0; i < count; i++) {
        char *child;

        if (names[i]->d_name[0] == '.') { /* ".", "..", and dot files such as .gitkeep */
            free(names[i]);
            continue;
        }
        child = malloc(strlen(path) + strlen(names[i]->d_name) + 2);
        if (!child) {
            return -1;
        }
        sprintf(child, "%s/%s", path, names[i]->d_name);
        n = run_path(child);
        free(child);
        free(names[i]);
        if (n < 0) {
            fed = -1;
        }
        else if (fed >= 0) {
            fed += n;
        }
    }
    free(names);
    return fed;
}

int main(int argc, char **argv)
{
    long fed = 0, n;
    int i, unreadable = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) {
            verbose = 1;
            continue;
        }
        n = run_path(argv[i]);
        if (n < 0) {
            unreadable = 1;
        }
        else {
            fed += n;
        }
    }
    if (unreadable) {
        return 1;
    }
    if (fed == 0) {
        fprintf(stderr, "replay: nothing was replayed (corpus missing or empty?)\n");
        return 1;
    }
    printf("%s: %ld inputs replayed\n", argv[0], fed);
    return 0;
}
