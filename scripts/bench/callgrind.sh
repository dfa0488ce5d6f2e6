#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# Instructions per request of one operation, repeatable on a busy machine: the
# benchmark's httpd (httpd.sh, sqlite store, prepared by setup.py) runs as apache2 -X
# under callgrind twice, answering N1 and then N2 signed requests (sign.py) on one
# keep-alive connection (sendreq.py), after a run that only warms the store up; (Ir of
# the N2 run - Ir of the N1 run) / (N2 - N1) cancels start-up and shutdown. Prints that figure and keeps both callgrind files for
# callgrind_annotate (with --inclusive=yes, diff the per-function totals the same way).
#   callgrind.sh OP [N1 N2]    OP: GetCertificate, DescribeCertificateAuthority, ...
#                              (sign.py), or static:SIZE for a static file of SIZE bytes
# Environment: MODULE (default build/mod_acmpca.so), BENCH_PORT (18580: two ports),
# CALLGRIND_DIR (default /tmp/acmpca-callgrind: reused, so the store and CA stay the
# same between runs of different builds; remove it to start afresh).
# Timer-driven work (the CRL job's watchdog) runs longer in the longer run and adds a
# few thousand instructions per request: compare figures of the same N1 and N2.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/scripts/bench
PY=${PYTHON:-/usr/bin/python3}
OP=${1:?usage: callgrind.sh OP [N1 N2]}
N1=${2:-50} N2=${3:-250}
PORT=${BENCH_PORT:-18580}
W=${CALLGRIND_DIR:-/tmp/acmpca-callgrind}
export MODULE="${MODULE:-$ROOT/build/mod_acmpca.so}" PYTHONDONTWRITEBYTECODE=1
command -v valgrind >/dev/null || { echo "callgrind: valgrind is missing" >&2; exit 2; }

mkdir -p "$W/csr" "$W/module" "$W/out"
chmod 0755 "$W"
[ -s "$W/akid" ] || echo "AKIA$(openssl rand -hex 8 | tr a-f A-F)" > "$W/akid"
[ -s "$W/secret" ] || openssl rand -base64 30 > "$W/secret"
BENCH_AKID=$(cat "$W/akid") BENCH_SECRET=$(cat "$W/secret")
export BENCH_AKID BENCH_SECRET AWS_ACCESS_KEY_ID="$BENCH_AKID" AWS_SECRET_ACCESS_KEY="$BENCH_SECRET"
export AWS_DEFAULT_REGION=us-east-1
if [ ! -s "$W/module/state.json" ]; then
    i=1
    while [ $i -le 30 ]; do
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
            -subj "/CN=callgrind-$i.example.com" -out "$W/csr/$i.pem" 2>/dev/null
        i=$((i + 1))
    done
    sh "$B/httpd.sh" start "$W/httpd" "$PORT" $((PORT + 1))
    "$PY" "$B/setup.py" "http://127.0.0.1:$PORT" "$W/csr" "$W/module" >/dev/null ||
        { sh "$B/httpd.sh" stop "$W/httpd"; exit 1; }
    sh "$B/httpd.sh" stop "$W/httpd"
fi
# The same store and configuration, this build's module.
sed -i "s#^LoadModule acmpca_module .*#LoadModule acmpca_module $MODULE#" "$W/httpd/httpd.conf"
case $OP in
static:*)
    size=${OP#static:}
    head -c "$size" /dev/zero | tr '\0' x > "$W/httpd/htdocs/f$size"
    "$PY" "$B/rawreq.py" get "http://127.0.0.1:$((PORT + 1))/f$size" "$W/reqs"
    sport=$((PORT + 1))
    ;;
*)
    "$PY" "$B/sign.py" "$OP" "$W/module/state.json" - "$N2" "$W/reqs"
    sport=$PORT
    ;;
esac
# Run as root, httpd writes the callgrind file as its User: the file must exist and be
# theirs beforehand.
user=$(awk '$1 == "User" {print $2}' "$W/httpd/httpd.conf")
run() {
    out=$W/out/callgrind.$1
    rm -f "$out"
    if [ -n "$user" ]; then install -o "$user" -m 0644 /dev/null "$out"; fi
    valgrind --tool=callgrind --callgrind-out-file="$out" /usr/sbin/apache2 -X \
        -f "$W/httpd/httpd.conf" 2>"$W/valgrind.log" &
    vg=$!
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$((PORT + 1))/"; do
        sleep 0.5
        i=$((i + 1))
        [ $i -lt 240 ] || { kill "$vg"; echo "callgrind: httpd did not start" >&2; exit 1; }
    done
    "$PY" "$B/sendreq.py" "$sport" "$W/reqs" "$1" || { kill "$vg"; exit 1; }
    kill -TERM "$vg"
    wait "$vg" || true
    callgrind_annotate --threshold=100 "$out" 2>/dev/null |
        awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}
run 1 >/dev/null # once-only work of a fresh store (the first CRL builds) happens here
t1=$(run "$N1")
t2=$(run "$N2")
echo "$OP: $(( (t2 - t1) / (N2 - N1) )) instructions per request" \
    "(($t2 - $t1) / ($N2 - $N1); $W/out/callgrind.$N1 and .$N2)"
