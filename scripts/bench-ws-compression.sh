#!/usr/bin/env bash
# permessage-deflate (RFC 7692) benchmark: agora ws-echo with compression off, with its default (no context takeover
# either way) and with --server-context, beside Node's `ws` with perMessageDeflate off and on, all in one run and
# driven by the same client (agora-bench ws, on our WebSocket client).
#
#   scripts/bench-ws-compression.sh [idle-connections] [broadcast-messages] [sessions-per-connection]   (defaults 19500 200 4)
#
# Four tests, each on a freshly started server pinned to CPU 0 (taskset), the client pinned to CPU 1:
#   idle       server memory per idle connection, compression negotiated or not (two client processes, as in
#              scripts/bench-ws.sh)
#   broadcast  1000 receivers on /broadcast, realtime events of 300 B to 2 KB (product snapshots, chat messages, order
#              updates): deliveries/s, server CPU per delivery, bytes on the wire per delivery
#   session    50 connections at once, each running realtime sessions (hello, a resume page of 200 stored events back
#              to back, 200 live events one at a time; each session on a new socket) through the echo endpoint:
#              bytes the server sent per message (counted by the client from the TCP stream; the server's wchar from
#              /proc/PID/io beside it) and server CPU per message, handshakes included
#   after-use  server memory per connection once each of 2000 connections has had 5 chat messages echoed (what
#              context takeover costs while a connection is in use), and for --server-context again 45 s later,
#              after the quiet ping interval (30 s) that frees an idle compressor
# The client offers permessage-deflate as browsers do (`permessage-deflate; client_max_window_bits`) unless a row
# says "no-context offer" (it then asks for server_ and client_no_context_takeover), and sends its own messages
# uncompressed, so the server's CPU goes on what it sends. A row fails the run if compression was not negotiated as
# expected. SKIP="idle after-use" leaves tests out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
idle="${1:-19500}"
messages="${2:-200}"
sessions="${3:-4}"
skip=" ${SKIP:-} "
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

swift build -c release --scratch-path .build-release --product agora >/dev/null
swift build -c release --scratch-path .build-release --product agora-bench >/dev/null
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"

port=9200
server_pid=""
start_server() {  # label -> sets server_pid; agora[:flags...] | node | node-deflate
    port=$((port + 1))
    case "$1" in
        agora*) # shellcheck disable=SC2086
            taskset -c 0 "$bin/agora" ws-echo --port "$port" --log-level error ${1#agora} >/dev/null 2>&1 & ;;
        node) NODE_PATH=/usr/share/nodejs taskset -c 0 node bench/ws/node-server.js "$port" >/dev/null 2>&1 & ;;
        node-deflate) NODE_PATH=/usr/share/nodejs taskset -c 0 node bench/ws/node-server.js "$port" deflate >/dev/null 2>&1 & ;;
    esac
    server_pid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { sleep 0.5; return; }
        sleep 0.1
    done
    echo "server $1 did not start" >&2; exit 1
}
stop_server() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; sleep 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
client() { taskset -c 1 "$bin/agora-bench" ws "$@"; }
field() { echo "$2" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
# The negotiated extension (deflate=...) must match what the row expects: off, no-context (server_no_context_takeover)
# or context (without it).
check_mode() {  # expected output label
    local got; got=$(field deflate "$2")
    local ok=1
    case "$1" in
        off) [ "$got" = off ] || [ "$got" = - ] || ok=0 ;;
        no-context) [[ "$got" == on*server_no_context_takeover* ]] || ok=0 ;;
        context) [[ "$got" == on* && "$got" != *server_no_context_takeover* ]] || ok=0 ;;
    esac
    [ "$ok" = 1 ] || { echo "$3: negotiated '$got', expected $1" >&2; exit 1; }
}
offer() {  # browser | no-context | off -> client flags
    case "$1" in browser) echo "--compression --context" ;; no-context) echo "--compression" ;; off) echo "" ;; esac
}

# Rows: label | server | client offer | expected mode
idle_rows=(
    "agora, compression off|agora --no-compression|off|off"
    "agora, default|agora|browser|no-context"
    "agora --server-context|agora --server-context|browser|context"
    "node ws, off|node|off|off"
    "node ws, perMessageDeflate|node-deflate|browser|context"
)
traffic_rows=(
    "agora, compression off|agora --no-compression|off|off"
    "agora, default|agora|browser|no-context"
    "agora --server-context|agora --server-context|browser|context"
    "agora --server-context --window-bits 10|agora --server-context --window-bits 10|browser|context"
    "node ws, off|node|off|off"
    "node ws, perMessageDeflate|node-deflate|browser|context"
    "node ws, perMessageDeflate, no-context offer|node-deflate|no-context|no-context"
)
after_use_rows=(
    "agora, compression off|agora --no-compression|off|off"
    "agora, default|agora|browser|no-context"
    "agora --server-context|agora --server-context|browser|context"
    "agora --server-context --window-bits 10|agora --server-context --window-bits 10|browser|context"
    "node ws, perMessageDeflate|node-deflate|browser|context"
)

if [[ "$skip" != *" idle "* ]]; then
    printf '\n%-48s %10s %14s\n' "idle ($idle connections)" held "rss_KiB/conn"
    for row in "${idle_rows[@]}"; do
        IFS='|' read -r label server mode expect <<<"$row"
        start_server "$server"
        before=$(rss_kib "$server_pid")
        half=$((idle / 2))
        out1=$(mktemp); out2=$(mktemp)
        # shellcheck disable=SC2046
        client idle --port "$port" $(offer "$mode") --connections "$half" --hold 12 >"$out1" 2>&1 &
        c1=$!
        # shellcheck disable=SC2046
        client idle --port "$port" $(offer "$mode") --connections "$((idle - half))" --hold 12 >"$out2" 2>&1 &
        c2=$!
        for _ in $(seq 1 1200); do
            grep -q '^ready' "$out1" && grep -q '^ready' "$out2" && break
            if ! kill -0 "$c1" 2>/dev/null && ! grep -q '^ready' "$out1"; then break; fi
            if ! kill -0 "$c2" 2>/dev/null && ! grep -q '^ready' "$out2"; then break; fi
            sleep 0.1
        done
        sleep 2
        after=$(rss_kib "$server_pid")
        h1=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$out1" | head -1)
        h2=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$out2" | head -1)
        held=$(( ${h1:-0} + ${h2:-0} ))
        [ "$held" -gt 0 ] || { echo "idle clients failed:" >&2; cat "$out1" "$out2" >&2; exit 1; }
        check_mode "$expect" " $(grep '^ready' "$out1")" "$label"
        wait "$c1" "$c2" 2>/dev/null || true
        rm -f "$out1" "$out2"
        printf '%-48s %10s %14s\n' "$label" "$held" "$(echo "scale=2; ($after - $before) / $held" | bc)"
        stop_server
    done
fi

if [[ "$skip" != *" broadcast "* ]]; then
    printf '\n%-48s %12s %10s %10s %18s %18s %12s %12s\n' "broadcast (1000 receivers, $messages events)" deliveries/s p50_ms p99_ms server_us/delivery client_us/delivery payload_B wire_B
    for row in "${traffic_rows[@]}"; do
        IFS='|' read -r label server mode expect <<<"$row"
        start_server "$server"
        # shellcheck disable=SC2046
        out=$(client broadcast --port "$port" $(offer "$mode") --receivers 1000 --messages "$messages" --payload events --server-pid "$server_pid")
        check_mode "$expect" "$out" "$label"
        [ "$(field messages "$out")" = "$(field expected "$out")" ] || { echo "$label: $out" >&2; exit 1; }
        printf '%-48s %12s %10s %10s %18s %18s %12s %12s\n' "$label" "$(field per_second "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
            "$(field server_us_per_delivery "$out")" "$(field client_us_per_delivery "$out")" "$(field payload_bytes_per_delivery "$out")" \
            "$(field wire_bytes_per_delivery "$out")"
        stop_server
    done
fi

if [[ "$skip" != *" session "* ]]; then
    printf '\n%-48s %10s %10s %10s %14s %12s %10s %12s %12s\n' "session (50 connections x $sessions sessions)" msgs/s p50_ms p99_ms server_us/msg payload_B/msg wire_B/msg wire_ratio KiB/session
    for row in "${traffic_rows[@]}"; do
        IFS='|' read -r label server mode expect <<<"$row"
        start_server "$server"
        # shellcheck disable=SC2046
        out=$(client session --port "$port" $(offer "$mode") --connections 50 --sessions "$sessions" --server-pid "$server_pid")
        check_mode "$expect" "$out" "$label"
        printf '%-48s %10s %10s %10s %14s %12s %10s %12s %12s\n' "$label" "$(field per_second "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
            "$(field server_us_per_msg "$out")" "$(field payload_bytes_per_msg "$out")" "$(field wire_bytes_per_msg "$out")" \
            "$(field wire_ratio "$out")" "$(field wire_kib_per_session "$out")"
        [ -z "${VERBOSE:-}" ] || echo "  $out (server wchar/msg $(field server_wchar_per_msg "$out"))"
        stop_server
    done
fi

if [[ "$skip" != *" after-use "* ]]; then
    printf '\n%-48s %10s %14s %18s\n' "after use (2000 connections, 5 messages each)" held "rss_KiB/conn" "45s_later_KiB/conn"
    for row in "${after_use_rows[@]}"; do
        IFS='|' read -r label server mode expect <<<"$row"
        start_server "$server"
        before=$(rss_kib "$server_pid")
        later=0
        [[ "$server" == *--server-context* && "$server" != *window-bits* ]] && later=1
        hold=$([ "$later" = 1 ] && echo 52 || echo 5)
        out1=$(mktemp)
        # shellcheck disable=SC2046
        client idle --port "$port" $(offer "$mode") --connections 2000 --messages 5 --hold "$hold" >"$out1" 2>&1 &
        c1=$!
        for _ in $(seq 1 1200); do
            grep -q '^ready' "$out1" && break
            kill -0 "$c1" 2>/dev/null || break
            sleep 0.1
        done
        sleep 2
        after=$(rss_kib "$server_pid")
        held=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$out1" | head -1)
        [ "${held:-0}" -gt 0 ] || { echo "after-use client failed:" >&2; cat "$out1" >&2; exit 1; }
        check_mode "$expect" " $(grep '^ready' "$out1")" "$label"
        per=$(echo "scale=2; ($after - $before) / $held" | bc)
        per_later=-
        if [ "$later" = 1 ]; then
            sleep 45
            per_later=$(echo "scale=2; ($(rss_kib "$server_pid") - $before) / $held" | bc)
        fi
        wait "$c1" 2>/dev/null || true
        rm -f "$out1"
        printf '%-48s %10s %14s %18s\n' "$label" "$held" "$per" "$per_later"
        stop_server
    done
fi
