import AgoraDemo
import AgoraMedia
import AgoraTestSupport
import Foundation
import Testing

@Suite struct PNGEncoderTests {
    /// Decodes a PNG with nothing but Python's standard library: checks every chunk's CRC, inflates the IDATs
    /// (zlib checks the Adler-32), undoes the five filters, and compares with the raw pixels we meant to write.
    static let decoder = #"""
        import struct, sys, zlib
        data = open(sys.argv[1], "rb").read()
        expected = open(sys.argv[2], "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
        pos, idat, header, types = 8, b"", None, []
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
            assert zlib.crc32(kind + body) == crc, "crc of %r" % kind
            types.append(kind)
            if kind == b"IHDR": header = struct.unpack(">IIBBBBB", body)
            if kind == b"IDAT": idat += body
            pos += 12 + length
        assert types[0] == b"IHDR" and types[-1] == b"IEND", types
        width, height, depth, color, _, _, interlace = header
        assert depth == 8 and color in (2, 6) and interlace == 0, header
        bpp = 3 if color == 2 else 4
        stride = width * bpp
        raw = zlib.decompress(idat)
        assert len(raw) == (stride + 1) * height, "inflated size"
        out, previous = bytearray(), bytearray(stride)
        for y in range(height):
            kind, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                if kind == 0: p = 0
                elif kind == 1: p = a
                elif kind == 2: p = b
                elif kind == 3: p = (a + b) // 2
                elif kind == 4:
                    e = a + b - c
                    pa, pb, pc = abs(e - a), abs(e - b), abs(e - c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                else: raise AssertionError("filter %d" % kind)
                row[i] = (row[i] + p) & 0xFF
            out += row
            previous = row
        assert bytes(out) == expected, "pixels differ"
        print("decoded", width, height, "filters", sorted(set(raw[y * (stride + 1)] for y in range(height))))
        """#

    /// Writes `png` and the pixels it should hold to a scratch folder and runs the decoder over them.
    static func decodeWithPython(_ png: [UInt8], expecting image: PixelBuffer) async throws -> String {
        let python = try #require(TestTools.python(), "python3 is needed to check PNG output independently")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agora-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pngFile = folder.appendingPathComponent("image.png")
        let rawFile = folder.appendingPathComponent("image.raw")
        try Data(png).write(to: pngFile)
        try Data(image.pixels).write(to: rawFile)
        let outcome = try await ChildProcess.run(python, ["-c", decoder, pngFile.path, rawFile.path], timeout: .seconds(60))
        #expect(outcome.status == 0, "\(outcome.output)")
        return outcome.output
    }

    @Test func demoArtDecodesToTheSamePixelsAndIsSmall() async throws {
        let image = DemoArt.render(seed: DemoArt.seed(for: "Walnut desk lamp"), initials: "WD")
        let png = PNGEncoder.encode(image)
        #expect(png.count < 80_000)
        // Python decodes a quarter of the pixels (the same drawing code and encoder paths): pure-Python unfiltering
        // of the full image costs a second of CPU in a suite that shares two cores.
        let smaller = DemoArt.render(width: 320, height: 240, seed: DemoArt.seed(for: "Walnut desk lamp"), initials: "WD")
        let output = try await Self.decodeWithPython(PNGEncoder.encode(smaller), expecting: smaller)
        #expect(output.contains("decoded 320 240"))
    }

    @Test func noisyRGBAUsesEveryPathAndStillRoundTrips() async throws {
        // Noise defeats LZ77 (literals), repeats exercise long matches, and odd sizes catch stride mistakes.
        var generator = SplitMix64(seed: 42)
        var image = PixelBuffer(width: 37, height: 23, hasAlpha: true)
        for i in image.pixels.indices { image.pixels[i] = i % 97 < 60 ? UInt8(truncatingIfNeeded: generator.next()) : UInt8(i / 400) }
        _ = try await Self.decodeWithPython(PNGEncoder.encode(image), expecting: image)
    }

    @Test func everyPaletteAndManySeedsEncode() async throws {
        for (index, palette) in DemoArt.palettes.enumerated() {
            let image = DemoArt.render(width: 160, height: 120, seed: UInt64(index), initials: "Q\(index)", palette: palette)
            _ = try await Self.decodeWithPython(PNGEncoder.encode(image), expecting: image)
        }
    }

    @Test func demoArtIsDeterministicAndDistinct() {
        let a = DemoArt.render(width: 200, height: 150, seed: 7, initials: "AB")
        #expect(a == DemoArt.render(width: 200, height: 150, seed: 7, initials: "AB"))
        #expect(a != DemoArt.render(width: 200, height: 150, seed: 8, initials: "AB"))
        #expect(DemoArt.initials(of: "walnut desk lamp") == "WD")
        #expect(DemoArt.initials(of: "  42 — Édition spéciale!") == "4D")
        #expect(DemoArt.initials(of: "") == "")
        #expect(DemoArt.seed(for: "Lamp") == DemoArt.seed(for: "Lamp"))
        #expect(DemoArt.png(title: "Linen tote", width: 64, height: 48).starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }
}
