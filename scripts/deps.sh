#!/bin/sh
# Install, with apt-get, the Debian packages mod_acmpca needs that are missing.
# Quick and silent when everything is already there.
set -e
PKGS="apache2 apache2-dev libssl-dev libcjson-dev libhiredis-dev libsqlite3-dev
libcmocka-dev libapache2-mod-perl2 libwww-perl libaws-signature4-perl libjson-perl
redis-server redis-sentinel awscli python3-boto3 openssl curl make gcc pkg-config
wrk golang-cfssl time chromium chromium-driver
sqlite3
clang clang-format libclang-rt-14-dev valgrind faketime linux-perf"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# On a fresh machine the package lists can be empty: update once first.
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
