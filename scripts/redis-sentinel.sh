#!/bin/sh
# Licensed under the Apache License, Version 2.0 (see LICENSE).
# A private Redis Sentinel set for the tests, on 127.0.0.1 only: a master and a replica
# (scripts/redis-server.sh servers, AOF on) and three sentinels with a quorum of two,
# each in a directory of its own under DIR, with pid files. Every wait is bounded.
#
#   redis-sentinel.sh start DIR [BASEPORT]  master on BASEPORT, replica on +1, sentinels on
#                                         +2..+4 (without BASEPORT: five free ports found in
#                                         ACMPCA_TEST_PORTS); waits until the sentinels know
#                                         the replica and each other; prints the
#                                         redis-sentinel:// spec
#   redis-sentinel.sh stop DIR            stop the sentinels, then the nodes
#   redis-sentinel.sh master DIR          the master's port, as the first sentinel says
#   redis-sentinel.sh failover DIR        SENTINEL FAILOVER, then wait for the switch
#   redis-sentinel.sh kill-master DIR     kill -9 of the master, wait for the switch, start
#                                         the old master again (the sentinels make it a
#                                         replica)
#   redis-sentinel.sh guarded DIR PASS    one more sentinel, in DIR/sentinel-guarded, that asks
#                                         for AUTH PASS (requirepass) and watches the set's
#                                         master under the name "guarded" (so the set's
#                                         sentinels ignore it); prints its port. stop stops it.
#   redis-sentinel.sh run CMD [ARG...]    start a set in a fresh temporary directory, run CMD
#                                         with the variables below, stop the set and remove
#                                         the directory whatever CMD did (trap)
# "Wait for the switch": until the sentinels name the other node, it says ROLE master and
# has an in-sync replica again (so that WAIT 1 can succeed).
#
# run exports, for CMD:
#   ACMPCA_TEST_SENTINEL       redis-sentinel://127.0.0.1:<s1>,127.0.0.1:<s2>,127.0.0.1:<s3>/acmpca/0
#   ACMPCA_TEST_SENTINEL_DIR   <dir>
#   ACMPCA_TEST_SENTINEL_CTL   this script, by absolute path
# When redis-sentinel is not installed, run says so and runs CMD without them.
#
# Environment: REDIS_SENTINEL, REDIS_CLI (default redis-sentinel, redis-cli),
#              SENTINEL_WAIT (seconds for a start or a switch, default 30),
#              ACMPCA_TEST_PORTS ("first-last": where start without BASEPORT and run look
#              for five free ports; default 26400-26999).
set -u

REDIS_SENTINEL=${REDIS_SENTINEL:-redis-sentinel}
REDIS_CLI=${REDIS_CLI:-redis-cli}
SENTINEL_WAIT=${SENTINEL_WAIT:-30}
NAME=acmpca
HERE=$(cd "$(dirname "$0")" && pwd)
SELF="$HERE/$(basename "$0")"
SERVER="$HERE/redis-server.sh"

die() {
    echo "redis-sentinel.sh: $*" >&2
    exit 1
}

cli() { # port args...
    p=$1
    shift
    timeout 5 "$REDIS_CLI" -h 127.0.0.1 -p "$p" "$@" 2>/dev/null | tr -d '\r'
}

# A field of SENTINEL MASTER (name/value lines) of the sentinel on port.
sentinel_field() { # port field
    cli "$1" SENTINEL MASTER "$NAME" | awk -v f="$2" 'NR % 2 == 1 { k = $0 } NR % 2 == 0 && k == f { print; exit }'
}

master_port() { # dir
    cli "$(cat "$1/sentinel-ports" | cut -d' ' -f1)" SENTINEL GET-MASTER-ADDR-BY-NAME "$NAME" | sed -n 2p
}

# Poll cmd (a shell function) every 0.2 s for SENTINEL_WAIT seconds.
poll() {
    n=0
    while [ "$n" -lt $((SENTINEL_WAIT * 5)) ]; do
        "$@" && return 0
        sleep 0.2
        n=$((n + 1))
    done
    return 1
}

# Every sentinel names port as the master, knows a replica and the two other sentinels,
# and the master says so itself, with an in-sync replica.
settled() { # dir port
    for s in $(cat "$1/sentinel-ports"); do
        [ "$(cli "$s" SENTINEL GET-MASTER-ADDR-BY-NAME "$NAME" | sed -n 2p)" = "$2" ] || return 1
        [ "$(sentinel_field "$s" num-other-sentinels)" = 2 ] || return 1
        [ "$(sentinel_field "$s" num-slaves)" -ge 1 ] 2>/dev/null || return 1
        case "$(sentinel_field "$s" flags)" in
        master) ;;
        *) return 1 ;;
        esac
    done
    [ "$(cli "$2" ROLE | head -n 1)" = master ] || return 1
    cli "$2" INFO replication | grep -q '^slave0:.*state=online'
}

start_sentinel() { # dir index port master_port
    d="$1/sentinel$2"
    mkdir -p "$d" && chmod 700 "$d"
    cat >"$d/sentinel.conf" <<EOF
port $3
bind 127.0.0.1
daemonize no
pidfile $d/sentinel.pid
logfile $d/sentinel.log
dir $d
sentinel monitor $NAME 127.0.0.1 $4 2
sentinel down-after-milliseconds $NAME 2000
sentinel failover-timeout $NAME 5000
sentinel parallel-syncs $NAME 1
EOF
    "$REDIS_SENTINEL" "$d/sentinel.conf" </dev/null >>"$d/sentinel.out" 2>&1 &
    echo "$!" >"$d/run.pid"
}

cmd_guarded() { # dir password
    master=$(master_port "$1")
    [ -n "$master" ] || die "no sentinel names a master"
    d="$1/sentinel-guarded"
    mkdir -p "$d" && chmod 700 "$d" || die "cannot make $d"
    port=$(($(cut -d' ' -f3 "$1/sentinel-ports") + 1))
    while [ -n "$(cli "$port" PING)" ]; do
        port=$((port + 1))
    done
    cat >"$d/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
pidfile $d/sentinel.pid
logfile $d/sentinel.log
dir $d
requirepass $2
sentinel monitor guarded 127.0.0.1 $master 1
EOF
    "$REDIS_SENTINEL" "$d/sentinel.conf" </dev/null >>"$d/sentinel.out" 2>&1 &
    echo "$!" >"$d/run.pid"
    poll guarded_answers "$port" "$2" "$master" || die "the guarded sentinel did not answer"
    echo "$port"
}

guarded_answers() { # port password master_port
    [ "$(REDISCLI_AUTH=$2 cli "$1" SENTINEL GET-MASTER-ADDR-BY-NAME guarded | sed -n 2p)" = "$3" ]
}

cmd_start() { # dir baseport
    dir=$1
    base=$2
    command -v "$REDIS_SENTINEL" >/dev/null 2>&1 || die "$REDIS_SENTINEL is not installed"
    mkdir -p "$dir" && chmod 700 "$dir" || die "cannot make $dir"
    dir=$(cd "$dir" && pwd)
    sh "$SERVER" start "$dir/node0" "$base" >/dev/null || return 1
    REDIS_CONF_EXTRA="replicaof 127.0.0.1 $base" sh "$SERVER" start "$dir/node1" $((base + 1)) \
        >/dev/null || return 1
    echo "$((base + 2)) $((base + 3)) $((base + 4))" >"$dir/sentinel-ports"
    i=0
    for s in $(cat "$dir/sentinel-ports"); do
        start_sentinel "$dir" "$i" "$s" "$base"
        i=$((i + 1))
    done
    if ! poll settled "$dir" "$base"; then
        tail -n 5 "$dir"/sentinel*/sentinel.log >&2 2>/dev/null
        return 1
    fi
    spec=""
    for s in $(cat "$dir/sentinel-ports"); do
        spec="${spec:+$spec,}127.0.0.1:$s"
    done
    echo "redis-sentinel://$spec/$NAME/0"
}

# A set in DIR/set<i> on the first five free ports found: prints its spec and writes
# DIR/current, the set's directory (the one the other commands take).
cmd_start_any() { # dir
    mkdir -p "$1" && chmod 700 "$1" || die "cannot make $1"
    range=${ACMPCA_TEST_PORTS:-26400-26999}
    lo=${range%-*}
    hi=${range#*-}
    i=0
    while [ "$i" -lt 6 ]; do
        base=$((hi - 4 - (($$ + i * 5) % (hi - lo - 3))))
        if spec=$(cmd_start "$1/set$i" "$base"); then
            echo "$1/set$i" >"$1/current"
            echo "$spec"
            return 0
        fi
        cmd_stop "$1/set$i"
        i=$((i + 1))
    done
    echo "redis-sentinel.sh: cannot start a sentinel set in $range" >&2
    return 1
}

cmd_stop() { # dir
    dir=$1
    for pidf in "$dir"/sentinel*/run.pid; do
        [ -s "$pidf" ] || continue
        pid=$(cat "$pidf")
        kill -TERM "$pid" 2>/dev/null
        n=0
        while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 50 ]; do
            sleep 0.1
            n=$((n + 1))
        done
        kill -KILL "$pid" 2>/dev/null
        rm -f "$pidf"
    done
    for node in "$dir"/node0 "$dir"/node1; do
        [ -d "$node" ] && sh "$SERVER" stop "$node"
    done
    return 0
}

# The node directory whose server listens on port.
node_of() { # dir port
    for node in "$1"/node0 "$1"/node1; do
        [ "$(cat "$node/port" 2>/dev/null)" = "$2" ] && echo "$node" && return 0
    done
    return 1
}

other_port() { # dir port
    for node in "$1"/node0 "$1"/node1; do
        p=$(cat "$node/port")
        [ "$p" != "$2" ] && echo "$p" && return 0
    done
}

cmd_failover() { # dir
    old=$(master_port "$1")
    [ -n "$old" ] || die "no sentinel names a master"
    new=$(other_port "$1" "$old")
    [ "$(cli "$(cut -d' ' -f1 "$1/sentinel-ports")" SENTINEL FAILOVER "$NAME")" = OK ] \
        || die "SENTINEL FAILOVER refused"
    poll settled "$1" "$new" || die "no switch to $new within ${SENTINEL_WAIT}s"
    echo "$new"
}

cmd_kill_master() { # dir
    old=$(master_port "$1")
    [ -n "$old" ] || die "no sentinel names a master"
    new=$(other_port "$1" "$old")
    node=$(node_of "$1" "$old") || die "no node on port $old"
    kill -KILL "$(cat "$node/server.pid")" 2>/dev/null
    poll is_master_now "$1" "$new" || die "no switch to $new within ${SENTINEL_WAIT}s"
    # Back as the replica of the new master: its conf says so; the sentinels would too.
    REDIS_CONF_EXTRA="replicaof 127.0.0.1 $new" sh "$SERVER" start "$node" "$old" >/dev/null \
        || die "cannot start the old master again"
    poll settled "$1" "$new" || die "the old master did not rejoin within ${SENTINEL_WAIT}s"
    echo "$new"
}

is_master_now() { # dir port
    [ "$(master_port "$1")" = "$2" ] && [ "$(cli "$2" ROLE | head -n 1)" = master ]
}

cmd_run() { # cmd...
    if ! command -v "$REDIS_SENTINEL" >/dev/null 2>&1; then
        echo "redis-sentinel.sh: $REDIS_SENTINEL is not installed: sentinel tests will skip" >&2
        "$@"
        exit $?
    fi
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/acmpca-sentinel.XXXXXX") || die "mktemp failed"
    trap 'for d in "$RUN_DIR"/set*; do cmd_stop "$d"; done; rm -rf "$RUN_DIR"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    spec=$(cmd_start_any "$RUN_DIR") || exit 1
    SET_DIR=$(cat "$RUN_DIR/current")
    ACMPCA_TEST_SENTINEL=$spec
    ACMPCA_TEST_SENTINEL_DIR=$SET_DIR
    ACMPCA_TEST_SENTINEL_CTL=$SELF
    export ACMPCA_TEST_SENTINEL ACMPCA_TEST_SENTINEL_DIR ACMPCA_TEST_SENTINEL_CTL
    echo "redis-sentinel.sh: $spec" >&2
    "$@"
    exit $?
}

[ $# -ge 1 ] || die "usage: $0 start DIR BASEPORT | stop DIR | master DIR | failover DIR | kill-master DIR | guarded DIR PASS | run CMD [ARG...]"
what=$1
shift
case "$what" in
start)
    [ $# -ge 1 ] || die "start needs a directory"
    if [ $# -ge 2 ]; then
        cmd_start "$@" || die "cannot start a sentinel set on $2..$(($2 + 4))"
    else
        cmd_start_any "$1" || exit 1
    fi
    ;;
stop)
    [ $# -ge 1 ] || die "stop needs a directory"
    cmd_stop "$1"
    ;;
master)
    [ $# -ge 1 ] || die "master needs a directory"
    master_port "$1"
    ;;
failover)
    [ $# -ge 1 ] || die "failover needs a directory"
    cmd_failover "$1"
    ;;
kill-master)
    [ $# -ge 1 ] || die "kill-master needs a directory"
    cmd_kill_master "$1"
    ;;
guarded)
    [ $# -ge 2 ] || die "guarded needs a directory and a password"
    cmd_guarded "$1" "$2"
    ;;
run)
    [ $# -ge 1 ] || die "run needs a command"
    cmd_run "$@"
    ;;
*)
    die "unknown command '$what'"
    ;;
esac
