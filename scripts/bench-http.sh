#!/usr/bin/env bash
# HTTP request path: server CPU per request of `agora serve` against a bare Hummingbird app (bench/hummingbird-bare,
# its own package, the same Hummingbird) answering the same route, in one run.
#
#   scripts/bench-http.sh [seconds-per-run] [rounds]      (defaults: 8, 3)
#
# Each server (release build) is pinned to CPU 0 and wrk (-t1 -c16, keep-alive) to CPU 1. The figure that matters is
# the server's CPU time per request, read from /proc, which the load generator cannot cap; requests/s is beside it.
# Agora runs as `agora serve` would in production (access log at info, to a file; metrics on), rate limits off so
# that every request is answered 200 rather than 429. Routes: GET /health (no I/O), GET /styles.css (a static file
# with its ETag), GET /api/products/<id> (an anonymous product page, from the Redis cache after the first request),
# GET /api/categories (an anonymous listing from PostgreSQL). Medians over the rounds; rounds alternate the servers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-8}"
rounds="${2:-3}"
port=9320
bare_port=9321
db=agora_http_bench
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env "$db")"
psql "${AGORA_DATABASE_URL%%/$db*}/postgres" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
scripts/services.sh createdb "$db" >/dev/null
swift build -c release --scratch-path .build-release --product agora 2>&1 | grep -E "error" || true
swift build -c release --package-path bench/hummingbird-bare 2>&1 | grep -E "error" || true
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/agora"
bare="$(swift build -c release --package-path bench/hummingbird-bare --show-bin-path)/BareHummingbird"
work="$(mktemp -d)"
export AGORA_PORT=$port AGORA_DATA_DIR="$work/data" AGORA_RATE_LIMITS=false AGORA_BCRYPT_COST=4 AGORA_MAIL_DISPATCH=false \
    AGORA_PUBLIC_URL="http://127.0.0.1:$port" AGORA_REDIS_PREFIX="agora-bench-http:"
taskset -c 0 "$bin" serve > "$work/agora.log" 2>&1 &
agora=$!
taskset -c 0 "$bare" $bare_port > "$work/bare.log" 2>&1 &
bare_pid=$!
trap 'kill $agora $bare_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$bare_port/health" >/dev/null 2>&1 && break; sleep 0.1; done

# One published product to show.
api() { curl -fsS -H 'Content-Type: application/json' "$@"; }
api -X POST "http://127.0.0.1:$port/api/auth/register" -d '{"email":"seller@bench.test","username":"benchseller","password":"correct horse battery","displayName":"Seller"}' >/dev/null
psql "$AGORA_DATABASE_URL" -qc "UPDATE accounts SET role = 'seller', email_verified_at = now() WHERE username = 'benchseller'"
seller=$(api -X POST "http://127.0.0.1:$port/api/auth/login" -d '{"email":"seller@bench.test","password":"correct horse battery"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
product=$(api -X POST "http://127.0.0.1:$port/api/products" -H "Authorization: Bearer $seller" \
    -d '{"title":"Bench widget","description":"A widget to measure the request path with.","price":{"amount":12999,"currency":"ZAR"},"stock":10}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -X POST "http://127.0.0.1:$port/api/products/$product/publish" -H "Authorization: Bearer $seller" >/dev/null

routes=("bare /health|$bare_pid|http://127.0.0.1:$bare_port/health"
        "agora /health|$agora|http://127.0.0.1:$port/health"
        "agora /styles.css|$agora|http://127.0.0.1:$port/styles.css"
        "agora /api/products/:id|$agora|http://127.0.0.1:$port/api/products/$product"
        "agora /api/categories|$agora|http://127.0.0.1:$port/api/categories")
for entry in "${routes[@]}"; do
    IFS='|' read -r name _ url <<<"$entry"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
    [ "$code" = 200 ] || { echo "$name answers $code, not 200" >&2; exit 1; }
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# run PID URL -> "requests/s µs-per-request"
run() {
    local pid=$1 url=$2 before after out
    taskset -c 1 wrk -t1 -c16 -d1s "$url" >/dev/null 2>&1  # warm-up
    before=$(ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c16 -d"${seconds}s" "$url" 2>&1)
    after=$(ticks "$pid")
    python3 - "$out" "$before" "$after" "$hz" "$url" <<'PY'
import re, sys
out, before, after, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
requests = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if bad: print(f"warning: {bad.group(1)} non-2xx answers from {sys.argv[5]}", file=sys.stderr)
print(f"{rate:.0f} {(after - before) / hz * 1e6 / requests:.1f}")
PY
}

declare -A rates cpus
for round in $(seq "$rounds"); do
    for entry in "${routes[@]}"; do
        IFS='|' read -r name pid url <<<"$entry"
        read -r rate cpu < <(run "$pid" "$url")
        rates[$name]+="$rate "
        cpus[$name]+="$cpu "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
bare_cpu=$(echo "${cpus[bare /health]}" | median)
echo "HTTP request path, wrk -t1 -c16 on CPU 1, servers on CPU 0, ${seconds}s x $rounds rounds (medians; all rounds in brackets)"
printf '%-26s %10s %14s %10s   %s\n' route "req/s" "µs CPU/req" "vs bare" "µs CPU/req per round"
for entry in "${routes[@]}"; do
    IFS='|' read -r name _ _ <<<"$entry"
    cpu=$(echo "${cpus[$name]}" | median)
    printf '%-26s %10s %14s %9.2fx   [%s]\n' "$name" "$(echo "${rates[$name]}" | median)" "$cpu" "$(echo "$cpu / $bare_cpu" | bc -l)" "${cpus[$name]% }"
done
