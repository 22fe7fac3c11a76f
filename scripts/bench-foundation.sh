#!/usr/bin/env bash
# Foundation benchmark: Agora's libpq pool against pgbench -S and postgres-nio (bench/pgnio-peer, the Swift peer),
# and its hiredis client against redis-benchmark, on the same local servers. Clients (ours and the reference tools)
# are pinned to the same CPU with taskset so they get equal shares of this 2-core machine; the servers run unpinned.
# Beside each client's rate: its CPU time per operation (user + system, from GNU time).
#
#   scripts/bench-foundation.sh [--only postgres|redis] [seconds-per-run]      (default 5)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
only=""
if [ "${1:-}" = "--only" ]; then only="$2"; shift 2; fi
seconds="${1:-5}"
client_cpu="${AGORA_BENCH_CLIENT_CPU:-1}"
levels=(1 8 64)

scripts/services.sh start
scripts/services.sh createdb agora_bench
eval "$(scripts/services.sh env agora_bench)"
pg_port="${AGORA_LOCAL_PG_PORT:-55432}"
redis_port="${AGORA_LOCAL_REDIS_PORT:-56379}"
export PGPASSWORD=agora
pgbench_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pgbench"
"$pgbench_bin" -h 127.0.0.1 -p "$pg_port" -U agora -i -s 1 -q agora_bench >/dev/null 2>&1

swift build -c release --scratch-path .build-release --product agora-bench >/dev/null
bench="$(swift build -c release --scratch-path .build-release --show-bin-path)/agora-bench"
pin() { taskset -c "$client_cpu" "$@"; }
# Runs a client under GNU time; prints its output, then "cpu=<user+sys seconds>".
timed() { local t; t="$(mktemp)"; pin /usr/bin/time -f '%U %S' -o "$t" "$@"; awk '{printf "cpu=%.3f\n", $1 + $2}' "$t"; rm -f "$t"; }
# CPU microseconds per operation: cpu seconds, rate, measured seconds plus the 1 s warm-up both clients run.
per_op() { echo "$1 * 1000000 / ($2 * ($seconds + 1))" | bc -l; }

if [ "$only" != redis ]; then
peer_dir=bench/pgnio-peer
swift build -c release --package-path "$peer_dir" >/dev/null
peer="$(swift build -c release --package-path "$peer_dir" --show-bin-path)/PostgresNIOBench"

echo "PostgreSQL one-row SELECT by key (queries/s), ${seconds}s per run, clients on CPU $client_cpu; agora and"
echo "postgres-nio with one connection per client (as pgbench), and agora with 16 connections pipelined 4 deep"
printf '%-6s %9s %9s %9s %9s %7s %7s %7s %9s %9s\n' c agora pgbench pg-nio agora16 x-pgb x-nio x16-pgb agora-us nio-us
for c in "${levels[@]}"; do
    out=$(timed "$bench" postgres --url "$AGORA_DATABASE_URL" --concurrency "$c" --seconds "$seconds")
    ours=$(echo "$out" | sed -n 's/.*qps=//p'); ours_cpu=$(echo "$out" | sed -n 's/^cpu=//p')
    out=$(timed "$bench" postgres --url "$AGORA_DATABASE_URL" --concurrency "$c" --seconds "$seconds" --pool $((c < 16 ? c : 16)))
    ours16=$(echo "$out" | sed -n 's/.*qps=//p')
    ref=$(pin "$pgbench_bin" -h 127.0.0.1 -p "$pg_port" -U agora -S -n -c "$c" -j 1 -T "$((${seconds%.*} + 1))" agora_bench 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
    out=$(timed "$peer" 127.0.0.1 "$pg_port" agora agora agora_bench "$c" "$seconds")
    nio=$(echo "$out" | sed -n 's/.*qps=//p'); nio_cpu=$(echo "$out" | sed -n 's/^cpu=//p')
    printf '%-6s %9s %9.0f %9s %9s %7.2f %7.2f %7.2f %9.1f %9.1f\n' "$c" "$ours" "$ref" "$nio" "$ours16" \
        "$(echo "$ours / $ref" | bc -l)" "$(echo "$ours / $nio" | bc -l)" "$(echo "$ours16 / $ref" | bc -l)" \
        "$(per_op "$ours_cpu" "$ours")" "$(per_op "$nio_cpu" "$nio")"
done
fi
[ "$only" = postgres ] && exit 0

echo
echo "Redis GET (ops/s), clients on CPU $client_cpu"
printf '%-12s %12s %16s %8s\n' concurrency agora redis-benchmark ratio
for c in "${levels[@]}"; do
    ours=$(pin "$bench" redis --url "$AGORA_REDIS_URL" --concurrency "$c" --seconds "$seconds" | sed -n 's/.*ops=//p')
    ref=$(pin redis-benchmark -p "$redis_port" -t get -c "$c" -n $((c < 8 ? 100000 : 400000)) -q 2>/dev/null \
        | tr '\r' '\n' | sed -n 's/^GET: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
    printf '%-12s %12s %16.0f %8.2f\n' "$c" "$ours" "$ref" "$(echo "$ours / $ref" | bc -l)"
done
