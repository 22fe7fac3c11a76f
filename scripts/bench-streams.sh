#!/usr/bin/env bash
# Retention of user_events: bytes per event (and per active user per day), and the time to remove the oldest day's
# events by batched deletes (what StreamPruner does) against dropping a day's partition, on the same generated data.
#
#   scripts/bench-streams.sh [users] [days] [events-per-user-per-day]      (defaults: 2000 7 100)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
users="${1:-2000}"
days="${2:-7}"
per_day="${3:-100}"
db=agora_stream_bench
scripts/services.sh start >/dev/null
eval "$(scripts/services.sh env "$db")"
psql "${AGORA_DATABASE_URL%%/$db*}/postgres" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
scripts/services.sh createdb "$db" >/dev/null
PGOPTIONS="-c bench.days=$days" psql "$AGORA_DATABASE_URL" -q -v users="$users" -v days="$days" -v per_day="$per_day" -f bench/streams/retention.sql
