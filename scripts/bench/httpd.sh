#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# One httpd for the benchmark: the module (a sqlite store in DIR, or BENCH_STORE) on
# API_PORT and plain static files on STATIC_PORT, from a config generated in DIR (like
# scripts/run.sh does).
#   httpd.sh start DIR API_PORT STATIC_PORT   writes DIR/httpd.conf, kek, credentials.json
#   httpd.sh stop DIR                         stops it and waits (bounded) for the exit
# Environment: HTTPD (default /usr/sbin/apache2), MODULE (the .so to load),
# BENCH_AKID / BENCH_SECRET (the access key written into credentials.json), BENCH_MPM
# (common.sh), BENCH_STORE (ACMPCAStore; default sqlite:DIR/store/acmpca.db),
# BENCH_LOGLEVEL (LogLevel, default warn; info logs every request and CRL build, for a
# look at what a run did).
set -eu
HTTPD=${HTTPD:-/usr/sbin/apache2}
. "$(dirname "$0")/common.sh"
MODS=/usr/lib/apache2/modules
cmd=$1 dir=$2

pid_of() { cat "$dir/httpd.pid" 2>/dev/null || true; }

case $cmd in
start)
    api=$3 static=$4
    mkdir -p "$dir/htdocs" "$dir/logs"
    chmod 0755 "$dir" "$dir/htdocs"
    [ -s "$dir/kek" ] || { openssl rand -out "$dir/kek" 32; chmod 0600 "$dir/kek"; }
    printf '{"Credentials":[{"AccessKeyId":"%s","SecretAccessKey":"%s","AccountId":"123456789012","Principal":"arn:aws:iam::123456789012:user/bench"}]}\n' \
        "$BENCH_AKID" "$BENCH_SECRET" > "$dir/credentials.json"
    chmod 0600 "$dir/credentials.json"
    user=""
    [ "$(id -u)" -eq 0 ] && user="User www-data
Group www-data"
    cat > "$dir/httpd.conf" <<CONF
ServerRoot $dir
ServerName 127.0.0.1
Listen 127.0.0.1:$api
Listen 127.0.0.1:$static
PidFile $dir/httpd.pid
ErrorLog $dir/logs/error_log
LogLevel ${BENCH_LOGLEVEL:-warn}
LoadModule mpm_${BENCH_MPM}_module $MODS/mod_mpm_$BENCH_MPM.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule acmpca_module $MODULE
$user
# One child of 64 threads that lives for the whole run (the memory item watches it): one
# process is one commit leader for the SQLite store, whose groups are then about twice
# as large as with two children of 32 (issuance +15 %, reads alike; README, "Operating").
StartServers 1
ServerLimit 1
ThreadsPerChild 64
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
EnableSendfile On
Timeout 60
<VirtualHost 127.0.0.1:$api>
    ACMPCAStore                     ${BENCH_STORE:-sqlite:$dir/store/acmpca.db}
    ACMPCAKeyFile                   $dir/kek
    ACMPCACredentialsFile           $dir/credentials.json
    ACMPCAPublicURL                 http://127.0.0.1:$api
    ACMPCAMaxCertificateAuthorities 1000
    <Location />
        SetHandler acmpca
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:$static>
    DocumentRoot $dir/htdocs
    # A file under 256 bytes is read, not sent with sendfile, and EnableMMAP maps it for
    # each request: munmap then interrupts the other core (TLB shootdown), which held a
    # 2-byte or 111-byte file to 5,400-6,500/s against 22,000-25,000/s without it.
    EnableMMAP Off
    <Directory $dir/htdocs>
        Require all granted
    </Directory>
</VirtualHost>
CONF
    rm -f "$dir/httpd.pid"
    "$HTTPD" -f "$dir/httpd.conf" -k start
    i=0
    while [ $i -lt 100 ]; do   # up to 10 s for the pid file and the port
        if [ -s "$dir/httpd.pid" ] && curl -s -o /dev/null "http://127.0.0.1:$static/"; then
            exit 0
        fi
        sleep 0.1; i=$((i + 1))
    done
    echo "httpd.sh: httpd did not start; see $dir/logs/error_log" >&2
    tail -5 "$dir/logs/error_log" >&2 || true
    exit 1
    ;;
stop)
    pid=$(pid_of)
    [ -n "$pid" ] || exit 0
    kill -TERM "$pid" 2>/dev/null || exit 0
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    rm -f "$dir/httpd.pid"
    ;;
*)
    echo "usage: httpd.sh start DIR API_PORT STATIC_PORT | stop DIR" >&2
    exit 2
    ;;
esac
