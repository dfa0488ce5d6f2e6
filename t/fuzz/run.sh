#!/bin/sh
# Licensed under the Apache License, Version 2.0 (see LICENSE).
# `make fuzz`: run each libFuzzer target named on the command line for FUZZ_SECONDS,
# starting from its committed corpus. New inputs go to $FUZZ_BUILD/corpus/<target> (the
# committed corpus is only read), findings to $FUZZ_BUILD/artifacts/<target>-crash-*.
# Every target runs even when an earlier one found something; the exit status says
# whether any did.
#
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_SECONDS (60), FUZZ_JOBS (1; more runs
# libFuzzer's -fork mode with that many processes per target), FUZZ_ARGS (more libFuzzer
# flags, e.g. -max_len=65536).
set -u
cd "$(dirname "$0")/../.."

FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_ARGS=${FUZZ_ARGS:-}
# Leaks count (a leak per request is a finding); UBSan stops at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=""
for t in "$@"; do
    bin="$FUZZ_BUILD/fuzzer/$t"
    seeds="t/fuzz/corpus/$t"
    work="$FUZZ_BUILD/corpus/$t"
    arts="$FUZZ_BUILD/artifacts"
    mkdir -p "$work" "$arts"
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing" >&2
        failed="$failed $t"
        continue
    fi
    echo "== $t: ${FUZZ_SECONDS}s from $seeds"
    extra=""
    [ -f "t/fuzz/$t.dict" ] && extra="-dict=t/fuzz/$t.dict"
    [ "$FUZZ_JOBS" -gt 1 ] && extra="$extra -fork=$FUZZ_JOBS"
    # shellcheck disable=SC2086
    if ! "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=4096 \
        -max_len=131072 -print_final_stats=1 -artifact_prefix="$arts/$t-" \
        $extra $FUZZ_ARGS "$work" "$seeds" \
        >"$FUZZ_BUILD/$t.log" 2>&1; then
        failed="$failed $t"
        echo "fuzz: $t found something: $FUZZ_BUILD/$t.log, $arts/$t-*" >&2
        grep -E 'ERROR|invariant failed|SUMMARY' "$FUZZ_BUILD/$t.log" | head -5 >&2
    else
        grep -E '^stat::number_of_executed_units|^Done' "$FUZZ_BUILD/$t.log" | tail -1
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: findings in:$failed (replay: build/fuzz/<target> <artifact>)" >&2
    exit 1
fi
echo "fuzz: no findings"
