#!/usr/bin/env bash
# Realtime benchmark: chat end to end across instances, a product update broadcast to many subscribers, memory per
# connected user, with 1, 2 and 3 instances of `agora serve` sharing one PostgreSQL and one Redis.
#
#   scripts/bench-realtime.sh [instances] [pairs] [rate] [seconds] [subscribers] [idle-users]
#       defaults: "1 2 3", 50 pairs, 20 msgs/s per sender, 10 s, 10000 subscribers, 2000 idle users
#
# Every instance (release build) is pinned to CPU 0 and the load client to CPU 1 (taskset); PostgreSQL and Redis
# float. Besides the client's figures it prints the instances' CPU time per delivered message, read from
# /proc/PID/stat, which the client cannot cap. Chat: each sender sends at a steady rate to a receiver connected to
# another instance; latency is send -> stored -> published -> delivered, measured on one clock (the client's).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
counts="${1:-1 2 3}"
pairs="${2:-50}"
rate="${3:-20}"
seconds="${4:-10}"
subscribers="${5:-10000}"
idle="${6:-2000}"
db=agora_realtime_bench
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env "$db")"
swift build -c release --scratch-path .build-release --product agora 2>&1 | grep -E "error" || true
swift build -c release --scratch-path .build-release --product agora-bench 2>&1 | grep -E "error" || true
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
rss_kib() { local t=0; for pid in "$@"; do t=$((t + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))); done; echo $t; }

start_instances() {  # n -> fills pids, ports
    pids=(); ports=""
    for i in $(seq 1 "$1"); do
        local port=$((9400 + i))
        AGORA_PORT=$port AGORA_DATA_DIR="$work/data" AGORA_RATE_LIMITS=false AGORA_LOG_LEVEL=error AGORA_BCRYPT_COST=4 \
            AGORA_MAIL_DISPATCH=false AGORA_DB_POOL_SIZE=16 AGORA_REDIS_PREFIX="agora-bench-rt-$1-$$:" AGORA_WS_RATE=1000 AGORA_WS_BURST=1000 \
            AGORA_WS_MAX_PER_IP=1000000 AGORA_WS_MAX_PER_USER=10000 \
            AGORA_WS_PING_SECONDS=0 taskset -c 0 "$bin/agora" serve > "$work/server-$i.log" 2>&1 &
        pids+=($!)
        ports="${ports:+$ports,}$port"
        for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
    done
    server_pids=$(IFS=,; echo "${pids[*]}")
}
stop_instances() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; pids=(); }
client() { taskset -c 1 "$bin/agora-bench" realtime "$@" --ports "$ports" --server-pids "$server_pids" --database-url "$AGORA_DATABASE_URL"; }

for n in $counts; do
    psql "${AGORA_DATABASE_URL%%/$db*}/postgres" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
    scripts/services.sh createdb "$db" >/dev/null
    start_instances "$n"
    echo "== $n instance(s): ports $ports"
    # Memory first, on fresh processes (later phases free memory the allocator would hand back to new connections).
    client idle --users "$idle" --hold 3 > "$work/idle.out" &
    idler=$!
    for _ in $(seq 1200); do grep -q registered "$work/idle.out" 2>/dev/null && break; sleep 0.1; done
    before=$(rss_kib "${pids[@]}")
    for _ in $(seq 1200); do grep -q ready "$work/idle.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    after=$(rss_kib "${pids[@]}")
    wait "$idler" || true
    echo "idle users=$idle rss_before_kib=$before rss_after_kib=$after kib_per_user=$(awk "BEGIN {printf \"%.1f\", ($after - $before) / $idle}")"
    client chat --pairs "$pairs" --rate "$rate" --seconds "$seconds"
    client broadcast --subscribers "$subscribers" --updates 10 --interval-ms 1000
    grep -hiE "error|warning" "$work"/server-*.log 2>/dev/null | sort | uniq -c | sort -rn | head -5 || true
    stop_instances
done
