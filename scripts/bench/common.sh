# Licensed under the Apache License, Version 2.0.
# Sourced by bench.sh and profile.sh: what every benchmark run sets up first.

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
