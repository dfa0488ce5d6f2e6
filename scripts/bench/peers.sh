#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# The peers, on loopback: `cfssl serve` with a P-256 CA (Debian's golang-cfssl) and
# moto_server (the AWS emulator, only when it is on PATH).
#   peers.sh start cfssl|moto DIR PORT   starts it, waits for its port, pid in DIR/NAME.pid
#   peers.sh stop cfssl|moto DIR         stops it (TERM, then KILL after 10 s)
set -eu
cmd=$1 name=$2 dir=$3
pidfile=$dir/$name.pid

wait_port() {   # up to 30 s
    i=0
    while [ $i -lt 300 ]; do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        kill -0 "$(cat "$pidfile")" 2>/dev/null || break
        sleep 0.1; i=$((i + 1))
    done
    echo "peers.sh: $name did not start; see $dir/$name.log" >&2
    tail -5 "$dir/$name.log" >&2 || true
    return 1
}

case $cmd in
start)
    port=$4
    mkdir -p "$dir"
    if [ "$name" = cfssl ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj "/CN=cfssl Bench P-256 Root/O=Bench" -keyout "$dir/cfssl-ca.key" \
            -out "$dir/cfssl-ca.pem" 2>/dev/null
        # -loglevel 2: warnings only, as httpd here keeps no access log either.
        cfssl serve -address 127.0.0.1 -port "$port" -loglevel 2 \
            -ca "$dir/cfssl-ca.pem" -ca-key "$dir/cfssl-ca.key" > "$dir/cfssl.log" 2>&1 &
    else
        moto_server -H 127.0.0.1 -p "$port" > "$dir/moto.log" 2>&1 &
    fi
    echo $! > "$pidfile"
    wait_port "$port"
    ;;
stop)
    [ -s "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || { rm -f "$pidfile"; exit 0; }
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    ;;
*)
    echo "usage: peers.sh start cfssl|moto DIR PORT | stop cfssl|moto DIR" >&2
    exit 2
    ;;
esac
