"""Order-notice latency: how long after the payment webhook returns the seller's socket says `notification:new`.

    python3 order_notice.py BASE_URL SELLER_TOKEN BUYER_TOKEN PRODUCT_ID ORDERS

The seller holds a socket to /ws (Bearer token, resumed at its stream head); one buyer places ORDERS orders one after
another (cart -> checkout -> the simulated provider's "pay", which runs the signed webhook handling). For each, the
time from sending the webhook to the seller's `notification:new` (this includes the webhook's own handling: payment,
fulfilment, the event's commit), and the time from the webhook's HTTP response to the notice (negative when the notice
came first). Prints one JSON line: orders, p50/p99/max in ms from the webhook's send, p50/p99 after its response, and how
many notices arrived before the response did. Needs PyPI websockets (scripts/interop-deps.sh installs it).
"""
import asyncio, json, sys, time
from urllib.parse import urlparse, parse_qs

import websockets
from checkout_load import ADDRESS, Connection


async def main():
    base, seller, buyer, product, orders = sys.argv[1:6]
    url = urlparse(base)
    # Every paid order of this seller is noticed, the concurrent load's too: each notice is matched to its order.
    notices, waiting = {}, {}
    async with websockets.connect(f"ws://{url.hostname}:{url.port}/ws", additional_headers={"Authorization": f"Bearer {seller}"}) as ws:
        hello = json.loads(await ws.recv())
        head = hello.get("data", {}).get("seq", 0)
        await ws.send(json.dumps({"type": "resume", "id": "r", "data": {"lastSeq": head}}))

        async def reader():
            async for text in ws:
                message = json.loads(text)
                if message.get("type") == "notification:new":
                    order = message.get("data", {}).get("notification", {}).get("data", {}).get("orderId", "").lower()
                    notices[order] = time.monotonic()
                    if order in waiting: waiting.pop(order).set()
        task = asyncio.create_task(reader())
        await asyncio.sleep(0.3)  # the resume is answered
        conn = Connection(url.hostname, url.port)
        latencies, afterResponse = [], []
        for _ in range(int(orders)):
            status, _ = await conn.request("POST", "/api/cart/items", {"productId": product, "quantity": 1}, buyer)
            assert status == 200, status
            status, order = await conn.request("POST", "/api/checkout", {"shippingAddress": ADDRESS}, buyer)
            assert status == 201, (status, order)
            session = parse_qs(urlparse(order["payment"]["url"]).query)["session"][0]
            sent = time.monotonic()
            status, paid = await conn.request("POST", f"/api/payments/simulated/{session}/complete", {"outcome": "paid"})
            returned = time.monotonic()
            assert status == 200 and paid.get("orderStatus") == "paid", (status, paid)
            key = order["id"].lower()
            if key not in notices:
                waiting[key] = asyncio.Event()
                await asyncio.wait_for(waiting[key].wait(), timeout=10)
            noticed = notices.pop(key)
            latencies.append(noticed - sent)
            afterResponse.append(noticed - returned)
        task.cancel()
    latencies.sort()
    afterResponse.sort()
    pick = lambda values, q: round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 2)
    print(json.dumps({"orders": len(latencies), "p50_ms": pick(latencies, 0.5), "p99_ms": pick(latencies, 0.99),
                      "max_ms": round(latencies[-1] * 1000, 2), "after_response_p50_ms": pick(afterResponse, 0.5),
                      "after_response_p99_ms": pick(afterResponse, 0.99),
                      "before_response": sum(1 for value in afterResponse if value < 0)}))


if __name__ == "__main__":
    asyncio.run(main())
