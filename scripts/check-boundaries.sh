#!/usr/bin/env bash
# Fails when a module leaves its room: a dependency on a higher layer, a domain-to-domain edge or a foreign table
# that scripts/boundaries.allow does not list with its reason, an undeclared or @testable import in Sources/.
# See scripts/dev/check_boundaries.py for the rules. The test command runs it first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
swift package --scratch-path .build/package-dump dump-package 2>/dev/null | python3 scripts/dev/check_boundaries.py
