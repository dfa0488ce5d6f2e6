#!/bin/sh
# Licensed under the Apache License, Version 2.0 (see LICENSE).
# A private redis-server for the tests: 127.0.0.1:<port> and a unix socket in a directory
# of its own, with a pid file, AOF on, never the system's server. Every wait is bounded.
#
#   redis-server.sh start DIR [PORT]   start one in DIR (made 0700); prints its redis:// spec
#   redis-server.sh stop DIR           stop it: SIGTERM, a bounded wait, then SIGKILL
#   redis-server.sh restart DIR        stop, then start on the same port and socket
#   redis-server.sh run CMD [ARG...]   start one in a fresh temporary directory, run CMD with
#                                      the variables below, stop it and remove the directory
#                                      whatever CMD did (trap); exits with CMD's status
#
# run exports, for CMD:
#   ACMPCA_TEST_REDIS       redis://127.0.0.1:<port>/0
#   ACMPCA_TEST_REDIS_UNIX  unix:<dir>/redis.sock
#   ACMPCA_TEST_REDIS_DIR   <dir> (for restart/stop from a test)
#   ACMPCA_TEST_REDIS_CTL   this script, by absolute path
# When redis-server is not installed, run says so and runs CMD without them: the redis
# tests then skip. Root may run it (the tests do): redis-server then runs as root, on
# loopback and a 0700 directory only.
#
# Environment: REDIS_SERVER, REDIS_CLI (default redis-server, redis-cli),
#              REDIS_WAIT (seconds to wait for a start or a stop, default 10),
#              REDIS_CONF_EXTRA (more lines for redis.conf, e.g. "replicaof 127.0.0.1 9150"),
#              ACMPCA_TEST_PORTS ("first-last": the ports a start without PORT may take;
#              default: from 20000 up, by our pid),
#              REDIS_PORT (run: this port rather than one picked).
set -u

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
REDIS_WAIT=${REDIS_WAIT:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
SELF="$HERE/$(basename "$0")"

die() {
    echo "redis-server.sh: $*" >&2
    exit 1
}

# Is pid alive? A zombie is dead: the server's parent is gone once start returned, and
# init may reap it late.
is_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Is pid alive and a redis-server (not a process that reused the number)? Not for a
# server just launched: until its exec, the child is still the shell.
is_redis() {
    is_alive "$1" || return 1
    [ -r "/proc/$1/comm" ] || return 0
    case "$(cat "/proc/$1/comm" 2>/dev/null)" in
    redis*) return 0 ;;
    *) return 1 ;;
    esac
}

write_conf() { # dir port
    cat >"$1/redis.conf" <<EOF
bind 127.0.0.1
port $2
protected-mode yes
unixsocket $1/redis.sock
unixsocketperm 700
dir $1
pidfile $1/redis.pid
logfile $1/redis.log
daemonize no
save ""
appendonly yes
appendfsync everysec
databases 16
${REDIS_CONF_EXTRA:-}
EOF
}

# Wait until the server of pid answers on its port, is that very process (another
# server may hold the port) and has loaded its AOF (until then every command but INFO is
# refused with LOADING). 0: up; 1: it died (port taken?); 2: timeout.
wait_up() { # dir port pid
    n=0
    while [ "$n" -lt $((REDIS_WAIT * 10)) ]; do
        is_alive "$3" || return 1
        if "$REDIS_CLI" -h 127.0.0.1 -p "$2" info 2>/dev/null | tr -d '\r' \
            | grep -xE "process_id:$3|loading:0" | wc -l | grep -qx 2; then
            return 0
        fi
        sleep 0.1
        n=$((n + 1))
    done
    return 2
}

start_on() { # dir port
    write_conf "$1" "$2"
    "$REDIS_SERVER" "$1/redis.conf" </dev/null >>"$1/redis.out" 2>&1 &
    pid=$!
    echo "$pid" >"$1/server.pid"
    wait_up "$1" "$2" "$pid"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        is_alive "$pid" && kill -KILL "$pid" 2>/dev/null
        rm -f "$1/server.pid"
    fi
    return "$rc"
}

cmd_start() { # dir [port]
    dir=$1
    command -v "$REDIS_SERVER" >/dev/null 2>&1 || die "$REDIS_SERVER is not installed"
    mkdir -p "$dir" && chmod 700 "$dir" || die "cannot make $dir"
    dir=$(cd "$dir" && pwd)
    if [ -s "$dir/server.pid" ] && is_redis "$(cat "$dir/server.pid")"; then
        die "a server already runs in $dir"
    fi
    if [ $# -ge 2 ]; then
        if ! start_on "$dir" "$2"; then
            tail -n 5 "$dir/redis.log" "$dir/redis.out" >&2 2>/dev/null
            die "cannot start on port $2"
        fi
        port=$2
    else
        # A port from our pid, then others: two runs at once rarely collide, and a taken
        # port only costs a try. ACMPCA_TEST_PORTS keeps a run inside a range of its own.
        lo=20000
        span=20000
        step=1031
        case "${ACMPCA_TEST_PORTS:-}" in
        *-*)
            lo=${ACMPCA_TEST_PORTS%-*}
            span=$((${ACMPCA_TEST_PORTS#*-} - lo + 1))
            step=1
            ;;
        esac
        i=0
        port=""
        while [ "$i" -lt 10 ]; do
            try=$((lo + ($$ * 7 + i * step) % span))
            if start_on "$dir" "$try"; then
                port=$try
                break
            fi
            i=$((i + 1))
        done
        [ -n "$port" ] || die "cannot start (see $dir/redis.log)"
    fi
    echo "$port" >"$dir/port"
    echo "redis://127.0.0.1:$port/0"
}

cmd_stop() { # dir
    dir=$1
    [ -s "$dir/server.pid" ] || return 0
    pid=$(cat "$dir/server.pid")
    if is_redis "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        n=0
        while is_redis "$pid" && [ "$n" -lt $((REDIS_WAIT * 10)) ]; do
            sleep 0.1
            n=$((n + 1))
        done
        if is_redis "$pid"; then
            echo "redis-server.sh: $pid ignored SIGTERM, killing it" >&2
            kill -KILL "$pid" 2>/dev/null
            sleep 0.1
        fi
    fi
    rm -f "$dir/server.pid" "$dir/redis.sock"
}

cmd_restart() { # dir
    [ -s "$1/port" ] || die "no server was started in $1"
    cmd_stop "$1"
    cmd_start "$1" "$(cat "$1/port")" >/dev/null
}

cmd_run() { # cmd...
    if ! command -v "$REDIS_SERVER" >/dev/null 2>&1; then
        echo "redis-server.sh: $REDIS_SERVER is not installed: redis tests will skip" >&2
        "$@"
        exit $?
    fi
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/acmpca-redis.XXXXXX") || die "mktemp failed"
    trap 'cmd_stop "$RUN_DIR"; rm -rf "$RUN_DIR"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # shellcheck disable=SC2086
    spec=$(cmd_start "$RUN_DIR" ${REDIS_PORT:-}) || exit 1
    ACMPCA_TEST_REDIS=$spec
    ACMPCA_TEST_REDIS_UNIX="unix:$RUN_DIR/redis.sock"
    ACMPCA_TEST_REDIS_DIR=$RUN_DIR
    ACMPCA_TEST_REDIS_CTL=$SELF
    export ACMPCA_TEST_REDIS ACMPCA_TEST_REDIS_UNIX ACMPCA_TEST_REDIS_DIR ACMPCA_TEST_REDIS_CTL
    echo "redis-server.sh: $spec (unix:$RUN_DIR/redis.sock)" >&2
    "$@"
    exit $?
}

[ $# -ge 1 ] || die "usage: $0 start DIR [PORT] | stop DIR | restart DIR | run CMD [ARG...]"
what=$1
shift
case "$what" in
start)
    [ $# -ge 1 ] || die "start needs a directory"
    cmd_start "$@"
    ;;
stop)
    [ $# -ge 1 ] || die "stop needs a directory"
    cmd_stop "$1"
    ;;
restart)
    [ $# -ge 1 ] || die "restart needs a directory"
    cmd_restart "$1"
    ;;
run)
    [ $# -ge 1 ] || die "run needs a command"
    cmd_run "$@"
    ;;
*)
    die "unknown command '$what'"
    ;;
esac
