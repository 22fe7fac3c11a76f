#!/usr/bin/env bash
# Fuzzes the WebSocket frame parser (Fuzz/FrameParserFuzz) with libFuzzer.
#
# Usage: scripts/fuzz.sh [seconds] [--update-corpus]
#   seconds          how long to fuzz (default 30)
#   --update-corpus  merge inputs that reach new coverage back into Fuzz/corpus (commit the result)
#
# The build goes to its own scratch path, .build-fuzz, because every module is compiled with coverage
# instrumentation and AddressSanitizer (the codec unmasks and validates through raw pointers) and must not
# be mixed with the normal .build. The fuzzer works on a copy of the corpus so a plain run never changes
# committed files; crash inputs land in .build-fuzz/artifacts/. Without sanitizers, the same target replays
# the corpus as a regression check: swift run FrameParserFuzz Fuzz/corpus
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=30
update_corpus=0
for argument in "$@"; do
    case "$argument" in
        --update-corpus) update_corpus=1 ;;
        ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [seconds] [--update-corpus]" >&2; exit 2 ;;
        *) seconds="$argument" ;;
    esac
done

scratch=.build-fuzz
# -parse-as-library: libFuzzer provides main, so main.swift must not have top-level code under FUZZING.
swift build -c release --product FrameParserFuzz --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
    -Xswiftc -enable-experimental-feature -Xswiftc Extern
binary="$(swift build -c release --product FrameParserFuzz --scratch-path "$scratch" --show-bin-path)/FrameParserFuzz"

workdir="$scratch/corpus-work"
artifacts="$scratch/artifacts"
rm -rf "$workdir"
mkdir -p "$workdir" "$artifacts"
cp Fuzz/corpus/* "$workdir"/

# Swift's own crash backtracer would catch the trap before libFuzzer does (and can outlive the run), so turn it
# off and let libFuzzer save the crashing input and AddressSanitizer print the stack.
export SWIFT_BACKTRACE=enable=no

# -max_len=4096: a few frames' worth; longer inputs only make each run slower without new paths.
"$binary" "$workdir" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts/"

if [ "$update_corpus" = 1 ]; then
    # -set_cover_merge=1 adds to the first directory the fewest inputs from the second that cover what it
    # misses (plain -merge=1 keeps every input with a new hit-count bucket, several times as many files).
    "$binary" -set_cover_merge=1 -max_len=4096 Fuzz/corpus "$workdir"
    echo "Fuzz/corpus now holds $(find Fuzz/corpus -type f | wc -l) inputs"
fi
