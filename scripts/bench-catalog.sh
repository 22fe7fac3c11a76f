#!/usr/bin/env bash
# Catalog benchmark: search, category listings and the feed over 100,000 products and 10,000 accounts
# (bench/catalog/seed.sql), at concurrency 16; then a cached product detail against a constant route (the
# framework's ceiling here), with the cache hit ratio; then the EXPLAIN plans behind the figures.
#
#   scripts/bench-catalog.sh [seconds-per-run]      (default 10)
#
# The server (release build) is pinned to CPU 0 and wrk to CPU 1; PostgreSQL and Redis float. Besides wrk's
# figures it prints the server's CPU time per request and PostgreSQL's (all its processes), from /proc.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-10}"
port=9300

command -v wrk >/dev/null || { sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq wrk >/dev/null; }
scripts/services.sh start >/dev/null
scripts/services.sh createdb agora_catalog_bench >/dev/null
eval "$(scripts/services.sh env agora_catalog_bench)"
swift build -c release --scratch-path .build-release --product agora 2>&1 | grep -E "error|Compiling" || true
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
"$bin/agora" migrate >/dev/null
echo "Seeding (once): 100,000 products, 10,000 accounts, 300,000 likes, 54,000 follows"
time_start=$(date +%s)
psql "$AGORA_DATABASE_URL" -q -f bench/catalog/seed.sql 2>&1 | grep -v "only superuser can analyze" || true
echo "  seeded in $(( $(date +%s) - time_start ))s"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() { local t=0; for pid in $(pgrep -f "postgres" || true); do [ -r "/proc/$pid/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; echo $t; }

server_pid=""
start_server() {  # cache-ttl-ms
    stop_server
    AGORA_PORT=$port AGORA_RATE_LIMITS=false AGORA_LOG_LEVEL=error AGORA_REDIS_PREFIX="agora-catalog-bench:" \
        AGORA_CACHE_TTL_MS="$1" AGORA_DATA_DIR=.local/bench-data AGORA_DB_POOL_SIZE=16 \
        taskset -c 0 "$bin/agora" serve >.local/bench-catalog-server.log 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "server did not start; its output:" >&2; cat .local/bench-catalog-server.log >&2; exit 1
}
stop_server() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""; fi; }
trap stop_server EXIT

header() { printf '%-40s %10s %10s %10s %14s %10s %8s\n' run "req/s" p50 p99 "server_us/req" "pg_us/req" non2xx; }
run_wrk() {  # label wrk-args...
    local label=$1; shift
    local t0 t1 g0 g1 out rps p50 p99 total non2xx
    t0=$(cpu_ticks "$server_pid"); g0=$(pg_ticks)
    out=$(taskset -c 1 wrk --latency "$@")
    t1=$(cpu_ticks "$server_pid"); g1=$(pg_ticks)
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    total=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
    non2xx=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
    printf '%-40s %10s %10s %10s %14s %10s %8s\n' "$label" "$rps" "$p50" "$p99" \
        "$(echo "scale=1; ($t1 - $t0) * 1000000 / $ticks / ($total + 0.0001)" | bc)" \
        "$(echo "scale=1; ($g1 - $g0) * 1000000 / $ticks / ($total + 0.0001)" | bc)" "${non2xx:-0}"
}

start_server 0
# The feed reader follows 1,000 of the 3,000 sellers.
reader="benchreader"
curl -s -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/auth/register" \
    -d "{\"email\":\"$reader@bench.local\",\"username\":\"$reader\",\"displayName\":\"Reader\",\"password\":\"correct horse battery\"}"
psql "$AGORA_DATABASE_URL" -q -c "
    INSERT INTO follows (follower_id, followee_id)
    SELECT r.id, s.id FROM accounts s, (SELECT id FROM accounts WHERE username = '$reader') r
    WHERE s.role = 'seller' ORDER BY s.id LIMIT 1000
    ON CONFLICT DO NOTHING;"
token=$(curl -sf -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/auth/login" \
    -d "{\"email\":\"$reader@bench.local\",\"password\":\"correct horse battery\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
psql "$AGORA_DATABASE_URL" -Atc "SELECT id FROM products ORDER BY like_count DESC LIMIT 200" > .local/bench-catalog-ids.txt

echo
echo "Database path (cache off), c=16, ${seconds}s per run; server on CPU 0, wrk on CPU 1"
header
run_wrk "search (15 terms, 3 with typos)" -t1 -c16 -d"${seconds}s" -s bench/catalog/search.lua "http://127.0.0.1:$port"
run_wrk "category listing (root+descendants|leaf)" -t1 -c16 -d"${seconds}s" -s bench/catalog/category.lua "http://127.0.0.1:$port"
run_wrk "feed (follows 1,000 sellers)" -t1 -c16 -d"${seconds}s" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/feed?limit=24"
run_wrk "product detail (200 products)" -t1 -c16 -d"${seconds}s" -s bench/catalog/detail.lua "http://127.0.0.1:$port"

start_server 10000
hits() { curl -s "http://127.0.0.1:$port/metrics" | awk -v r="$1" '$1 ~ "agora_catalog_cache_lookups" && $1 ~ "result=\""r"\"" {print $2}'; }
echo
echo "Cache on (TTL 10 s), c=16, ${seconds}s per run"
header
run_wrk "constant route (GET /health)" -t1 -c16 -d"${seconds}s" "http://127.0.0.1:$port/health"
h0=$(hits hit); m0=$(hits miss)
run_wrk "product detail, cached (200 products)" -t1 -c16 -d"${seconds}s" -s bench/catalog/detail.lua "http://127.0.0.1:$port"
h1=$(hits hit); m1=$(hits miss)
echo "  cache hit ratio during that run: $(echo "scale=4; (${h1:-0} - ${h0:-0}) / ((${h1:-0} - ${h0:-0}) + (${m1:-0} - ${m0:-0}) + 0.0001)" | bc)"
run_wrk "category listing, cached first pages" -t1 -c16 -d"${seconds}s" -s bench/catalog/category.lua "http://127.0.0.1:$port"
stop_server

echo
echo "Plans (EXPLAIN ANALYZE) of the statements behind these figures:"
# Long lines (the feed's 1,000 bound ids) are cut.
psql "$AGORA_DATABASE_URL" -q -f bench/catalog/explain.sql 2>&1 | grep -E "^==|Index|Scan on|Execution Time|Sort Method|Filter" | cut -c1-160 || true
