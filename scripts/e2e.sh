#!/usr/bin/env bash
# The PWA's end-to-end tests: a real `agora serve` with the demo marketplace in a fresh database (agora_e2e), driven
# by headless Chromium through Selenium (Tests/e2e/test_marketplace.py). Screenshots of the key screens go to
# .local/screenshots (git-ignored). Called by scripts/test.sh after the Swift tests; runnable on its own once the
# services run and `swift build` has built agora:
#
#   scripts/e2e.sh                # AGORA_E2E_PORT (18080), AGORA_E2E_HEADLESS=0 to watch the browser
#   scripts/e2e.sh --measure      # instead: the shell's weight and load times (Tests/e2e/measure_shell.py)
#   AGORA_E2E_ONLY="-k dispute" scripts/e2e.sh   # only the tests whose names match
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[e2e] %s\n' "$*" >&2; }

python="${AGORA_INTEROP_PYTHON:-$(scripts/interop-deps.sh)}"
bin="$(swift build --show-bin-path)/agora"
[ -x "$bin" ] || { log "no $bin: run swift build first"; exit 1; }

port="${AGORA_E2E_PORT:-18080}"
data="$(mktemp -d /tmp/agora-e2e.XXXXXX)"
shots="$root/.local/screenshots"
mkdir -p "$shots"
scripts/services.sh recreatedb agora_e2e >/dev/null
eval "$(scripts/services.sh env agora_e2e)"
export AGORA_PORT="$port" AGORA_HOST=127.0.0.1 AGORA_DATA_DIR="$data" AGORA_REDIS_PREFIX="e2e-$$:"
# The tests start (and SIGKILL) a second instance on the next port themselves.
export AGORA_PUBLIC_URL="http://localhost:$port" AGORA_ALLOWED_ORIGINS="http://localhost:$port,http://localhost:$((port + 1))"
# A third-party web app on port + 2 (served by the test itself) may call the API from 127.0.0.1, not from localhost.
export AGORA_CORS_ORIGINS="http://127.0.0.1:$((port + 2))"
export AGORA_LOG_LEVEL="${AGORA_LOG_LEVEL:-warning}"
# Every browser of every test logs in from 127.0.0.1: the per-IP login limit (10 a minute, tested by the Swift suite)
# would turn a fast run into 429s.
export AGORA_RATE_LIMIT_AUTH="${AGORA_RATE_LIMIT_AUTH:-100}"

# A local OAuth 2 provider standing in for Discord (Tests/interop/oauth_provider.py, authlib): the browser consents
# as its default user, whom the test defines.
oauth_secret="e2e-$(date +%s)-$$"
"$python" Tests/interop/oauth_provider.py --ready "$data/oauth.port" --client-id agora-e2e --client-secret "$oauth_secret" \
    --default-user e2e_discord > "$data/oauth.log" 2>&1 &
oauth=$!
for _ in $(seq 100); do [ -s "$data/oauth.port" ] && break; sleep 0.1; done
[ -s "$data/oauth.port" ] || { log "the OAuth provider did not start:"; cat "$data/oauth.log" >&2; exit 1; }
oauth_url="http://127.0.0.1:$(cat "$data/oauth.port")"
export AGORA_OAUTH_DISCORD_CLIENT_ID=agora-e2e AGORA_OAUTH_DISCORD_CLIENT_SECRET="$oauth_secret"
export AGORA_OAUTH_DISCORD_AUTHORIZE_URL="$oauth_url/oauth2/authorize" AGORA_OAUTH_DISCORD_TOKEN_URL="$oauth_url/api/oauth2/token"
export AGORA_OAUTH_DISCORD_USER_URL="$oauth_url/api/users/@me" AGORA_E2E_OAUTH="$oauth_url"

# A local Solana JSON-RPC node (Tests/interop/solana_rpc.py, solders): the Solana Pay watcher asks it for the transfers
# the test makes through its control API. Fixed rates, and a short poll so a payment shows within a second or so.
"$python" Tests/interop/solana_rpc.py --ready "$data/solana.port" > "$data/solana.log" 2>&1 &
solana=$!
for _ in $(seq 100); do [ -s "$data/solana.port" ] && break; sleep 0.1; done
[ -s "$data/solana.port" ] || { log "the Solana RPC stand-in did not start:"; cat "$data/solana.log" >&2; kill "$oauth" 2>/dev/null || true; exit 1; }
solana_url="http://127.0.0.1:$(cat "$data/solana.port")"
export AGORA_SOLANA_RPC_URL="$solana_url" AGORA_SOLANA_POLL_MS=500 AGORA_SOLANA_RATES="ZAR/USDC=0.055,ZAR/SOL=0.0003"
export AGORA_SOLANA_RATE_SOURCE="e2e fixed rate" AGORA_E2E_SOLANA="$solana_url"

server=""
cleanup() {
    kill "$oauth" 2>/dev/null || true
    kill "$solana" 2>/dev/null || true
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    redis-cli -p "${AGORA_LOCAL_REDIS_PORT:-56379}" --scan --pattern "e2e-$$:*" 2>/dev/null | xargs -r redis-cli -p "${AGORA_LOCAL_REDIS_PORT:-56379}" del >/dev/null 2>&1 || true
    rm -rf "$data"
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
log "server on http://localhost:$port (data $data)"

status=0
if [ "${1:-}" = "--measure" ]; then
    AGORA_E2E_URL="http://localhost:$port" "$python" Tests/e2e/measure_shell.py || status=$?
    exit "$status"
fi
AGORA_E2E_URL="http://localhost:$port" AGORA_E2E_SECOND_PORT="$((port + 1))" AGORA_E2E_BIN="$bin" \
    AGORA_E2E_MAILBOX="$data/mailbox" AGORA_E2E_SCREENSHOTS="$shots" "$python" -m unittest -v Tests/e2e/test_marketplace.py ${AGORA_E2E_ONLY:-} || status=$?
if [ "$status" -ne 0 ]; then
    log "failed; the server's log:"
    tail -n 60 "$data/server.log" >&2
    if [ -f "$data/second.log" ]; then log "the second instance's log:"; tail -n 40 "$data/second.log" >&2; fi
fi
exit "$status"
