"""A fake of the few Stripe API endpoints Agora's StripeProvider calls, for its end-to-end tests (CommerceTests).

Python's standard library only: http.server, served over TLS (ssl) with the certificate and key given, or in the
clear with --plain. Every request is appended to RECORD as one JSON line:
{"method", "path", "headers" (lower-case names), "body", "form" ([name, value] pairs as parse_qsl decodes them)},
so the tests check exactly what a standard form decoder reads from our requests.

    python3 fake_stripe_api.py --secret-key SK --record FILE --ready FILE (--cert C --key K | --plain)

--ready FILE receives the port once the server listens. Runs until SIGTERM.

Behaviour, in the manner of Stripe's API:
- a request without "Authorization: Bearer SK" gets 401 and an error whose message quotes the key it got (Stripe
  masks most of it; the fake does not, so a test sees whether Agora ever passes it on);
- POST /v1/checkout/sessions answers a new session {"id": "cs_test_<n>", "url": ...}; a line in currency "xxx" gets
  400 with an error whose message quotes the key;
- GET /v1/checkout/sessions/<id> answers the session with payment_intent "pi_from_session";
- POST /v1/checkout/sessions/<id>/expire answers the expired session; "cs_test_completed" gets 400 (not open),
  "cs_test_500" gets 500;
- POST /v1/refunds answers {"id": "re_test_<n>", "status": "succeeded"}, or "failed" for payment_intent
  "pi_declined", in chunked transfer coding;
- GET /big answers 100 000 bytes (for the client's size cap).
"""
import argparse
import itertools
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

parser = argparse.ArgumentParser()
parser.add_argument("--secret-key", required=True)
parser.add_argument("--record", required=True)
parser.add_argument("--ready", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--plain", action="store_true")
args = parser.parse_args()

record_lock = threading.Lock()
counter = itertools.count(1)


def stripe_error(message, type_="invalid_request_error", code=None, param=None):
    error = {"type": type_, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *arguments):
        sys.stderr.write("fake stripe: " + (format % arguments) + "\n")

    def do_GET(self):
        self.handle_call("GET")

    def do_POST(self):
        self.handle_call("POST")

    def handle_call(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        form = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
        with record_lock:
            with open(args.record, "a", encoding="utf-8") as f:
                f.write(json.dumps({
                    "method": method,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "form": [[k, v] for k, v in form],
                }) + "\n")

        authorization = self.headers.get("Authorization", "")
        if authorization != "Bearer " + args.secret_key:
            given = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else authorization
            return self.reply(401, stripe_error("Invalid API Key provided: " + given))
        if not self.headers.get("Stripe-Version"):
            return self.reply(400, stripe_error("No Stripe-Version"))
        fields = dict(form)
        path = self.path
        n = next(counter)

        if method == "POST" and path == "/v1/checkout/sessions":
            if fields.get("line_items[0][price_data][currency]") == "xxx":
                return self.reply(400, stripe_error(
                    "Invalid currency: xxx. (request made with key %s)" % args.secret_key,
                    code="parameter_invalid_string", param="line_items[0][price_data][currency]"))
            session = "cs_test_%d" % n
            return self.reply(200, {
                "id": session, "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/" + session,
                "client_reference_id": fields.get("client_reference_id"), "status": "open",
            })
        if method == "POST" and path.startswith("/v1/checkout/sessions/") and path.endswith("/expire"):
            session = path[len("/v1/checkout/sessions/"):-len("/expire")]
            if session == "cs_test_completed":
                return self.reply(400, stripe_error(
                    "Only Checkout Sessions with a status in [\"open\"] can be expired.", code="checkout_session_not_open"))
            if session == "cs_test_500":
                return self.reply(500, stripe_error("Something went wrong on Stripe's end.", type_="api_error"))
            return self.reply(200, {"id": session, "object": "checkout.session", "status": "expired"})
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            session = path[len("/v1/checkout/sessions/"):]
            return self.reply(200, {"id": session, "object": "checkout.session", "payment_intent": "pi_from_session"})
        if method == "POST" and path == "/v1/refunds":
            status = "failed" if fields.get("payment_intent") == "pi_declined" else "succeeded"
            return self.reply(200, {
                "id": "re_test_%d" % n, "object": "refund", "status": status, "amount": int(fields.get("amount", "0")),
                "payment_intent": fields.get("payment_intent"),
            }, chunked=True)
        if method == "GET" and path == "/big":
            return self.reply(200, {"padding": "x" * 100000})
        return self.reply(404, stripe_error("Unrecognized request URL (%s: %s)." % (method, path)))

    def reply(self, status, value, chunked=False):
        data = json.dumps(value).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-Id", "req_fake")
        self.send_header("Connection", "close")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            # Small, uneven chunks, one with an extension, then a trailer field.
            pieces = [data[i:i + 7] for i in range(0, len(data), 7)]
            for index, piece in enumerate(pieces):
                extension = ";note=fake" if index == 1 else ""
                self.wfile.write(b"%x%s\r\n%s\r\n" % (len(piece), extension.encode(), piece))
            self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True


# socketserver's default backlog is 5: more concurrent connects than that (a client with a connection pool, the
# https-client benchmark) get their SYN dropped and retried a second later, which measures the kernel, not the client.
ThreadingHTTPServer.request_queue_size = 128
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if not args.plain:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
port = server.server_address[1]
with open(args.ready + ".tmp", "w") as f:
    f.write(str(port))
os.rename(args.ready + ".tmp", args.ready)
server.serve_forever()
