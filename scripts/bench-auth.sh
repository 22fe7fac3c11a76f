#!/usr/bin/env bash
# Accounts benchmark: logins per second at bcrypt cost 12, and what authentication plus rate limiting add to the
# latency of a cheap route. Also checks that a failed login takes as long for an unknown email as for a wrong
# password.
#
#   scripts/bench-auth.sh [seconds-per-run]      (default 10)
#
# The server (`agora serve`, release build) runs pinned to CPU 0 and wrk to CPU 1. Besides wrk's figures it prints
# the server's CPU time per request, read from /proc/PID/stat, which the client cannot cap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-10}"
port=9200

command -v wrk >/dev/null || { sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq wrk >/dev/null; }
scripts/services.sh start >/dev/null
scripts/services.sh createdb agora_bench >/dev/null
eval "$(scripts/services.sh env agora_bench)"
swift build -c release --scratch-path .build-release --product agora >/dev/null
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

server_pid=""
start_server() {  # rate-limits(true|false) cpus
    stop_server
    AGORA_PORT=$port AGORA_RATE_LIMITS="$1" AGORA_RATE_LIMIT_GENERAL=1000000 AGORA_RATE_LIMIT_AUTH=1000000 \
        AGORA_BCRYPT_COST=12 AGORA_LOG_LEVEL=error AGORA_REDIS_PREFIX="agora-bench:" AGORA_REFRESH_TOKEN_TTL=600 \
        AGORA_DATA_DIR=.local/bench-data taskset -c "$2" "$bin/agora" serve >.local/bench-auth-server.log 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "server did not start; its output:" >&2; cat .local/bench-auth-server.log >&2; exit 1
}
stop_server() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""; fi; }
trap stop_server EXIT

# run_wrk label cpu-for-wrk wrk-args... : prints requests/s, p50, p99 and server CPU per request
run_wrk() {
    local label=$1; shift
    local t0 t1 out rps p50 p99 total
    t0=$(cpu_ticks "$server_pid")
    out=$(taskset -c 1 wrk --latency "$@")
    t1=$(cpu_ticks "$server_pid")
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    total=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
    non2xx=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
    printf '%-34s %10s %10s %10s %14s %8s\n' "$label" "$rps" "$p50" "$p99" \
        "$(echo "scale=1; ($t1 - $t0) * 1000000 / $ticks / ($total + 0.0001)" | bc)" "${non2xx:-0}"
}

user="bench$(date +%s)"
export BENCH_EMAIL="$user@example.com" BENCH_PASSWORD="correct horse battery staple"
start_server false 0
curl -sf -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/auth/register" \
    -d "{\"email\":\"$BENCH_EMAIL\",\"username\":\"$user\",\"displayName\":\"Bench\",\"password\":\"$BENCH_PASSWORD\"}"
token=$(curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/auth/login" \
    -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

echo "Logins (POST /api/auth/login, bcrypt cost 12), ${seconds}s per run; server on CPU 0, wrk on CPU 1"
printf '%-34s %10s %10s %10s %14s %8s\n' run "req/s" p50 p99 "server_us/req" non2xx
run_wrk "login, server on 1 core, c=4" -t1 -c4 -d"${seconds}s" -s bench/auth/login.lua "http://127.0.0.1:$port/api/auth/login"
start_server false 0,1
run_wrk "login, server on 2 cores, c=4" -t1 -c4 -d"${seconds}s" -s bench/auth/login.lua "http://127.0.0.1:$port/api/auth/login"
start_server false 0
echo
echo "Failed-login timing (unknown email vs wrong password, medians)"
python3 bench/auth/login_timing.py "$port" "$BENCH_EMAIL" 15

echo
echo "GET /api/users/$user (one indexed SELECT), one connection, ${seconds}s per run"
printf '%-34s %10s %10s %10s %14s %8s\n' run "req/s" p50 p99 "server_us/req" non2xx
run_wrk "anonymous, no rate limit" -t1 -c1 -d"${seconds}s" "http://127.0.0.1:$port/api/users/$user"
start_server true 0
run_wrk "anonymous, rate limited" -t1 -c1 -d"${seconds}s" "http://127.0.0.1:$port/api/users/$user"
run_wrk "bearer token + rate limited" -t1 -c1 -d"${seconds}s" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/users/$user"
