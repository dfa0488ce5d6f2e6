# mod_acmpca: the AWS Private CA API inside Apache httpd.
# `make run` serves it on 127.0.0.1; `make test` runs every test. See README.md.

APXS      ?= apxs
HTTPD     ?= /usr/sbin/apache2
PYTHON    ?= /usr/bin/python3
CC        ?= gcc
BUILD     ?= build
PORT      ?= 8080
RUNDIR    ?= $(CURDIR)/run
STORE     ?=
PKI_HTDOCS ?= /usr/share/mod_acmpca/htdocs

APR_CFLAGS := $(shell pkg-config --cflags apr-1 apr-util-1 2>/dev/null)
HTTPD_INC  := $(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
BOTOCORE_MODEL ?= /usr/lib/python3/dist-packages/botocore/data/acm-pca/2017-08-22/service-2.json

WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wformat=2 -Wvla -Wpointer-arith -Wwrite-strings -Wundef
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC $(WARN) -DOPENSSL_API_COMPAT=30000 \
              -DOPENSSL_NO_DEPRECATED -Iinclude -I$(BUILD)/gen $(APR_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
LIBS   := -lssl -lcrypto -lsqlite3 -lhiredis -lcjson -laprutil-1 -lapr-1 -lm

CORE_SRC := $(sort $(wildcard src/util/*.c src/x509/*.c src/store/*.c src/ops/*.c src/auth/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/model.o
LIB      := $(BUILD)/libacmpca.a
MODULE   := $(BUILD)/mod_acmpca.so
STORE_TOOL := $(BUILD)/acmpca-store
UNIT_SRC := $(sort $(wildcard t/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/%)

.PHONY: all deps run test unit api api-redis bench bench-selftest profile install boundary format format-check clean
.DELETE_ON_ERROR:

all: $(MODULE) $(STORE_TOOL)

deps:
	@sh scripts/deps.sh

$(BUILD)/gen/model.c: scripts/gen_model.py src/ops/model-overlay.json $(BOTOCORE_MODEL)
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/gen_model.py $(BOTOCORE_MODEL) src/ops/model-overlay.json > $@

$(BUILD)/gen/model.o: $(BUILD)/gen/model.c include/acmpca/model.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c $(wildcard include/acmpca/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The glue (mod_acmpca*.c) is the only code that sees httpd's headers.
GLUE_SRC := $(sort $(wildcard mod_acmpca*.c))
$(MODULE): $(GLUE_SRC) mod_acmpca.h $(LIB)
	$(CC) $(ALL_CFLAGS) -I$(HTTPD_INC) -I. -shared -o $@ $(GLUE_SRC) $(LIB) $(LIBS)

# The store's dump, load and copy (scripts/store-migrate drives it; t/multi/200 runs it).
$(STORE_TOOL): tools/acmpca-store.c $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS)

api api-redis: $(STORE_TOOL)

$(BUILD)/t/%: t/unit/%.c t/unit/unit.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB) -lcmocka $(LIBS)

# A private redis-server (scripts/redis-server.sh) and a Sentinel set (a master, a
# replica, three sentinels: scripts/redis-sentinel.sh) for the redis store tests; they
# export ACMPCA_TEST_REDIS and ACMPCA_TEST_SENTINEL and stop the servers whatever the
# tests did.
unit: $(UNIT_BIN)
	@sh scripts/redis-sentinel.sh run sh scripts/redis-server.sh run sh -c \
	    'set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done'

# The sqlite pass runs under the worker MPM, the benchmark's (scripts/bench/common.sh);
# the redis pass and the ASan slice under event, Debian's default.
API_MPM ?= worker
api: $(MODULE)
	@ACMPCA_TEST_MPM=$(API_MPM) sh t/run-api.sh

# The suite again with the main test store (vhosts acmpca, acmpca_visible; acmpca_revoke
# in database 1) in a private redis-server, the two-host tests (t/multi: two httpd on one
# Redis) and the high-availability ones (t/ha: redis killed under load, Sentinel failovers
# under load, each on servers of its own). REDIS_TESTS picks the files; skipped when
# redis-server is not installed.
REDIS_TESTS ?= t/api t/client t/multi t/ha
api-redis: $(MODULE)
	@TESTS="$(REDIS_TESTS)" sh scripts/redis-server.sh run sh -c \
	    'if [ -z "$${ACMPCA_TEST_REDIS:-}" ]; then echo "api-redis: skipped"; exit 0; fi; \
	     ACMPCA_TEST_STORE=$$ACMPCA_TEST_REDIS sh t/run-api.sh'

# crlbench is only built here (make bench runs it): a benchmark tool that no longer
# compiles is found by the tests, not by the next benchmark; nor do the benchmark's own
# decisions (bench-selftest) wait for one.
test: deps boundary format-check
	@$(MAKE) --no-print-directory all $(CRLBENCH) bench-selftest unit hardening-ci
	@$(MAKE) --no-print-directory api
	@$(MAKE) --no-print-directory api-redis

# What each benchmark row is compared with, which runs fail a measurement, how runs and
# their twins alternate: scripts/bench without a server (t/bench/test_bench.py).
bench-selftest:
	@$(PYTHON) t/bench/test_bench.py

run: deps all
	@RUNDIR="$(RUNDIR)" PORT="$(PORT)" STORE="$(STORE)" HTTPD="$(HTTPD)" \
	    MODULE="$(CURDIR)/$(MODULE)" sh scripts/run.sh

# The CRL-build item of the benchmark (scripts/bench/crlbench.c): the module's build and
# the plain X509_CRL API's, on the same store.
CRLBENCH := $(BUILD)/bench/crlbench
$(CRLBENCH): scripts/bench/crlbench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS)

# Side by side with the limits (openssl speed, static httpd) and the peers (cfssl, moto);
# QUICK=1 for a short run. Results in bench-results/. See scripts/bench/bench.sh.
bench: deps all $(CRLBENCH)
	@QUICK="$(QUICK)" HTTPD="$(HTTPD)" PYTHON="$(PYTHON)" MODULE="$(CURDIR)/$(MODULE)" \
	    CRLBENCH="$(CURDIR)/$(CRLBENCH)" sh scripts/bench/bench.sh

# Where the CPU goes for one operation under load: perf samples of the httpd children.
# make profile OP=IssueCertificate-P256 [SECS=10] [PROFILE_TOOL=callgrind [PROFILE_N=2000]].
# See scripts/bench/profile.sh.
OP ?= IssueCertificate-P256
SECS ?= 10
PROFILE_TOOL ?= perf
PROFILE_N ?= 2000
profile: deps all $(CRLBENCH)
	@HTTPD="$(HTTPD)" PYTHON="$(PYTHON)" MODULE="$(CURDIR)/$(MODULE)" \
	    PROFILE_TOOL="$(PROFILE_TOOL)" PROFILE_N="$(PROFILE_N)" CRLBENCH="$(CURDIR)/$(CRLBENCH)" \
	    sh scripts/bench/profile.sh $(OP) $(SECS)

# The module, its Debian-style conf, the PKI repository page (ACMPCAHtdocs's default), and
# the store migration (acmpca-store-migrate runs acmpca-store from PATH).
install: all
	$(APXS) -i -n acmpca $(MODULE)
	install -m 0755 $(STORE_TOOL) $(DESTDIR)/usr/sbin/acmpca-store
	install -m 0755 scripts/store-migrate $(DESTDIR)/usr/sbin/acmpca-store-migrate
	install -m 0644 conf/acmpca.load conf/acmpca.conf $(DESTDIR)/etc/apache2/mods-available/
	install -d $(DESTDIR)$(PKI_HTDOCS)
	install -m 0644 htdocs/index.html htdocs/style.css htdocs/app.js $(DESTDIR)$(PKI_HTDOCS)/

# Nothing below the glue may include an httpd header.
boundary:
	@! grep -rlE '#include [<"](httpd|http_|ap_|util_|mpm_|scoreboard)' src include

# Every C file and header of ours, the core's internal headers (src/*/*.h) included.
FORMAT_SRC := mod_acmpca*.[ch] tools/*.c $(CORE_SRC) src/*/*.h include/acmpca/*.h t/unit/*.[ch]

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf $(BUILD) t/logs t/conf/httpd.conf t/conf/apache_test_config.pm t/conf/extra.conf \
	    t/conf/modperl_inc.pl t/htdocs/index.html t/TEST

# ************************************************************************************
# Hardening (issue 8): fuzzing, sanitizers, valgrind and crash safety. README.md
# "Hardening" and t/fuzz/README.md say more.
#   make fuzz            each libFuzzer target for FUZZ_SECONDS (clang, ASan + UBSan);
#                        FUZZ_TARGETS="fuzz_csr fuzz_ocsp" for some; findings in build-fuzz/
#   make fuzz-replay     every committed corpus through its target (gcc; part of make test)
#   make fuzz-capture    recapture the awscli/boto3 seeds against the module (CAPTURE_PORT)
#   make test-asan       unit tests and the Apache::Test suite (sqlite, then redis and
#                        t/multi), module under ASan + UBSan (build-asan/)
#   make test-valgrind   unit tests under valgrind
#   make soak            the crash-safety tests (t/api/7xx) at full length: 200 kill rounds,
#                        50 graceful restarts, under event, worker and prefork
#   make hardening-ci    the bounded slices make test runs: fuzz-replay, the unit tests
#                        under ASan, the module under ASan through ASAN_CI_TESTS, a
#                        valgrind subset
# ************************************************************************************

FUZZ_SECONDS ?= 60
CAPTURE_PORT ?= 9620
FUZZ_BUILD   ?= build-fuzz
ASAN_BUILD   ?= build-asan
CLANG        ?= clang
VALGRIND     ?= valgrind
FUZZ_ALL     := $(sort $(patsubst t/fuzz/%.c,%,$(wildcard t/fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_DEPS    := t/fuzz/replay.c $(wildcard t/fuzz/*.h)
SAN_FLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer
# The unit tests the CI slice runs under valgrind (the slow x509/store ones are left to
# make test-valgrind), and the corpora it replays under valgrind too: cJSON and OpenSSL
# are not instrumented by ASan, valgrind sees their reads past a buffer.
VALGRIND_CI_UNITS  ?= test_arn test_authz test_sigv4 test_util test_validate test_validity test_ocsp
VALGRIND_CI_FUZZ   ?= fuzz_request fuzz_sigv4 fuzz_arn fuzz_policy fuzz_csr fuzz_cert
# Definite and indirect leaks fail the run; "possibly lost" is not shown: it is what a
# process keeps until exit through interior pointers (sqlite's page cache of a store the
# fuzz fixtures never close).
VALGRIND_OPTS      ?= --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
                      --show-leak-kinds=definite,indirect --track-origins=yes --quiet

.PHONY: fuzz fuzz-build fuzz-replay test-asan test-valgrind soak hardening-ci \
        asan-unit asan-module asan-api-ci valgrind-ci fuzz-capture

# The replay binaries: each target with t/fuzz/replay.c as its main(), the ordinary compiler.
$(BUILD)/fuzz/%: t/fuzz/%.c $(FUZZ_DEPS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< t/fuzz/replay.c $(LIB) $(LIBS)

fuzz-replay: $(FUZZ_ALL:%=$(BUILD)/fuzz/%)
	@set -e; for t in $(FUZZ_ALL); do $(BUILD)/fuzz/$$t t/fuzz/corpus/$$t; done

# The seeds of real client requests, captured against the module (t/fuzz/capture.py).
fuzz-capture: all
	@CAPTURE_PORT="$(CAPTURE_PORT)" $(PYTHON) t/fuzz/capture.py

# libFuzzer binaries, built by `make fuzz` in $(FUZZ_BUILD) with clang.
$(BUILD)/fuzzer/%: t/fuzz/%.c $(FUZZ_DEPS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LIBS)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzzer/%)

# New inputs go to $(FUZZ_BUILD)/corpus/<target>, never into the committed corpus; a
# crash leaves $(FUZZ_BUILD)/artifacts/<target>-crash-*, which build/fuzz/<target>
# replays without clang.
fuzz:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(CLANG) \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
	    FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz-build
	@FUZZ_BUILD="$(FUZZ_BUILD)" FUZZ_SECONDS="$(FUZZ_SECONDS)" sh t/fuzz/run.sh $(FUZZ_TARGETS)

# Unit tests with ASan (LeakSanitizer included) and UBSan, in a build dir of their own.
# use_sigaltstack=0: with gcc 12, a thread that leaves by pthread_exit (apr_thread_exit,
# as test_store's writers and httpd's workers do) makes ASan's own sigaltstack call at
# thread exit look like a stack-buffer-underflow; that false positive goes away with it.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:use_sigaltstack=0:abort_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
asan-unit:
	@$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="-O1 -g" \
	    EXTRA_CFLAGS="$(SAN_FLAGS) -fno-sanitize-recover=undefined" unit

# ... then the module under Apache::Test, in an httpd with the ASan runtime preloaded.
asan-module:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="-O1 -g" \
	    EXTRA_CFLAGS="$(SAN_FLAGS)" all

# One after the other: the two builds share $(ASAN_BUILD). The suite runs twice, as in
# make test: on sqlite, then with its main store in redis plus t/multi (api-redis).
ASAN_SUITE := ASAN_BUILD="$(ASAN_BUILD)" HTTPD="$(HTTPD)" CC="$(CC)" sh scripts/test-asan.sh
test-asan: deps
	@$(MAKE) --no-print-directory asan-unit
	@$(MAKE) --no-print-directory asan-module
	@$(ASAN_SUITE)
	@TESTS="$(REDIS_TESTS)" sh scripts/redis-server.sh run sh -c \
	    'if [ -z "$${ACMPCA_TEST_REDIS:-}" ]; then echo "test-asan: redis pass skipped"; exit 0; fi; \
	     ACMPCA_TEST_STORE=$$ACMPCA_TEST_REDIS $(ASAN_SUITE)'

# The slice of it make test runs (a few minutes): every corpus sent over HTTP, the main
# paths of issuance, revocation, CRL, OCSP and objects, a kill -9 and a full disk, a
# boto3 flow; make test-asan runs the whole suite.
ASAN_CI_TESTS ?= t/api/040_bad_input_sweep.t t/api/330_issue_get.t t/api/350_passthrough.t \
                 t/api/400_revoke.t t/api/410_crl.t t/api/420_ocsp.t t/api/430_objects.t \
                 t/api/700_kill_issue.t t/api/720_disk_full.t t/client/030_boto3_flow.t
asan-api-ci: asan-module
	@TESTS="$(ASAN_CI_TESTS)" $(ASAN_SUITE)

test-valgrind: $(UNIT_BIN) $(FUZZ_ALL:%=$(BUILD)/fuzz/%)
	@sh scripts/redis-server.sh run sh -c 'set -e; for t in $(UNIT_BIN); do \
	    echo "== valgrind $$t"; $(VALGRIND) $(VALGRIND_OPTS) $$t; done'
	@set -e; for t in $(FUZZ_ALL); do echo "== valgrind $$t"; \
	    $(VALGRIND) $(VALGRIND_OPTS) $(BUILD)/fuzz/$$t t/fuzz/corpus/$$t; done

valgrind-ci: $(VALGRIND_CI_UNITS:%=$(BUILD)/t/%) $(VALGRIND_CI_FUZZ:%=$(BUILD)/fuzz/%)
	@set -e; for t in $(VALGRIND_CI_UNITS); do echo "== valgrind $$t"; \
	    $(VALGRIND) $(VALGRIND_OPTS) $(BUILD)/t/$$t; done
	@set -e; for t in $(VALGRIND_CI_FUZZ); do echo "== valgrind $$t"; \
	    $(VALGRIND) $(VALGRIND_OPTS) $(BUILD)/fuzz/$$t t/fuzz/corpus/$$t; done

hardening-ci: fuzz-replay valgrind-ci
	@$(MAKE) --no-print-directory asan-unit
	@$(MAKE) --no-print-directory asan-api-ci

# The crash-safety tests (t/api/7xx) at full length, under each MPM.
SOAK_TESTS ?= $(sort $(wildcard t/api/7[0-9][0-9]_*.t))
soak: deps all
	@set -e; for mpm in event worker prefork; do echo "== soak, $$mpm MPM"; \
	    ACMPCA_SOAK=1 ACMPCA_TEST_MPM=$$mpm ACMPCA_TEST_TIMEOUT=7200 TESTS="$(SOAK_TESTS)" \
	    sh t/run-api.sh; done
