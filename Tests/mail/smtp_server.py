"""A real SMTP server for Agora's mail tests, on aiosmtpd (PyPI).

Every accepted message is parsed with Python's own email package and written to SPOOL/<n>.json as
{"mail_from", "rcpt_tos", "from", "to", "subject", "text", "headers", "raw"}, so the tests check what a standard
parser makes of our MIME, not what we think we sent.

    python3 smtp_server.py --spool DIR --ready FILE [--tls {starttls,implicit} --cert C --key K]
                           [--auth USER:PASS] [--reject ADDRESS] [--tempfail N]

--ready FILE receives the port once the server listens. Runs until SIGTERM.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--spool", required=True)
parser.add_argument("--ready", required=True)
parser.add_argument("--tls", choices=["starttls", "implicit"])
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--auth")
parser.add_argument("--reject", action="append", default=[])
parser.add_argument("--tempfail", type=int, default=0)
args = parser.parse_args()


class Handler:
    def __init__(self):
        self.count = 0
        self.tempfails_left = args.tempfail
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.tempfails_left > 0:
                self.tempfails_left -= 1
                return "451 4.3.0 Try again later"
            self.count += 1
            n = self.count
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": message.get_content(),
            "headers": {k: str(v) for k, v in message.items()},
            "raw": raw.decode("ascii", errors="replace"),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(getattr(session, "authenticated", False)),
        }
        path = os.path.join(args.spool, f"{n:04d}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


kwargs = {}
context = None
if args.tls:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
if args.tls == "starttls":
    kwargs.update(tls_context=context, require_starttls=True)
if args.auth:
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.tls))
port = free_port()
if args.tls == "implicit":
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=context, server_hostname="localhost", **kwargs)
else:
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
with open(args.ready + ".tmp", "w") as f:
    f.write(str(port))
os.rename(args.ready + ".tmp", args.ready)

stop = threading.Event()
# A parent may have started us with these blocked (the test runner's threads block them for its own handling), and
# a blocked mask survives exec: unblock before relying on them.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
controller.stop()
sys.exit(0)
