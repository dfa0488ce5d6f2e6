#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# `make profile OP=...`: where the module's CPU goes under load for one operation.
# Starts the benchmark httpd (httpd.sh) on a fresh SQLite store, prepares it (setup.py),
# then samples the httpd children with `perf record -e cpu-clock -g` while wrk sends
# signed requests of OP, and prints wrk's rate and perf's flat and caller profiles.
#   profile.sh OP [SECONDS]    OP: IssueCertificate-P256, GetCertificate, ... (sign.py)
# Environment: MODULE, BENCH_PORT (18580: two ports), PROFILE_KEEP=1 (keep the work
# directory with perf.data), BENCH_THREADS/BENCH_CONNS (wrk: 2/16).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/scripts/bench
PY=${PYTHON:-/usr/bin/python3}
OP=${1:?usage: profile.sh OP [SECONDS]}
SECS=${2:-10}
PORT=${BENCH_PORT:-18580}
export MODULE="${MODULE:-$ROOT/build/mod_acmpca.so}" PYTHON="$PY" PYTHONDONTWRITEBYTECODE=1
command -v perf >/dev/null || { echo "profile: perf is missing (make deps)" >&2; exit 2; }
for p in $PORT $((PORT + 1)); do
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$p/"; then
        echo "profile: port $p is in use (BENCH_PORT=... to move)" >&2
        exit 2
    fi
done

W=$(mktemp -d /tmp/acmpca-profile.XXXXXX)
chmod 0755 "$W"
BENCH_AKID=AKIA$(openssl rand -hex 8 | tr a-f A-F)
BENCH_SECRET=$(openssl rand -base64 30)
export BENCH_AKID BENCH_SECRET AWS_ACCESS_KEY_ID="$BENCH_AKID" AWS_SECRET_ACCESS_KEY="$BENCH_SECRET"
export AWS_DEFAULT_REGION=us-east-1
cleanup() {
    sh "$B/httpd.sh" stop "$W/httpd" || true
    if [ -n "${PROFILE_KEEP:-}" ]; then echo "profile: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$W/csr" "$W/module"
i=1
while [ $i -le 100 ]; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/CN=profile-$i.example.com" -out "$W/csr/$i.pem" 2>/dev/null
    i=$((i + 1))
done
sh "$B/httpd.sh" start "$W/httpd" "$PORT" $((PORT + 1))
"$PY" "$B/setup.py" "http://127.0.0.1:$PORT" "$W/csr" "$W/module" >/dev/null
case $OP in
IssueCertificate*) extra=$W/csr n=0 ;;
*) extra=- n=1000 ;;
esac
"$PY" "$B/sign.py" "$OP" "$W/module/state.json" "$extra" "$n" "$W/reqs"

pids=$(pgrep -d, -P "$(cat "$W/httpd/httpd.pid")")
perf record -q -e cpu-clock -g -o "$W/perf.data" -p "$pids" -- sleep "$SECS" 2>/dev/null &
rec=$!
wrk -t"${BENCH_THREADS:-2}" -c"${BENCH_CONNS:-16}" -d"${SECS}s" --timeout 10s \
    -s "$B/req.lua" "http://127.0.0.1:$PORT/" -- "$W/reqs" cycle "${BENCH_THREADS:-2}" |
    grep '^{' || true
wait $rec || true
echo "== flat profile (self), top 45"
perf report -i "$W/perf.data" --no-children --stdio --sort dso,sym -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -45
echo "== inclusive (children), top 60"
perf report -i "$W/perf.data" --children --stdio --sort sym -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -60
