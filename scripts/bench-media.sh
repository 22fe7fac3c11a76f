#!/usr/bin/env bash
# Media benchmark: parsing a 5 MiB multipart upload, sniffing it, and drawing and encoding the seeder's 640x480
# PNGs, in a release build, pinned to one CPU (AGORA_BENCH_CLIENT_CPU, default 1). Prints medians.
#
#   scripts/bench-media.sh [runs]      (default 15)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
swift build -c release --scratch-path .build-release --product agora-bench 2>&1 | grep -E "error" || true
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
taskset -c "${AGORA_BENCH_CLIENT_CPU:-1}" "$bin/agora-bench" media --runs "${1:-15}"
