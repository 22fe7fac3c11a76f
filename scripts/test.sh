#!/usr/bin/env bash
# Runs every test against a real PostgreSQL and Redis.
#
# Installs what is missing and starts the project-local services (scripts/services.sh) unless
# AGORA_TEST_DATABASE_URL / AGORA_TEST_REDIS_URL (or AGORA_DATABASE_URL / AGORA_REDIS_URL) point elsewhere.
# AGORA_REQUIRE_SERVICES=1 makes an integration test fail, not skip, when a service is missing.
# Extra arguments go to `swift test` (e.g. --filter PoolTests); without any, the browser tests run last.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The house's rules first (seconds, no services): no module outside its room (scripts/check-boundaries.sh).
scripts/check-boundaries.sh
# .swift-format in lint mode, structural rules only (import order, file-scoped privacy, no access level on an
# extension, case bindings, no blank lines inside braces); layout is left to review, so the pretty-printer is off.
swift format lint --strict --recursive --configuration .swift-format --debug-disable-pretty-print Sources Tests Fuzz

export AGORA_TEST_DATABASE_URL="${AGORA_TEST_DATABASE_URL:-${AGORA_DATABASE_URL:-}}"
export AGORA_TEST_REDIS_URL="${AGORA_TEST_REDIS_URL:-${AGORA_REDIS_URL:-}}"
if [ -z "$AGORA_TEST_DATABASE_URL" ] || [ -z "$AGORA_TEST_REDIS_URL" ]; then
    scripts/services.sh start
    scripts/services.sh createdb agora_test
    eval "$(scripts/services.sh env agora_test)"
    export AGORA_TEST_DATABASE_URL="${AGORA_TEST_DATABASE_URL:-$AGORA_DATABASE_URL}"
    export AGORA_TEST_REDIS_URL="${AGORA_TEST_REDIS_URL:-$AGORA_REDIS_URL}"
else
    scripts/services.sh install
fi
# Foreign WebSocket clients for InteropTests (node ws, python websockets and websocket-client); prints the python to use.
AGORA_INTEROP_PYTHON="$(scripts/interop-deps.sh)"
export AGORA_INTEROP_PYTHON
# Tests read only the AGORA_TEST_* variables; keep the app's own out of their way.
unset AGORA_DATABASE_URL AGORA_REDIS_URL
export AGORA_REQUIRE_SERVICES=1

swift build --build-tests
if [ $# -eq 0 ]; then
    # The committed fuzz corpora must still pass without a crash (frame codec, HTTP edge), then a short libFuzzer run
    # looks for new ones (AGORA_FUZZ_SECONDS in all, split between the targets; 0 to skip). Both before the test
    # summary, so the run ends with swift test's verdict.
    swift run --skip-build FrameParserFuzz Fuzz/corpus
    swift run --skip-build HTTPEdgeFuzz Fuzz/corpus-http
    if [ "${AGORA_FUZZ_SECONDS:-20}" -gt 0 ]; then scripts/fuzz.sh "${AGORA_FUZZ_SECONDS:-20}"; fi
    # The PWA's QR encoder (Public/app/qr.js) module for module against segno, each symbol decoded by zxing-cpp; and
    # the Solana RPC stand-in's own check of its transactions (signed by solders) and answers.
    "$AGORA_INTEROP_PYTHON" Tests/interop/qr_check.py --quick
    "$AGORA_INTEROP_PYTHON" Tests/interop/solana_rpc.py --self-test
fi
swift test --skip-build "$@"
# The HTTP API against its OpenAPI document with schemathesis, as every role (Tests/schemathesis,
# scripts/schemathesis.sh): any 5xx or undocumented response fails the run. AGORA_SCHEMATHESIS=0 skips it.
if [ $# -eq 0 ] && [ "${AGORA_SCHEMATHESIS:-1}" != 0 ]; then scripts/schemathesis.sh; fi
# The PWA in a real browser against a real server (Tests/e2e, scripts/e2e.sh); AGORA_E2E=0 skips it.
if [ $# -eq 0 ] && [ "${AGORA_E2E:-1}" != 0 ]; then scripts/e2e.sh; fi
# deploy/ as a user would run it: nginx in front of two hosts from a packaged release, images in an S3 bucket,
# a rolling restart during chat and API traffic (scripts/deploy-test.sh); AGORA_DEPLOY_TEST=0 skips it.
if [ $# -eq 0 ] && [ "${AGORA_DEPLOY_TEST:-1}" != 0 ]; then scripts/deploy-test.sh; fi
# The same deployment on separate hosts (network namespaces joined by a bridge): an Agora host SIGKILLed, the Redis
# master SIGKILLed (Sentinel fails over), PostgreSQL restarted, all under chat, order and API traffic, and nothing
# lost (scripts/cluster-test.sh, about four minutes). It needs root for the namespaces; AGORA_CLUSTER_TEST=0 skips it.
if [ $# -eq 0 ] && [ "${AGORA_CLUSTER_TEST:-1}" != 0 ]; then
    if [ "$(id -u)" = 0 ] && ip netns add agora-probe 2>/dev/null && ip netns del agora-probe; then
        AGORA_CLUSTER_ARGS="${AGORA_CLUSTER_ARGS:---seconds 3}" scripts/cluster-test.sh
    else
        echo "The cluster test did NOT run: it needs root and network namespaces (sudo scripts/cluster-test.sh)." >&2
    fi
fi
