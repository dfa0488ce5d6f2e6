#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# `make bench`: mod_acmpca side by side with its limits and its peers, on loopback, in
# one go. Each figure is the median of BENCH_RUNS (3) wrk runs of BENCH_DURATION seconds.
#   limits: `openssl speed` (crypto bound of one issuance, for a CA of each key type
#           measured: P-256, P-384, P-521, RSA-2048, RSA-4096), httpd serving a static
#           file of the size of each read answer (read-path ceiling)
#   peers:  `cfssl serve` with a P-256 CA; moto_server when it is on PATH
#   the module again on the Redis provider, a private redis-server with appendfsync
#   always (as durable as SQLite's commits), when redis-server is installed
#   QUICK=1: short runs, no scale items (under five minutes)
# The table goes to stdout and, as Markdown and JSON, to bench-results/. Exits 1 when an
# endpoint of the module errors during a run.
# Environment: MODULE (build/mod_acmpca.so), CRLBENCH (build/bench/crlbench), BENCH_PORT (first of 5 ports, 18480),
# BENCH_DURATION, BENCH_RUNS, BENCH_THREADS/BENCH_CONNS (wrk: 2/16), BENCH_KEEP=1 (keep
# the work directory), BENCH_SCALE_N (1000000), BENCH_NO_MOTO=1 (leave moto out),
# BENCH_NO_REDIS=1 (leave the Redis provider out).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/scripts/bench
PY=${PYTHON:-/usr/bin/python3}
export PYTHON="$PY" PYTHONDONTWRITEBYTECODE=1

case ${QUICK:-0} in 0|"") QUICK=0 ;; *) QUICK=1 ;; esac
# ISSUE_MORE: IssueCertificate with the CAs of the other key types of issue 7's targets.
ISSUE_MORE="IssueCertificate-P384 IssueCertificate-P521 IssueCertificate-RSA4096"
if [ $QUICK = 1 ]; then
    DUR=${BENCH_DURATION:-2} NCSR=100 SPEED_S=1
    ALGS="ecdsap256 ecdsap384 ecdsap521 rsa2048 rsa4096"
else
    DUR=${BENCH_DURATION:-10} NCSR=500 SPEED_S=3
    ALGS="ecdsap256 ecdsap384 ecdsap521 rsa2048 rsa3072 rsa4096"
fi
export BENCH_DURATION="$DUR" BENCH_RUNS="${BENCH_RUNS:-3}"
PORT=${BENCH_PORT:-18480}
API=$PORT STATIC=$((PORT + 1)) CFSSL=$((PORT + 2)) MOTO=$((PORT + 3)) REDIS=$((PORT + 4))
export MODULE="${MODULE:-$ROOT/build/mod_acmpca.so}"
export CRLBENCH="${CRLBENCH:-$ROOT/build/bench/crlbench}"
[ -e "$MODULE" ] || { echo "bench: $MODULE is missing: run make first" >&2; exit 2; }
. "$B/common.sh"
ports_free bench $API $STATIC $CFSSL $MOTO $REDIS

W=$(mktemp -d /tmp/acmpca-bench.XXXXXX)
chmod 0755 "$W"
RES=$W/results.jsonl
: > "$RES"
export BENCH_TMP="$W" BENCH_W="$W" BENCH_RES="$RES" BENCH_API="$API" BENCH_STATIC="$STATIC"
# scale.sh's empty-store twin takes the peers' ports: they start only after it is done.
export BENCH_TWIN_API="$CFSSL" BENCH_TWIN_STATIC="$MOTO"
export BENCH_CSR="$W/csr"
fresh_credentials

cleanup() {
    sh "$B/httpd.sh" stop "$W/httpd" || true
    sh "$B/httpd.sh" stop "$W/httpd-redis" || true
    sh "$B/httpd.sh" stop "$W/httpd-empty" || true
    sh "$ROOT/scripts/redis-server.sh" stop "$W/redis" >/dev/null 2>&1 || true
    sh "$B/peers.sh" stop cfssl "$W/peers" || true
    sh "$B/peers.sh" stop moto "$W/peers" || true
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Other work on the machine skews every figure: the load average goes into the report.
loadavg() {
    printf '{"server":"bench","op":"load","at":"%s","loadavg":"%s"}\n' \
        "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RES"
}
# Work that just ended (a suite, a profile) keeps the 1-minute load average up for a
# minute or two, and the first rows run on a busy machine: wait, for BENCH_SETTLE
# seconds at most (120; QUICK 20), until it is below the number of cores.
settle() {
    waited=0
    while [ "$waited" -lt "${BENCH_SETTLE:-$([ $QUICK = 1 ] && echo 20 || echo 120)}" ] &&
        awk -v n="$(nproc)" '{ exit !($1 >= n) }' /proc/loadavg; do
        [ "$waited" -gt 0 ] || echo "== waiting for the load average ($(cut -d' ' -f1 /proc/loadavg)) to fall below $(nproc)"
        sleep 5
        waited=$((waited + 5))
    done
}
settle
loadavg start
fail=0
m() { "$PY" "$B/measure.py" "$RES" "$@" || fail=1; }
start=$(date +%s)

echo "== limits: openssl speed ($ALGS) on $(nproc) cores"
# shellcheck disable=SC2086
sh "$B/crypto.sh" "$RES" "$SPEED_S" "$BENCH_RUNS" $ALGS

echo "== a pool of $NCSR P-256 CSRs"
mkdir -p "$BENCH_CSR"
i=1
while [ $i -le $NCSR ]; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/CN=bench-$i.example.com" -out "$BENCH_CSR/$i.pem" 2>/dev/null
    i=$((i + 1))
done

# want OP: OP is among the operations ops() was given ($only), or it was given none.
want() { [ -z "$only" ] || case " $only " in *" $1 "*) true ;; *) false ;; esac; }
# ops SERVER URL DIR [OP...]: every operation (or those named) against one PCA endpoint
# (the module on either store, or moto).
ops() {
    srv=$1 url=$2 d=$3 fatal="" static="" speed=""
    shift 3
    only="$*"
    # The module's issuance runs are each followed by their crypto bound measured again
    # (not in QUICK: 4 s a run).
    case $srv in
    module) fatal=--fatal static="--static $W/httpd/htdocs $STATIC" ;;
    module-redis) fatal=--fatal static="--static $W/httpd-redis/htdocs $STATIC" ;;
    esac
    case $srv/$QUICK in module*/0) speed=--speed ;; esac
    st=$d/state.json
    # RevokeCertificate revokes what the P-256 and RSA-2048 CAs issued (as before the other
    # key types were measured: the figure stays comparable from run to run).
    for op in IssueCertificate-P256 IssueCertificate-RSA2048; do
        want $op || continue
        m "$srv" $op "$url" --sign $op "$st" "$BENCH_CSR" 0 --collect "$d/issued" $fatal $speed
    done
    # A peer's issuance from a CA that has not the op's key (moto makes every CA RSA-2048)
    # would only measure the RSA-2048 row again: n/a.
    for op in $ISSUE_MORE; do
        want "$op" || continue
        m "$srv" "$op" "$url" --sign "$op" "$st" "$BENCH_CSR" 0 --want-key $fatal $speed
    done
    for op in GetCertificate DescribeCertificateAuthority GetCertificateAuthorityCertificate ListTags; do
        want $op || continue
        # shellcheck disable=SC2086
        m "$srv" $op "$url" --sign $op "$st" - 1000 $fatal $static
    done
    crl=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["crl_url"] or "")' "$st")
    ocsp=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ocsp_url"] or "")' "$st")
    if want CRL-small && [ -n "$crl" ]; then
        "$PY" "$B/rawreq.py" get "$crl" "$d/crl.req"
        # shellcheck disable=SC2086
        m "$srv" CRL-small "$crl" --raw "$d/crl.req" --na-status 404 $fatal $static
    elif want CRL-small; then
        echo "{\"server\":\"$srv\",\"op\":\"CRL-small\",\"na\":\"no CRL URL in certificates\"}" >> "$RES"
    fi
    if want OCSP && [ -n "$ocsp" ] && openssl ocsp -issuer "$d/ca.pem" -cert "$d/cert.pem" \
            -no_nonce -reqout "$d/ocsp.der" >/dev/null 2>&1; then
        "$PY" "$B/rawreq.py" ocsp "$ocsp" "$d/ocsp.der" "$d/ocsp.req"
        # shellcheck disable=SC2086
        m "$srv" OCSP "$ocsp" --raw "$d/ocsp.req" --na-status 404,405 \
            --want-type application/ocsp-response $fatal $static
    elif want OCSP; then
        echo "{\"server\":\"$srv\",\"op\":\"OCSP\",\"na\":\"no OCSP URL in certificates\"}" >> "$RES"
    fi
    want RevokeCertificate || return 0
    # shellcheck disable=SC2086
    m "$srv" RevokeCertificate "$url" --sign RevokeCertificate "$st" - 0 \
        --once-pool "$d/issued" $fatal $static
}

echo "== mod_acmpca (sqlite) on :$API, static files on :$STATIC"
sh "$B/httpd.sh" start "$W/httpd" "$API" "$STATIC"
mkdir -p "$W/module"
SCALE=""
[ $QUICK = 1 ] || SCALE=scale
"$PY" "$B/setup.py" "http://127.0.0.1:$API" "$BENCH_CSR" "$W/module" $SCALE
ops module "http://127.0.0.1:$API/" "$W/module"
if [ $QUICK = 0 ]; then
    echo "== child memory over 100,000 requests (httpd restarted)"
    sh "$B/httpd.sh" stop "$W/httpd"
    sh "$B/httpd.sh" start "$W/httpd" "$API" "$STATIC"
    "$PY" "$B/memory.py" "$RES" "$W/httpd" "$W/module/state.json" "$BENCH_CSR" \
        "http://127.0.0.1:$API/" 100000 || fail=1
    sh "$B/scale.sh" || fail=1
fi
sh "$B/httpd.sh" stop "$W/httpd"

# The same operations on the Redis provider (no scale items): its own httpd, its twins.
if [ -n "${BENCH_NO_REDIS:-}" ]; then
    echo "== the Redis provider left out (BENCH_NO_REDIS)"
elif command -v redis-server >/dev/null 2>&1; then
    echo "== mod_acmpca (redis) on :$API, redis-server on :$REDIS, static files on :$STATIC"
    spec=$(REDIS_CONF_EXTRA="appendfsync always" \
        sh "$ROOT/scripts/redis-server.sh" start "$W/redis" "$REDIS")
    BENCH_STORE=$spec sh "$B/httpd.sh" start "$W/httpd-redis" "$API" "$STATIC"
    mkdir -p "$W/module-redis"
    "$PY" "$B/setup.py" "http://127.0.0.1:$API" "$BENCH_CSR" "$W/module-redis"
    # QUICK: the operations that write or read the store, within its five minutes.
    # shellcheck disable=SC2046
    ops module-redis "http://127.0.0.1:$API/" "$W/module-redis" \
        $([ $QUICK = 1 ] && echo IssueCertificate-P256 GetCertificate RevokeCertificate)
    sh "$B/httpd.sh" stop "$W/httpd-redis"
    sh "$ROOT/scripts/redis-server.sh" stop "$W/redis" >/dev/null
else
    echo "== redis-server is not installed: no Redis provider rows"
fi

echo "== cfssl serve (P-256 CA) on :$CFSSL"
sh "$B/peers.sh" start cfssl "$W/peers" "$CFSSL"
"$PY" "$B/rawreq.py" cfssl "http://127.0.0.1:$CFSSL/api/v1/cfssl/sign" "$BENCH_CSR" "$W/cfssl.req"
m cfssl IssueCertificate-P256 "http://127.0.0.1:$CFSSL/" --raw "$W/cfssl.req"
sh "$B/peers.sh" stop cfssl "$W/peers"

if [ -n "${BENCH_NO_MOTO:-}" ]; then
    echo "== moto left out (BENCH_NO_MOTO)"
elif command -v moto_server >/dev/null 2>&1; then
    echo "== moto_server on :$MOTO"
    sh "$B/peers.sh" start moto "$W/peers" "$MOTO"
    mkdir -p "$W/moto"
    if "$PY" "$B/setup.py" "http://127.0.0.1:$MOTO" "$BENCH_CSR" "$W/moto"; then
        ops moto "http://127.0.0.1:$MOTO/" "$W/moto"
    else
        echo "bench: moto setup failed; moto is left out" >&2
    fi
    sh "$B/peers.sh" stop moto "$W/peers"
else
    echo "== moto_server is not on PATH: no emulator peer"
fi

loadavg end
"$PY" "$B/report.py" "$RES" "$ROOT/bench-results" --quick $QUICK --duration "$DUR" \
    --runs "$BENCH_RUNS" --elapsed $(($(date +%s) - start))
if [ $fail -ne 0 ]; then
    echo "bench: FAILED: an endpoint errored during a run (see ERROR above)" >&2
    exit 1
fi
