#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# `make profile OP=...`: where the module's CPU goes under load for one operation.
# Starts the benchmark httpd (httpd.sh) on a fresh SQLite store, prepares it (setup.py),
# then samples the httpd children with `perf record -e cpu-clock -g` while wrk sends
# signed requests of OP, and prints wrk's rate and perf's flat and caller profiles.
#   profile.sh OP [SECONDS]    OP: IssueCertificate-P256, GetCertificate, ... (sign.py),
#                              or CRL-small, OCSP (unsigned raw requests, as bench.sh), or
#                              CRL-1M (a CRL of PROFILE_CRL_N entries, seeded as scale.sh);
#                              RevokeCertificate revokes certificates it issues first
# With PROFILE_TOOL=callgrind it counts instructions instead, which the load of the
# machine does not change: httpd -X under callgrind answers PROFILE_N requests of OP over
# one keep-alive connection (after as many to warm up), then the same for a static file
# of the size of OP's answer; it prints the instructions per request of both and the
# functions of OP's run (callgrind_annotate, warm-up included). Not for issuance.
# With PROFILE_TOOL=wrk it only runs wrk, three times SECONDS, and prints each run's rate
# and how the cores were shared meanwhile (sched.py: idle, and httpd's threads waiting
# for a core), then the same for a static file of the answer's size: an A/B check of two
# builds (MODULE=...) without a profiler's overhead.
# With MODULE_B as well (wrk only; issuance and the signed reads), a second httpd loads
# MODULE_B on the fourth and fifth ports, is set up alike, and the runs alternate between
# the two (ABBA), PROFILE_RUNS of SECONDS each, then the median of each (an error answer
# fails it, as in make bench): an A/B in which both builds see the machine alike, where
# one build after the other sees it move by a third within minutes. The same build on
# both sides came out within 2 %. BENCH_MPM_B gives the second httpd another MPM (the
# same MODULE_B as MODULE then compares the MPMs).
# With PROFILE_STORE=redis the module runs on the Redis provider instead: a private
# redis-server (appendfsync always, as make bench runs it) on the third port; perf then
# samples redis-server beside the httpd children, and the server's INFO commandstats of
# the measured runs (the time each command took inside it) is printed after them.
# Environment: MODULE, MODULE_B, BENCH_PORT (18580: three ports, five with MODULE_B),
# PROFILE_KEEP=1 (keep the work directory with perf.data), PROFILE_CALLGRAPH (perf's
# call-graph option, -g: "--call-graph dwarf" resolves callers through inlined code and
# libraries built without frame pointers), BENCH_THREADS/BENCH_CONNS (wrk: 2/16),
# PROFILE_N (2000), PROFILE_RUNS (5).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/scripts/bench
PY=${PYTHON:-/usr/bin/python3}
OP=${1:?usage: profile.sh OP [SECONDS]}
SECS=${2:-10}
PORT=${BENCH_PORT:-18580}
export MODULE="${MODULE:-$ROOT/build/mod_acmpca.so}" PYTHON="$PY" PYTHONDONTWRITEBYTECODE=1
TOOL=${PROFILE_TOOL:-perf}
N=${PROFILE_N:-2000}
case $TOOL in
wrk) ;;
perf) command -v perf >/dev/null || { echo "profile: perf is missing (make deps)" >&2; exit 2; } ;;
callgrind) command -v valgrind >/dev/null || { echo "profile: valgrind is missing" >&2; exit 2; } ;;
*) echo "profile: PROFILE_TOOL is perf, callgrind or wrk" >&2; exit 2 ;;
esac
. "$B/common.sh"
ports_free profile $PORT $((PORT + 1)) $((PORT + 2))
case ${PROFILE_STORE:-sqlite} in
sqlite) ;;
redis) [ "$TOOL" != callgrind ] || { echo "profile: callgrind runs on sqlite only" >&2; exit 2; } ;;
*) echo "profile: PROFILE_STORE is sqlite or redis" >&2; exit 2 ;;
esac
if [ -n "${MODULE_B:-}" ]; then
    case $TOOL/${PROFILE_STORE:-sqlite}/$OP in
    wrk/sqlite/CRL-* | wrk/sqlite/OCSP | wrk/sqlite/RevokeCertificate | wrk/redis/*)
        echo "profile: MODULE_B is for issuance and signed reads on sqlite" >&2; exit 2 ;;
    wrk/*) ports_free profile $((PORT + 3)) $((PORT + 4)) ;;
    *) echo "profile: MODULE_B needs PROFILE_TOOL=wrk" >&2; exit 2 ;;
    esac
fi
case $OP/$TOOL in
RevokeCertificate/callgrind) echo "profile: callgrind replays one request file: not for revocations" >&2; exit 2 ;;
esac

W=$(mktemp -d /tmp/acmpca-profile.XXXXXX)
chmod 0755 "$W"
fresh_credentials
vg=""
cleanup() {
    if [ -n "$vg" ]; then kill "$vg" 2>/dev/null || true; wait "$vg" 2>/dev/null || true; fi
    sh "$B/httpd.sh" stop "$W/httpd" || true
    [ -z "${MODULE_B:-}" ] || sh "$B/httpd.sh" stop "$W/httpd_b" || true
    sh "$ROOT/scripts/redis-server.sh" stop "$W/redis" >/dev/null 2>&1 || true
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
if [ "${PROFILE_STORE:-sqlite}" = redis ]; then
    [ "$OP" != CRL-1M ] || { echo "profile: CRL-1M is seeded into sqlite only" >&2; exit 2; }
    BENCH_STORE=$(REDIS_CONF_EXTRA="appendfsync always" \
        sh "$ROOT/scripts/redis-server.sh" start "$W/redis" $((PORT + 2)))
    export BENCH_STORE
fi
sh "$B/httpd.sh" start "$W/httpd" "$PORT" $((PORT + 1))
case $OP in CRL-1M) scale=scale ;; *) scale= ;; esac
"$PY" "$B/setup.py" "http://127.0.0.1:$PORT" "$W/csr" "$W/module" $scale >/dev/null
URL=http://127.0.0.1:$PORT/
state() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]] or "")' \
    "$W/module/state.json" "$1"; }
signed() { # STATE OUT: OP's requests (issuance or a signed read), signed for STATE's module
    case $OP in
    IssueCertificate*) "$PY" "$B/sign.py" "$OP" "$1" "$W/csr" 0 "$2" ;;
    *) "$PY" "$B/sign.py" "$OP" "$1" - 1000 "$2" ;;
    esac
}
case $OP in
CRL-small)
    URL=$(state crl_url)
    "$PY" "$B/rawreq.py" get "$URL" "$W/reqs" ;;
CRL-1M) # the scale CA's CRL with PROFILE_CRL_N (1000000) entries, seeded as scale.sh does
    n=${PROFILE_CRL_N:-1000000}
    sh "$B/httpd.sh" stop "$W/httpd"
    "$PY" "$B/seed.py" "$W/httpd/store/acmpca.db" "$(state ca_scale | sed 's|.*/||')" \
        "$((n - 1))" revoked >/dev/null
    "${CRLBENCH:-$ROOT/build/bench/crlbench}" index "$W/httpd/store/acmpca.db" "$W/httpd/kek" \
        "$(state ca_scale)" - - >/dev/null
    sh "$B/httpd.sh" start "$W/httpd" "$PORT" $((PORT + 1))
    "$PY" "$B/crlbuild.py" /dev/null "$W/httpd" "$W/module/state.json" "$n"
    URL=$(state scale_crl_url)
    "$PY" "$B/rawreq.py" get "$URL" "$W/reqs" ;;
OCSP)
    URL=$(state ocsp_url)
    openssl ocsp -issuer "$W/module/ca.pem" -cert "$W/module/cert.pem" -no_nonce \
        -reqout "$W/ocsp.der" >/dev/null 2>&1
    "$PY" "$B/rawreq.py" ocsp "$URL" "$W/ocsp.der" "$W/reqs" ;;
RevokeCertificate)
    # Each certificate can be revoked once: as many are issued first as the four loads
    # (warm-up and three runs, or one under perf) take, dealt to one request file each
    # (reqs.N, sent in wrk's once mode); reqs revokes one more, for the static twin's size.
    "$PY" "$B/sign.py" IssueCertificate-P256 "$W/module/state.json" "$W/csr" 0 "$W/issue.reqs"
    wrk -t2 -c16 -d$((SECS * 8))s -s "$B/req.lua" "$URL" -- "$W/issue.reqs" cycle 2 \
        "$W/issued" >/dev/null
    for n in 0 1 2 3; do
        awk -v n=$n 'NR > 1 && NR % 4 == n' "$W/issued" > "$W/pool.$n"
        "$PY" "$B/sign.py" RevokeCertificate "$W/module/state.json" "$W/pool.$n" 0 "$W/reqs.$n"
    done
    head -1 "$W/issued" > "$W/pool.twin"
    "$PY" "$B/sign.py" RevokeCertificate "$W/module/state.json" "$W/pool.twin" 0 "$W/reqs"
    MODE=once ;;
*)
    signed "$W/module/state.json" "$W/reqs" ;;
esac

# A static file of the size of OP's answer on the static port, and its request.
static_twin() {
    # (a revocation's request works once: the size is that of its first answer)
    [ "${MODE:-cycle}" != cycle ] || "$PY" "$B/sendn.py" 127.0.0.1 "$PORT" "$W/reqs" 1
    size=$("$PY" - "$W/reqs" "$PORT" <<'PYEOF'
import socket, sys
data = open(sys.argv[1], "rb").read()
nl = data.index(b"\n")
req = data[nl + 1:nl + 1 + int(data[:nl])]
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
s.sendall(req.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
buf = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    buf += c
print(len(buf.split(b"\r\n\r\n", 1)[1]))
PYEOF
)
    head -c "$size" /dev/urandom > "$W/httpd/htdocs/static.bin"
    "$PY" "$B/rawreq.py" get "http://127.0.0.1:$((PORT + 1))/static.bin" "$W/static.req"
}

if [ "$TOOL" = callgrind ]; then
    static_twin
    sh "$B/httpd.sh" stop "$W/httpd"
    # vgdb (callgrind_control) cannot reach an idle httpd here, so each count is the
    # difference of two whole runs: N requests and 2N, the first N warming up.
    # The output directory is the child user's to write (httpd -X drops root too).
    mkdir -p "$W/cg"
    chmod 0777 "$W/cg"
    run() { # OUT REQS PORT K: httpd -X under callgrind answers K requests, then stops
        : > "$1"
        chmod 0666 "$1" # callgrind makes it as root and writes it as the child user
        valgrind --tool=callgrind --vgdb=no --callgrind-out-file="$1" \
            "${HTTPD:-/usr/sbin/apache2}" -f "$W/httpd/httpd.conf" -X 2>"$W/valgrind.log" &
        vg=$!
        i=0
        until curl -s -o /dev/null "http://127.0.0.1:$((PORT + 1))/"; do
            i=$((i + 1)); [ $i -lt 600 ] || { echo "profile: httpd -X did not start" >&2; exit 1; }
            sleep 0.1
        done
        "$PY" "$B/sendn.py" 127.0.0.1 "$3" "$2" "$4"
        kill "$vg"
        wait "$vg" || true
        vg=""
    }
    # Whole-program totals also count what idle threads do in the time a run takes;
    # ap_run_process_connection (inclusive) is the work of the workers on requests alone.
    total() { callgrind_annotate --inclusive=yes "$1" 2>/dev/null | awk -v f="$2" '
        $0 ~ f { gsub(",", "", $1); print $1; exit }'; }
    count() { # NAME REQS PORT: instructions per request of the second N
        run "$W/cg/$1.a" "$2" "$3" "$N"
        run "$W/cg/$1" "$2" "$3" $((2 * N))
        conn=$(( ($(total "$W/cg/$1" ':ap_run_process_connection ') \
            - $(total "$W/cg/$1.a" ':ap_run_process_connection ')) / N ))
        all=$(( ($(total "$W/cg/$1" 'PROGRAM TOTALS') - $(total "$W/cg/$1.a" 'PROGRAM TOTALS')) / N ))
        echo "$1: $conn instructions per request in ap_run_process_connection, $all in all"
    }
    echo "== instructions per request (callgrind, httpd -X, one keep-alive connection, N=$N)"
    count "$OP" "$W/reqs" "$PORT"
    count "static-$size-B" "$W/static.req" $((PORT + 1))
    echo "== $OP: functions by inclusive instructions, top 40"
    callgrind_annotate --inclusive=yes "$W/cg/$OP" 2>/dev/null | sed -n '/^Ir/,$p' | head -42
    echo "== $OP: functions by own instructions, top 30"
    callgrind_annotate "$W/cg/$OP" 2>/dev/null | sed -n '/^Ir/,$p' | head -32
    exit 0
fi

# Redis: counting commands from now on (after the warm-up), and what they took.
redis_reset() {
    [ "${PROFILE_STORE:-sqlite}" != redis ] || redis-cli -p $((PORT + 2)) config resetstat >/dev/null
}
redis_report() {
    [ "${PROFILE_STORE:-sqlite}" = redis ] || return 0
    echo "== redis-server: INFO commandstats of the measured runs"
    redis-cli -p $((PORT + 2)) info commandstats | tr -d '\r' | grep '^cmdstat_' || true
}

wrk_run() { # URL REQS MODE: one run of SECS, its JSON line
    wrk -t"${BENCH_THREADS:-2}" -c"${BENCH_CONNS:-16}" -d"${SECS}s" --timeout 10s \
        -s "$B/req.lua" "$1" -- "$2" "$3" "${BENCH_THREADS:-2}" | grep '^{' || true
}
load() { # [N]: the requests of load N (RevokeCertificate: each sent once), else reqs
    reqs=$W/reqs
    [ "${MODE:-cycle}" = cycle ] || reqs=$W/reqs.$1
    wrk_run "$URL" "$reqs" "${MODE:-cycle}"
}
if [ -n "${MODULE_B:-}" ]; then
    MODULE=$MODULE_B BENCH_MPM=${BENCH_MPM_B:-$BENCH_MPM} sh "$B/httpd.sh" start "$W/httpd_b" $((PORT + 3)) $((PORT + 4))
    mkdir -p "$W/module_b"
    "$PY" "$B/setup.py" "http://127.0.0.1:$((PORT + 3))" "$W/csr" "$W/module_b" >/dev/null
    signed "$W/module_b/state.json" "$W/reqs_b"
    ab() { # A or B: one run of SECS on that build
        case $1 in
        A) load ;;
        B) wrk_run "http://127.0.0.1:$((PORT + 3))/" "$W/reqs_b" cycle ;;
        esac | sed "s/^/$1 /"
    }
    ab A >/dev/null # warm up both
    ab B >/dev/null
    # ABBA, where measure.py's --twin (scale.sh) runs each pair in the same order: in a
    # check of one build against itself that order favoured the second by 3-9 %.
    run=1
    while [ $run -le "${PROFILE_RUNS:-5}" ]; do
        if [ $((run % 2)) -eq 1 ]; then ab A; ab B; else ab B; ab A; fi
        run=$((run + 1))
    done | tee "$W/ab"
    # measure.py's own checks and medians: an error answer fails the A/B as it fails a
    # make bench run.
    "$PY" - "$W/ab" <<'PYEOF'
import json, sys
sys.path.insert(0, "scripts/bench")
import measure
runs = {"A": [], "B": []}
try:
    for line in open(sys.argv[1]):
        side, rec = line.split(" ", 1)
        runs[side].append(measure.checked(len(runs[side]), json.loads(rec)))
except RuntimeError as e:
    sys.exit(f"profile: {side}: {e}")
for side, rs in runs.items():
    m = measure.median_of(rs)
    print(f"{side} median {m['rps']:.1f} req/s, p50 {m['p50_us'] / 1000:.2f} ms, "
          f"p99 {m['p99_us'] / 1000:.2f} ms")
PYEOF
    exit 0
fi
children=$(pgrep -d ' ' -P "$(cat "$W/httpd/httpd.pid")") # httpd's, which perf and sched.py watch
if [ "$TOOL" = wrk ]; then
    load 0 >/dev/null # warm up
    redis_reset
    for run in 1 2 3; do
        # the middle of the run, clear of wrk's start and end
        (sleep $((SECS / 4)) && "$PY" "$B/sched.py" $((SECS / 2)) $children >"$W/sched") &
        sched=$!
        load $run
        wait $sched
        cat "$W/sched"
    done
    redis_report
    static_twin
    echo "== static file of $size bytes"
    URL=http://127.0.0.1:$((PORT + 1))/static.bin
    cp "$W/static.req" "$W/reqs"
    MODE=cycle
    for run in 1 2 3; do load; done
    exit 0
fi
pids=$(echo $children | tr ' ' ,)
if [ "${PROFILE_STORE:-sqlite}" = redis ]; then
    pids="$pids,$(cat "$W/redis/redis.pid")"
fi
perf record -q -e cpu-clock ${PROFILE_CALLGRAPH:--g} -o "$W/perf.data" -p "$pids" -- sleep "$SECS" 2>/dev/null &
rec=$!
redis_reset
load 1
wait $rec || true
redis_report
echo "== flat profile (self), top 45"
perf report -i "$W/perf.data" --no-children --stdio --sort dso,sym -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -45
echo "== inclusive (children), top 60"
perf report -i "$W/perf.data" --children --stdio --sort sym -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -60
