#!/usr/bin/env python3
"""Draws the PWA's PNG icons (Public/icons/icon-192.png, icon-512.png, icon-maskable-512.png) from the same shapes
as Public/icons/icon.svg, with the standard library only. Rerun after changing the design."""
import os, struct, zlib

TEAL, WHITE, ORANGE = (0x1F, 0x5F, 0x5B), (255, 255, 255), (0xF0, 0x8A, 0x5D)

def inside(poly, x, y):
    hit = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            hit = not hit
    return hit

def render(size, maskable):
    # In the 64-unit design space; a maskable icon keeps the glyph inside the central 80 % safe zone.
    scale, offset = (size / 64 * 0.7, size * 0.15) if maskable else (size / 64, 0)
    outer = [(32, 12), (50, 50), (42, 50), (38.5, 42), (25.5, 42), (22, 50), (14, 50)]
    hole = [(28, 35), (36, 35), (32, 25)]
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            samples = []
            for sy in (0.25, 0.75):
                for sx in (0.25, 0.75):
                    x, y = (px + sx - offset) / scale, (py + sy - offset) / scale
                    r = 14
                    corner = not maskable and ((x < r or x > 64 - r) and (y < r or y > 64 - r)) and \
                        min((x - cx) ** 2 + (y - cy) ** 2 for cx in (r, 64 - r) for cy in (r, 64 - r)) > r * r
                    if corner:
                        samples.append((0, 0, 0, 0)); continue
                    if inside(outer, x, y) and not inside(hole, x, y): c = WHITE
                    elif (x - 48) ** 2 + (y - 16) ** 2 <= 25: c = ORANGE
                    else: c = TEAL
                    samples.append((*c, 255))
            row += bytes(round(sum(s[i] for s in samples) / 4) for i in range(4))
        rows.append(bytes(row))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")

folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Public", "icons")
for name, size, maskable in [("icon-192.png", 192, False), ("icon-512.png", 512, False), ("icon-maskable-512.png", 512, True)]:
    with open(os.path.join(folder, name), "wb") as f:
        f.write(render(size, maskable))
    print(name)
