"""Checkout load client: each worker loops add-to-cart -> checkout -> simulated payment (which runs the signed
webhook handling) until the order is paid, on its own keep-alive connection. Standard library only.

    python3 checkout_load.py BASE_URL SELLER_TOKEN_FILE BUYER_TOKENS_FILE PRODUCT_ID CONCURRENCY SECONDS

Prints one JSON line: completed checkouts, seconds, checkouts/s, and p50/p99 latency of a whole checkout in ms.
"""
import asyncio, json, sys, time
from urllib.parse import urlparse, parse_qs


ADDRESS = {"name": "Bench Buyer", "line1": "1 Long Street", "city": "Cape Town", "region": "Western Cape", "postalCode": "8001", "country": "ZA"}


class Connection:
    """HTTP/1.1 keep-alive, reconnecting after a failure (`close`); a reply that does not start within 15 s is a
    timeout. Also used by Tests/cluster/cluster_check.py."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    def close(self):
        if self.writer:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, path, body=None, token=None, headers=None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5)
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(payload)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        status_line = await asyncio.wait_for(self.reader.readline(), 15)
        if not status_line:
            raise OSError("connection closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            if name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        try:
            return status, (json.loads(data) if data else {})
        except ValueError:
            return status, {"raw": data[:200].decode("latin-1")}


async def worker(base, token, product, deadline, latencies, errors):
    url = urlparse(base)
    conn = Connection(url.hostname, url.port)
    while time.monotonic() < deadline:
        started = time.monotonic()
        status, _ = await conn.request("POST", "/api/cart/items", {"productId": product, "quantity": 1}, token)
        if status != 200:
            errors.append(f"cart {status}"); continue
        status, order = await conn.request("POST", "/api/checkout", {"shippingAddress": ADDRESS}, token)
        if status != 201:
            errors.append(f"checkout {status} {order.get('code')}"); continue
        session = parse_qs(urlparse(order["payment"]["url"]).query)["session"][0]
        status, paid = await conn.request("POST", f"/api/payments/simulated/{session}/complete", {"outcome": "paid"})
        if status != 200 or paid.get("orderStatus") != "paid":
            errors.append(f"pay {status} {paid.get('code') or paid.get('outcome')}"); continue
        latencies.append(time.monotonic() - started)


async def main():
    base, _seller, buyers_file, product, concurrency, seconds = sys.argv[1:7]
    tokens = [line.strip() for line in open(buyers_file) if line.strip()]
    concurrency, seconds = int(concurrency), float(seconds)
    latencies, errors = [], []
    # One second of warm-up, not counted.
    await asyncio.gather(*(worker(base, tokens[i], product, time.monotonic() + 1, [], []) for i in range(concurrency)))
    start = time.monotonic()
    await asyncio.gather(*(worker(base, tokens[i], product, start + seconds, latencies, errors) for i in range(concurrency)))
    elapsed = time.monotonic() - start
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else None
    print(json.dumps({"concurrency": concurrency, "checkouts": len(latencies), "seconds": round(elapsed, 2),
                      "per_second": round(len(latencies) / elapsed, 1), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
                      "errors": len(errors), "first_errors": errors[:3]}))


if __name__ == "__main__":
    asyncio.run(main())
