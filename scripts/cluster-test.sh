#!/usr/bin/env bash
# The deployment of deploy/ on separate hosts, as network namespaces joined by veth links to one bridge: nginx,
# three Agora hosts, PostgreSQL, a Redis master and replica with three Sentinels, the S3 server and a client, each
# with its own address on 10.77.0.0/24 and nothing shared but the network (the processes run from one packaged
# release). Tests/cluster/cluster_check.py, run on the client host, measures chat and live orders through nginx with
# 1, 2 and 3 Agora hosts, then SIGKILLs an Agora host, fails Redis over and restarts PostgreSQL while chat, orders,
# notifications and API reads go on, and checks that nothing was lost.
#
#   scripts/cluster-test.sh                              packages the debug build (as the test command would)
#   AGORA_CLUSTER_BUILD=release scripts/cluster-test.sh  a release build: the figures in the README are from this
#   AGORA_CLUSTER_KEEP=1                                 keeps the work folder (logs of every host) afterwards
#
# Needs root (network namespaces), iproute2, nginx, redis-server, PostgreSQL's server binaries and python with
# websockets, moto and Pillow: scripts/services.sh install and scripts/interop-deps.sh provide them. It takes about
# four minutes and is not part of scripts/test.sh (it needs root and owns the machine's cores while it measures).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[cluster-test] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "needs root for network namespaces: sudo $0"; exit 1; }
command -v ip >/dev/null || { log "needs iproute2 (apt-get install iproute2)"; exit 1; }
python="${AGORA_INTEROP_PYTHON:-$(scripts/interop-deps.sh)}"
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    log "installing nginx-light"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
fi
command -v redis-server >/dev/null && ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || scripts/services.sh install >&2

release="$(AGORA_PACKAGE_BUILD="${AGORA_CLUSTER_BUILD:-debug}" deploy/package.sh cluster-test | tail -1)"
release="$root/$release"

# The hosts: name and last byte of the address.
hosts=(nginx:2 h1:11 h2:12 h3:13 pg:20 r1:21 r2:22 s3:40 client:50)
prefix=agc
teardown() {
    for entry in "${hosts[@]}"; do
        local ns="$prefix-${entry%%:*}"
        if ip netns list | grep -qw "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
    if ip netns list | grep -qw "$prefix-switch"; then ip netns del "$prefix-switch"; fi
}
teardown  # what an interrupted run left

work="$(mktemp -d "${TMPDIR:-/tmp}/agora-cluster.XXXXXX")"
chmod 755 "$work"  # PostgreSQL runs as postgres and keeps its data in here
cleanup() {
    teardown
    if [ "${AGORA_CLUSTER_KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# One bridge in a namespace of its own (the machine's own network is not touched), a veth link from each host to it.
ip netns add "$prefix-switch"
ip -n "$prefix-switch" link add br0 type bridge
ip -n "$prefix-switch" link set br0 up
for entry in "${hosts[@]}"; do
    name="${entry%%:*}"
    ns="$prefix-$name"
    ip netns add "$ns"
    ip link add "v-$name" netns "$prefix-switch" type veth peer name eth0 netns "$ns"
    ip -n "$prefix-switch" link set "v-$name" master br0 up
    ip -n "$ns" addr add "10.77.0.${entry##*:}/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
done
log "hosts up on 10.77.0.0/24: ${hosts[*]}"

if ! ip netns exec "$prefix-client" "$python" Tests/cluster/cluster_check.py --release "$release" --work "$work" \
    --prefix "$prefix" --pg-bin "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)" --python "$python" \
    ${AGORA_CLUSTER_ARGS:-}; then
    log "failed; the last lines of each host's log:"
    for file in "$work"/*.log; do
        printf '\n== %s\n' "$(basename "$file")" >&2
        tail -n 15 "$file" >&2
    done
    exit 1
fi
log "ok"
