#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# `make api`: the Apache::Test suite (t/api, t/client) against a real httpd that
# loads build/mod_acmpca.so. Generates t/TEST from t/TEST.PL, cleans, runs, stops.
#
# Environment:
#   APXS, HTTPD        apxs and httpd to use (default /usr/bin/apxs, /usr/sbin/apache2)
#   ACMPCA_MODULE      the module to load (default build/mod_acmpca.so)
#   ACMPCA_TEST_MPM    event (default), worker or prefork
#   ACMPCA_TEST_TIMEOUT  seconds for the whole run (default 1800)
#   TESTS              test files or directories (default: t/api t/client)
#   APACHE_TEST_PORT   first port to try (Apache::Test's variable; default 8529)
set -u
cd "$(dirname "$0")/.."

APXS=${APXS:-/usr/bin/apxs}
HTTPD=${HTTPD:-/usr/sbin/apache2}
TIMEOUT=${ACMPCA_TEST_TIMEOUT:-1800}
TESTS=${TESTS:-t/api t/client}
PERL=${PERL:-/usr/bin/perl}

if [ ! -e "${ACMPCA_MODULE:-build/mod_acmpca.so}" ]; then
    echo "run-api: ${ACMPCA_MODULE:-build/mod_acmpca.so} is missing: run make first" >&2
    exit 2
fi

set -- -apxs "$APXS" -httpd "$HTTPD" -servername 127.0.0.1
if [ "$(id -u)" -eq 0 ]; then
    set -- "$@" -user www-data -group www-data
fi

# t/TEST with the options above baked in (Apache::TestMM, as a Makefile.PL does).
"$PERL" -MApache::TestMM -e '
    Apache::TestMM::filter_args();
    Apache::TestMM::generate_script("t/TEST");
' -- "$@" || exit 2
rm -f t/SMOKE    # Apache::TestMM writes it too; this suite does not use it

stop_server() {
    "$PERL" t/TEST -stop >/dev/null 2>&1 || true
}

# Leftovers of an earlier run (a server, its config, its store) go first.
"$PERL" t/TEST -clean >/dev/null 2>&1 || { echo "run-api: t/TEST -clean failed" >&2; exit 2; }

trap 'stop_server; exit 130' INT TERM HUP

# Directories without .t files would be taken for unknown options.
run=""
for t in $TESTS; do
    if [ -d "$t" ]; then
        ls "$t"/*.t >/dev/null 2>&1 && run="$run $t"
    elif [ -e "$t" ]; then
        run="$run $t"
    else
        echo "run-api: no such test: $t" >&2
        exit 2
    fi
done

# The whole run is bounded; on timeout the server is stopped by the trap below.
# shellcheck disable=SC2086
timeout --kill-after=30 "$TIMEOUT" "$PERL" t/TEST $run
rc=$?
stop_server
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "run-api: timed out after ${TIMEOUT}s" >&2
fi
if [ $rc -ne 0 ]; then
    echo "run-api: FAILED (exit $rc); server log: t/logs/error_log" >&2
    exit 1
fi
exit 0
