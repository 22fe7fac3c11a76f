#!/usr/bin/env bash
# WebSocket benchmark: our server (agora ws-echo) beside Node's `ws` and Python's `websockets`, all driven by the
# same client (agora-bench ws, built on our WebSocket client).
#
#   scripts/bench-ws.sh [idle-connections] [echo-seconds] [broadcast-messages]     (defaults 19500 10 200)
#
# Each server runs pinned to CPU 0 and the client to CPU 1 (taskset), so the client cannot steal the server's
# core. Besides the client's figures it prints the server's CPU time per delivered message, read from
# /proc/PID/stat, which the client cannot cap. Servers: SERVERS="agora node python" (default all three).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
idle="${1:-19500}"
seconds="${2:-10}"
messages="${3:-200}"
servers="${SERVERS:-agora node python}"
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

swift build -c release --scratch-path .build-release --product agora >/dev/null
swift build -c release --scratch-path .build-release --product agora-bench >/dev/null
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
ticks=$(getconf CLK_TCK)

start_server() {  # name port -> pid
    case "$1" in
        agora) taskset -c 0 "$bin/agora" ws-echo --port "$2" --log-level error >/dev/null 2>&1 & ;;
        node) NODE_PATH=/usr/share/nodejs taskset -c 0 node bench/ws/node-server.js "$2" >/dev/null 2>&1 & ;;
        python) taskset -c 0 python3 bench/ws/python-server.py "$2" >/dev/null 2>&1 & ;;
    esac
    local pid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && { echo "$pid"; return; }
        sleep 0.1
    done
    echo "server $1 did not start" >&2; exit 1
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
client() { taskset -c 1 "$bin/agora-bench" ws "$@"; }

printf '%-8s %-11s %14s %11s %10s %10s %12s %16s\n' server test connections msgs/s p50_ms p99_ms "rss_KiB/conn" "server_us/msg"
port=9100
for server in $servers; do
    port=$((port + 1))
    pid=$(start_server "$server" "$port")
    sleep 0.5

    # Idle connections: server memory per connection while they are held open. Two client processes share the
    # load, since one process may not be allowed enough file descriptors (see `ulimit -Hn`).
    before=$(rss_kib "$pid")
    half=$((idle / 2))
    out1=$(mktemp); out2=$(mktemp)
    client idle --port "$port" --connections "$half" --hold 12 >"$out1" 2>&1 &
    c1=$!
    client idle --port "$port" --connections "$((idle - half))" --hold 12 >"$out2" 2>&1 &
    c2=$!
    for _ in $(seq 1 1200); do
        grep -q '^ready' "$out1" && grep -q '^ready' "$out2" && break
        if ! kill -0 "$c1" 2>/dev/null && ! grep -q '^ready' "$out1"; then break; fi
        if ! kill -0 "$c2" 2>/dev/null && ! grep -q '^ready' "$out2"; then break; fi
        sleep 0.1
    done
    sleep 2
    after=$(rss_kib "$pid")
    h1=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$out1" | head -1)
    h2=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$out2" | head -1)
    held=$(( ${h1:-0} + ${h2:-0} ))
    [ "$held" -gt 0 ] || { echo "idle clients failed:" >&2; cat "$out1" "$out2" >&2; }
    wait "$c1" "$c2" 2>/dev/null || true
    rm -f "$out1" "$out2"
    per=$(echo "scale=2; ($after - $before) / ($held + 0.0001)" | bc)
    printf '%-8s %-11s %14s %11s %10s %10s %12s %16s\n' "$server" idle "$held" - - - "$per" -
    sleep 2

    # Echo round trips with 100 connections.
    t0=$(cpu_ticks "$pid")
    out=$(client echo --port "$port" --connections 100 --seconds "$seconds")
    t1=$(cpu_ticks "$pid")
    count=$(echo "$out" | sed -n 's/.*messages=\([0-9]*\).*/\1/p')
    rate=$(echo "$out" | sed -n 's/.*per_second=\([0-9]*\).*/\1/p')
    p50=$(echo "$out" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')
    us=$(echo "scale=2; ($t1 - $t0) * 1000000 / $ticks / ($count + 0.0001)" | bc)
    printf '%-8s %-11s %14s %11s %10s %10s %12s %16s\n' "$server" echo 100 "$rate" "$p50" "$p99" - "$us"

    # Broadcast: every message to 1000 connections.
    # The client samples the server's CPU time itself across the send-and-deliver phase only (not the 1000 handshakes).
    out=$(client broadcast --port "$port" --receivers 1000 --messages "$messages" --server-pid "$pid")
    rate=$(echo "$out" | sed -n 's/.*per_second=\([0-9]*\).*/\1/p')
    p50=$(echo "$out" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')
    us=$(echo "$out" | sed -n 's/.*server_us_per_delivery=\([0-9.]*\).*/\1/p')
    printf '%-8s %-11s %14s %11s %10s %10s %12s %16s\n' "$server" broadcast 1000 "$rate" "$p50" "$p99" - "$us"

    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    sleep 1
done
