#!/usr/bin/env bash
# Makes the foreign peers the tests run against available (idempotent), and prints the python to run them with:
# the WebSocket interop clients of Tests/interop, the SMTP server of Tests/mail and the browser of Tests/e2e.
#
#   Debian:  nodejs (only when there is no node binary) and node-ws, which lives in /usr/share/nodejs (NODE_PATH);
#            openssl, whose command makes the SMTP tests' self-signed certificate;
#            chromium and chromium-driver, the headless browser the PWA's end-to-end tests drive
#   PyPI:    websockets (13 or later, for its asyncio client), websocket-client, aiosmtpd, and stripe (its webhook
#            signature code checks ours), selenium (drives chromium), schemathesis (4.x: the API against its OpenAPI
#            document, scripts/schemathesis.sh), extruct (reads the share pages' OpenGraph and JSON-LD as crawlers
#            do), http_ece and py_vapid (the local Web Push service decrypts and verifies with them), moto (the S3
#            server), Pillow (checks stored images), authlib and flask (the local OAuth 2 provider of the login
#            tests), solders (signs the transactions of the local Solana RPC node), segno and zxing-cpp (check the
#            PWA's QR codes: encoded as segno does, decoded by zxing), for the python3 on PATH
#
# When pip may not install into that python (Debian marks its python3 "externally managed", PEP 668), the PyPI
# packages go into a virtualenv in .local/venv instead. Either way the last line on stdout is the python to use, so:
#
#   export AGORA_INTEROP_PYTHON="$(scripts/interop-deps.sh)"
#
# Everything else goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.local/venv"
pypi_packages=("websockets>=13" "websocket-client" "aiosmtpd>=1.4" "stripe>=7" "selenium>=4.10" "schemathesis>=4.32,<5" "extruct>=0.16" "http_ece>=1.2" "py_vapid>=1.9" "moto[server]>=5,<6" "Pillow>=10" "authlib>=1.3" "flask>=3" "solders>=0.29" "segno>=1.6" "zxing-cpp>=2")

log() { printf '[interop-deps] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages; refreshes the package lists only when the first attempt fails (a fresh machine has none).
apt_install() {
    log "installing Debian packages: $*"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; then
        log "apt-get install failed; running apt-get update and trying again"
        as_root apt-get update -qq >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Exactly the imports the scripts need.
has_pypi_packages() { "$1" -c 'import websockets.asyncio.client, websocket, aiosmtpd.controller, stripe, selenium.webdriver, schemathesis, extruct, http_ece, py_vapid; websocket.ABNF; stripe.WebhookSignature; schemathesis.hook; extruct.extract; py_vapid.Vapid02.verify; import moto.server, boto3, botocore.auth; moto.server.ThreadedMotoServer; import PIL.Image, PIL.features; assert PIL.features.check("webp"); import authlib.integrations.flask_oauth2, authlib.oauth2.rfc7636, flask; import solders.keypair, solders.transaction, segno, zxingcpp' >/dev/null 2>&1; }

# MARK: node and ws

debian_packages=()
command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1 || debian_packages+=(nodejs)
is_installed node-ws || debian_packages+=(node-ws)
command -v openssl >/dev/null 2>&1 || debian_packages+=(openssl)
command -v python3 >/dev/null 2>&1 || debian_packages+=(python3)
is_installed chromium || debian_packages+=(chromium)
is_installed chromium-driver || debian_packages+=(chromium-driver)
# nginx for scripts/deploy-test.sh (deploy/nginx/agora.conf in front of two hosts).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || debian_packages+=(nginx-light)
if [ ${#debian_packages[@]} -gt 0 ]; then apt_install "${debian_packages[@]}"; fi
node="$(command -v node || command -v nodejs)"
NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}" "$node" -e "require('ws')" \
    || { log "node cannot load ws even with NODE_PATH=/usr/share/nodejs"; exit 1; }
log "node ws: ok ($node)"

# MARK: python websockets and websocket-client

python="$(command -v python3)"
if ! has_pypi_packages "$python" && ! { [ -x "$venv/bin/python3" ] && has_pypi_packages "$venv/bin/python3"; }; then
    log "installing ${pypi_packages[*]} for $python"
    if ! pip_output="$("$python" -m pip install --quiet --upgrade "${pypi_packages[@]}" 2>&1)"; then
        if grep -q "externally-managed-environment" <<<"$pip_output"; then
            log "pip refuses to install into $python (externally managed): using a virtualenv in $venv"
        else
            log "pip failed for $python; using a virtualenv in $venv instead. pip said:"
            printf '%s\n' "$pip_output" >&2
        fi
        # Debian's python3 needs python3-venv for ensurepip, without which a venv has no pip.
        "$python" -c 'import ensurepip' >/dev/null 2>&1 || apt_install python3-venv
        [ -x "$venv/bin/python3" ] || "$python" -m venv "$venv"
        "$venv/bin/python3" -m pip install --quiet --upgrade "${pypi_packages[@]}" >&2
    fi
fi
if has_pypi_packages "$python"; then
    chosen="$python"
elif has_pypi_packages "$venv/bin/python3"; then
    chosen="$venv/bin/python3"
else
    log "the PyPI packages are still not importable"
    exit 1
fi
log "python websockets, websocket-client, aiosmtpd, stripe, selenium, schemathesis, extruct, http_ece and py_vapid: ok ($chosen)"
echo "$chosen"
