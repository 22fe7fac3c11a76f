#!/usr/bin/env bash
# Installs what is missing, starts project-local PostgreSQL and Redis, applies migrations, loads the demo marketplace
# on first start (`agora seed`: only when there are no products yet) and serves Agora on http://127.0.0.1:8080
# (AGORA_PORT). With AGORA_DATABASE_URL and AGORA_REDIS_URL set, uses those instead of
# starting local services. AGORA_BUILD_CONFIG=release builds optimised (slower to build, faster to run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${AGORA_DATABASE_URL:-}" ] || [ -z "${AGORA_REDIS_URL:-}" ]; then
    scripts/services.sh start
    scripts/services.sh createdb agora
    eval "$(scripts/services.sh env agora)"
else
    scripts/services.sh install
fi

build_config="${AGORA_BUILD_CONFIG:-debug}"
swift build -c "$build_config" --product agora
bin="$(swift build -c "$build_config" --show-bin-path)/agora"
"$bin" migrate
"$bin" seed
exec "$bin" serve
