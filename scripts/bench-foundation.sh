#!/usr/bin/env bash
# Foundation benchmark: Agora's libpq pool against pgbench -S, and its hiredis pool against redis-benchmark,
# on the same local servers. Clients (ours and the reference tools) are pinned to the same CPU with taskset so
# they get equal shares of this 2-core machine; the servers run unpinned.
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

if [ "$only" != redis ]; then
echo "PostgreSQL one-row SELECT by key (queries/s), ${seconds}s per run, clients on CPU $client_cpu"
printf '%-12s %12s %12s %8s\n' concurrency agora pgbench ratio
for c in "${levels[@]}"; do
    ours=$(pin "$bench" postgres --url "$AGORA_DATABASE_URL" --concurrency "$c" --seconds "$seconds" | sed -n 's/.*qps=//p')
    ref=$(pin "$pgbench_bin" -h 127.0.0.1 -p "$pg_port" -U agora -S -n -c "$c" -j 1 -T "$((${seconds%.*} + 1))" agora_bench 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
    printf '%-12s %12s %12.0f %8.2f\n' "$c" "$ours" "$ref" "$(echo "$ours / $ref" | bc -l)"
done
echo
fi

[ "$only" = postgres ] && exit 0
echo "Redis GET (ops/s), clients on CPU $client_cpu"
printf '%-12s %12s %16s %8s\n' concurrency agora redis-benchmark ratio
for c in "${levels[@]}"; do
    ours=$(pin "$bench" redis --url "$AGORA_REDIS_URL" --concurrency "$c" --seconds "$seconds" | sed -n 's/.*ops=//p')
    ref=$(pin redis-benchmark -p "$redis_port" -t get -c "$c" -n $((c < 8 ? 100000 : 400000)) -q 2>/dev/null \
        | tr '\r' '\n' | sed -n 's/^GET: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
    printf '%-12s %12s %16.0f %8.2f\n' "$c" "$ours" "$ref" "$(echo "$ours / $ref" | bc -l)"
done
