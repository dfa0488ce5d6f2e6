#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# The CRL-build baseline: plain OpenSSL (`openssl ca -gencrl`, the X509_CRL API behind a
# text index) building a CRL of N revoked entries with a P-256 CA, RUNS times; the time
# and peak memory of each appended to RESULTS as
# {"server":"openssl","op":"crl-build","entries":N,"seconds":S,"peak_kb":K,"bytes":B}.
#   crlbase.sh RESULTS DIR N RUNS
set -eu
results=$1 dir=$2 n=$3 runs=$4
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=CRL baseline CA" -keyout ca.key -out ca.pem 2>/dev/null
/usr/bin/python3 -c '
import os, sys
with open("index.txt", "w") as f:
    for i in range(int(sys.argv[1])):
        f.write("R\t351231000000Z\t261101000000Z,keyCompromise\t%s\tunknown\t/CN=c%d\n"
                % ((b"\x40" + os.urandom(15)).hex().upper(), i))
' "$n"
: > index.txt.attr
cat > ca.cnf <<CNF
[ ca ]
default_ca = bench
[ bench ]
database = ./index.txt
certificate = ./ca.pem
private_key = ./ca.key
default_md = sha256
default_crl_days = 7
crlnumber = ./crlnumber
unique_subject = no
CNF
i=1
while [ "$i" -le "$runs" ]; do
    echo 01 > crlnumber
    /usr/bin/time -f '%e %M' -o time.out openssl ca -config ca.cnf -gencrl -out crl.pem 2>/dev/null
    bytes=$(openssl crl -in crl.pem -outform DER | wc -c)
    read -r secs kb < time.out
    printf '{"server":"openssl","op":"crl-build","entries":%d,"seconds":%s,"peak_kb":%s,"bytes":%d,"run":%d}\n' \
        "$n" "$secs" "$kb" "$bytes" "$i" >> "$results"
    echo "  openssl  CRL of $n entries: ${secs} s, peak $((kb / 1024)) MiB, $bytes bytes DER"
    i=$((i + 1))
done
rm -f index.txt* crl.pem
