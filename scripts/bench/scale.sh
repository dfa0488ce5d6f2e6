#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# The scale items of `make bench` (not QUICK), run by bench.sh with its environment
# (BENCH_W work dir, BENCH_RES results, BENCH_API/BENCH_STATIC ports, BENCH_CSR pool):
# the OpenSSL CRL-build baseline; the store seeded with 1,000,000 revoked certificates
# (seed.py, httpd stopped); the module's CRL build; then the operations again with the
# million stored, each labelled "@1M".
set -eu
B=$(dirname "$0")
PY=${PYTHON:-/usr/bin/python3}
W=$BENCH_W RES=$BENCH_RES
N=${BENCH_SCALE_N:-1000000}
URL=http://127.0.0.1:$BENCH_API/
ST=$W/module/state.json
fail=0
m() { "$PY" "$B/measure.py" "$RES" module "$@" || fail=1; }

echo "{\"server\":\"bench\",\"op\":\"scale\",\"entries\":$N}" >> "$RES"
echo "== scale: plain OpenSSL building a CRL of $N entries"
sh "$B/crlbase.sh" "$RES" "$W/crlbase" "$N" "${BENCH_RUNS:-3}"

echo "== scale: seeding $N revoked certificates into the store"
sh "$B/httpd.sh" stop "$W/httpd"
ca_id=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca_p256"].rsplit("/",1)[1])' "$ST")
"$PY" "$B/seed.py" "$W/httpd/store/acmpca.db" "$ca_id" "$N"
sh "$B/httpd.sh" start "$W/httpd" "$BENCH_API" "$BENCH_STATIC"

echo "== scale: the module with $N certificates and revocations stored"
"$PY" "$B/crlbuild.py" "$RES" "$W/httpd" "$ST" "$N" || fail=1
crl=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["crl_url"] or "")' "$ST")
if [ -n "$crl" ]; then
    "$PY" "$B/rawreq.py" get "$crl" "$W/crl1m.req"
    m CRL-1M "$crl" --raw "$W/crl1m.req" --na-status 404 --static "$W/httpd/htdocs" "$BENCH_STATIC" --fatal
fi
m IssueCertificate-P256@1M "$URL" --sign IssueCertificate-P256 "$ST" "$BENCH_CSR" 0 \
    --collect "$W/module/issued1m" --fatal
m GetCertificate@1M "$URL" --sign GetCertificate "$ST" - 1000 --fatal
m DescribeCertificateAuthority@1M "$URL" --sign DescribeCertificateAuthority "$ST" - 1000 --fatal
m ListTags@1M "$URL" --sign ListTags "$ST" - 1000 --fatal
if [ -s "$W/module/issued1m" ]; then
    m RevokeCertificate@1M "$URL" --sign RevokeCertificate "$ST" - 0 \
        --once-pool "$W/module/issued1m" --fatal
fi
exit $fail
