#!/usr/bin/env bash
# Property-based tests of the HTTP API against its OpenAPI document (Public/openapi.json) with schemathesis: a real
# `agora serve` on a free port with the demo marketplace in a fresh database (agora_schemathesis), driven as anonymous,
# buyer, seller and admin (Tests/schemathesis/run.py). Fails on any 5xx and on any response the document does not
# describe. Called by scripts/test.sh after the Swift tests (AGORA_SCHEMATHESIS=0 skips it there); runnable on its own
# once the services run and `swift build` has built agora:
#
#   scripts/schemathesis.sh                  # every role, the bounded CI run
#   scripts/schemathesis.sh --role seller    # one role (repeatable); other arguments go to run.py (--help)
#
# The server's log is printed when the run fails; AGORA_SCHEMATHESIS_KEEP=1 keeps the data folder (log, reports).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[schemathesis] %s\n' "$*" >&2; }

python="${AGORA_INTEROP_PYTHON:-$(scripts/interop-deps.sh)}"
"$python" -c 'import schemathesis' 2>/dev/null || { log "$python cannot import schemathesis; run scripts/interop-deps.sh"; exit 1; }
bin="$(swift build --show-bin-path)/agora"
[ -x "$bin" ] || { log "no $bin: run swift build first"; exit 1; }

port="${AGORA_SCHEMATHESIS_PORT:-$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
data="$(mktemp -d /tmp/agora-schemathesis.XXXXXX)"
scripts/services.sh recreatedb agora_schemathesis >/dev/null
eval "$(scripts/services.sh env agora_schemathesis)"
export AGORA_PORT="$port" AGORA_HOST=127.0.0.1 AGORA_DATA_DIR="$data" AGORA_REDIS_PREFIX="schemathesis-$$:"
export AGORA_PUBLIC_URL="http://localhost:$port" AGORA_ALLOWED_ORIGINS="http://localhost:$port"
# Thousands of requests from one address in a few minutes: the limits would answer most of them with 429 and hide
# the code behind them (RateLimitTests cover the limits). bcrypt at cost 4, as in the Swift tests.
export AGORA_RATE_LIMITS=0 AGORA_BCRYPT_COST=4
# Solana Pay on (wallets, quotes and Solana Pay checkouts are then reachable), with a node nobody answers at.
export AGORA_SOLANA_RPC_URL=http://127.0.0.1:9 AGORA_SOLANA_RATES=ZAR/USDC=0.055,ZAR/SOL=0.0003
export AGORA_LOG_LEVEL="${AGORA_LOG_LEVEL:-warning}"

server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    redis-cli -p "${AGORA_LOCAL_REDIS_PORT:-56379}" --scan --pattern "schemathesis-$$:*" 2>/dev/null \
        | xargs -r redis-cli -p "${AGORA_LOCAL_REDIS_PORT:-56379}" del >/dev/null 2>&1 || true
    if [ "${AGORA_SCHEMATHESIS_KEEP:-0}" = 1 ]; then log "kept $data"; else rm -rf "$data"; fi
}
trap cleanup EXIT

"$bin" migrate >/dev/null
"$bin" seed >/dev/null
"$bin" serve > "$data/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    "$python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "http://127.0.0.1:$port/health/ready" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { log "the server exited:"; cat "$data/server.log" >&2; exit 1; }
    sleep 0.2
done
log "server on http://127.0.0.1:$port (data $data)"

status=0
AGORA_SCHEMATHESIS_URL="http://127.0.0.1:$port" AGORA_SCHEMATHESIS_BIN="$bin" AGORA_SCHEMATHESIS_MAILBOX="$data/mailbox" \
    AGORA_SCHEMATHESIS_WORKDIR="$data" "$python" Tests/schemathesis/run.py "$@" || status=$?
if [ "$status" -ne 0 ]; then
    log "failed; the server's warnings and errors:"
    grep -E '(warning|error|critical)' "$data/server.log" | tail -n 60 >&2 || true
fi
exit "$status"
