#!/usr/bin/env bash
# Fuzzes Agora's parsers with libFuzzer: the WebSocket frame codec (Fuzz/FrameParserFuzz, corpus Fuzz/corpus) and the
# HTTP edge (Fuzz/HTTPEdgeFuzz, corpus Fuzz/corpus-http: NIO's request decoder, then the JSON and text rules and the
# real input types).
#
# Usage: scripts/fuzz.sh [seconds] [--update-corpus] [--target frame|http]
#   seconds          how long to fuzz in all, split evenly between the targets (default 30)
#   --update-corpus  merge inputs that reach new coverage back into each target's corpus (commit the result)
#   --target NAME    fuzz only one target, for all the seconds
#
# The build goes to its own scratch path, .build-fuzz, because every module is compiled with coverage
# instrumentation and AddressSanitizer (the codec unmasks and validates through raw pointers) and must not
# be mixed with the normal .build. The fuzzer works on a copy of the corpus so a plain run never changes
# committed files; crash inputs land in .build-fuzz/artifacts/. Without sanitizers, the same targets replay
# their corpora as a regression check: swift run FrameParserFuzz Fuzz/corpus; swift run HTTPEdgeFuzz Fuzz/corpus-http
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { echo "usage: scripts/fuzz.sh [seconds] [--update-corpus] [--target frame|http]" >&2; exit 2; }
seconds=30
update_corpus=0
# name:product:corpus
all_targets=("frame:FrameParserFuzz:Fuzz/corpus" "http:HTTPEdgeFuzz:Fuzz/corpus-http")
targets=("${all_targets[@]}")
while [ $# -gt 0 ]; do
    case "$1" in
        --update-corpus) update_corpus=1 ;;
        --target)
            [ $# -ge 2 ] || usage
            targets=()
            for target in "${all_targets[@]}"; do [ "${target%%:*}" = "$2" ] && targets+=("$target"); done
            [ ${#targets[@]} -eq 1 ] || usage
            shift ;;
        ''|*[!0-9]*) usage ;;
        *) seconds="$1" ;;
    esac
    shift
done
# At least a second each: libFuzzer reads -max_total_time=0 as "no limit".
share=$(( seconds / ${#targets[@]} ))
[ "$share" -ge 1 ] || share=1

scratch=.build-fuzz
artifacts="$scratch/artifacts"
mkdir -p "$artifacts"
# Swift's own crash backtracer would catch the trap before libFuzzer does (and can outlive the run), so turn it
# off and let libFuzzer save the crashing input and AddressSanitizer print the stack.
export SWIFT_BACKTRACE=enable=no

for target in "${targets[@]}"; do
    IFS=: read -r name product corpus <<<"$target"
    # -parse-as-library: libFuzzer provides main, so main.swift must not have top-level code under FUZZING.
    swift build -c release --product "$product" --scratch-path "$scratch" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
        -Xswiftc -enable-experimental-feature -Xswiftc Extern
    binary="$(swift build -c release --product "$product" --scratch-path "$scratch" --show-bin-path)/$product"

    workdir="$scratch/corpus-work-$name"
    rm -rf "$workdir"
    mkdir -p "$workdir"
    cp "$corpus"/* "$workdir"/

    # -max_len=4096: a few frames', or a request's, worth; longer inputs only make each run slower without new paths.
    echo "[fuzz] $product for ${share}s on $(find "$corpus" -type f | wc -l) corpus inputs" >&2
    "$binary" "$workdir" -max_total_time="$share" -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$name-"

    if [ "$update_corpus" = 1 ]; then
        # -set_cover_merge=1 adds to the first directory the fewest inputs from the second that cover what it
        # misses (plain -merge=1 keeps every input with a new hit-count bucket, several times as many files).
        "$binary" -set_cover_merge=1 -max_len=4096 "$corpus" "$workdir"
        echo "$corpus now holds $(find "$corpus" -type f | wc -l) inputs"
    fi
done
