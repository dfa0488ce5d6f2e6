# Licensed under the Apache License, Version 2.0.
# Sourced by bench.sh, profile.sh and httpd.sh: what every benchmark run sets up first.

# The MPM of the benchmark's httpd (BENCH_MPM: worker or event; its configuration is one
# child of many threads, which prefork has not). worker: each thread reads its own
# keep-alive connection, where event's listener thread takes each request and wakes a
# worker for it, one more thread switch per request.
# On the 2-core VM of 2026-12-02 (A/B, the same build on both sides) worker answered
# 23 % more GetCertificate, 5-7 % more P-256 and 15 % more RSA-2048 issuances.
: "${BENCH_MPM:=worker}"
case $BENCH_MPM in
worker | event) export BENCH_MPM ;;
*) echo "bench: BENCH_MPM is worker or event" >&2; exit 2 ;;
esac

# ports_free WHO PORT...: exit 2 unless every port is free on loopback.
ports_free() {
    who=$1
    shift
    for p in "$@"; do
        if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$p/"; then
            echo "$who: port $p is in use (BENCH_PORT=... to move)" >&2
            exit 2
        fi
    done
}

# A fresh access key for this run: the module's credentials file (httpd.sh) and the
# signer (sign.py, through botocore's environment variables) share it.
fresh_credentials() {
    BENCH_AKID=AKIA$(openssl rand -hex 8 | tr a-f A-F)
    BENCH_SECRET=$(openssl rand -base64 30)
    export BENCH_AKID BENCH_SECRET AWS_ACCESS_KEY_ID="$BENCH_AKID"
    export AWS_SECRET_ACCESS_KEY="$BENCH_SECRET" AWS_DEFAULT_REGION=us-east-1
}
