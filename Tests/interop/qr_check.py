#!/usr/bin/env python3
"""Checks the PWA's QR encoder (Public/app/qr.js) against independent implementations, without a browser.

    python3 Tests/interop/qr_check.py            # from the repository root; exit status 0 only if every case passes
    python3 Tests/interop/qr_check.py --quick    # the named cases and a few capacity boundaries, not all 40 versions

For every case node (v18 or later) runs `qrMatrix` and `qrSVG` from qr.js; then
- segno (PyPI `segno`) encodes the same text (byte mode, UTF-8, no ECI, no error-level boost, no Micro QR) and its
  version, mask and module matrix must equal qr.js's, bit for bit. Should segno choose another mask, the case fails,
  and the matrix is still compared with segno forced to qr.js's mask, so the report says whether only the mask
  choice differs;
- the SVG must be well-formed, carry its accessibility attributes, and its path must cover exactly the dark modules;
- when zxing-cpp (PyPI `zxing-cpp`, with `Pillow`) is installed, the SVG's path is rasterised and decoded, and the
  decoded bytes must be the text's UTF-8 bytes. Without it the decode step is reported as skipped (as it is for the
  empty text, which zxing-cpp never reports, from segno's symbol either).

segno's padding before the pad codewords is corrected to ISO/IEC 18004 §7.4.10 first (segno issue #148, see below).

The cases: short ASCII, Solana Pay transfer requests of about 200 and 400 bytes, non-ASCII UTF-8, the empty string,
for every error-correction level a text of exactly the byte capacity of each version (it must still fit that version)
and one byte more (it must take the next), a text too long for version 40 (qr.js must throw, and segno agree), and
400 texts of random length (60 with --quick).
One line per case; a summary last.
"""
import json
from importlib import metadata
import os
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import segno
from segno import consts, encoder

try:
    import zxingcpp
    from PIL import Image, ImageDraw
except ImportError:  # the decode step is optional
    zxingcpp = None



def _padding_bits_per_iso(buff, version, length):
    """ISO/IEC 18004 §7.4.10: zero bits up to the next codeword boundary, none when the stream is already on one."""
    if version not in (consts.VERSION_M1, consts.VERSION_M3):
        buff.extend([0] * (-length % 8))


# segno 1.6 adds a whole zero codeword when the data and terminator already end on a codeword boundary (so always, in
# byte mode with room for the terminator), where ISO/IEC 18004 §7.4.10 adds none and goes straight to the 0xEC 0x11
# pad codewords: https://github.com/heuer/segno/issues/148. Readers stop at the terminator, so both decode, but the
# matrices differ; the comparison is with segno as the standard (and that issue's fix) has it. A segno that pads
# correctly is unaffected by the replacement.
encoder.write_padding_bits = _padding_bits_per_iso

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE = os.path.join(ROOT, "Public", "app", "qr.js")
LEVELS = "LMQH"
SEGNO_LEVEL = {"L": consts.ERROR_LEVEL_L, "M": consts.ERROR_LEVEL_M, "Q": consts.ERROR_LEVEL_Q, "H": consts.ERROR_LEVEL_H}

# Reads the cases (JSON on stdin) and answers, per case, qr.js's matrix and SVG, or the message it threw. The module is
# imported by file:// URL, so Public/app needs no package.json to be taken as an ES module.
NODE_SCRIPT = r"""
import { pathToFileURL } from "node:url";
const { qrMatrix, qrSVG } = await import(pathToFileURL(process.env.QR_MODULE).href);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ text, ecc, label }) => {
  try {
    const { size, version, mask, ecc: level, modules } = qrMatrix(text, { ecc });
    const rows = modules.map((row) => row.map((dark) => (dark ? "1" : "0")).join(""));
    return { size, version, mask, ecc: level, rows, svg: qrSVG(text, { ecc, scale: 3, margin: 4, label }) };
  } catch (error) {
    return { error: `${error.name}: ${error.message}` };
  }
});
process.stdout.write(JSON.stringify(results));
"""

SOLANA_RECIPIENT = "mvines9iiHiQTysrwkJjGf2gb9Ex9jXJX8ns3qwf2kN"
USDC = "EPjFWdvg9Xa3VjJ1Dk3xm9LCzD4T4CL5J8xTYVYdEn1a"


def solana_pay(message_length):
    """A Solana Pay transfer request as the PWA builds it: amount, SPL token, reference, percent-encoded label,
    message and memo (about 200 bytes with an empty message)."""
    rng = random.Random(message_length)
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    reference = "".join(rng.choice(alphabet) for _ in range(44))
    message = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789%20") for _ in range(message_length))
    return (f"solana:{SOLANA_RECIPIENT}?amount=12.5&spl-token={USDC}&reference={reference}"
            f"&label=Agora%20Marketplace&message={message}&memo=order-{rng.randrange(10**9)}")


def byte_capacity(version, level):
    """Bytes that fit, from segno's own table of data bits (not from qr.js)."""
    bits = consts.SYMBOL_CAPACITY[version][SEGNO_LEVEL[level]]
    return (bits - 4 - (8 if version <= 9 else 16)) // 8


def filler(length, seed):
    """`length` bytes of URL-like ASCII, different per case so every matrix is different."""
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-._~:/?=&%") for _ in range(length))


def cases(quick):
    named = [
        ("short ASCII", "Hello, Agora!", "M"),
        ("solana pay ~200 B", solana_pay(0), "M"),
        ("solana pay ~400 B", solana_pay(180), "M"),
        ("solana pay ~400 B, H", solana_pay(180), "H"),
        ("UTF-8 Café 東京", "Café 東京", "M"),
        ("UTF-8 emoji", "Pay 5 \u20ac \U0001F600 \u00fc\u00df", "Q"),
        ("UTF-8 at v1-M capacity", "\u00e9" * 7, "M"),
        ("empty", "", "M"),
        ("empty, H", "", "H"),
    ]
    result = [{"name": name, "text": text, "ecc": ecc} for name, text, ecc in named]
    versions = [1, 2, 6, 7, 9, 10, 26, 27, 40] if quick else range(1, 41)
    for level in LEVELS:
        for version in versions:
            capacity = byte_capacity(version, level)
            result.append({"name": f"{level} v{version} full ({capacity} B)", "text": filler(capacity, f"{level}{version}"),
                           "ecc": level, "version": version})
            if version < 40:
                result.append({"name": f"{level} v{version} full + 1 B", "text": filler(capacity + 1, f"{level}{version}+"),
                               "ecc": level, "version": version + 1})
        too_long = byte_capacity(40, level) + 1
        result.append({"name": f"{level} too long ({too_long} B)", "text": filler(too_long, f"{level}x"), "ecc": level,
                       "too_long": True})
    # Texts of random length and content, mostly small versions: they make the mask choice hinge on the rarer
    # corners of the penalty rules (ties, overlapping finder look-alikes) often enough to be compared too.
    rng = random.Random(18004)
    for index in range(60 if quick else 400):
        level = rng.choice(LEVELS)
        text = filler(rng.randrange(1, 160), f"random{index}")
        result.append({"name": f"random #{index} ({level})", "text": text, "ecc": level})
    return result


def run_node(case_list):
    payload = json.dumps([{"text": c["text"], "ecc": c["ecc"], "label": c["name"]} for c in case_list])
    completed = subprocess.run(["node", "--input-type=module", "-e", NODE_SCRIPT], input=payload.encode(),
                               capture_output=True, env={**os.environ, "QR_MODULE": MODULE}, check=False)
    if completed.returncode != 0:
        sys.exit(f"node failed ({completed.returncode}): {completed.stderr.decode(errors='replace')}")
    return json.loads(completed.stdout)


def segno_code(text, level, mask=None):
    return segno.make(text, error=level.lower(), mode="byte", encoding="utf-8", boost_error=False, micro=False,
                      mask=mask)


def rows_of(code):
    return ["".join("1" if module else "0" for module in row) for row in code.matrix]


PATH_COMMAND = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def dark_cells(rows):
    return {(x, y) for y, row in enumerate(rows) for x, bit in enumerate(row) if bit == "1"}


def svg_problems(svg, result, label):
    """What is wrong with the SVG (an empty list when nothing is), and the dark (x, y) cells its path covers."""
    problems = []
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError as error:
        return [f"SVG not well-formed: {error}"], set()
    namespace = "{http://www.w3.org/2000/svg}"
    extent = result["size"] + 8
    expected = {"viewBox": f"0 0 {extent} {extent}", "width": str(extent * 3), "height": str(extent * 3),
                "shape-rendering": "crispEdges", "role": "img", "aria-label": label or "QR code"}
    for name, value in expected.items():
        if root.get(name) != value:
            problems.append(f"SVG {name}={root.get(name)!r}, expected {value!r}")
    rects, paths = root.findall(f"{namespace}rect"), root.findall(f"{namespace}path")
    if len(rects) != 1 or rects[0].get("fill") != "#fff" or rects[0].get("width") != str(extent):
        problems.append("SVG lacks its white background rect")
    if len(paths) != 1:
        return problems + [f"SVG has {len(paths)} paths, expected 1"], set()
    d = paths[0].get("d")
    cells = set()
    for match in PATH_COMMAND.finditer(d):
        x, y, width, back = map(int, match.groups())
        if width != back:
            problems.append(f"SVG run at {x},{y} does not close")
        cells.update((x - 4 + dx, y - 4) for dx in range(width))
    if PATH_COMMAND.sub("", d):
        problems.append("SVG path has unexpected commands")
    dark = dark_cells(result["rows"])
    if cells != dark:
        problems.append(f"SVG path covers {len(cells ^ dark)} modules wrongly")
    return problems, cells


def decode(cells, size, scale=4, quiet=4):
    """Rasterises the SVG path's dark cells (white quiet zone around) and decodes it with zxing-cpp."""
    extent = (size + 2 * quiet) * scale
    image = Image.new("L", (extent, extent), 255)
    draw = ImageDraw.Draw(image)
    for x, y in cells:
        left, top = (x + quiet) * scale, (y + quiet) * scale
        draw.rectangle([left, top, left + scale - 1, top + scale - 1], fill=0)
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].bytes if found else None


def check(case, result):
    """(ok, description) for one case."""
    text, level = case["text"], case["ecc"]
    length = len(text.encode("utf-8"))
    if case.get("too_long"):
        if "error" not in result:
            return False, f"{length} B fit version {result['version']}, expected an error"
        try:
            segno_code(text, level)
            return False, "qr.js threw but segno fits it"
        except segno.DataOverflowError:
            return True, f"throws ({result['error']})"
    if "error" in result:
        return False, f"qr.js threw {result['error']}"
    problems = []
    ours = f"v{result['version']}-{result['ecc']} mask {result['mask']}"
    if result["ecc"] != level:
        problems.append(f"ecc {result['ecc']} != {level}")
    if case.get("version") and result["version"] != case["version"]:
        problems.append(f"version {result['version']}, expected {case['version']}")
    reference = segno_code(text, level)
    if reference.version != result["version"]:
        problems.append(f"segno chose version {reference.version}")
    if reference.mask != result["mask"]:
        forced = segno_code(text, level, mask=result["mask"])
        same = rows_of(forced) == result["rows"]
        problems.append(f"segno chose mask {reference.mask}; with mask {result['mask']} forced the matrix "
                        f"{'matches' if same else 'DIFFERS'}")
    elif rows_of(reference) != result["rows"]:
        differing = sum(a != b for ours_row, theirs in zip(result["rows"], rows_of(reference))
                        for a, b in zip(ours_row, theirs))
        problems.append(f"matrix differs from segno's in {differing} modules")
    if result["size"] != 4 * result["version"] + 17 or len(result["rows"]) != result["size"]:
        problems.append(f"size {result['size']} wrong for version {result['version']}")
    svg_issues, cells = svg_problems(result["svg"], result, case["name"])
    problems += svg_issues
    decoded = "decode skipped (no zxing-cpp)"
    if zxingcpp is not None and cells is not None and not svg_issues:
        got = decode(cells, result["size"])
        if got is None and text == "" and decode(dark_cells(rows_of(reference)), reference.symbol_size(border=0)[0]) is None:
            decoded = "decode skipped (zxing-cpp reports no empty symbol, segno's neither)"
        elif got is None:
            problems.append("zxing-cpp found no QR code")
        elif got != text.encode("utf-8"):
            problems.append(f"zxing-cpp decoded {got[:40]!r}…, not the text")
        else:
            decoded = "zxing-cpp round-trips"
    if problems:
        return False, f"{ours}, {length} B: " + "; ".join(problems)
    return True, f"{ours}, {length} B: matrix = segno's, SVG ok, {decoded}"


def main():
    quick = "--quick" in sys.argv[1:]
    case_list = cases(quick)
    results = run_node(case_list)
    failures = 0
    for case, result in zip(case_list, results):
        ok, description = check(case, result)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {case['name']}: {description}", flush=True)
    decoder = f"zxing-cpp {metadata.version('zxing-cpp')}" if zxingcpp else "no decoder: pip install zxing-cpp Pillow"
    print(f"{len(case_list) - failures}/{len(case_list)} cases passed (segno {segno.__version__}, {decoder})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
