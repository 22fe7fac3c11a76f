"""The multi-host deployment, driven from its client host: run by scripts/cluster-test.sh inside the client's network
namespace, once the namespaces (hosts) and their links exist. It starts every service on its own host (`ip netns
exec`), measures chat and live orders through nginx with 1, 2 and 3 Agora hosts, then injects failures while chat,
orders, notifications and API reads go on:

1. SIGKILL an Agora host (no drain: its sockets just die);
2. SIGKILL the Redis master (Sentinel promotes the replica);
3. restart PostgreSQL (`pg_ctl restart -m fast`: every connection is cut).

For each it reports the time until every client is live again (each chat pair has delivered a message sent after
the failure, an order placed after it is paid and noticed, an API read after it answered). At the end nothing may
be lost: every acknowledged chat message delivered to its seller exactly once, every paid order noticed exactly
once, stock down by exactly what was paid for, an image uploaded through one host served by all three.
Exits non-zero on the first failed check; prints FIGURES lines and writes figures.json in the work folder.
"""
import argparse
import asyncio
import base64
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import websockets
from websockets.asyncio.client import connect

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(ROOT, "Tests", "deploy"), os.path.join(ROOT, "bench", "commerce")]
import support  # noqa: E402  (Tests/deploy: log, check, http)
from checkout_load import ADDRESS as SHIPPING, Connection  # noqa: E402  (bench/commerce: an address, HTTP/1.1 keep-alive)
from support import check, http, json_of, log  # noqa: E402

support.PREFIX[0] = "cluster-check"

NET = "10.77.0."
ADDRESS = {"nginx": NET + "2", "h1": NET + "11", "h2": NET + "12", "h3": NET + "13", "pg": NET + "20",
           "r1": NET + "21", "r2": NET + "22", "s3": NET + "40", "client": NET + "50"}
AGORA_HOSTS = ["h1", "h2", "h3"]
FRONT = f"http://{ADDRESS['nginx']}"
WS = f"ws://{ADDRESS['nginx']}/ws"
PG_PASSWORD = "agora-cluster-" + secrets.token_hex(6)
# The clients ping their sockets as the PWA does (an unanswered ping means a dead connection: a host cut off by the
# network sends no close), every 2 s with 3 s to answer instead of the PWA's 25 s and 10 s, to keep the run short.
PING, PONG = 2, 3


def answers(url):
    """Whether `url` answers 200 now."""
    try:
        return http("GET", url, timeout=2)[0] == 200
    except OSError:
        return False


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


class Cluster:
    """Every process of the deployment, each started on its host (network namespace) and pinned to CPU 0 (this
    client runs on CPU 1), so the figures are the servers' and the client cannot take their core."""

    def __init__(self, arguments):
        self.arguments = arguments
        self.work = arguments.work
        self.prefix = arguments.prefix
        self.processes = {}
        self.environment = {}

    def namespace(self, host):
        return f"{self.prefix}-{host}"

    def spawn(self, key, host, argv, env=None, user=None):
        command = ["ip", "netns", "exec", self.namespace(host), "taskset", "-c", "0"]
        if user:
            command += ["runuser", "-u", user, "--"]
        log_file = open(os.path.join(self.work, f"{key}.log"), "ab")
        self.processes[key] = subprocess.Popen(command + argv, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                               start_new_session=True)
        return self.processes[key]

    def run(self, host, argv, user=None, env=None, timeout=120):
        command = ["ip", "netns", "exec", self.namespace(host)] + (["runuser", "-u", user, "--"] if user else []) + argv
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        if result.returncode != 0:
            log(f"{' '.join(argv[:3])} on {host} failed: {result.stdout[-500:]} {result.stderr[-800:]}")
            sys.exit(1)
        return result.stdout

    def kill(self, key):
        process = self.processes.pop(key)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def pids(self, host):
        out = subprocess.run(["ip", "netns", "pids", self.namespace(host)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def cpu_seconds(self, host):
        """User plus system CPU of every process on a host (PostgreSQL's backends included) so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids(host):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
        return total / ticks

    # PostgreSQL on its host, durable settings (fsync on): a restart must lose nothing that was committed.
    def start_postgres(self):
        data, run = os.path.join(self.work, "pg"), os.path.join(self.work, "pgrun")
        os.makedirs(data)
        os.makedirs(run)
        subprocess.run(["chown", "postgres:postgres", data, run], check=True)
        bin = self.arguments.pg_bin
        password_file = os.path.join(run, "password")
        with open(password_file, "w") as f:
            f.write(PG_PASSWORD)
        subprocess.run(["chown", "postgres:postgres", password_file], check=True)
        log_file = os.path.join(self.work, "postgres.log")
        open(log_file, "a").close()
        subprocess.run(["chown", "postgres:postgres", log_file], check=True)
        self.run("pg", [f"{bin}/initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                        "-E", "UTF8", "--locale=C.UTF-8"], user="postgres")
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = '{ADDRESS['pg']}'\nport = 5432\nunix_socket_directories = '{run}'\n"
                    "max_connections = 300\nshared_buffers = 256MB\n")
        with open(os.path.join(data, "pg_hba.conf"), "a") as f:
            f.write(f"host all all {NET}0/24 scram-sha-256\n")
        self.pg_ctl("start")
        psql = [f"{bin}/psql", "-h", run, "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt"]
        self.run("pg", psql + ["-d", "postgres", "-c", f"CREATE ROLE agora LOGIN PASSWORD '{PG_PASSWORD}'",
                               "-c", "CREATE DATABASE agora OWNER agora"], user="postgres")
        self.run("pg", psql + ["-d", "agora", "-c", "CREATE EXTENSION pg_trgm", "-c", "CREATE EXTENSION fuzzystrmatch",
                               "-c", "CREATE EXTENSION citext"], user="postgres")

    def pg_ctl(self, action):
        data = os.path.join(self.work, "pg")
        argv = [f"{self.arguments.pg_bin}/pg_ctl", "-D", data, "-l", os.path.join(self.work, "postgres.log"), "-w", "-t", "60"]
        if action == "restart":
            argv += ["-m", "fast"]
        self.run("pg", ["taskset", "-c", "0", "runuser", "-u", "postgres", "--"] + argv + [action])

    def sql(self, query):
        return self.run("pg", [f"{self.arguments.pg_bin}/psql", "-h", os.path.join(self.work, "pgrun"), "-U", "postgres",
                               "-d", "agora", "-qAt", "-c", query], user="postgres").strip()

    # Redis: a master, a replica and three Sentinels (one on each Redis host and one on the database host), as a
    # small deployment would place them.
    def start_redis(self, host, replica_of=None):
        folder = os.path.join(self.work, f"redis-{host}")
        os.makedirs(folder, exist_ok=True)
        argv = ["redis-server", "--bind", ADDRESS[host], "--port", "6379", "--protected-mode", "no", "--save", "",
                "--appendonly", "no", "--repl-diskless-sync-delay", "0", "--dir", folder]
        if replica_of:
            argv += ["--replicaof", ADDRESS[replica_of], "6379"]
        self.spawn(f"redis-{host}", host, argv)

    def start_sentinel(self, host):
        config = os.path.join(self.work, f"sentinel-{host}.conf")
        with open(config, "w") as f:
            f.write(f"bind {ADDRESS[host]}\nport 26379\nprotected-mode no\ndir {self.work}\n"
                    f"sentinel monitor agora {ADDRESS['r1']} 6379 2\nsentinel down-after-milliseconds agora 1000\n"
                    "sentinel failover-timeout agora 5000\nsentinel parallel-syncs agora 1\n")
        self.spawn(f"sentinel-{host}", host, ["redis-server", config, "--sentinel"])

    def redis(self, host, port, *command):
        result = subprocess.run(["redis-cli", "-h", ADDRESS[host], "-p", str(port), "--raw", *command],
                                capture_output=True, text=True, timeout=5)
        return result.stdout.split()

    def redis_master(self):
        for host in ("r1", "r2", "pg"):
            try:
                answer = self.redis(host, 26379, "SENTINEL", "get-master-addr-by-name", "agora")
                if len(answer) == 2:
                    return answer[0]
            except subprocess.TimeoutExpired:
                pass
        return None

    def wait_redis_ready(self):
        """Until the replica is in sync and every Sentinel knows it (so a failover can promote it)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            master = next(h for h in ("r1", "r2") if ADDRESS[h] == (self.redis_master() or ADDRESS["r1"]))
            info = " ".join(self.redis(master, 6379, "INFO", "replication"))
            replicas = [self.redis(h, 26379, "SENTINEL", "replicas", "agora") for h in ("r1", "r2", "pg")]
            if "state=online" in info and all(any("10.77" in word for word in r) for r in replicas):
                return
            time.sleep(0.2)
        log("the Redis replica or the Sentinels never got ready")
        sys.exit(1)

    def start_s3(self):
        self.spawn("s3", "s3", [self.arguments.python, os.path.join(os.getcwd(), "Tests/interop/s3_server.py"),
                                "--host", ADDRESS["s3"], "--ready", os.path.join(self.work, "s3.port"),
                                "--credentials", os.path.join(self.work, "s3.json"), "--bucket", "agora-media"])
        ready = os.path.join(self.work, "s3.port")
        for _ in range(300):
            if os.path.exists(ready):
                return int(open(ready).read())
            time.sleep(0.1)
        log("the S3 server did not start")
        sys.exit(1)

    # nginx: deploy/nginx/agora.conf with this network's addresses; `upstreams` chooses the Agora hosts behind it.
    def write_nginx(self, upstreams):
        import re
        text = open("deploy/nginx/agora.conf").read()

        def servers(match):
            options = match.group(1).split(":8080", 1)[1].split(";")[0]
            return "".join(f"    server {ADDRESS[h]}:8080{options};\n" for h in upstreams)
        text, n = re.subn(r"((?:    server 10\.0\.0\.\d+:8080[^\n]*\n)+)", servers, text)
        assert n == 2, "the upstream blocks of deploy/nginx/agora.conf changed shape"
        cache = os.path.join(self.work, "nginx-cache")
        os.makedirs(cache, exist_ok=True)
        for old, new in [("    listen [::]:80;\n", ""), ("/opt/agora/current/Public", os.path.join(self.arguments.release, "Public")),
                         ("/var/cache/nginx/agora-media", cache)]:
            assert old in text, old
            text = text.replace(old, new)
        with open(os.path.join(self.work, "agora.conf"), "w") as f:
            f.write(text)
        temp = os.path.join(self.work, "nginx-tmp")
        os.makedirs(temp, exist_ok=True)
        with open(os.path.join(self.work, "nginx.conf"), "w") as f:
            f.write(f"""user root;
worker_processes 1;
pid {self.work}/nginx.pid;
error_log {self.work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.work}/agora.conf;
}}
""")

    def start_nginx(self, upstreams):
        self.write_nginx(upstreams)
        self.run("nginx", ["nginx", "-t", "-q", "-p", self.work, "-c", os.path.join(self.work, "nginx.conf")])
        self.spawn("nginx", "nginx", ["nginx", "-p", self.work, "-c", os.path.join(self.work, "nginx.conf"), "-g", "daemon off;"])
        for _ in range(100):
            if answers(f"{FRONT}/styles.css"):
                return
            time.sleep(0.1)
        log("nginx did not start")
        sys.exit(1)

    def reload_nginx(self, upstreams):
        self.write_nginx(upstreams)
        self.run("nginx", ["nginx", "-p", self.work, "-c", os.path.join(self.work, "nginx.conf"), "-s", "reload"])
        time.sleep(1)  # the new workers take over; the old ones finish their connections

    # Agora hosts, started from the packaged release as systemd would.
    def agora_env(self, host):
        env = dict(os.environ)
        env.update(self.environment)
        env["AGORA_HOST"] = ADDRESS[host]
        env["AGORA_PORT"] = "8080"
        env["AGORA_DATA_DIR"] = os.path.join(self.work, f"data-{host}")
        return env

    def start_agora(self, host, wait=True):
        self.spawn(f"agora-{host}", host, [os.path.join(self.arguments.release, "bin", "agora"), "serve"], env=self.agora_env(host))
        if wait:
            self.wait_agora(host)

    def wait_agora(self, host):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            process = self.processes[f"agora-{host}"]
            if process.poll() is not None:
                log(f"Agora on {host} exited with {process.returncode}; see agora-{host}.log")
                sys.exit(1)
            if answers(f"http://{ADDRESS[host]}:8080/health/ready"):
                return
            time.sleep(0.1)
        log(f"Agora on {host} did not become ready")
        sys.exit(1)

    def agora_command(self, *arguments):
        return self.run("h1", [os.path.join(self.arguments.release, "bin", "agora"), *arguments], env=self.agora_env("h1"))

    def settings(self, s3_port):
        s3 = json.load(open(os.path.join(self.work, "s3.json")))
        self.environment = {
            "AGORA_ENV": "development", "AGORA_LOG_LEVEL": "notice",
            "AGORA_DATABASE_URL": f"postgres://agora:{PG_PASSWORD}@{ADDRESS['pg']}:5432/agora",
            "AGORA_REDIS_URL": f"redis://{ADDRESS['r1']}:6379",
            "AGORA_REDIS_SENTINELS": ",".join(f"{ADDRESS[h]}:26379" for h in ("r1", "r2", "pg")),
            "AGORA_REDIS_MASTER_NAME": "agora", "AGORA_REDIS_WAIT_REPLICAS": "1",
            "AGORA_TRUST_PROXY": "true", "AGORA_ALLOWED_ORIGINS": FRONT, "AGORA_PUBLIC_URL": FRONT,
            "AGORA_COOKIE_SECURE": "false",
            "AGORA_JWT_SECRET": secrets.token_urlsafe(32), "AGORA_INVENTORY_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "AGORA_PAYMENT_WEBHOOK_SECRET": secrets.token_urlsafe(32),
            "AGORA_MEDIA_STORE": "s3", "AGORA_MEDIA_S3_ENDPOINT": f"http://{ADDRESS['s3']}:{s3_port}",
            "AGORA_MEDIA_S3_BUCKET": "agora-media", "AGORA_MEDIA_S3_ACCESS_KEY_ID": s3["accessKeyId"],
            "AGORA_MEDIA_S3_SECRET_ACCESS_KEY": s3["secretAccessKey"], "AGORA_IMAGE_THUMBNAIL_WIDTHS": "320",
            "AGORA_BCRYPT_COST": "4", "AGORA_PRESENCE_TTL_SECONDS": "10",
            # The load below is one client address and a few accounts at rates far above a person's; the limits
            # themselves are tested elsewhere, and stay on (in Redis, through the failover) at these values.
            "AGORA_RATE_LIMIT_GENERAL": "1000000", "AGORA_RATE_LIMIT_PAYMENT": "1000000", "AGORA_RATE_LIMIT_AUTH": "100000",
            "AGORA_WS_RATE": "100000", "AGORA_WS_BURST": "100000", "AGORA_WS_COMMAND_LIMIT": "1000000",
            "AGORA_WS_MAX_PER_IP": "100000", "AGORA_WS_MAX_PENDING": "256",
        }
        vapid = subprocess.run([os.path.join(self.arguments.release, "bin", "agora"), "vapid-key"], capture_output=True, text=True)
        if vapid.returncode == 0 and vapid.stdout.strip():
            self.environment["AGORA_VAPID_PRIVATE_KEY"] = vapid.stdout.strip().splitlines()[-1]

    def start(self):
        self.start_postgres()
        log("PostgreSQL up on pg")
        self.start_redis("r1")
        self.start_redis("r2", replica_of="r1")
        for host in ("r1", "r2", "pg"):
            self.start_sentinel(host)
        self.wait_redis_ready()
        log("Redis master on r1, replica on r2, Sentinels on r1, r2 and pg")
        s3_port = self.start_s3()
        log(f"S3 (moto) on s3:{s3_port}")
        self.settings(s3_port)
        self.start_agora("h1")  # migrates
        for host in AGORA_HOSTS[1:]:
            self.start_agora(host, wait=False)
        for host in AGORA_HOSTS[1:]:
            self.wait_agora(host)
        log("Agora on h1, h2 and h3")
        self.start_nginx(AGORA_HOSTS)
        log("nginx on the front host")

    def stop(self):
        for key in list(self.processes):
            process = self.processes.pop(key)
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM if key.startswith("agora") else signal.SIGKILL)
                    process.wait(timeout=20)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        subprocess.run(["ip", "netns", "exec", self.namespace("pg"), "runuser", "-u", "postgres", "--",
                        f"{self.arguments.pg_bin}/pg_ctl", "-D", os.path.join(self.work, "pg"), "-m", "immediate", "stop"],
                       capture_output=True)


class Accounts:
    def __init__(self, cluster):
        self.cluster = cluster

    def register(self, name, seller=False):
        password = "cluster-check-password-1"
        status, grant = json_of(http("POST", f"{FRONT}/api/auth/register",
                                     {"email": f"{name}@example.com", "username": name, "displayName": name, "password": password}))
        if status != 201:
            log(f"registering {name}: {status} {grant}")
            sys.exit(1)
        if seller:
            self.cluster.agora_command("set-role", name, "seller")
            status, grant = json_of(http("POST", f"{FRONT}/api/auth/login", {"email": f"{name}@example.com", "password": password}))
            if status != 200:
                log(f"logging {name} in: {status} {grant}")
                sys.exit(1)
        return {"token": grant["accessToken"], "id": grant["account"]["id"], "name": name}

    def product(self, seller, title, stock):
        bearer = {"Authorization": f"Bearer {seller['token']}"}
        status, product = json_of(http("POST", f"{FRONT}/api/products", {
            "title": title, "description": "Sold across three hosts.", "price": {"amount": 5000, "currency": "ZAR"},
            "stock": stock, "condition": "new", "type": "physical"}, headers=bearer))
        check(status == 201, f"{seller['name']} lists {title} ({status})")
        check(json_of(http("POST", f"{FRONT}/api/products/{product['id']}/publish", headers=bearer))[0] == 200, "and publishes it")
        return product["id"]


class Stream:
    """One account's socket through nginx, resumed from its last sequence after any break, as the PWA does. Keeps
    every event once (by sequence) and tells when it is connected."""

    def __init__(self, account, on_event):
        self.account = account
        self.on_event = on_event
        self.last = None
        self.connected = False
        self.ready = asyncio.Event()
        self.done = False
        self.reconnects = 0
        self.skips = []

    async def run(self):
        while not self.done:
            url = WS + (f"?resume={self.last}" if self.last is not None else "")
            try:
                async with connect(url, additional_headers={"Origin": FRONT, "Authorization": f"Bearer {self.account['token']}"},
                                   open_timeout=5, max_queue=None, ping_interval=PING, ping_timeout=PONG) as socket:
                    async for raw in socket:
                        message = json.loads(raw)
                        if message.get("type") == "hello":
                            if self.last is None:
                                self.last = message["data"]["seq"]
                                await socket.send(json.dumps({"type": "resume", "id": "r", "data": {"lastSeq": self.last}}))
                            self.connected = True
                            self.ready.set()
                            continue
                        seq = message.get("seq")
                        if seq is not None:
                            if seq <= self.last:
                                continue
                            if seq != self.last + 1:
                                self.skips.append((self.last, seq))
                            self.last = seq
                        self.on_event(message)
            except (websockets.ConnectionClosed, OSError, asyncio.TimeoutError, websockets.InvalidStatus, websockets.InvalidHandshake):
                pass
            if self.connected:
                self.reconnects += 1
            self.connected = False
            await asyncio.sleep(0.05)


class ChatPair:
    """A buyer sending numbered messages to a seller over the buyer's own socket, one at a time; a message not
    acknowledged (the socket broke, or the server answered an error) is sent again with the same clientId, so it is
    stored once. The seller's Stream records each arrival."""

    def __init__(self, index, buyer, seller, tag):
        # `tag` keeps texts and clientIds unique across runs between the same two accounts: a clientId seen before in
        # the conversation is acknowledged with the stored message and not delivered again (as it must be).
        self.index, self.buyer, self.seller, self.tag = index, buyer, seller, tag
        self.received = {}  # text -> when the seller had it
        self.duplicates = []
        self.sent_at = {}  # text -> when it was first sent
        self.acked = set()
        self.latencies = []  # (delivered at, seconds from first send)
        self.done = False
        self.number = 0
        self.conversation = None
        self.errors = 0
        self.stream = Stream(seller, self.event)

    def event(self, message):
        if message.get("type") != "chat:message":
            return
        text = message["data"]["message"]["text"]
        if text in self.received:
            self.duplicates.append(text)
            return
        now = time.monotonic()
        self.received[text] = now
        if text in self.sent_at:
            self.latencies.append((now, now - self.sent_at[text]))

    async def send(self, interval, window_start=None):
        while not self.done:
            try:
                async with connect(WS, additional_headers={"Origin": FRONT, "Authorization": f"Bearer {self.buyer['token']}"},
                                   open_timeout=5, ping_interval=PING, ping_timeout=PONG) as socket:
                    while not self.done:
                        text = f"{self.tag} pair {self.index} message {self.number:06d}"
                        data = {"text": text, "clientId": f"{self.tag}-p{self.index}-{self.number}"}
                        if self.conversation:
                            data["conversationId"] = self.conversation
                        else:
                            data["to"] = self.seller["id"]
                        self.sent_at.setdefault(text, time.monotonic())
                        await socket.send(json.dumps({"type": "chat:send", "id": self.number, "data": data}))
                        while True:
                            reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
                            if reply.get("id") == self.number and reply.get("type") in ("ack", "error"):
                                break
                        if reply["type"] == "error":
                            self.errors += 1
                            await asyncio.sleep(0.1)
                            continue  # the same message again
                        answer = reply.get("data") or {}
                        self.conversation = answer.get("conversationId") or self.conversation
                        self.acked.add(text)
                        self.number += 1
                        if interval:
                            await asyncio.sleep(interval)
            except (websockets.ConnectionClosed, OSError, asyncio.TimeoutError, websockets.InvalidStatus, websockets.InvalidHandshake):
                pass
            await asyncio.sleep(0.05)


class Orders:
    """One buyer buying from one seller in a loop: cart, checkout (with an Idempotency-Key, so a retried checkout is the
    same order), the simulated payment. A step that fails (a host died mid-request, PostgreSQL restarting) is retried.
    The seller's Stream counts each paid order's notification."""

    def __init__(self, buyer, seller, product):
        self.buyer, self.seller, self.product = buyer, seller, product
        self.paid = {}  # order id -> (paid at, quantity)
        self.noticed = {}  # order id -> when the seller's notification:new came
        self.notice_duplicates = []
        self.started = {}  # order id -> when its checkout began
        self.latencies = []  # (paid at, whole order seconds)
        self.failures = []  # (when, what)
        self.all_failures = []
        self.done = False
        self.attempt = 0
        self.run_id = secrets.token_hex(6)  # Idempotency-Keys are the buyer's: unique across runs
        self.history = {}  # order id -> [(when, what)], to explain a mismatch
        self.stream = Stream(seller, self.event)

    def event(self, message):
        if message.get("type") != "notification:new":
            return
        data = message.get("data", {}).get("notification", {}).get("data", {})
        order = (data.get("orderId") or "").lower()
        if data.get("status") != "paid" or not order:
            return
        if order in self.noticed:
            self.notice_duplicates.append(order)
        else:
            self.noticed[order] = time.monotonic()

    async def step(self, connection, method, path, body=None, token=None, headers=None, expect=(200,)):
        while not self.done:
            try:
                status, answer = await connection.request(method, path, body, token, headers)
                if status in expect:
                    return status, answer
                self.failures.append((time.monotonic(), f"{path.split('/')[2]} {status} {answer.get('code')}"))
            except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.TimeoutError) as error:
                self.failures.append((time.monotonic(), f"{path.split('/')[2]} {type(error).__name__}"))
                connection.close()
            await asyncio.sleep(0.1)
        return None, {}

    async def run(self):
        connection = Connection(ADDRESS["nginx"], 80)
        while not self.done:
            began = time.monotonic()
            self.attempt += 1
            key = f"cluster-{self.run_id}-{self.attempt}"
            if (await self.step(connection, "POST", "/api/cart/items", {"productId": self.product, "quantity": 1}, self.buyer["token"]))[0] is None:
                return
            status, order = await self.step(connection, "POST", "/api/checkout", {"shippingAddress": SHIPPING}, self.buyer["token"],
                                            {"Idempotency-Key": key}, expect=(200, 201))
            if status is None:
                return
            session = parse_qs(urlparse(order["payment"]["url"]).query)["session"][0]
            self.history.setdefault(order["id"].lower(), []).append((time.monotonic(), f"checkout {status} key {key}"))
            status, paid = await self.step(connection, "POST", f"/api/payments/simulated/{session}/complete", {"outcome": "paid"},
                                           expect=(200, 409))
            if status is None:
                return
            self.history[order["id"].lower()].append((time.monotonic(), f"pay {status} {paid}"))
            if status == 409:
                # Closed: an attempt whose answer was lost (a host killed mid-request) paid it. The order says.
                status, shown = await self.step(connection, "GET", f"/api/orders/{order['id']}", token=self.buyer["token"])
                if status is None:
                    return
                if shown.get("status") != "paid":
                    self.failures.append((time.monotonic(), f"order {order['id']} closed unpaid: {shown.get('status')}"))
                    continue
            quantity = sum(line.get("quantity", 0) for seller_order in order.get("sellerOrders", []) for line in seller_order.get("lines", seller_order.get("items", [])))
            now = time.monotonic()
            self.paid[order["id"].lower()] = (now, quantity)
            self.started[order["id"].lower()] = began
            self.latencies.append((now, now - began))


class Reader:
    """API reads through nginx every 50 ms: the catalog (PostgreSQL and the cache) and /api/me (the session in Redis)."""

    def __init__(self, account):
        self.account = account
        self.results = []  # (sent at, ok, what)
        self.done = False

    async def run(self):
        connection = Connection(ADDRESS["nginx"], 80)
        turn = 0
        while not self.done:
            turn += 1
            path, token = ("/api/products?limit=5", None) if turn % 2 else ("/api/me", self.account["token"])
            sent = time.monotonic()
            try:
                status, _ = await connection.request("GET", path, token=token)
                self.results.append((sent, status == 200, f"{path} {status}"))
            except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.TimeoutError) as error:
                self.results.append((sent, False, f"{path} {type(error).__name__}"))
                connection.close()
            await asyncio.sleep(0.05)


async def measure(cluster, hosts, pairs, orders, seconds):
    """Chat pairs (each buyer sending as fast as its acks come) or order loops, through nginx in front of `hosts`:
    how many completed per second, their latencies, and the CPU each host spent meanwhile."""
    streams = [asyncio.create_task(p.stream.run()) for p in pairs] + [asyncio.create_task(o.stream.run()) for o in orders]
    await asyncio.wait_for(asyncio.gather(*(p.stream.ready.wait() for p in pairs), *(o.stream.ready.wait() for o in orders)), 30)
    workers = [asyncio.create_task(p.send(0)) for p in pairs] + [asyncio.create_task(o.run()) for o in orders]
    await asyncio.sleep(2)  # warm-up
    start = time.monotonic()
    cpu_before = {host: cluster.cpu_seconds(host) for host in ["nginx", "pg", "r1", "r2"] + hosts}
    await asyncio.sleep(seconds)
    end = time.monotonic()
    cpu = {host: round(cluster.cpu_seconds(host) - before, 2) for host, before in cpu_before.items()}
    for item in pairs + orders:
        item.done = True
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(p.acked <= set(p.received) for p in pairs):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    for item in pairs + orders:
        item.stream.done = True
    for task in workers + streams:
        task.cancel()
    await asyncio.gather(*workers, *streams, return_exceptions=True)
    elapsed = end - start
    if pairs:
        done = [latency for pair in pairs for at, latency in pair.latencies if start <= at < end]
    else:
        done = [latency for order in orders for at, latency in order.latencies if start <= at < end]
    figures = {"per_second": round(len(done) / elapsed, 1), "p50_ms": round(percentile(done, 0.5) * 1000, 1),
               "p99_ms": round(percentile(done, 0.99) * 1000, 1), "cpu_seconds": cpu,
               "agora_cpu_ms_each": round(sum(cpu[h] for h in hosts) * 1000 / max(1, len(done)), 2),
               "all_servers_cpu_ms_each": round(sum(cpu.values()) * 1000 / max(1, len(done)), 2)}
    if orders:
        notices = [order.noticed[o] - order.paid[o][0] for order in orders for o in order.paid
                   if o in order.noticed and start <= order.paid[o][0] < end]
        figures["notice_after_payment_p50_ms"] = round(percentile(notices, 0.5) * 1000, 1)
        figures["notice_after_payment_p99_ms"] = round(percentile(notices, 0.99) * 1000, 1)
    return figures


async def load_levels(cluster, accounts, arguments):
    results = []
    sellers = [accounts.register(f"lvl_seller_{i}", seller=True) for i in range(arguments.pairs)]
    buyers = [accounts.register(f"lvl_buyer_{i}") for i in range(arguments.pairs)]
    order_seller = accounts.register("lvl_shop", seller=True)
    order_buyers = [accounts.register(f"lvl_orderer_{i}") for i in range(arguments.order_buyers)]
    product = accounts.product(order_seller, "Load teapot", 1_000_000)
    for count in (1, 2, 3):
        hosts = AGORA_HOSTS[:count]
        cluster.reload_nginx(hosts)
        pairs = [ChatPair(i, buyers[i], sellers[i], f"level{count}") for i in range(arguments.pairs)]
        chat = await measure(cluster, hosts, pairs, [], arguments.seconds)
        lost = sum(len(p.acked - set(p.received)) for p in pairs)
        doubled = sum(len(p.duplicates) for p in pairs)
        check(lost == 0 and doubled == 0, f"{count} host(s): every acknowledged chat message delivered once ({lost} lost, {doubled} twice)")
        # Every order loop has its own socket of the seller's (the same account): each sees every notice.
        orders = [Orders(b, order_seller, product) for b in order_buyers]
        bought = await measure(cluster, hosts, [], orders, arguments.seconds)
        unnoticed = sum(1 for o in orders for order in o.paid if order not in o.noticed)
        check(unnoticed == 0, f"{count} host(s): every paid order noticed by the seller ({unnoticed} not)")
        level = {"hosts": count, "chat_pairs": len(pairs), "order_loops": len(orders), "chat": chat, "orders": bought}
        log(f"LEVEL {json.dumps(level)}")
        results.append(level)
    cluster.reload_nginx(AGORA_HOSTS)
    return results


def pgbench(cluster, seconds):
    """The database's own limit on this machine, the same way: pgbench from the client host (CPU 1) against the
    PostgreSQL host (CPU 0, durable commits). `-N` is a three-statement write transaction, about what a chat message
    costs the database; `-S` a primary-key read."""
    env = dict(os.environ, PGPASSWORD=PG_PASSWORD)
    target = ["-h", ADDRESS["pg"], "-U", "agora", "bench"]
    bin = cluster.arguments.pg_bin
    cluster.sql("SELECT 1")  # the database is up
    cluster.run("pg", [f"{bin}/psql", "-h", os.path.join(cluster.work, "pgrun"), "-U", "postgres", "-d", "postgres", "-qAt",
                       "-c", "CREATE DATABASE bench OWNER agora"], user="postgres")
    subprocess.run([f"{bin}/pgbench", "-i", "-q", "-s", "4", *target], env=env, check=True, capture_output=True)
    figures = {}
    for name, options in (("write (-N)", ["-N"]), ("read (-S)", ["-S"])):
        result = subprocess.run([f"{bin}/pgbench", *options, "-c", "16", "-j", "1", "-T", str(int(seconds)), *target],
                                env=env, capture_output=True, text=True)
        tps = [line for line in result.stdout.splitlines() if line.startswith("tps")]
        if not tps:
            log(f"pgbench {name} failed: {result.stdout[-300:]} {result.stderr[-500:]}")
        figures[name] = float(tps[0].split("=")[1].split()[0]) if tps else None
    cluster.run("pg", [f"{bin}/psql", "-h", os.path.join(cluster.work, "pgrun"), "-U", "postgres", "-d", "postgres", "-qAt",
                       "-c", "DROP DATABASE bench"], user="postgres")
    return figures


def image_everywhere(accounts, seller, product):
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (640, 480), (200, 60, 40))
    ImageDraw.Draw(image).rectangle([100, 100, 500, 380], fill=(20, 160, 90))
    exif = Image.Exif()
    exif[0x010F] = "ClusterPhone"
    exif[0x8825] = {1: "S", 2: (33.0, 55.0, 30.0), 3: "E", 4: (18.0, 25.0, 26.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    boundary = "----agora-cluster-check"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"IMG.JPG\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + out.getvalue() + f"\r\n--{boundary}--\r\n".encode()
    status, answer = json_of(http("POST", f"{FRONT}/api/products/{product}/images", raw=body,
                                  headers={"Authorization": f"Bearer {seller['token']}", "Content-Type": f"multipart/form-data; boundary={boundary}"}))
    check(status == 201, f"an image uploads through nginx ({status})")
    url = answer["images"][-1]["url"]
    bodies = {}
    for host in AGORA_HOSTS:
        status, _, bodies[host] = http("GET", f"http://{ADDRESS[host]}:8080{url}")
        check(status == 200, f"{host} serves it (the bucket is shared)")
    check(len(set(bodies.values())) == 1 and b"ClusterPhone" not in bodies["h1"], "all three serve the same cleaned bytes")
    return url


def recovery(fault_at, pairs, orders, reader):
    """Seconds from the failure until every client is live again: each chat pair has delivered a message first sent
    after it, the order loop has been paid and noticed for an order begun after it, the API reader had an answer to
    a request sent after it. None if some never did."""
    times = []
    for pair in pairs:
        after = [pair.received[t] for t, sent in pair.sent_at.items() if sent > fault_at and t in pair.received]
        times.append(min(after) if after else None)
    for order in orders:
        after = [max(order.paid[o][0], order.noticed.get(o, float("inf"))) for o, began in order.started.items() if began > fault_at]
        times.append(min(after) if after else None)
    ok = [sent for sent, good, _ in reader.results if good and sent > fault_at]
    times.append(min(ok) if ok else None)
    if any(t is None or t == float("inf") for t in times):
        return None
    return max(times) - fault_at


async def failures(cluster, accounts, arguments, image_url):
    sellers = [accounts.register(f"ha_seller_{i}", seller=True) for i in range(arguments.failure_pairs)]
    buyers = [accounts.register(f"ha_buyer_{i}") for i in range(arguments.failure_pairs)]
    shop = accounts.register("ha_shop", seller=True)
    shopper = accounts.register("ha_shopper")
    stock = 100_000
    product = accounts.product(shop, "Resilient teapot", stock)
    pairs = [ChatPair(i, buyers[i], sellers[i], "ha") for i in range(arguments.failure_pairs)]
    orders = [Orders(shopper, shop, product)]
    reader = Reader(shopper)
    tasks = [asyncio.create_task(p.stream.run()) for p in pairs] + [asyncio.create_task(o.stream.run()) for o in orders]
    await asyncio.wait_for(asyncio.gather(*(p.stream.ready.wait() for p in pairs), *(o.stream.ready.wait() for o in orders)), 30)
    buying = [asyncio.create_task(o.run()) for o in orders]
    tasks += [asyncio.create_task(p.send(0.1)) for p in pairs] + buying
    tasks.append(asyncio.create_task(reader.run()))
    began_at = time.monotonic()
    fault_times = []
    await asyncio.sleep(3)

    results = {}

    async def fault(name, inject, heal):
        fault_at = time.monotonic()
        fault_times.append((name, round(fault_at - began_at, 2)))
        detail = await asyncio.to_thread(inject)
        took = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            took = recovery(fault_at, pairs, orders, reader)
            if took is not None:
                break
            await asyncio.sleep(0.1)
        failed = [(round(sent - fault_at, 2), what) for sent, good, what in reader.results if not good and sent > fault_at - 0.1]
        order_failures = [(round(at - fault_at, 2), what) for o in orders for at, what in o.failures if at > fault_at - 0.1]
        chat_errors = sum(p.errors for p in pairs)
        check(took is not None, f"{name}: every client live again ({detail})")
        results[name] = {"recovered_seconds": round(took, 2), "api_failures": len(failed), "api_failures_first": failed[:4],
                         "order_step_retries": len(order_failures), "order_retries_first": order_failures[:4],
                         "chat_errors_so_far": chat_errors,
                         "reconnects_so_far": sum(p.stream.reconnects for p in pairs) + sum(o.stream.reconnects for o in orders)}
        log(f"FAULT {name}: {json.dumps(results[name])}")
        if heal:
            await asyncio.to_thread(heal)
        await asyncio.sleep(4)
        for order in orders:
            order.all_failures += order.failures
            order.failures.clear()

    # 1. An Agora host dies without a word.
    def kill_host():
        cluster.kill("agora-h2")
        return "h2 SIGKILLed"

    def restart_host():
        cluster.start_agora("h2")
    await fault("agora host killed", kill_host, restart_host)

    # 2. The Redis master dies; Sentinel promotes the replica.
    def kill_redis():
        before = cluster.redis_master()
        host = "r1" if before == ADDRESS["r1"] else "r2"
        cluster.kill(f"redis-{host}")
        started = time.monotonic()
        while time.monotonic() - started < 30 and cluster.redis_master() in (before, None):
            time.sleep(0.05)
        results["redis promoted after"] = round(time.monotonic() - started, 2)
        cluster.killed_redis = host
        return f"master on {host} SIGKILLed, Sentinel named {cluster.redis_master()} after {results['redis promoted after']} s"

    def restart_redis():
        # The old master comes back empty; Sentinel makes it a replica of the new one.
        host = cluster.killed_redis
        cluster.start_redis(host)
        cluster.wait_redis_ready()
    await fault("redis master killed", kill_redis, restart_redis)

    # 3. PostgreSQL restarts (fast shutdown: every session is cut, then it comes back).
    def restart_pg():
        started = time.monotonic()
        cluster.pg_ctl("restart")
        return f"pg_ctl restart -m fast took {time.monotonic() - started:.2f} s"
    await fault("postgresql restarted", restart_pg, None)

    # 4. An Agora host is cut off the network (its link down): no close, no reset, its sockets just go silent.
    def partition():
        cluster.run("h3", ["ip", "link", "set", "eth0", "down"])
        # PostgreSQL hears nothing from h3's backends: it must end them itself (AGORA_DB_TCP_KEEPALIVE_SECONDS), or a
        # transaction of h3's would keep its row locks (a relay batch, a checkout) for the kernel's two hours.
        started = time.monotonic()
        query = f"SELECT count(*) FROM pg_stat_activity WHERE client_addr = '{ADDRESS['h3']}'"
        left = None
        while time.monotonic() - started < 90:
            left = int(cluster.sql(query))
            if left == 0:
                break
            time.sleep(0.5)
        ended = round(time.monotonic() - started, 1) if left == 0 else None
        results["postgresql ended the cut-off host's connections after"] = ended
        return f"h3's link down; PostgreSQL ended its connections after {ended} s"

    def reconnect():
        cluster.run("h3", ["ip", "link", "set", "eth0", "up"])
        cluster.wait_agora("h3")
    await fault("agora host cut off", partition, reconnect)
    check(results["postgresql ended the cut-off host's connections after"] is not None,
          "PostgreSQL ended the cut-off host's connections (TCP keepalive) within 90 s")

    # Let everything in flight land, then stop and count.
    await asyncio.sleep(2)
    for item in pairs + orders + [reader]:
        item.done = True
    # The order loop finishes the request in hand (a payment cancelled in flight could be paid unseen), then stops.
    await asyncio.wait(buying, timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(p.acked <= set(p.received) for p in pairs) and all(set(o.paid) <= set(o.noticed) for o in orders):
            break
        await asyncio.sleep(0.2)
    for pair in pairs:
        pair.stream.done = True
    for order in orders:
        order.stream.done = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    acked = sum(len(p.acked) for p in pairs)
    lost = {p.index: sorted(p.acked - set(p.received))[:3] for p in pairs if p.acked - set(p.received)}
    check(not lost, f"all {acked} acknowledged chat messages reached their sellers (missing: {lost})")
    doubled = sum(len(p.duplicates) for p in pairs)
    check(doubled == 0, f"none arrived twice ({doubled})")
    paid = {o: q for order in orders for o, (_, q) in order.paid.items()}
    unnoticed = [o for order in orders for o in order.paid if o not in order.noticed]
    check(not unnoticed, f"every one of {len(paid)} paid orders was noticed live by the seller (missing {unnoticed[:3]})")
    check(not any(o.notice_duplicates for o in orders), "and none twice")
    # Stock: down by exactly what was paid for; what is still reserved is exactly what unpaid orders hold (the loop
    # stopped between a checkout and its payment at most once).
    rows = cluster.sql(f"SELECT count(*), coalesce(sum(l.quantity), 0) FROM orders o JOIN order_lines l ON l.order_id = o.id "
                       f"WHERE o.buyer_id = '{shopper['id']}' AND o.status = 'paid'")
    count, quantity = (int(x) for x in rows.split("|"))
    if count != len(paid):
        ids = cluster.sql(f"SELECT id, created_at, updated_at, idempotency_key FROM orders WHERE buyer_id = '{shopper['id']}' AND status = 'paid'")
        for line in ids.splitlines():
            order_id = line.split("|")[0].lower()
            if order_id not in paid:
                history = [(round(at - began_at, 2), what) for at, what in orders[0].history.get(order_id, [])]
                log(f"paid in PostgreSQL, not seen paid by the buyer: {line}; its history: {history}")
        log(f"faults at (s from the start of the traffic): {fault_times}; order step failures: {[(round(at - began_at, 2), what) for at, what in orders[0].all_failures]}")
    check(count == len(paid), f"PostgreSQL holds exactly the {len(paid)} orders the buyer saw paid ({count})")
    held = int(cluster.sql(f"SELECT coalesce(sum(l.quantity), 0) FROM orders o JOIN order_lines l ON l.order_id = o.id "
                           f"WHERE o.buyer_id = '{shopper['id']}' AND o.status = 'pending_payment' AND l.reservation = 'held'"))
    remaining, reserved = (int(x) for x in cluster.sql(f"SELECT stock, reserved FROM products WHERE id = '{product}'").split("|"))
    check(remaining == stock - quantity, f"stock went down by exactly what was paid for ({stock} - {quantity} = {remaining})")
    check(reserved == held, f"and what is reserved is what unpaid orders hold ({reserved} = {held})")
    if all(paid.values()):
        check(sum(paid.values()) == quantity, f"the quantities the buyer saw paid add up to PostgreSQL's ({sum(paid.values())})")
    sockets_live = all(p.stream.connected or p.stream.done for p in pairs)
    log(f"sequence jumps the streams saw (a resume would fill them): {sum(len(p.stream.skips) for p in pairs)}")
    results["chat messages"] = acked
    results["orders paid"] = len(paid)
    results["api reads"] = len(reader.results)
    results["api reads failed"] = sum(1 for _, good, _ in reader.results if not good)
    # After all of it, the image is still served by every host.
    for host in AGORA_HOSTS:
        check(http("GET", f"http://{ADDRESS[host]}:8080{image_url}")[0] == 200, f"{host} still serves the image")
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--release", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--pg-bin", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--pairs", type=int, default=40, help="chat pairs in the throughput levels")
    parser.add_argument("--order-buyers", type=int, default=8, help="concurrent order loops in the throughput levels")
    parser.add_argument("--seconds", type=float, default=8, help="measured seconds per level")
    parser.add_argument("--failure-pairs", type=int, default=6, help="chat pairs during the failures")
    parser.add_argument("--skip-levels", action="store_true")
    arguments = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the servers have CPU 0
    cluster = Cluster(arguments)
    try:
        cluster.start()
        accounts = Accounts(cluster)
        seller = accounts.register("img_seller", seller=True)
        image_url = image_everywhere(accounts, seller, accounts.product(seller, "Pictured teapot", 5))
        levels = [] if arguments.skip_levels else asyncio.run(load_levels(cluster, accounts, arguments))
        limit = {} if arguments.skip_levels else pgbench(cluster, arguments.seconds)
        if limit:
            log(f"LIMIT pgbench, 16 clients, transactions/s: {json.dumps(limit)}")
        faults = asyncio.run(failures(cluster, accounts, arguments, image_url))
        size = cluster.sql("SELECT pg_total_relation_size('user_events'), count(*), count(DISTINCT user_id) FROM user_events")
        figures = {"levels": levels, "pgbench": limit, "failures": faults, "user_events (bytes, rows, users)": size}
        with open(os.path.join(arguments.work, "figures.json"), "w") as f:
            json.dump(figures, f, indent=2)
        for level in levels:
            chat, bought = level["chat"], level["orders"]
            log(f"FIGURES {level['hosts']} host(s): chat {chat['per_second']}/s, p50 {chat['p50_ms']} ms, p99 {chat['p99_ms']} ms, "
                f"Agora CPU {chat['agora_cpu_ms_each']} ms and all servers' {chat['all_servers_cpu_ms_each']} ms per message; "
                f"orders {bought['per_second']}/s, p50 {bought['p50_ms']} ms, p99 {bought['p99_ms']} ms, seller's notice "
                f"p50 {bought['notice_after_payment_p50_ms']} ms, p99 {bought['notice_after_payment_p99_ms']} ms after the payment")
        if limit:
            log(f"FIGURES the database's limit (pgbench, 16 clients): {limit['write (-N)']} write transactions/s, {limit['read (-S)']} reads/s")
        log(f"FIGURES failures: {json.dumps(faults)}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
