#!/usr/bin/env python3
"""Interop check of Agora's WebSocket echo endpoint with the `websockets` library (PyPI).

Usage: python_websockets_client.py PORT [CONTEXT_PORT]

PORT is `agora ws-echo` with its default permessage-deflate settings (no context takeover either way, messages under
128 bytes sent uncompressed); CONTEXT_PORT, if given, is one started with --server-context --client-context.

Connects to ws://127.0.0.1:PORT/ several times: without compression, with websockets' default offer (which the
server must accept), with a small window asked of each side, with no context takeover asked of both, and asking for
the 8-bit server window zlib cannot compress with (which the server must decline, going on uncompressed). Each
connection exchanges text and binary messages of several sizes up to 1 MiB (repetitive, JSON-like and random),
fragmented messages and pings, and closes with 1000. What the server sends is also looked at on the wire, before
websockets inflates it: RSV1 must follow the threshold, compressed messages must be smaller, and must inflate within
the window and context rules that were agreed. Prints each step; exits 1 on the first mismatch, so a test can run it
and show why.
"""
import asyncio
import random
import sys
import zlib

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Opcode

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]
# The echo endpoint's default PerMessageDeflateConfiguration.threshold: shorter messages go uncompressed.
THRESHOLD = 128
TAIL = b"\x00\x00\xff\xff"


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


def json_of(size):
    """Highly compressible JSON-like text, like the app's events, of exactly `size` bytes of UTF-8."""
    records = []
    length = 2
    n = 0
    while length < size:
        record = ('{"type":"chat:message","seq":%d,"data":{"conversationId":"9f0c2a51-7d3e-4b1a-a8e2-%012d",'
                  '"body":"Is the charger still available? Ja, dit is.","sender":"shopper_%d"}}') % (n, n, n % 7)
        records.append(record)
        length += len(record) + 1
        n += 1
    return ("[" + ",".join(records) + "]")[:size].ljust(size, " ")


def random_of(size, seed):
    """Incompressible bytes (deterministic, so a failure can be reproduced)."""
    return random.Random(seed).randbytes(size)


def far_repeats(size, period=2000, seed=7):
    """A random block repeated: its only matches lie `period` bytes back, outside a 1 KiB (10-bit) window."""
    block = random.Random(seed).randbytes(period)
    return (block * (size // period + 1))[:size]


def payload_of(message):
    return message.encode() if isinstance(message, str) else bytes(message)


class Wire:
    """The server's data frames as they arrived, before websockets inflated them: (rsv1, payload) per message."""

    def __init__(self, ws):
        self.messages = []
        self.extension = ws.protocol.extensions[0] if ws.protocol.extensions else None
        if self.extension is None:
            return
        decode = self.extension.decode

        def recording_decode(frame, **kwargs):
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                self.messages.append([frame.rsv1, bytearray(frame.data)])
            elif frame.opcode is Opcode.CONT:
                self.messages[-1][1] += frame.data
            return decode(frame, **kwargs)

        self.extension.decode = recording_decode

    def last(self, what):
        if len(self.messages) != 1:
            fail(f"{what}: expected one message on the wire, saw {len(self.messages)}")
        rsv1, data = self.messages.pop()
        return rsv1, bytes(data)


def negotiated(ws, what):
    """The permessage-deflate extension websockets agreed to, or a failure if there is none."""
    extensions = ws.protocol.extensions
    if len(extensions) != 1 or extensions[0].name != "permessage-deflate":
        fail(f"{what}: expected permessage-deflate to be negotiated, got {extensions!r} "
             f"(Sec-WebSocket-Extensions: {ws.response.headers.get('Sec-WebSocket-Extensions')!r})")
    print(f"ok  {what}: negotiated {extensions[0]!r} "
          f"(Sec-WebSocket-Extensions: {ws.response.headers.get('Sec-WebSocket-Extensions')})", flush=True)
    return extensions[0]


def inflate_within_window(data, window_bits):
    """Inflates a raw DEFLATE message at most 512 bytes per call, so every back-reference past the output of the call
    must come from zlib's window of 2**window_bits bytes: a stream compressed with a larger window fails here with
    "invalid distance too far back", even where one big call would have read it from its own output."""
    inflater = zlib.decompressobj(wbits=-window_bits)
    out = [inflater.decompress(data + TAIL, 512)]
    while inflater.unconsumed_tail:
        out.append(inflater.decompress(inflater.unconsumed_tail, 512))
    return b"".join(out)


async def expect_echo(ws, message, what, wire=None, compressible=False):
    """Sends `message` and expects it back unchanged. With `wire`, also checks how the server framed the echo: RSV1
    clear under the threshold, and set (and smaller) for a compressible message at or over it. Returns the echo's
    (rsv1, payload) on the wire."""
    await ws.send(message)
    answer = await asyncio.wait_for(ws.recv(), timeout=10)
    if type(answer) is not type(message):
        fail(f"{what}: sent {type(message).__name__}, got {type(answer).__name__} back")
    if answer != message:
        fail(f"{what}: echo differs ({len(answer)} vs {len(message)} {'characters' if isinstance(message, str) else 'bytes'})")
    seen = None
    note = ""
    if wire is not None and wire.extension is not None:
        seen = wire.last(what)
        rsv1, data = seen
        size = len(payload_of(message))
        if size < THRESHOLD and rsv1:
            fail(f"{what}: the server compressed a {size}-byte message, under its {THRESHOLD}-byte threshold")
        if size >= THRESHOLD and compressible:
            if not rsv1:
                fail(f"{what}: the server sent a compressible {size}-byte message uncompressed")
            if len(data) >= size:
                fail(f"{what}: compressed to {len(data)} bytes, no smaller than its {size}")
        note = f" ({'compressed to ' + str(len(data)) if rsv1 else 'uncompressed'} on the wire)"
    print(f"ok  {what}{note}", flush=True)
    return seen


async def basic_checks(ws, label, wire=None):
    """What every connection does: messages of each size, fragments, pings."""
    for size in SIZES:
        await expect_echo(ws, text_of(size), f"{label}: text {size} bytes", wire, compressible=True)
        await expect_echo(ws, binary_of(size), f"{label}: binary {size} bytes", wire, compressible=True)

    # An iterable makes websockets send one frame per item: a fragmented message (§5.4). Compressed, only the first
    # frame carries RSV1, and every fragment but the last ends with a sync flush's 00 00 FF FF.
    for parts, kind in ((["frag", "mented ", "κόσμε"], "text"), ([b"\x00\x01", b"", b"\xff" * 70000], "binary")):
        await ws.send(parts)
        answer = await asyncio.wait_for(ws.recv(), timeout=10)
        whole = "".join(parts) if kind == "text" else b"".join(parts)
        if answer != whole:
            fail(f"{label}: fragmented {kind}: echo differs")
        if wire is not None and wire.extension is not None:
            wire.last(f"{label}: fragmented {kind}")
        print(f"ok  {label}: fragmented {kind} in {len(parts)} frames", flush=True)

    # websockets resolves the waiter only for a pong carrying this ping's payload.
    for payload in (b"", b"ping-payload", bytes(range(125))):
        pong = await ws.ping(payload)
        latency = await asyncio.wait_for(pong, timeout=10)
        print(f"ok  {label}: ping with {len(payload)} bytes answered in {latency * 1000:.1f} ms", flush=True)


async def compression_checks(ws, label, wire):
    """Messages that matter once compression is on: around the threshold, JSON-like, incompressible, 1 MiB."""
    for size in (THRESHOLD - 1, THRESHOLD):
        await expect_echo(ws, text_of(size), f"{label}: text {size} bytes (threshold)", wire, compressible=True)
    for size in (200, 4096, 100_000, 1 << 20):
        await expect_echo(ws, json_of(size), f"{label}: JSON-like text {size} bytes", wire, compressible=True)
    for size in (127, 128, 300, 65536, 1 << 20):
        await expect_echo(ws, random_of(size, seed=size), f"{label}: random binary {size} bytes", wire)
    await expect_echo(ws, far_repeats(300_000), f"{label}: random 2000-byte block repeated, 300000 bytes", wire)


async def close_normally(ws, label):
    await ws.close(code=1000, reason="interop done")
    if ws.close_code != 1000:
        fail(f"{label}: the server answered our 1000 with close code {ws.close_code}")
    print(f"ok  {label}: closed: the server answered with {ws.close_code}", flush=True)


def url(port):
    return f"ws://127.0.0.1:{port}/"


# max_size=None: the default (1 MiB) is right at our largest message.
OPTIONS = {"max_size": None, "ping_interval": None}


async def main(port, context_port):
    label = "uncompressed"
    async with connect(url(port), compression=None, **OPTIONS) as ws:
        if ws.protocol.extensions or "Sec-WebSocket-Extensions" in ws.response.headers:
            fail(f"{label}: nothing was offered, yet the server answered {ws.response.headers.get('Sec-WebSocket-Extensions')!r}")
        await basic_checks(ws, label)
        await close_normally(ws, label)

    # websockets offers "permessage-deflate; client_max_window_bits" by default.
    label = "default offer"
    async with connect(url(port), **OPTIONS) as ws:
        extension = negotiated(ws, label)
        # The server's defaults: it keeps no context, and asks the client to keep none.
        if not (extension.remote_no_context_takeover and extension.local_no_context_takeover):
            fail(f"{label}: expected server_no_context_takeover and client_no_context_takeover in the answer, got {extension!r}")
        wire = Wire(ws)
        await basic_checks(ws, label, wire)
        await compression_checks(ws, label, wire)
        # The same message twice: without context takeover the second compresses exactly as the first did (it cannot
        # refer back to it), and inflates on its own.
        message = json_of(5000)
        first = await expect_echo(ws, message, f"{label}: JSON-like text 5000 bytes", wire, compressible=True)
        second = await expect_echo(ws, message, f"{label}: the same again", wire, compressible=True)
        if first != second:
            fail(f"{label}: the same message compressed to {len(first[1])} then {len(second[1])} bytes without context takeover")
        if inflate_within_window(second[1], 15) != payload_of(message):
            fail(f"{label}: the repeated message does not inflate on its own")
        print(f"ok  {label}: a repeated message compresses the same ({len(second[1])} bytes) and inflates on its own", flush=True)
        await close_normally(ws, label)

    label = "server_max_window_bits=10, client_max_window_bits=9"
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=9)
    async with connect(url(port), compression=None, extensions=[factory], **OPTIONS) as ws:
        extension = negotiated(ws, label)
        if extension.remote_max_window_bits != 10 or extension.local_max_window_bits != 9:
            fail(f"{label}: expected windows 10 (server) and 9 (client), got {extension!r}")
        wire = Wire(ws)
        await basic_checks(ws, label, wire)
        await compression_checks(ws, label, wire)
        # The server must compress within 1 KiB: its matches 2000 bytes back would not inflate with a 10-bit window.
        for what, message in (("random 2000-byte block repeated", far_repeats(100_000)), ("JSON-like text", json_of(1 << 20))):
            rsv1, data = await expect_echo(ws, message, f"{label}: {what}, {len(payload_of(message))} bytes", wire)
            if not rsv1:
                fail(f"{label}: {what} came uncompressed")
            try:
                inflated = inflate_within_window(data, 10)
            except zlib.error as error:
                fail(f"{label}: {what}: the server's message does not inflate with a 10-bit window: {error}")
            if inflated != payload_of(message):
                fail(f"{label}: {what}: inflated with a 10-bit window, the message differs")
            print(f"ok  {label}: {what} inflates within a 10-bit window", flush=True)
        await close_normally(ws, label)

    label = "server_no_context_takeover, client_no_context_takeover"
    factory = ClientPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True)
    async with connect(url(port), compression=None, extensions=[factory], **OPTIONS) as ws:
        extension = negotiated(ws, label)
        if not (extension.remote_no_context_takeover and extension.local_no_context_takeover):
            fail(f"{label}: expected no context takeover either way, got {extension!r}")
        wire = Wire(ws)
        await basic_checks(ws, label, wire)
        await compression_checks(ws, label, wire)
        await close_normally(ws, label)

    # zlib cannot compress a raw stream with an 8-bit window, so the server must decline this offer rather than
    # accept a window it would not keep to; the connection goes on without extensions.
    label = "server_max_window_bits=8"
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=8)
    async with connect(url(port), compression=None, extensions=[factory], **OPTIONS) as ws:
        answer = ws.response.headers.get("Sec-WebSocket-Extensions")
        if ws.protocol.extensions or answer is not None:
            fail(f"{label}: the server should have declined, but answered {answer!r} ({ws.protocol.extensions!r})")
        print(f"ok  {label}: declined, the connection goes on uncompressed", flush=True)
        # websockets fails the connection on any frame with RSV1 set now, so these echoes also prove none was sent.
        for size in (THRESHOLD, 100_000):
            await expect_echo(ws, json_of(size), f"{label}: JSON-like text {size} bytes")
        await basic_checks(ws, label)
        await close_normally(ws, label)

    if context_port is None:
        return
    # A server that keeps its context, and lets the client keep its own: the answer names neither no_context_takeover,
    # and later messages may refer to earlier ones both ways.
    label = "context takeover"
    async with connect(url(context_port), **OPTIONS) as ws:
        extension = negotiated(ws, label)
        if extension.remote_no_context_takeover or extension.local_no_context_takeover:
            fail(f"{label}: expected context takeover both ways, got {extension!r}")
        wire = Wire(ws)
        message = json_of(5000)
        first = await expect_echo(ws, message, f"{label}: JSON-like text 5000 bytes", wire, compressible=True)
        second = await expect_echo(ws, message, f"{label}: the same again", wire, compressible=True)
        if len(second[1]) * 4 > len(first[1]):
            fail(f"{label}: the repeated message compressed to {len(second[1])} bytes after {len(first[1])}: no context was kept")
        print(f"ok  {label}: the repeated message referred back to the first ({len(first[1])} then {len(second[1])} bytes)", flush=True)
        await basic_checks(ws, label, wire)
        await compression_checks(ws, label, wire)
        for n in range(20):
            await expect_echo(ws, json_of(300 + n), f"{label}: similar message {n + 1} of 20", wire, compressible=True)
        await close_normally(ws, label)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else None))
    except (ConnectionClosed, OSError, asyncio.TimeoutError) as error:
        fail(f"{type(error).__name__}: {error}")
    print("PASS python websockets", flush=True)
