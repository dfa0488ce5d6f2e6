#!/bin/sh
# Licensed under the Apache License, Version 2.0 (see LICENSE).
# `make test-asan`, second half: the Apache::Test suite against $ASAN_BUILD/mod_acmpca.so,
# built with -fsanitize=address,undefined, in an httpd that has the ASan runtime preloaded
# (a module cannot bring it in by itself: ASan must be the first library of the process).
# Only httpd gets the runtime, through a wrapper given to Apache::Test as the httpd
# binary; perl, awscli and openssl run as usual. Every report lands in a log directory
# and fails the run: zero findings is the bar.
#
# Environment: ASAN_BUILD (build-asan), HTTPD (/usr/sbin/apache2), CC (gcc: whose
# libasan), TESTS (default: t/api t/client, as make api).
set -u
cd "$(dirname "$0")/.."

ASAN_BUILD=${ASAN_BUILD:-build-asan}
HTTPD=${HTTPD:-/usr/sbin/apache2}
CC=${CC:-gcc}
module="$(pwd)/$ASAN_BUILD/mod_acmpca.so"
if [ ! -e "$module" ]; then
    echo "test-asan: $module is missing (make test-asan builds it)" >&2
    exit 2
fi
libasan=$($CC -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "test-asan: no libasan for $CC" >&2
    exit 2
fi
libasan=$(readlink -f "$libasan")

# Reports from workers running as www-data: a directory anyone may write, in /tmp so that
# every directory above it can be traversed.
logs=$(mktemp -d /tmp/acmpca-asan.XXXXXX)
chmod 1777 "$logs"
wrapper="$logs/httpd"
cat >"$wrapper" <<EOF
#!/bin/sh
# httpd with the sanitizer runtimes first in the process (scripts/test-asan.sh)
LD_PRELOAD="$libasan\${LD_PRELOAD:+ \$LD_PRELOAD}" exec "$HTTPD" "\$@"
EOF
chmod 0755 "$wrapper"

# httpd keeps what it allocated until exit and its children leave with exit(): a leak
# report at exit says nothing about requests (the unit tests and fuzzers look for leaks
# per call). Everything else stops the process and is reported.
# use_sigaltstack=0: see ASAN_ENV in the Makefile (worker threads end in pthread_exit).
export ASAN_OPTIONS="detect_leaks=0:use_sigaltstack=0:log_path=$logs/asan:halt_on_error=1:detect_odr_violation=0"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/ubsan"

# Tests that cannot run next to the ASan runtime (libfaketime) look for this.
export ACMPCA_TEST_ASAN=1
HTTPD="$wrapper" ACMPCA_MODULE="$module" sh t/run-api.sh
rc=$?

found=$(find "$logs" -name 'asan.*' -o -name 'ubsan.*' | head -20)
if [ -n "$found" ]; then
    mkdir -p "$ASAN_BUILD/asan-logs"
    cp $found "$ASAN_BUILD/asan-logs/"
    echo "test-asan: sanitizer reports (copied to $ASAN_BUILD/asan-logs):" >&2
    for f in $found; do
        echo "== $f" >&2
        head -40 "$f" >&2
    done
    rc=1
fi
rm -rf "$logs"
if [ $rc -eq 0 ]; then
    echo "test-asan: the suite passed with the module under ASan and UBSan, no reports"
fi
exit $rc
