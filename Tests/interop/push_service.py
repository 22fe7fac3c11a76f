"""A local Web Push service (RFC 8030) for the tests, built on the libraries real push clients use: subscriptions are
P-256 key pairs made with `cryptography`, every push's VAPID header (RFC 8292) is checked with `py_vapid`, and every
payload is decrypted with `http_ece` (RFC 8188/8291) using the subscription's private key and auth secret.

    python3 push_service.py --ready PORTFILE --record PUSHES.jsonl

- `POST /subscriptions?behaviour=ok|gone|busy-once|error`: a new subscription, answered as the browser's
  `PushSubscription.toJSON()` (`{"endpoint", "keys": {"p256dh", "auth"}}`). The behaviour is how its endpoint answers:
  `ok` 201; `gone` 410; `busy-once` 429 with `Retry-After: 1` the first time, then 201; `error` 500 every time.
- `POST /push/<id>`: a push. One JSON line per push goes to the record before the answer: the headers that matter,
  whether the VAPID token verified, its claims, and the decrypted payload (or why it did not decrypt).
"""
import argparse
import base64
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02


def b64(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class State:
    def __init__(self, record):
        self.record = record
        self.lock = threading.Lock()
        self.subscriptions = {}


def handler(state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *arguments):
            sys.stderr.write("push service: " + (format % arguments) + "\n")

        def answer(self, status, body=b"", headers=None):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path, _, query = self.path.partition("?")
            if path == "/subscriptions":
                behaviour = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("behaviour", "ok")
                key = ec.generate_private_key(ec.SECP256R1())
                public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
                auth = secrets.token_bytes(16)
                ident = secrets.token_hex(8)
                with state.lock:
                    state.subscriptions[ident] = {"key": key, "auth": auth, "behaviour": behaviour, "seen": 0}
                host, port = self.server.server_address[:2]
                answer = {"endpoint": f"http://{host}:{port}/push/{ident}", "keys": {"p256dh": b64(public), "auth": b64(auth)}}
                return self.answer(201, json.dumps(answer).encode(), {"Content-Type": "application/json"})
            if path.startswith("/push/"):
                ident = path[len("/push/"):]
                with state.lock:
                    subscription = state.subscriptions.get(ident)
                    if subscription:
                        subscription["seen"] += 1
                if not subscription:
                    return self.answer(404)
                entry = {
                    "id": ident, "at": time.time(), "attempt": subscription["seen"], "behaviour": subscription["behaviour"],
                    "ttl": self.headers.get("TTL"), "urgency": self.headers.get("Urgency"), "topic": self.headers.get("Topic"),
                    "contentEncoding": self.headers.get("Content-Encoding"), "bytes": len(body),
                }
                authorization = self.headers.get("Authorization") or ""
                try:
                    entry["vapid"] = bool(Vapid02.verify(authorization))
                    token = authorization.split("t=", 1)[1].split(",", 1)[0]
                    entry["claims"] = json.loads(unb64(token.split(".")[1]))
                    entry["k"] = authorization.split("k=", 1)[1].strip()
                except Exception as error:  # noqa: BLE001 - the record says what failed
                    entry["vapid"] = False
                    entry["vapidError"] = repr(error)
                try:
                    plain = http_ece.decrypt(body, private_key=subscription["key"], auth_secret=subscription["auth"], version="aes128gcm")
                    entry["payload"] = json.loads(plain)
                except Exception as error:  # noqa: BLE001
                    entry["decryptError"] = repr(error)
                with state.lock:
                    with open(state.record, "a", encoding="utf-8") as out:
                        out.write(json.dumps(entry) + "\n")
                behaviour = subscription["behaviour"]
                if behaviour == "gone":
                    return self.answer(410)
                if behaviour == "error":
                    return self.answer(500)
                if behaviour == "busy-once" and subscription["seen"] == 1:
                    return self.answer(429, headers={"Retry-After": "1"})
                return self.answer(201, headers={"Location": f"/messages/{secrets.token_hex(4)}"})
            return self.answer(404)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready", required=True)
    parser.add_argument("--record", required=True)
    arguments = parser.parse_args()
    state = State(arguments.record)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    with open(arguments.ready + ".tmp", "w") as ready:
        ready.write(str(server.server_address[1]))
    os.replace(arguments.ready + ".tmp", arguments.ready)
    server.serve_forever()


if __name__ == "__main__":
    main()
