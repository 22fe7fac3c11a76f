#!/usr/bin/env bash
# Builds a release of Agora ready to copy to a host: dist/agora-<version>/ with
#   bin/agora                          the server (Swift's own libraries linked in statically)
#   bin/agora_AgoraApp.resources/      the SQL migrations, which the binary finds beside itself
#   Public/                            the PWA, served by the server and, optionally, by nginx
#   deploy/                            the nginx configuration, the systemd units and the settings template
# and dist/agora-<version>.tar.gz of it (release builds only). On the host, unpack it under /opt/agora/releases/ and point
# /opt/agora/current at it (see README, Deploying on several hosts).
#
# The hosts need the shared libraries it links: Debian packages libpq5, libhiredis0.14, libssl3, zlib1g, libvips42.
#
#   deploy/package.sh [version]          (default: the git commit)
#   AGORA_PACKAGE_BUILD=debug deploy/package.sh   packages the debug build instead (what the deploy test uses in CI)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version="${1:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}"
build="${AGORA_PACKAGE_BUILD:-release}"
log() { printf '[package] %s\n' "$*" >&2; }

if [ "$build" = release ]; then
    log "building the release (swift build -c release --static-swift-stdlib)"
    swift build -c release --static-swift-stdlib --scratch-path .build-package --product agora >&2
    bin="$(swift build -c release --static-swift-stdlib --scratch-path .build-package --show-bin-path)"
else
    log "packaging the debug build"
    swift build --product agora >&2
    bin="$(swift build --show-bin-path)"
fi

out="dist/agora-$version"
rm -rf "$out"
mkdir -p "$out/bin" "$out/deploy"
cp "$bin/agora" "$out/bin/"
cp -R "$bin/agora_AgoraApp.resources" "$out/bin/"
cp -R Public "$out/Public"
cp -R deploy/nginx deploy/systemd deploy/agora.env.example "$out/deploy/"
printf '%s\n' "$version" > "$out/VERSION"
if [ "$build" = release ]; then
    tar -C dist -czf "dist/agora-$version.tar.gz" "agora-$version"
    log "dist/agora-$version ($(du -sh "$out" | cut -f1)); dist/agora-$version.tar.gz"
else
    log "dist/agora-$version ($(du -sh "$out" | cut -f1)); no tarball of a debug build"
fi
echo "$out"
