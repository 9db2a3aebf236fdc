#!/usr/bin/env bash
# Start and stop the etcd members the tests and the demo use (Debian's
# etcd-server, no systemd): every member listens on 127.0.0.1 only, keeps its
# data, pid file and log under DIR, and is found again by its pid file, so
# each command is idempotent.
#   etcd.sh start-single DIR PORT       one member: clients on PORT, peers on PORT+1
#   etcd.sh start-cluster DIR BASEPORT  members m0 m1 m2: clients on BASEPORT+2i,
#                                       peers on BASEPORT+2i+1 (re-run it to bring
#                                       stopped members back)
#   etcd.sh stop DIR [MEMBER...]        stop the named members (default: all in DIR)
#   etcd.sh endpoints DIR               the client URLs of DIR's members, one a line
# start-* return once every member answers /health (a leader exists).
set -euo pipefail

ETCD=${ETCD:-etcd}
READY_SECONDS=${ETCD_READY_SECONDS:-20}

say() { printf 'etcd.sh: %s\n' "$*" >&2; }

usage() {
    sed -n '6,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

running() {  # running DIR NAME: the member's pid file names a live etcd
    local pidfile="$1/$2.pid"
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# start_member DIR NAME CLIENT_PORT PEER_PORT INITIAL_CLUSTER TOKEN
start_member() {
    local dir=$1 name=$2 client=$3 peer=$4 cluster=$5 token=$6
    if running "$dir" "$name"; then
        return
    fi
    mkdir -p "$dir/$name.data"
    echo "http://127.0.0.1:$client" > "$dir/$name.endpoint"
    # The initial-cluster flags only matter on the first start; later starts
    # read the membership from the data directory.
    setsid "$ETCD" --name "$name" --data-dir "$dir/$name.data" \
        --listen-client-urls "http://127.0.0.1:$client" \
        --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "$cluster" --initial-cluster-token "$token" \
        --initial-cluster-state new \
        </dev/null >>"$dir/$name.log" 2>&1 &
    echo $! > "$dir/$name.pid"
}

wait_healthy() {  # wait_healthy DIR NAME...
    local dir=$1 name deadline=$((SECONDS + READY_SECONDS))
    shift
    for name in "$@"; do
        until curl -fsS --max-time 1 "$(cat "$dir/$name.endpoint")/health" 2>/dev/null \
                | grep -q '"health":"true"'; do
            if [ $SECONDS -ge $deadline ] || ! running "$dir" "$name"; then
                say "member $name in $dir is not healthy; last log lines:"
                tail -n 15 "$dir/$name.log" >&2
                exit 1
            fi
            sleep 0.2
        done
    done
}

start_single() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    start_member "$dir" s0 "$port" $((port + 1)) "s0=http://127.0.0.1:$((port + 1))" \
        "dmm-single-$port"
    wait_healthy "$dir" s0
}

start_cluster() {
    local dir=$1 base=$2 i cluster=""
    mkdir -p "$dir"
    for i in 0 1 2; do
        cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 2 * i + 1))"
    done
    for i in 0 1 2; do
        start_member "$dir" "m$i" $((base + 2 * i)) $((base + 2 * i + 1)) "$cluster" \
            "dmm-cluster-$base"
    done
    wait_healthy "$dir" m0 m1 m2
}

stop() {  # stop DIR [NAME...]: TERM all at once, KILL what is left after
          # 2 s (a leader whose peers are gone waits to hand over)
    local dir=$1 name pids=() tries=0
    shift
    [ -d "$dir" ] || return 0
    if [ $# -eq 0 ]; then
        set -- $(cd "$dir" && ls -- *.endpoint 2>/dev/null | sed 's/\.endpoint$//')
    fi
    for name in "$@"; do
        if running "$dir" "$name"; then
            pids+=("$(cat "$dir/$name.pid")")
        fi
        rm -f "$dir/$name.pid"
    done
    [ ${#pids[@]} -eq 0 ] && return 0
    kill "${pids[@]}" 2>/dev/null || true
    while kill -0 "${pids[@]}" 2>/dev/null; do
        tries=$((tries + 1))
        [ $tries -eq 20 ] && { kill -9 "${pids[@]}" 2>/dev/null || true; }
        sleep 0.1
    done
}

endpoints() {
    cat "$1"/*.endpoint
}

[ $# -ge 2 ] || usage
command=$1
shift
case $command in
    start-single) [ $# -eq 2 ] || usage; start_single "$@" ;;
    start-cluster) [ $# -eq 2 ] || usage; start_cluster "$@" ;;
    stop) stop "$@" ;;
    endpoints) [ $# -eq 1 ] || usage; endpoints "$@" ;;
    *) usage ;;
esac
