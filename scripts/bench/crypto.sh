#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# The crypto bound: `openssl speed` on all cores for the CA key types, RUNS times.
# Appends {"server":"openssl","op":"speed","alg":...,"sign":N,"verify":N,"run":i} (ops/s
# over all cores) to RESULTS.
#   crypto.sh RESULTS SECONDS RUNS ALG...   (ALG: rsa2048 ecdsap256 ...)
set -eu
results=$1 seconds=$2 runs=$3
shift 3
i=1
while [ "$i" -le "$runs" ]; do
    openssl speed -mr -multi "$(nproc)" -seconds "$seconds" "$@" 2>/dev/null |
        awk -F: -v run="$i" '
            /^\+F2:/ { alg = "rsa" $3 }
            /^\+F4:/ { alg = "ecdsap" $3 }
            /^\+F[24]:/ { printf "{\"server\":\"openssl\",\"op\":\"speed\",\"alg\":\"%s\",\"sign\":%s,\"verify\":%s,\"run\":%d}\n", alg, $4, $5, run }
        ' >> "$results"
    i=$((i + 1))
done
n=$(grep -c '"op":"speed"' "$results" || true)
[ "$n" -ge "$runs" ] || { echo "crypto.sh: openssl speed printed no results" >&2; exit 1; }
