#!/usr/bin/env bash
# The chat yardstick of issue 25: PostgreSQL running the server's per-message SQL (bench/chat/send.sql, the statement
# of ChatService.sendStatement) from pgbench, prepared as the server prepares it, with no Agora in between.
#
#   scripts/bench-chat-sql.sh [pairs] [clients] [seconds] [rate]      (defaults: 50, 16, 10, 1000)
#
# A fresh database (agora_chat_sql_bench) gets the migrations and `pairs` conversations, each between two accounts
# with their two conversation_members rows, the rows Accounts and Chat write. Then two runs of pgbench, pinned to CPU 1
# (PostgreSQL floats, as in the other benches), each connection on a random conversation as a random one of its two
# members, drawn again on about one message in 20:
#   1. as fast as `clients` connections go: messages/s, the PostgreSQL limit the chat figure is compared with;
#   2. at a fixed `rate` (1000/s is what scripts/bench-realtime.sh offers, 50 pairs × 20/s): latency percentiles from
#      pgbench's per-message log, the floor under the chat p99 target.
# Both print the CPU time of their PostgreSQL backends per message (utime + stime from /proc, sampled every 50 ms).
# After each run the rows are checked: one message per pgbench transaction, two stream events per message, the
# counters in step; any difference fails the script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pairs="${1:-50}"
clients="${2:-16}"
seconds="${3:-10}"
rate="${4:-1000}"
warmup=1  # seconds left out of the "steady" figures: connecting, and each connection planning the statement
db=agora_chat_sql_bench

[ "$pairs" -ge 1 ] || { echo "pairs must be 1 or more" >&2; exit 2; }
[ "$seconds" -gt "$warmup" ] || { echo "seconds must be more than the $warmup s warm-up" >&2; exit 2; }
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1)"
[ -x "$pgbench" ] || { echo "pgbench not found (it comes with PostgreSQL: scripts/services.sh install)" >&2; exit 1; }

scripts/services.sh start >/dev/null
scripts/services.sh recreatedb "$db" >/dev/null 2>&1
eval "$(scripts/services.sh env "$db")"
url="$AGORA_DATABASE_URL"
sql() { psql "$url" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Each migration in a transaction of its own, as PGMigrator applies them; the extensions they need were created by
# services.sh createdb, and nothing in them reads schema_migrations, the runner's own table.
for migration in Sources/AgoraApp/Migrations/[0-9]*.sql; do
    PGOPTIONS="-c client_min_messages=warning" sql -1 -f "$migration"
done

# The rows registration and opening a conversation write: an account with the columns AccountsService inserts (the
# hash is never checked here), a conversation with user_a < user_b and no product, and its two members, as
# ChatService.openOrReuse does. user_streams rows come with the first message, as they do in the server.
sql -v pairs="$pairs" <<'SQL'
INSERT INTO accounts (email, username, display_name, password_hash)
SELECT 'chat' || side || i || '@bench.test', 'chat' || side || '_' || i, 'Chat ' || side || i, 'not a bcrypt hash'
FROM generate_series(1, :pairs) i, (VALUES ('a'), ('b')) s (side);
WITH made AS (
    INSERT INTO conversations (user_a, user_b, product_id)
    SELECT least(a.id, b.id), greatest(a.id, b.id), NULL FROM generate_series(1, :pairs) i
    JOIN accounts a ON a.username = 'chata_' || i JOIN accounts b ON b.username = 'chatb_' || i
    RETURNING id, user_a, user_b
)
INSERT INTO conversation_members (conversation_id, user_id) SELECT id, unnest(ARRAY[user_a, user_b]) FROM made;
SQL

# A connection picks its conversation and sender by a lookup of its own now and then (see send.sql); the message is
# one prepared statement every time.
args=(-n -M prepared -c "$clients" -j 1 -f bench/chat/send.sql -D kind=text -D pairs="$pairs" -D first=1)

# CPU seconds of this database's pgbench backends from when all `clients` are connected until they exit, and the part
# of it after the warm-up: "total steady".
backend_cpu() {
    local pids=""
    for _ in $(seq 200); do
        pids=$(sql -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pgbench'")
        [ "$(wc -w <<<"$pids")" -ge "$clients" ] && break
        sleep 0.05
    done
    # shellcheck disable=SC2086
    taskset -c 1 python3 - "$warmup" $pids <<'PY'
import os, sys, time
hz, warmup, first, last, mark = os.sysconf("SC_CLK_TCK"), float(sys.argv[1]), {}, {}, None
start = time.monotonic()
while True:
    alive = 0
    for pid in sys.argv[2:]:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        alive += 1
        last[pid] = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        first.setdefault(pid, last[pid])
    if mark is None and time.monotonic() - start >= warmup:
        mark = dict(last)
    if not alive:
        break
    time.sleep(0.05)
mark = mark or first
print(f"{sum(last[p] - first[p] for p in last) / hz:.3f} {sum(last[p] - mark.get(p, first[p]) for p in last) / hz:.3f}")
PY
}

# Runs pgbench with "$@" after the common arguments, with the backends' CPU measured beside it; leaves its output in
# $work/$name.out (summary) and $work/$name.err (progress), the CPU in $work/$name.cpu, and checks the rows.
run() {
    local name="$1"
    shift
    local before after processed failed
    before=$(sql -c "SELECT count(*) FROM messages")
    backend_cpu > "$work/$name.cpu" &
    local sampler=$!
    if ! taskset -c 1 "$pgbench" "${args[@]}" "$@" "$url" > "$work/$name.out" 2> "$work/$name.err"; then
        cat "$work/$name.out" "$work/$name.err" >&2
        echo "FAILED: pgbench ($name) did not finish" >&2
        exit 1
    fi
    wait "$sampler"
    after=$(sql -c "SELECT count(*) FROM messages")
    processed=$(figure "$name" "number of transactions actually processed: ")
    failed=$(figure "$name" "number of failed transactions: ")
    # A statement still in flight when -T ends may commit without pgbench counting it: at most one per client.
    if [ "${failed:-0}" != 0 ] || [ "$((after - before))" -lt "$processed" ] || [ "$((after - before))" -gt "$((processed + clients))" ]; then
        echo "FAILED: $name: pgbench processed $processed messages (failed: ${failed:-?}) but $((after - before)) were stored" >&2
        exit 1
    fi
    local check
    check=$(sql <<'SQL'
SELECT concat_ws('; ',
    CASE WHEN (SELECT count(*) FROM user_events) <> 2 * (SELECT count(*) FROM messages) THEN 'user_events is not 2 per message' END,
    CASE WHEN EXISTS (SELECT 1 FROM user_events WHERE type <> 'chat:message' OR message_id IS NULL) THEN 'a stream event is not a chat:message referencing its message' END,
    CASE WHEN (SELECT sum(last_seq) FROM user_streams) <> (SELECT count(*) FROM user_events) THEN 'stream heads out of step with the events' END,
    CASE WHEN (SELECT sum(unread) FROM conversation_members) <> (SELECT count(*) FROM messages) THEN 'unread counts out of step with the messages' END,
    CASE WHEN EXISTS (SELECT 1 FROM conversations c WHERE last_message_id IS DISTINCT FROM (SELECT max(id) FROM messages WHERE conversation_id = c.id)) THEN 'a conversation''s last_message_id is not its last message' END,
    CASE WHEN EXISTS (SELECT 1 FROM messages WHERE client_id IS NOT NULL OR product_id IS NOT NULL OR kind <> 'text') THEN 'a message has a clientId, a product or another kind (pgbench sent a NULL as text?)' END)
SQL
)
    if [ -n "$check" ]; then echo "FAILED: $name: $check" >&2; exit 1; fi
}

# The first number after `key` at the start of a line of pgbench's summary (the per-script lines that follow are indented).
figure() { awk -v key="$2" 'index($0, key) == 1 {print substr($0, length(key) + 1) + 0; exit}' "$work/$1.out"; }
# Messages and seconds after the warm-up, from pgbench's progress lines (one a second): "messages seconds".
steady() { awk -v w="$warmup" '/^progress:/ && $2 + 0 > w {sum += $4; n++} END {printf "%.0f %d\n", sum, n}' "$work/$1.err"; }
per_message() { python3 -c "import sys; print(f'{float(sys.argv[1]) * 1e6 / max(1, float(sys.argv[2])):.0f}')" "$1" "$2"; }

echo "pgbench: $pairs conversations, $clients connections, $seconds s per run, one message per transaction ($("$pgbench" --version))" >&2
run max -T "$seconds" -P 1
read -r max_steady_n max_steady_s < <(steady max)
read -r max_cpu max_steady_cpu < "$work/max.cpu"

run rate -T "$seconds" -R "$rate" -P 1 -l --log-prefix="$work/txlog"
read -r rate_steady_n rate_steady_s < <(steady rate)
read -r rate_cpu rate_steady_cpu < "$work/rate.cpu"
# pgbench's per-transaction log: client, transaction, latency µs, script, end time (s, µs), schedule lag µs. With -R the
# latency counts from the scheduled start, so it includes any wait for a free connection (the lag): both are shown.
percentiles=$(cat "$work"/txlog.* | python3 -c '
import sys
warmup = float(sys.argv[1])
rows = [[int(x) for x in line.split()] for line in sys.stdin if line.strip()]
start = min(r[4] + r[5] / 1e6 - r[2] / 1e6 for r in rows)
def pct(values, q): return values[min(len(values) - 1, int(q * len(values)))] / 1000
def line(rows):
    total, service = sorted(r[2] for r in rows), sorted(r[2] - r[6] for r in rows)
    return (f"{pct(total, .5):.2f} / {pct(total, .99):.2f} / {total[-1] / 1000:.2f} ms from the scheduled start, "
            f"{pct(service, .5):.2f} / {pct(service, .99):.2f} / {service[-1] / 1000:.2f} from the actual start")
print(line([r for r in rows if r[4] + r[5] / 1e6 >= start + warmup]))
print(line(rows))
' "$warmup")

cat <<EOF

== chat send statement on PostgreSQL (pgbench -M prepared, bench/chat/send.sql)
conversations / connections       $pairs / $clients ("steady": after the first $warmup s)
as fast as it goes, $seconds s
  messages/s                      $((max_steady_n / max_steady_s)) steady; $(printf %.0f "$(figure max "tps = ")") over the whole run ($(figure max "number of transactions actually processed: ") stored)
  each second                     $(awk '/^progress:/ {printf "%.0f ", $4}' "$work/max.err")
  latency avg, whole run          $(figure max "latency average = ") ms
  PostgreSQL backend CPU          $(per_message "$max_steady_cpu" "$max_steady_n") µs per message steady; $(per_message "$max_cpu" "$(figure max "number of transactions actually processed: ")") over the whole run
at $rate/s offered, $seconds s
  messages/s                      $((rate_steady_n / rate_steady_s)) steady; $(printf %.0f "$(figure rate "tps = ")") over the whole run ($(figure rate "number of transactions actually processed: ") stored)
  latency p50 / p99 / max steady  $(sed -n 1p <<<"$percentiles")
  same, whole run                 $(sed -n 2p <<<"$percentiles")
  PostgreSQL backend CPU          $(per_message "$rate_steady_cpu" "$rate_steady_n") µs per message steady; $(per_message "$rate_cpu" "$(figure rate "number of transactions actually processed: ")") over the whole run
rows checked                      one message per transaction, 2 stream events each, counters in step
EOF
