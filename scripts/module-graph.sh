#!/usr/bin/env bash
# Prints the module graph that Package.swift declares: each of the package's own targets with the package targets it
# depends on (external products are left out), grouped by layer. Read from `swift package dump-package`, so it is
# the graph the compiler builds, not a copy of it.
#
#   scripts/module-graph.sh            text, one line per module (what the README's layout section shows)
#   scripts/module-graph.sh --dot      Graphviz (dot -Tsvg) of the same graph
#   scripts/module-graph.sh --json     {"module": ["dependency", ...]}
#   --no-tests                         leaves the test targets out
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
swift package --scratch-path .build/package-dump dump-package 2>/dev/null | python3 scripts/dev/module_graph.py "$@"
