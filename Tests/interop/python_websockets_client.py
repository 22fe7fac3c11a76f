#!/usr/bin/env python3
"""Interop check of Agora's WebSocket echo endpoint with the `websockets` library (PyPI).

Usage: python_websockets_client.py PORT

Connects to ws://127.0.0.1:PORT/, exchanges text and binary messages of several sizes, sends fragmented messages,
pings, and closes with 1000. Prints each step; exits 1 on the first mismatch, so a test can run it and show why.
"""
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def text_of(size):
    # Mixed 1- to 3-byte characters, padded with dots to exactly `size` bytes of UTF-8.
    unit = "agora κόσμε 中文 "
    whole, rest = divmod(size, len(unit.encode()))
    return unit * whole + "." * rest


def binary_of(size):
    return bytes((i * 7 + 3) % 256 for i in range(size))


async def expect_echo(ws, message, what):
    await ws.send(message)
    answer = await asyncio.wait_for(ws.recv(), timeout=10)
    if type(answer) is not type(message):
        fail(f"{what}: sent {type(message).__name__}, got {type(answer).__name__} back")
    if answer != message:
        fail(f"{what}: echo differs ({len(answer)} vs {len(message)} {'characters' if isinstance(message, str) else 'bytes'})")
    print(f"ok  {what}", flush=True)


async def main(port):
    # max_size=None: the default (1 MiB) is right at our largest message.
    async with connect(f"ws://127.0.0.1:{port}/", max_size=None, compression=None, ping_interval=None) as ws:
        for size in SIZES:
            await expect_echo(ws, text_of(size), f"text {size} bytes")
            await expect_echo(ws, binary_of(size), f"binary {size} bytes")

        # An iterable makes websockets send one frame per item: a fragmented message (§5.4).
        for parts, kind in ((["frag", "mented ", "κόσμε"], "text"), ([b"\x00\x01", b"", b"\xff" * 70000], "binary")):
            await ws.send(parts)
            answer = await asyncio.wait_for(ws.recv(), timeout=10)
            whole = "".join(parts) if kind == "text" else b"".join(parts)
            if answer != whole:
                fail(f"fragmented {kind}: echo differs")
            print(f"ok  fragmented {kind} in {len(parts)} frames", flush=True)

        # websockets resolves the waiter only for a pong carrying this ping's payload.
        for payload in (b"", b"ping-payload", bytes(range(125))):
            pong = await ws.ping(payload)
            latency = await asyncio.wait_for(pong, timeout=10)
            print(f"ok  ping with {len(payload)} bytes answered in {latency * 1000:.1f} ms", flush=True)

        await ws.close(code=1000, reason="interop done")
        if ws.close_code != 1000:
            fail(f"the server answered our 1000 with close code {ws.close_code}")
        print(f"ok  closed: the server answered with {ws.close_code}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(main(int(sys.argv[1])))
    except (ConnectionClosed, OSError, asyncio.TimeoutError) as error:
        fail(f"{type(error).__name__}: {error}")
    print("PASS python websockets", flush=True)
