#!/usr/bin/env bash
# Outbound HTTPS benchmark: Commerce's HTTPSClient (what StripeProvider calls Stripe with) against the tests' fake
# Stripe API (Tests/interop/fake_stripe_api.py) over TLS with a fresh self-signed certificate, in a release build.
# N calls one after another, then N at once, per run; prints medians. The client is pinned to one CPU
# (AGORA_BENCH_CLIENT_CPU, default 1), the fake to the other (AGORA_BENCH_SERVER_CPU, default 0).
#
#   scripts/bench-https-client.sh [calls] [runs]      (default 50, 7)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
swift build -c release --scratch-path .build-release --product agora-bench 2>&1 | grep -E "error" || true
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"

dir="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" \
    -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
taskset -c "${AGORA_BENCH_SERVER_CPU:-0}" python3 Tests/interop/fake_stripe_api.py --secret-key sk_test_bench --record /dev/null \
    --ready "$dir/port" --cert "$dir/cert.pem" --key "$dir/key.pem" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
port="$(cat "$dir/port")"
taskset -c "${AGORA_BENCH_CLIENT_CPU:-1}" "$bin/agora-bench" https-client --url "https://127.0.0.1:$port" --ca-file "$dir/cert.pem" \
    --key sk_test_bench --requests "${1:-50}" --runs "${2:-7}"
