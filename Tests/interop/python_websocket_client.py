#!/usr/bin/env python3
"""Interop check of Agora's WebSocket echo endpoint with the `websocket-client` library (PyPI).

Usage: python_websocket_client.py PORT

Connects to ws://127.0.0.1:PORT/, exchanges text and binary messages of several sizes, sends fragmented messages,
pings, and closes with 1000. Prints each step; exits 1 on the first mismatch, so a test can run it and show why.
"""
import struct
import sys

import websocket
from websocket import ABNF

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


def expect_echo(ws, opcode, data, what):
    opcode_back, answer = ws.recv_data(control_frame=False)
    if opcode_back != opcode:
        fail(f"{what}: sent opcode {opcode}, got {opcode_back} back")
    if answer != data:
        fail(f"{what}: echo differs ({len(answer)} vs {len(data)} bytes)")
    print(f"ok  {what}", flush=True)


def main(port):
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/", timeout=10)
    for size in SIZES:
        text = text_of(size)
        ws.send(text, opcode=ABNF.OPCODE_TEXT)
        expect_echo(ws, ABNF.OPCODE_TEXT, text.encode(), f"text {size} bytes")
        data = binary_of(size)
        ws.send_binary(data)
        expect_echo(ws, ABNF.OPCODE_BINARY, data, f"binary {size} bytes")

    # websocket-client sends whatever frames it is given, so a message can be split at any byte: here inside "κ".
    parts = [b"frag", b"mented \xce", b"\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5"]
    for index, part in enumerate(parts):
        opcode = ABNF.OPCODE_TEXT if index == 0 else ABNF.OPCODE_CONT
        ws.send_frame(ABNF.create_frame(part, opcode, fin=int(index == len(parts) - 1)))
    expect_echo(ws, ABNF.OPCODE_TEXT, b"".join(parts), "fragmented text in 3 frames, split inside a character")
    parts = [b"\x00\x01", b"", b"\xff" * 70000]
    for index, part in enumerate(parts):
        opcode = ABNF.OPCODE_BINARY if index == 0 else ABNF.OPCODE_CONT
        ws.send_frame(ABNF.create_frame(part, opcode, fin=int(index == len(parts) - 1)))
    expect_echo(ws, ABNF.OPCODE_BINARY, b"".join(parts), "fragmented binary in 3 frames")

    for payload in (b"", b"ping-payload", bytes(range(125))):
        ws.ping(payload)
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode != ABNF.OPCODE_PONG or frame.data != payload:
            fail(f"ping with {len(payload)} bytes: got opcode {opcode} with {len(frame.data)} bytes")
        print(f"ok  ping with {len(payload)} bytes answered with the same payload", flush=True)

    # ws.close() does not report the code it got back, so send our Close and read the answer ourselves.
    ws.send_close(1000, b"interop done")
    frame = ws.recv_frame()
    if frame.opcode != ABNF.OPCODE_CLOSE:
        fail(f"expected the server's Close, got opcode {frame.opcode}")
    code = struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
    if code != 1000:
        fail(f"the server answered our 1000 with close code {code}")
    # The server closes TCP first once both Close frames have crossed (§7.1.1).
    if ws.sock.recv(1) != b"":
        fail("the server sent more after its Close")
    ws.shutdown()
    print(f"ok  closed: the server answered with {code} and closed TCP", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(int(sys.argv[1]))
    except (websocket.WebSocketException, OSError) as error:
        fail(f"{type(error).__name__}: {error}")
    print("PASS python websocket-client", flush=True)
