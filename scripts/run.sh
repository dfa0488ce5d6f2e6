#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# `make run`: serve the AWS Private CA API on 127.0.0.1:$PORT with httpd in the
# foreground, from a runtime directory. Ctrl-C stops it; running it again keeps
# the data, the key-encryption key and the access key.
#
# Environment (the Makefile passes all of them):
#   RUNDIR  runtime directory (default ./run): httpd.conf, logs, the KEK
#           (acmpca.kek, 0600), credentials.json (0600), env, and data/ (the store)
#   PORT    port on 127.0.0.1 (default 8080)
#   STORE   ACMPCAStore value (default sqlite:$RUNDIR/data/acmpca.db)
#   HTTPD   the httpd binary (default /usr/sbin/apache2)
#   MODULE  mod_acmpca.so to load (default build/mod_acmpca.so)
#
# Run as root, httpd's workers run as www-data: they must be able to reach the
# store, so every directory above $RUNDIR must be searchable by www-data. When it
# is not (a checkout under /root, a home directory of mode 0700), the store goes
# to /var/tmp/acmpca-run-<hash of $RUNDIR>/data instead and $RUNDIR/data is a
# symbolic link to it (the DocumentRoot, an empty directory, moves there too).
# Run as another user, httpd keeps that user.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNDIR=${RUNDIR:-$ROOT/run}
PORT=${PORT:-8080}
STORE=${STORE:-}
HTTPD=${HTTPD:-/usr/sbin/apache2}
MODULE=${MODULE:-$ROOT/build/mod_acmpca.so}
TEMPLATE=$ROOT/conf/httpd-run.conf.in

die() { echo "run: $*" >&2; exit 1; }

[ -x "$HTTPD" ] || die "no httpd at '$HTTPD' (set HTTPD=)"
[ -f "$MODULE" ] || die "no module at '$MODULE': run make first"
[ -f "$TEMPLATE" ] || die "missing $TEMPLATE"
case $PORT in '' | *[!0-9]*) die "PORT must be a number, not '$PORT'" ;; esac
command -v openssl >/dev/null || die "openssl is needed to make the key-encryption key"

MODDIR=$(apxs -q LIBEXECDIR 2>/dev/null || true)
[ -d "$MODDIR" ] || MODDIR=/usr/lib/apache2/modules

umask 022
mkdir -p "$RUNDIR"
RUNDIR=$(cd "$RUNDIR" && pwd)
case $RUNDIR in *'|'* | *'&'* | *'"'* | *' '*) die "RUNDIR must not contain spaces, quotes, | or &: $RUNDIR" ;; esac
mkdir -p "$RUNDIR/logs" "$RUNDIR/runtime"
DOCROOT=$RUNDIR/htdocs

USER_LINE="# User: not root, httpd runs as $(id -un)"
GROUP_LINE="# Group: not root, httpd runs as $(id -gn)"
if [ "$(id -u)" -eq 0 ]; then
    USER_LINE="User www-data"
    GROUP_LINE="Group www-data"
    # www-data only passes through $RUNDIR (to data/); it lists nothing.
    chmod 0711 "$RUNDIR"
fi

# ---- the store
if [ -z "$STORE" ]; then
    data=$RUNDIR/data
    if [ "$(id -u)" -eq 0 ] && [ ! -L "$data" ] \
        && ! runuser -u www-data -- test -x "$RUNDIR" 2>/dev/null; then
        tag=$(printf '%s' "$RUNDIR" | md5sum | cut -c1-12)
        base=/var/tmp/acmpca-run-$tag
        mkdir -p "$base"
        chmod 0711 "$base"
        ln -sfn "$base/data" "$data"
        echo "run: www-data cannot reach $RUNDIR; the store lives in $base/data ($data links there)" >&2
    fi
    # The workers walk the DocumentRoot for every request: it must be reachable.
    if [ -L "$data" ]; then
        DOCROOT=$(dirname "$(readlink "$data")")/htdocs
    fi
    if [ -L "$data" ]; then
        data=$(readlink "$data")
        mkdir -p "$(dirname "$data")"
    fi
    STORE=sqlite:$data/acmpca.db
fi

mkdir -p "$DOCROOT"

# ---- the key-encryption key: 32 random bytes, made once
KEK=$RUNDIR/acmpca.kek
if [ ! -s "$KEK" ]; then
    (umask 077 && openssl rand -out "$KEK" 32)
    echo "run: made a new key-encryption key: $KEK" >&2
fi
chmod 0600 "$KEK"
[ "$(wc -c <"$KEK")" -eq 32 ] || die "$KEK must hold exactly 32 bytes"

# ---- the access key: made once
CREDS=$RUNDIR/credentials.json
if [ ! -s "$CREDS" ]; then
    akid=AKIA$(LC_ALL=C tr -dc 'A-Z2-7' </dev/urandom | head -c 16)
    secret=$(LC_ALL=C tr -dc 'A-Za-z0-9+/' </dev/urandom | head -c 40)
    (umask 077 && cat >"$CREDS" <<EOF
{
  "Credentials": [
    {
      "AccessKeyId": "$akid",
      "SecretAccessKey": "$secret",
      "AccountId": "123456789012",
      "Principal": "arn:aws:iam::123456789012:user/admin"
    }
  ]
}
EOF
    )
    echo "run: made a new access key: $CREDS" >&2
fi
chmod 0600 "$CREDS"
akid=$(sed -n 's/.*"AccessKeyId" *: *"\([^"]*\)".*/\1/p' "$CREDS" | head -n 1)
secret=$(sed -n 's/.*"SecretAccessKey" *: *"\([^"]*\)".*/\1/p' "$CREDS" | head -n 1)
[ -n "$akid" ] && [ -n "$secret" ] || die "cannot read the first access key of $CREDS"

ENDPOINT=http://127.0.0.1:$PORT
(umask 077 && cat >"$RUNDIR/env" <<EOF
# mod_acmpca (make run): . $RUNDIR/env
export ACMPCA_ENDPOINT=$ENDPOINT
export AWS_ACCESS_KEY_ID=$akid
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_DEFAULT_REGION=us-east-1
EOF
)

# ---- httpd.conf from the template
esc() { printf '%s' "$1" | sed 's/[|&\\]/\\&/g'; }
sed -e "s|@RUNDIR@|$(esc "$RUNDIR")|g" \
    -e "s|@PORT@|$PORT|g" \
    -e "s|@MODDIR@|$(esc "$MODDIR")|g" \
    -e "s|@DOCROOT@|$(esc "$DOCROOT")|g" \
    -e "s|@MODULE@|$(esc "$MODULE")|g" \
    -e "s|@SRCDIR@|$(esc "$(cd "$(dirname "$0")/.." && pwd)")|g" \
    -e "s|@STORE@|$(esc "$STORE")|g" \
    -e "s|@USER_LINE@|$(esc "$USER_LINE")|g" \
    -e "s|@GROUP_LINE@|$(esc "$GROUP_LINE")|g" \
    "$TEMPLATE" >"$RUNDIR/httpd.conf"

if ! out=$("$HTTPD" -d "$RUNDIR" -f "$RUNDIR/httpd.conf" -t 2>&1); then
    printf '%s\n' "$out" >&2
    die "the configuration in $RUNDIR/httpd.conf does not pass apache2 -t"
fi

cat <<EOF

mod_acmpca serves the AWS Private CA API on $ENDPOINT
  store:    $STORE
  logs:     $RUNDIR/logs/error_log, $RUNDIR/logs/access_log
  Ctrl-C stops it; \`make run\` again keeps the CAs and the keys.

In another shell (the same lines are in $RUNDIR/env):
  export ACMPCA_ENDPOINT=$ENDPOINT
  export AWS_ACCESS_KEY_ID=$akid
  export AWS_SECRET_ACCESS_KEY=$secret
  export AWS_DEFAULT_REGION=us-east-1

Take a ROOT CA to ACTIVE:
  CA=\$(aws acm-pca create-certificate-authority --endpoint-url "\$ACMPCA_ENDPOINT" \\
      --certificate-authority-type ROOT \\
      --certificate-authority-configuration '{"KeyAlgorithm":"EC_prime256v1","SigningAlgorithm":"SHA256WITHECDSA","Subject":{"CommonName":"Example Root CA","Organization":"Example"}}' \\
      --query CertificateAuthorityArn --output text); echo "\$CA"
  aws acm-pca get-certificate-authority-csr --endpoint-url "\$ACMPCA_ENDPOINT" \\
      --certificate-authority-arn "\$CA" --output text > root.csr
  CERT=\$(aws acm-pca issue-certificate --endpoint-url "\$ACMPCA_ENDPOINT" \\
      --certificate-authority-arn "\$CA" --csr fileb://root.csr --signing-algorithm SHA256WITHECDSA \\
      --template-arn arn:aws:acm-pca:::template/RootCACertificate/V1 --validity Value=10,Type=YEARS \\
      --query CertificateArn --output text)
  aws acm-pca get-certificate --endpoint-url "\$ACMPCA_ENDPOINT" \\
      --certificate-authority-arn "\$CA" --certificate-arn "\$CERT" --query Certificate --output text > root.pem
  aws acm-pca import-certificate-authority-certificate --endpoint-url "\$ACMPCA_ENDPOINT" \\
      --certificate-authority-arn "\$CA" --certificate fileb://root.pem
  aws acm-pca describe-certificate-authority --endpoint-url "\$ACMPCA_ENDPOINT" \\
      --certificate-authority-arn "\$CA" --query CertificateAuthority.Status --output text

EOF

# ---- httpd in the foreground; Ctrl-C (or TERM) stops it cleanly
"$HTTPD" -d "$RUNDIR" -f "$RUNDIR/httpd.conf" -DFOREGROUND &
pid=$!
stopping=0
stop() {
    stopping=1
    trap '' INT TERM HUP
    echo "run: stopping httpd (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null || true
}
trap stop INT TERM HUP
status=0
while kill -0 "$pid" 2>/dev/null; do
    wait "$pid" && status=0 || status=$?
done
if [ "$stopping" -eq 1 ] || [ "$status" -eq 0 ]; then
    echo "run: stopped" >&2
    exit 0
fi
echo "run: httpd exited with status $status; see $RUNDIR/logs/error_log" >&2
exit "$status"
