"""Push latency: how long after an order's payment the seller's push reaches the push service.

    python3 push_latency.py BASE_URL SELLER_TOKEN BUYER_TOKEN PRODUCT_ID ORDERS PUSH_SERVICE_URL PUSH_RECORD

The seller has no socket open (so the push is sent) and one device subscribed at the local push service
(Tests/interop/push_service.py, which verifies and decrypts every push and records when it arrived). One buyer places
ORDERS orders one after another (cart -> checkout -> the simulated provider's "pay", which runs the signed webhook
handling). For each, the time from sending the payment to the push service receiving the seller's push: the webhook's
own handling, the event's commit, the relay's notice (with the push queued in its statement), the NOTIFY that wakes
the dispatcher, the encryption and VAPID signature, the HTTP POST. Prints one JSON line: orders, p50/p99/max in ms.
"""
import asyncio, json, os, sys, time, urllib.request
from urllib.parse import urlparse, parse_qs

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "commerce"))
from checkout_load import ADDRESS, Connection  # noqa: E402


def arrivals(record):
    seen = {}
    try:
        with open(record, encoding="utf-8") as lines:
            for line in lines:
                entry = json.loads(line)
                if entry.get("topic"):
                    seen.setdefault(entry["topic"], entry["at"])
    except FileNotFoundError:
        pass
    return seen


async def main():
    base, seller, buyer, product, orders, service, record = sys.argv[1:8]
    url = urlparse(base)
    subscription = json.load(urllib.request.urlopen(urllib.request.Request(service + "/subscriptions?behaviour=ok", method="POST")))
    conn = Connection(url.hostname, url.port)
    status, _ = await conn.request("POST", "/api/push/subscriptions", subscription, seller)
    assert status == 201, status
    latencies = []
    for _ in range(int(orders)):
        status, _ = await conn.request("POST", "/api/cart/items", {"productId": product, "quantity": 1}, buyer)
        assert status == 200, status
        status, order = await conn.request("POST", "/api/checkout", {"shippingAddress": ADDRESS}, buyer)
        assert status == 201, (status, order)
        session = parse_qs(urlparse(order["payment"]["url"]).query)["session"][0]
        topic = "ord-" + "".join(c for c in order["id"].lower() if c in "0123456789abcdef")[:24]
        sent = time.time()
        status, paid = await conn.request("POST", f"/api/payments/simulated/{session}/complete", {"outcome": "paid"})
        assert status == 200 and paid.get("orderStatus") == "paid", (status, paid)
        deadline = time.time() + 10
        while topic not in arrivals(record):
            assert time.time() < deadline, f"no push for {topic}"
            await asyncio.sleep(0.002)
        latencies.append(arrivals(record)[topic] - sent)
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)
    print(json.dumps({"orders": len(latencies), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(latencies[-1] * 1000, 2)}))


if __name__ == "__main__":
    asyncio.run(main())
