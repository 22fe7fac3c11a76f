#!/usr/bin/env bash
# Image pipeline benchmark (issue 21, part 2): a 12 MP phone photo with EXIF and GPS (bench/images/make_photo.py)
# through Agora's libvips pipeline, release build, one thread pinned to one CPU (AGORA_BENCH_CLIENT_CPU, default 1).
# Beside it, the machine's limit for the same work: libvips's own command-line tools on the same CPU doing the
# same operations (vips copy with the same options, vipsthumbnail), their process start measured and shown apart.
#
#   scripts/bench-images.sh [runs]      (default 9)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cpu="${AGORA_BENCH_CLIENT_CPU:-1}"
runs="${1:-9}"
python="${AGORA_INTEROP_PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" bench/images/make_photo.py "$work/photo.jpg"
swift build -c release --scratch-path .build-release --product agora-bench 2>&1 | grep -E "error" || true
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"
echo "== Agora's pipeline (one thread, CPU $cpu)"
taskset -c "$cpu" "$bin/agora-bench" images --file "$work/photo.jpg" --runs "$runs"

# The same work with libvips's tools: the median wall time of `runs` runs of a command, in ms.
median_ms() {
    local times=()
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s%N)
        taskset -c "$cpu" env VIPS_CONCURRENCY=1 "$@" >/dev/null 2>&1
        end=$(date +%s%N)
        times+=($(((end - start) / 1000000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}
if command -v vips >/dev/null 2>&1 && command -v vipsthumbnail >/dev/null 2>&1; then
    echo "== libvips's command-line tools, same CPU, VIPS_CONCURRENCY=1 (medians, process start included)"
    echo "process start (vips --version): $(median_ms vips --version) ms"
    echo "upright + re-encode without metadata (vips autorot, then jpegsave Q=85 strip): $(median_ms sh -c "vips autorot '$work/photo.jpg' '$work/up.v' && vips jpegsave '$work/up.v' '$work/out.jpg' --Q 85 --strip --optimize-coding") ms"
    echo "a 320 thumbnail (vipsthumbnail -s 320x, WebP Q=85 strip): $(median_ms vipsthumbnail "$work/photo.jpg" -s 320x -o "$work/t320.webp[Q=85,strip]") ms"
    echo "a 960 thumbnail (vipsthumbnail -s 960x, WebP Q=85 strip): $(median_ms vipsthumbnail "$work/photo.jpg" -s 960x -o "$work/t960.webp[Q=85,strip]") ms"
else
    echo "(libvips-tools is not installed: no comparison with libvips's own tools)"
fi
