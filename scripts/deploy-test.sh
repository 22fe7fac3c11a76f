#!/usr/bin/env bash
# The deployment of deploy/ tested end to end on this machine: a packaged release (deploy/package.sh), two hosts
# started from it with separate data folders, deploy/nginx/agora.conf in front of them (only addresses and paths
# rewritten), images in an S3 bucket (moto, signatures checked), the local PostgreSQL and Redis. Then
# Tests/deploy/deploy_check.py drives it through nginx: static files, X-Forwarded-For, image upload and caching,
# WebSockets, and a rolling restart of both hosts during chat and API traffic (nothing may fail or be lost).
#
#   scripts/deploy-test.sh                       packages the debug build (what the test command runs)
#   AGORA_DEPLOY_BUILD=release scripts/deploy-test.sh   packages a release build first (minutes)
#
# Needs nginx (Debian nginx-light, installed if missing), python with websockets, moto and Pillow
# (scripts/interop-deps.sh), and the local services (scripts/services.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[deploy-test] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
python="${AGORA_INTEROP_PYTHON:-$(scripts/interop-deps.sh)}"

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    log "installing nginx-light"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
        || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

release="$(AGORA_PACKAGE_BUILD="${AGORA_DEPLOY_BUILD:-debug}" deploy/package.sh deploy-test | tail -1)"
release="$root/$release"

scripts/services.sh start >&2
eval "$(scripts/services.sh env agora_deploy)"
scripts/services.sh recreatedb agora_deploy >&2

work="$(mktemp -d "${TMPDIR:-/tmp}/agora-deploy.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    if [ "${AGORA_DEPLOY_KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
nginx_port="$(free_port)"
port1="$(free_port)"
port2="$(free_port)"
while [ "$port2" = "$port1" ] || [ "$port2" = "$nginx_port" ]; do port2="$(free_port)"; done

# The bucket.
"$python" Tests/interop/s3_server.py --ready "$work/s3.port" --credentials "$work/s3.json" --bucket agora-media >"$work/s3.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -f "$work/s3.port" ] && break; sleep 0.1; done
[ -f "$work/s3.port" ] || { log "the S3 server did not start:"; cat "$work/s3.log" >&2; exit 1; }

# nginx: the deploy configuration with this machine's addresses and paths, inside a minimal main configuration.
mkdir -p "$work/nginx-cache" "$work/nginx-tmp"
"$python" - "$root/deploy/nginx/agora.conf" "$work/agora.conf" "$nginx_port" "$port1" "$port2" "$release/Public" "$work/nginx-cache" <<'PY'
import re, sys
source, target, front, port1, port2, public, cache = sys.argv[1:]
text = open(source).read()
def servers(match):
    options = match.group(1).split(":8080", 1)[1].split(";")[0]  # each block keeps its own options
    return "".join(f"    server 127.0.0.1:{port}{options};\n" for port in (port1, port2))
text, n = re.subn(r"((?:    server 10\.0\.0\.\d+:8080[^\n]*\n)+)", servers, text)
assert n == 2, "the upstream blocks changed shape"
for old, new in [("    listen 80;\n", f"    listen 127.0.0.1:{front};\n"), ("    listen [::]:80;\n", ""),
                 ("/opt/agora/current/Public", public), ("/var/cache/nginx/agora-media", cache)]:
    assert old in text, old
    text = text.replace(old, new)
open(target, "w").write(text)
PY
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$work/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    log_format timed '\$remote_addr "\$request" \$status \$request_time s upstream \$upstream_addr \$upstream_status \$upstream_response_time';
    access_log $work/nginx-access.log timed;
    client_body_temp_path $work/nginx-tmp/body;
    proxy_temp_path $work/nginx-tmp/proxy;
    fastcgi_temp_path $work/nginx-tmp/fastcgi;
    uwsgi_temp_path $work/nginx-tmp/uwsgi;
    scgi_temp_path $work/nginx-tmp/scgi;
    include $work/agora.conf;
}
CONF
"$nginx_bin" -t -q -p "$work" -c "$work/nginx.conf"
"$nginx_bin" -p "$work" -c "$work/nginx.conf"
log "nginx on 127.0.0.1:$nginx_port in front of 127.0.0.1:$port1 and 127.0.0.1:$port2"

# The settings the hosts share (deploy/agora.env.example's shape, for this machine).
s3_port="$(cat "$work/s3.port")"
"$python" - "$work/s3.json" "$work/environment.json" <<PY
import base64, json, secrets, sys
s3 = json.load(open(sys.argv[1]))
env = {
    "AGORA_ENV": "development", "AGORA_HOST": "127.0.0.1",
    "AGORA_DATABASE_URL": "$AGORA_DATABASE_URL", "AGORA_REDIS_URL": "$AGORA_REDIS_URL",
    "AGORA_REDIS_PREFIX": "deploy-test-" + secrets.token_hex(4) + ":",
    "AGORA_TRUST_PROXY": "true", "AGORA_ALLOWED_ORIGINS": "http://127.0.0.1:$nginx_port",
    "AGORA_PUBLIC_URL": "http://127.0.0.1:$nginx_port", "AGORA_COOKIE_SECURE": "false",
    "AGORA_JWT_SECRET": secrets.token_urlsafe(32), "AGORA_INVENTORY_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "AGORA_PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
    "AGORA_MEDIA_STORE": "s3", "AGORA_MEDIA_S3_ENDPOINT": "http://127.0.0.1:$s3_port", "AGORA_MEDIA_S3_BUCKET": "agora-media",
    "AGORA_MEDIA_S3_ACCESS_KEY_ID": s3["accessKeyId"], "AGORA_MEDIA_S3_SECRET_ACCESS_KEY": s3["secretAccessKey"],
    "AGORA_IMAGE_THUMBNAIL_WIDTHS": "320",
    "AGORA_BCRYPT_COST": "4", "AGORA_PRESENCE_TTL_SECONDS": "10", "AGORA_LOG_LEVEL": "notice",
    # The API reader below makes ~50 requests a second from one address; the limit itself is tested elsewhere.
    "AGORA_RATE_LIMIT_GENERAL": "100000",
}
json.dump(env, open(sys.argv[2], "w"))
PY
# The VAPID key too, shared (a development host would otherwise make its own in its data folder).
vapid="$("$release/bin/agora" vapid-key 2>/dev/null | tail -1)"
if [ -n "$vapid" ]; then
    "$python" -c 'import json, sys; p = sys.argv[1]; e = json.load(open(p)); e["AGORA_VAPID_PRIVATE_KEY"] = sys.argv[2]; json.dump(e, open(p, "w"))' \
        "$work/environment.json" "$vapid"
fi

if ! "$python" Tests/deploy/deploy_check.py --release "$release" --nginx-port "$nginx_port" --ports "$port1,$port2" \
    --environment "$work/environment.json" --work "$work" --messages "${AGORA_DEPLOY_MESSAGES:-120}"; then
    log "failed; the hosts' logs:"
    tail -n 40 "$work"/agora-*.log >&2 || true
    tail -n 20 "$work/nginx-error.log" >&2 || true
    exit 1
fi
log "ok"
