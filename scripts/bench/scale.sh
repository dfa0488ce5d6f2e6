#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# The scale items of `make bench` (not QUICK), run by bench.sh with its environment
# (BENCH_W work dir, BENCH_RES results, BENCH_API/BENCH_STATIC ports, BENCH_CSR pool,
# CRLBENCH the build/bench/crlbench tool):
#  - the store seeded directly (seed.py, httpd stopped): the P-256 CA the operations use
#    filled up to N certificates less a headroom for the runs below (its quota is N), and
#    the scale CA given N revocations (N-1 seeded, the last through the API);
#  - the store's CRL entry table filled for the seeded revocations (crlbench index, untimed:
#    a revocation through the API fills it as it goes);
#  - the CRL build, on that store with httpd stopped, BENCH_RUNS times each, alternating:
#    the module's (crlbench module: store read, encoding, signing, publication) and the
#    same CRL through the plain OpenSSL X509_CRL API (crlbench openssl, which checks that
#    its TBSCertList is the module's byte for byte); time and peak memory of each;
#  - the revocation through the API that rebuilds the CRL in httpd (crlbuild.py) and the
#    N-entry CRL download;
#  - the operations again with all that stored, each labelled "@1M", every run followed
#    by the same run on the empty store's twin: the store as the runs before left it,
#    copied before the seeding and served by a second httpd on BENCH_TWIN_API (and
#    BENCH_TWIN_STATIC): the two compare on the machine as it is, where the empty
#    store's own rows ran twenty minutes earlier (the VM's speed drifts by a tenth).
set -eu
B=$(dirname "$0")
PY=${PYTHON:-/usr/bin/python3}
W=$BENCH_W RES=$BENCH_RES
N=${BENCH_SCALE_N:-1000000}
URL=http://127.0.0.1:$BENCH_API/
ST=$W/module/state.json
fail=0
m() { "$PY" "$B/measure.py" "$RES" module "$@" || fail=1; }
state() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")' "$ST" "$1"; }

# Room for the issuance and revocation runs at scale: twice what the empty store took.
headroom=$("$PY" - "$RES" "$N" "${BENCH_DURATION:-10}" "${BENCH_RUNS:-3}" <<'PY'
import json, sys
res, n, d, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rps = [r.get("rps", 0) for r in map(json.loads, open(res))
       if r.get("server") == "module" and r.get("op") == "IssueCertificate-P256"]
print(min(n // 2, max(20000, int(2 * runs * d * max(rps + [0])))))
PY
)
printf '{"server":"bench","op":"scale","entries":%d,"headroom":%d}\n' "$N" "$headroom" >> "$RES"

echo "== scale: seeding the store (the P-256 CA up to $((N - headroom)), $((N - 1)) revocations)"
sh "$B/httpd.sh" stop "$W/httpd"
rm -rf "$W/httpd-empty" "$W/module-empty"
cp -a "$W/httpd" "$W/httpd-empty"
mkdir -p "$W/module-empty"
"$PY" - "$ST" "$W/module-empty/state.json" "http://127.0.0.1:$BENCH_TWIN_API" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
state["endpoint"] = sys.argv[3]  # what sign.py signs for, port included
json.dump(state, open(sys.argv[2], "w"))
PY
db=$W/httpd/store/acmpca.db
"$PY" "$B/seed.py" "$db" "$(state ca_p256 | sed 's|.*/||')" "=$((N - headroom))" active
"$PY" "$B/seed.py" "$db" "$(state ca_scale | sed 's|.*/||')" "$((N - 1))" revoked

echo "== scale: building the CRL of $((N - 1)) entries: the module and the X509_CRL API"
# seed.py wrote the revocations into certs directly; RevokeCertificate would also have put
# each into the store's CRL entry table (sqlite crl_chunks): fill it, untimed.
"$CRLBENCH" index "$db" "$W/httpd/kek" "$(state ca_scale)" - - || fail=1
crlb() { # crlb module|openssl RUN: one build, its JSON line appended to RES
    "$CRLBENCH" "$1" "$db" "$W/httpd/kek" "$(state ca_scale)" "$W/crl-module.der" "$2" >> "$RES"
}
i=1
[ -x "${CRLBENCH:-}" ] || { echo "scale: CRLBENCH (build/bench/crlbench) is missing" >&2; fail=1; i=999; }
while [ "$i" -le "${BENCH_RUNS:-3}" ]; do
    crlb module "$i" || fail=1
    crlb openssl "$i" || fail=1
    i=$((i + 1))
done
sh "$B/httpd.sh" start "$W/httpd" "$BENCH_API" "$BENCH_STATIC"

echo "== scale: the module with $N certificates and $N revocations stored"
"$PY" "$B/crlbuild.py" "$RES" "$W/httpd" "$ST" "$N" || fail=1
crl=$(state scale_crl_url)
if [ -n "$crl" ]; then
    "$PY" "$B/rawreq.py" get "$crl" "$W/crl1m.req"
    m CRL-1M "$crl" --raw "$W/crl1m.req" --na-status 404 --static "$W/httpd/htdocs" \
        "$BENCH_STATIC" --fatal
fi
sh "$B/httpd.sh" start "$W/httpd-empty" "$BENCH_TWIN_API" "$BENCH_TWIN_STATIC"
twin="--twin empty http://127.0.0.1:$BENCH_TWIN_API/ $W/module-empty"
# Its twin collects into module-empty/issued1m, the twin revocations' pool.
m IssueCertificate-P256@1M "$URL" --sign IssueCertificate-P256 "$ST" "$BENCH_CSR" 0 \
    --collect "$W/module/issued1m" $twin --fatal
m GetCertificate@1M "$URL" --sign GetCertificate "$ST" - 1000 $twin --fatal
m DescribeCertificateAuthority@1M "$URL" --sign DescribeCertificateAuthority "$ST" - 1000 \
    $twin --fatal
m ListTags@1M "$URL" --sign ListTags "$ST" - 1000 $twin --fatal
if [ -s "$W/module/issued1m" ]; then
    m RevokeCertificate@1M "$URL" --sign RevokeCertificate "$ST" - 0 \
        --once-pool "$W/module/issued1m" $twin --fatal
fi
sh "$B/httpd.sh" stop "$W/httpd-empty"
exit $fail
