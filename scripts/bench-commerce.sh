#!/usr/bin/env bash
# Commerce benchmark: checkouts per second end to end (add to cart -> POST /api/checkout -> the simulated payment
# page's "pay", which signs the event and runs the same webhook handling a provider's delivery does -> paid), at
# concurrency 1, 16 and 64, each worker a buyer on its own keep-alive connection buying one unit of one product.
#
#   scripts/bench-commerce.sh [seconds-per-run] [concurrencies]      (defaults: 10, "1 16 64")
#
# Then the seller's live order notice latency after the webhook (NOTICE_ORDERS orders, 200), alone and under load.
#
# The server (release build) is pinned to CPU 0 and the client to CPU 1; PostgreSQL floats. Besides the client's
# figures it prints the server's and PostgreSQL's CPU time per checkout, from /proc, which the client cannot cap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-10}"
levels="${2:-1 16 64}"
port=9310
db=agora_commerce_bench

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env "$db")"
psql "${AGORA_DATABASE_URL%%/$db*}/postgres" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
scripts/services.sh createdb "$db" >/dev/null
swift build -c release --scratch-path .build-release --product agora 2>&1 | grep -E "error" || true
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
work="$(mktemp -d)"
export AGORA_PORT=$port AGORA_DATA_DIR="$work/data" AGORA_RATE_LIMITS=false AGORA_LOG_LEVEL=warning AGORA_BCRYPT_COST=4 \
    AGORA_MAIL_DISPATCH=false AGORA_DB_POOL_SIZE=32 AGORA_DB_PREPARED_STATEMENTS="${AGORA_DB_PREPARED_STATEMENTS:-1000}" AGORA_PUBLIC_URL="http://127.0.0.1:$port" AGORA_REDIS_PREFIX="agora-bench-commerce:"
taskset -c 0 "$bin/agora" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done

api() { curl -fsS -H 'Content-Type: application/json' "$@"; }
token() { python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'; }
# A seller with one product of ample stock; 64 buyers.
api -X POST "http://127.0.0.1:$port/api/auth/register" -d '{"email":"seller@bench.test","username":"benchseller","password":"correct horse battery","displayName":"Seller"}' >/dev/null
psql "$AGORA_DATABASE_URL" -qc "UPDATE accounts SET role = 'seller', email_verified_at = now() WHERE username = 'benchseller'"
seller=$(api -X POST "http://127.0.0.1:$port/api/auth/login" -d '{"email":"seller@bench.test","password":"correct horse battery"}' | token)
product=$(api -X POST "http://127.0.0.1:$port/api/products" -H "Authorization: Bearer $seller" \
    -d '{"title":"Bench widget","price":{"amount":12999,"currency":"ZAR"},"stock":1000000}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -X POST "http://127.0.0.1:$port/api/products/$product/publish" -H "Authorization: Bearer $seller" >/dev/null
: > "$work/buyers"
for i in $(seq 64); do
    api -X POST "http://127.0.0.1:$port/api/auth/register" -d "{\"email\":\"b$i@bench.test\",\"username\":\"benchbuyer$i\",\"password\":\"correct horse battery\",\"displayName\":\"B$i\"}" | token >> "$work/buyers"
done

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() { local t=0; for pid in $(pgrep -f "postgres" || true); do [ -r "/proc/$pid/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; echo $t; }

printf '%-6s %10s %10s %9s %9s %14s %14s %7s\n' conc checkouts "per s" "p50 ms" "p99 ms" "server ms/co" "postgres ms/co" errors
for c in $levels; do
    s0=$(cpu_ticks $server); p0=$(pg_ticks)
    out=$(taskset -c 1 python3 bench/commerce/checkout_load.py "http://127.0.0.1:$port" - "$work/buyers" "$product" "$c" "$seconds")
    s1=$(cpu_ticks $server); p1=$(pg_ticks)
    python3 - "$out" "$((s1 - s0))" "$((p1 - p0))" "$ticks" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); server, pg, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
n = max(r["checkouts"], 1)
# The CPU figures include the 1 s warm-up's checkouts, so they are per checkout of the whole run (a slight overestimate).
print(f'{r["concurrency"]:<6} {r["checkouts"]:>10} {r["per_second"]:>10} {r["p50_ms"]:>9} {r["p99_ms"]:>9} {server * 1000 / hz / n:>14.2f} {pg * 1000 / hz / n:>14.2f} {r["errors"]:>7}')
if r["errors"]: print("   first errors:", r["first_errors"])
PY
done
# The seller's live order notice: from sending the payment webhook to `notification:new` on the seller's socket
# (LISTEN/NOTIFY wakes the relay at the commit; AGORA_RELAY_INTERVAL_MS is only the safety net). Once alone, once
# beside a checkout load at concurrency 16.
notice() { (cd bench/commerce && taskset -c 1 python3 order_notice.py "http://127.0.0.1:$port" "$seller" "$(sed -n 64p "$work/buyers")" "$product" "${NOTICE_ORDERS:-200}"); }
echo "order notice after the webhook, alone:            $(notice)"
taskset -c 1 python3 bench/commerce/checkout_load.py "http://127.0.0.1:$port" - <(head -16 "$work/buyers") "$product" 16 "$seconds" >/dev/null &
load=$!
echo "order notice after the webhook, beside c=16 load:  $(notice)"
wait $load || true
echo "stock left: $(psql "$AGORA_DATABASE_URL" -Atc "SELECT stock || ' (reserved ' || reserved || ')' FROM products")," \
     "paid orders: $(psql "$AGORA_DATABASE_URL" -Atc "SELECT count(*) FROM orders WHERE status = 'paid'")"
