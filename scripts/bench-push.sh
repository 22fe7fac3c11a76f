#!/usr/bin/env bash
# Web Push latency: from an order's payment to the seller's push arriving at a local push service
# (Tests/interop/push_service.py: it verifies the VAPID token and decrypts the payload of every push, as a browser's
# push service and browser would), over PUSH_ORDERS orders (200), one after another; beside it, the same orders' live
# notice on an open socket (the floor: the same payment, relay and notice, no push); and the size of a product's share
# page (GET /p/<slug>), raw and gzip'd.
#
#   scripts/bench-push.sh                 # release build (.build-release); AGORA_BENCH_DEBUG=1 uses the debug build
#
# The server is pinned to CPU 0, the client and the push service to CPU 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=9320
db=agora_push_bench
python="${AGORA_INTEROP_PYTHON:-$(scripts/interop-deps.sh)}"

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env "$db")"
psql "${AGORA_DATABASE_URL%%/$db*}/postgres" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
scripts/services.sh createdb "$db" >/dev/null
if [ "${AGORA_BENCH_DEBUG:-0}" = 1 ]; then
    swift build --product agora 2>&1 | grep -E "error" || true
    bin="$(swift build --show-bin-path)"
else
    swift build -c release --scratch-path .build-release --product agora 2>&1 | grep -E "error" || true
    bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
fi
work="$(mktemp -d)"
taskset -c 1 "$python" Tests/interop/push_service.py --ready "$work/push-port" --record "$work/pushes.jsonl" > "$work/push.log" 2>&1 &
push=$!
for _ in $(seq 100); do [ -s "$work/push-port" ] && break; sleep 0.1; done
service="http://127.0.0.1:$(cat "$work/push-port")"
export AGORA_PORT=$port AGORA_DATA_DIR="$work/data" AGORA_RATE_LIMITS=false AGORA_LOG_LEVEL=warning AGORA_BCRYPT_COST=4 \
    AGORA_MAIL_DISPATCH=false AGORA_PUBLIC_URL="http://127.0.0.1:$port" AGORA_REDIS_PREFIX="agora-bench-push:" \
    AGORA_PUSH_HOSTS=127.0.0.1 AGORA_PUSH_ALLOW_HTTP=true
taskset -c 0 "$bin/agora" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server $push 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done

api() { curl -fsS -H 'Content-Type: application/json' "$@"; }
token() { python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'; }
api -X POST "http://127.0.0.1:$port/api/auth/register" -d '{"email":"seller@bench.test","username":"pushseller","password":"correct horse battery","displayName":"Seller"}' >/dev/null
psql "$AGORA_DATABASE_URL" -qc "UPDATE accounts SET role = 'seller', email_verified_at = now() WHERE username = 'pushseller'"
seller=$(api -X POST "http://127.0.0.1:$port/api/auth/login" -d '{"email":"seller@bench.test","password":"correct horse battery"}' | token)
product=$(api -X POST "http://127.0.0.1:$port/api/products" -H "Authorization: Bearer $seller" \
    -d '{"title":"Hand-thrown stoneware bowl","description":"Glazed in celadon, fired to 1280 °C. Food and dishwasher safe.","price":{"amount":45000,"currency":"ZAR"},"stock":1000000}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
slug=$(api -X POST "http://127.0.0.1:$port/api/products/$product/publish" -H "Authorization: Bearer $seller" | python3 -c 'import json,sys; print(json.load(sys.stdin)["slug"])')
buyer=$(api -X POST "http://127.0.0.1:$port/api/auth/register" -d '{"email":"b@bench.test","username":"pushbuyer","password":"correct horse battery","displayName":"B"}' | token)

echo "push after payment:                $(cd bench/push && taskset -c 1 "$python" push_latency.py "http://127.0.0.1:$port" "$seller" "$buyer" "$product" "${PUSH_ORDERS:-200}" "$service" "$work/pushes.jsonl")"
# The same path to a seller with a socket open (no push then: the socket tells them): the floor a push builds on.
echo "socket notice after payment (floor): $(cd bench/commerce && taskset -c 1 "$python" order_notice.py "http://127.0.0.1:$port" "$seller" "$buyer" "$product" "${PUSH_ORDERS:-200}")"
raw=$(curl -fsS "http://127.0.0.1:$port/p/$slug" | wc -c)
gzipped=$(curl -fsS "http://127.0.0.1:$port/p/$slug" | gzip -9 | wc -c)
echo "share page /p/$slug: $raw bytes, $gzipped gzip'd"
