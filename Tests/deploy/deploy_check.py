"""The deployment of deploy/ (nginx in front of two Agora hosts started from a packaged release, images in an S3
bucket), driven from outside as users would: run by scripts/deploy-test.sh, which prepares nginx, the bucket and the
database and passes them here.

Checks, through nginx:
- the PWA's static files come from nginx (revalidated by ETag), pages and the API from the hosts;
- the client address a host records is the one nginx saw, whatever X-Forwarded-For the client sent;
- an image uploaded through nginx is cleaned, served by both hosts (shared bucket) and then cached by nginx;
- WebSockets upgrade through nginx and chat flows;
- a rolling restart (SIGTERM one host, start it again, then the other) while a buyer chats and a reader polls the
  API: no HTTP request fails, every chat message is delivered exactly once, every socket is live again.
It prints what it measured and exits non-zero on the first failed check.
"""
import argparse
import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import websockets
from websockets.asyncio.client import connect

import support
from support import check, http, json_of, log

support.PREFIX[0] = "deploy-check"


class Hosts:
    """The Agora processes, started from the packaged release as systemd would start them."""

    def __init__(self, release, environment, ports, work):
        self.release, self.environment, self.ports, self.work = release, environment, ports, work
        self.processes = {}

    def env(self, index):
        env = dict(os.environ)
        env.update(self.environment)
        env["AGORA_PORT"] = str(self.ports[index])
        # Each host its own data folder: they share nothing on disk.
        env["AGORA_DATA_DIR"] = os.path.join(self.work, f"data-{index}")
        return env

    def start(self, index):
        log_file = open(os.path.join(self.work, f"agora-{index}.log"), "ab")
        self.processes[index] = subprocess.Popen(
            [os.path.join(self.release, "bin", "agora"), "serve"], cwd=self.release, env=self.env(index),
            stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.processes[index].poll() is not None:
                log(f"host {index} exited with {self.processes[index].returncode}; see agora-{index}.log")
                sys.exit(1)
            try:
                if http("GET", f"http://127.0.0.1:{self.ports[index]}/health/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        log(f"host {index} did not become ready")
        sys.exit(1)

    def stop(self, index):
        """SIGTERM, as systemd stops it; the time until it has exited."""
        process = self.processes.pop(index)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            log(f"host {index} did not stop within 40 s of SIGTERM")
            sys.exit(1)
        return time.monotonic() - started

    def command(self, *arguments):
        return subprocess.run([os.path.join(self.release, "bin", "agora"), *arguments], cwd=self.release, env=self.env(0),
                              capture_output=True, text=True, timeout=120)

    def stop_all(self):
        for index in list(self.processes):
            self.stop(index)


def photo():
    """An 800x600 JPEG with GPS in its EXIF, as a phone would upload it."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), (30, 120, 200))
    ImageDraw.Draw(image).ellipse([200, 100, 600, 500], fill=(250, 200, 40))
    exif = Image.Exif()
    exif[0x010F] = "DeployTestPhone"
    exif[0x8825] = {1: "S", 2: (33.0, 55.0, 30.0), 3: "E", 4: (18.0, 25.0, 26.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def multipart(field, filename, content_type, payload):
    boundary = "----agora-deploy-check"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Chat:
    """A buyer sending numbered messages over its socket (resending an unacknowledged one with the same clientId after
    a reconnect) and a seller's socket collecting them, both through nginx, both reconnecting with `resume`."""

    def __init__(self, ws_url, origin, buyer, seller):
        self.ws_url, self.origin, self.buyer, self.seller = ws_url, origin, buyer, seller
        self.received = []
        self.duplicates = []
        self.stale = []  # events at or before the last sequence seen: (seq, last, type)
        self.skips = []  # jumps in the sequence: (last, next)
        self.hellos = []  # the seq each of the seller's sockets started at
        self.first_hello = None
        self.acked_at = {}  # text -> when the buyer had its ack
        self.received_at = {}  # text -> when the seller had it
        self.first_event = None
        self.acked = set()
        self.gaps = []  # seconds from a socket's close to its next open
        self.closes = {}  # code -> count
        self.sending = True
        self.done = False
        # Set at the seller's first hello: a socket opened without `resume` starts from the present, so the buyer
        # may only begin once the seller is listening.
        self.ready = asyncio.Event()

    def headers(self, token):
        return {"Origin": self.origin, "Authorization": f"Bearer {token}"}

    async def read(self):
        last = None  # the last sequence seen; None until the first hello
        closed_at = None
        while not self.done:
            url = self.ws_url + (f"?resume={last}" if last is not None else "")
            try:
                async with connect(url, additional_headers=self.headers(self.seller["accessToken"]), open_timeout=5) as socket:
                    if closed_at is not None:
                        self.gaps.append(time.monotonic() - closed_at)
                        closed_at = None
                    async for raw in socket:
                        message = json.loads(raw)
                        if message.get("type") == "hello":
                            # A fresh socket starts at the stream's head; a resumed one reports where it is.
                            if last is None:
                                last = message["data"]["seq"]
                                self.first_hello = time.monotonic()
                                # As the PWA does: say where to start at once, or the server waits
                                # AGORA_WS_RESUME_WAIT_MS (2 s) for a resume before it sends live events.
                                await socket.send(json.dumps({"type": "resume", "id": "r", "data": {"lastSeq": last}}))
                            self.hellos.append(message["data"]["seq"])
                            self.ready.set()
                        seq = message.get("seq")
                        if seq is not None:
                            if self.first_event is None:
                                self.first_event = time.monotonic()
                            if seq <= last:
                                self.stale.append((seq, last, message.get("type")))
                                continue  # an event at or before the resume point is never shown twice
                            if seq != last + 1:
                                self.skips.append((last, seq))
                            last = seq
                        if message.get("type") == "chat:message":
                            text = message["data"]["message"]["text"]
                            (self.duplicates if text in self.received else self.received).append(text)
                            self.received_at.setdefault(text, time.monotonic())
                    # A 1000 or 1001 close ends the iteration without an exception.
                    self.closes[socket.close_code] = self.closes.get(socket.close_code, 0) + 1
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                self.closes[code] = self.closes.get(code, 0) + 1
            except (OSError, asyncio.TimeoutError, websockets.InvalidStatus, websockets.InvalidHandshake):
                pass
            if closed_at is None:
                closed_at = time.monotonic()
            await asyncio.sleep(0.05)

    async def send(self, count, interval):
        conversation = None
        number = 0
        closed_at = None
        while number < count and not self.done:
            try:
                async with connect(self.ws_url, additional_headers=self.headers(self.buyer["accessToken"]), open_timeout=5) as socket:
                    if closed_at is not None:
                        self.gaps.append(time.monotonic() - closed_at)
                        closed_at = None
                    while number < count:
                        text = f"message {number:04d}"
                        data = {"text": text, "clientId": text.replace(" ", "-")}
                        if conversation:
                            data["conversationId"] = conversation
                        else:
                            data["to"] = self.seller["account"]["id"]
                        await socket.send(json.dumps({"type": "chat:send", "id": number, "data": data}))
                        while True:
                            reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
                            if reply.get("id") == number and reply.get("type") == "ack":
                                # A resent message (same clientId) is acknowledged with the stored one.
                                data = reply.get("data") or {}
                                conversation = data.get("conversationId") or (data.get("message") or {}).get("conversationId") or conversation
                                self.acked.add(text)
                                self.acked_at.setdefault(text, time.monotonic())
                                break
                            if reply.get("id") == number and reply.get("type") == "error":
                                raise RuntimeError(f"chat:send refused: {reply}")
                        number += 1
                        await asyncio.sleep(interval)
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                self.closes[code] = self.closes.get(code, 0) + 1
            except (OSError, asyncio.TimeoutError, websockets.InvalidStatus, websockets.InvalidHandshake):
                pass
            if number < count and closed_at is None:
                closed_at = time.monotonic()
            await asyncio.sleep(0.05)
        self.sending = False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--release", required=True)
    parser.add_argument("--nginx-port", type=int, required=True)
    parser.add_argument("--ports", required=True, help="the two hosts' ports, comma-separated")
    parser.add_argument("--environment", required=True, help="a JSON file of the settings every host shares")
    parser.add_argument("--work", required=True)
    parser.add_argument("--messages", type=int, default=120)
    arguments = parser.parse_args()

    with open(arguments.environment) as f:
        environment = json.load(f)
    ports = [int(p) for p in arguments.ports.split(",")]
    hosts = Hosts(arguments.release, environment, ports, arguments.work)
    front = f"http://127.0.0.1:{arguments.nginx_port}"
    try:
        for index in range(len(ports)):
            hosts.start(index)
        log(f"{len(ports)} hosts ready on {ports}, nginx on {arguments.nginx_port}")
        run(hosts, front, arguments)
    finally:
        hosts.stop_all()


def run(hosts, front, arguments):
    # Static files from nginx, revalidated; pages from the hosts.
    status, headers, body = http("GET", f"{front}/styles.css")
    with open(os.path.join(arguments.release, "Public", "styles.css"), "rb") as f:
        check(status == 200 and body == f.read(), "nginx serves /styles.css from the release's Public folder")
    check(headers.get("Cache-Control") == "no-cache" and headers.get("ETag"), "static files are revalidated by ETag")
    etag = headers.get("ETag")
    check(http("GET", f"{front}/styles.css", headers={"If-None-Match": etag})[0] == 304, "an unchanged static file is a 304")
    status, headers, body = http("GET", f"{front}/")
    check(status == 200 and b"<html" in body.lower(), "the app's page comes through nginx")
    check(http("GET", f"{front}/metrics")[0] == 200, "/metrics answers the local network")

    # Accounts, a seller (made with the release's own command, as an operator would).
    password = "deploy-check-password-1"
    grants = {}
    for name in ("deploy_seller", "deploy_buyer"):
        status, grant = json_of(http("POST", f"{front}/api/auth/register",
                                     {"email": f"{name}@example.com", "username": name, "displayName": name, "password": password}))
        check(status == 201, f"{name} registers through nginx ({status})")
    made = hosts.command("set-role", "deploy_seller", "seller")
    check(made.returncode == 0, f"agora set-role makes a seller: {made.stdout.strip()[-200:]} {made.stderr.strip()[-300:]}")
    for name in ("deploy_seller", "deploy_buyer"):
        # A client that claims another address in X-Forwarded-For: the hosts record the one nginx appended.
        status, grant = json_of(http("POST", f"{front}/api/auth/login", {"email": f"{name}@example.com", "password": password},
                                     headers={"X-Forwarded-For": "203.0.113.9"}))
        check(status == 200, f"{name} logs in through nginx")
        grants[name] = grant
    bearer = {"Authorization": f"Bearer {grants['deploy_seller']['accessToken']}"}
    status, sessions = json_of(http("GET", f"{front}/api/me/sessions", headers=bearer))
    addresses = [s.get("ip") for s in sessions.get("sessions", [])]
    check(status == 200 and addresses and all(a == "127.0.0.1" for a in addresses),
          f"the session's address is the one nginx saw, not the forged one: {addresses}")

    # A product with a phone photo, through nginx.
    status, product = json_of(http("POST", f"{front}/api/products", {
        "title": "Deployed teapot", "description": "Served by two hosts.", "price": {"amount": 25000, "currency": "ZAR"},
        "stock": 5, "condition": "new", "type": "physical"}, headers=bearer))
    check(status == 201, f"the seller creates a product ({status} {product})")
    check(json_of(http("POST", f"{front}/api/products/{product['id']}/publish", headers=bearer))[0] == 200, "and publishes it")
    body, content_type = multipart("image", "IMG_0001.JPG", "image/jpeg", photo())
    status, product = json_of(http("POST", f"{front}/api/products/{product['id']}/images", raw=body,
                                   headers={**bearer, "Content-Type": content_type}))
    check(status == 201, f"a photo uploads through nginx ({status})")
    image = product["images"][0]
    check([t["width"] for t in image["thumbnails"]] == [320], f"it gets its thumbnail: {image['thumbnails']}")
    stored = {}
    for index, port in enumerate(hosts.ports):
        status, _, stored[index] = http("GET", f"http://127.0.0.1:{port}{image['url']}")
        check(status == 200, f"host {index} serves the image (the bucket is shared; no host has it on disk)")
    check(stored[0] == stored[1] and b"DeployTestPhone" not in stored[0] and b"Exif\x00\x00" not in stored[0],
          "both serve the same cleaned bytes, without the phone's EXIF")
    check(not any(os.path.isdir(os.path.join(arguments.work, f"data-{i}", "media")) for i in range(len(hosts.ports))),
          "no host wrote media to its disk")
    cache = [http("GET", f"{front}{image['url']}")[1].get("X-Cache-Status") for _ in range(2)]
    check(cache == ["MISS", "HIT"], f"nginx caches the image after the first request: {cache}")
    thumbnail = image["thumbnails"][0]["url"]
    check(http("GET", f"{front}{thumbnail}")[0] == 200, "the thumbnail comes through nginx")

    # Chat and a reader of the API during a rolling restart.
    asyncio.run(rolling_restart(hosts, front, grants, arguments))


async def rolling_restart(hosts, front, grants, arguments):
    ws_url = front.replace("http://", "ws://") + "/ws"
    chat = Chat(ws_url, front, grants["deploy_buyer"], grants["deploy_seller"])
    failures = []
    requests = [0]
    reading = [True]

    def reader():
        while reading[0]:
            try:
                status = http("GET", f"{front}/api/products?limit=5", timeout=10)[0]
            except OSError as error:
                status = str(error)
            requests[0] += 1
            if status != 200:
                failures.append(status)
            time.sleep(0.02)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    receive = asyncio.create_task(chat.read())
    await asyncio.wait_for(chat.ready.wait(), 20)
    send = asyncio.create_task(chat.send(arguments.messages, 0.05))
    await asyncio.sleep(float(os.environ.get("AGORA_DEPLOY_WARMUP", "1.5")))
    stops = []
    for index in range(len(hosts.ports)):
        stops.append(await asyncio.to_thread(hosts.stop, index))
        log(f"host {index} stopped {stops[-1]:.2f} s after SIGTERM; starting it again (the new release)")
        await asyncio.to_thread(hosts.start, index)
        # nginx counts the stopped host out for fail_timeout (3 s in deploy/nginx/agora.conf) and tries it again
        # after that: the next host may stop only once this one is back in (README, rolling a new version).
        await asyncio.sleep(4)
    started = time.monotonic()
    while chat.sending and time.monotonic() - started < 60:
        await asyncio.sleep(0.1)
    deadline = time.monotonic() + 20
    while len(chat.received) < arguments.messages and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    chat.done = True
    reading[0] = False
    for name, task in (("reader", receive), ("sender", send)):
        if task.done() and not task.cancelled() and task.exception():
            log(f"the {name} failed: {task.exception()!r}")
        task.cancel()
    thread.join(timeout=15)

    sent = {f"message {n:04d}" for n in range(arguments.messages)}
    check(not chat.sending, f"the buyer sent all {arguments.messages} messages across the restarts ({len(chat.acked)} acknowledged)")
    if set(chat.received) != sent:
        log(f"missing: {sorted(sent - set(chat.received))}; hellos: {chat.hellos}; sequence jumps: {chat.skips}; stale events: {chat.stale[:10]}; closes: {chat.closes}")
    check(set(chat.received) == sent, f"the seller received every message ({len(set(chat.received))} of {len(sent)})")
    check(not chat.duplicates, f"none twice ({len(chat.duplicates)} duplicates)")
    check(chat.closes.get(1001, 0) >= 1, f"sockets were closed with 1001 by the stopping hosts: {chat.closes}")
    check(not failures, f"{requests[0]} API requests through nginx during the restarts, none failed: {failures[:5]}")
    gaps = sorted(chat.gaps)
    latencies = sorted(max(0.0, chat.received_at[t] - chat.acked_at[t]) for t in chat.received_at if t in chat.acked_at)
    if latencies:
        early = [round((chat.received_at[t] - chat.acked_at[t]) * 1000) for t in sorted(chat.acked_at)[:8] if t in chat.received_at]
        log(f"ack to delivery: median {latencies[len(latencies) // 2] * 1000:.1f} ms, p90 {latencies[int(len(latencies) * 0.9)] * 1000:.0f} ms, "
            f"worst {latencies[-1] * 1000:.0f} ms; the first eight: {early} ms")
    if chat.first_hello and chat.first_event:
        log(f"the seller's first event came {(chat.first_event - chat.first_hello) * 1000:.0f} ms after its first hello; hellos at {chat.hellos}")
    log(f"FIGURES: hosts stopped in {', '.join(f'{s:.2f}' for s in stops)} s after SIGTERM; sockets live again after "
        f"{', '.join(f'{g * 1000:.0f}' for g in gaps)} ms (median {gaps[len(gaps) // 2] * 1000:.0f} ms, worst {gaps[-1] * 1000:.0f} ms); "
        f"{requests[0]} API requests, 0 failed; {arguments.messages} chat messages, each delivered once")


if __name__ == "__main__":
    main()
