import AgoraCore
import AgoraDemo
import AgoraMedia
import AgoraTestSupport
import Foundation
import Testing

/// The libvips pipeline, checked from outside by Pillow: no metadata survives, orientation is applied, thumbnails
/// have the asked widths, and what cannot be decoded is a 422.
@Suite struct ImagePipelineTests {
    let pipeline = ImagePipeline(settings: .init(thumbnailWidths: [320, 960], quality: 85))

    @Test func aPhonePhotoLosesItsGPSAndStandsUpright() async throws {
        let fixtures = try await ImageCheck.fixtures()
        let before = try await ImageCheck.inspect(try #require(fixtures["gps.jpg"]))
        #expect(before.gps && before.comment.contains("Cape Town"))  // the fixture really carries what must go

        let result = try await pipeline.process(try #require(fixtures["gps.jpg"]), limits: .init(), thumbnails: true)
        let original = try await ImageCheck.inspect(result.original.bytes)
        #expect(original.format == "JPEG")
        // 1200x800 stored with orientation 6: upright it is 800x1200, and the pixels are turned, not tagged.
        #expect(original.width == 800 && original.height == 1200)
        #expect((result.original.width, result.original.height) == (800, 1200))
        #expect(original.exifTags == 0 && !original.gps && original.comment.isEmpty && original.telltales.isEmpty)

        // 960 is wider than the image: only the 320 thumbnail.
        #expect(result.thumbnails.map(\.width) == [320])
        let thumbnail = try await ImageCheck.inspect(try #require(result.thumbnails.first).bytes)
        #expect(thumbnail.format == "WEBP" && thumbnail.width == 320 && thumbnail.height == 480)
        #expect(thumbnail.exifTags == 0 && thumbnail.telltales.isEmpty, "\(thumbnail)")
    }

    @Test func pngTextAndExifChunksAndWebPExifAreStripped() async throws {
        let fixtures = try await ImageCheck.fixtures()
        for (name, format) in [("text.png", "PNG"), ("gps.webp", "WEBP")] {
            let before = try await ImageCheck.inspect(try #require(fixtures[name]))
            #expect(before.gps, "\(name) should carry GPS before")
            let result = try await pipeline.process(try #require(fixtures[name]), limits: .init(), thumbnails: true)
            let after = try await ImageCheck.inspect(result.original.bytes)
            #expect(after.format == format)
            #expect((after.width, after.height) == (before.width, before.height))
            #expect(after.exifTags == 0 && !after.gps && after.text.isEmpty && after.telltales.isEmpty, "\(name): \(after)")
            #expect(result.thumbnails.map(\.width) == [320])
        }
    }

    @Test func thumbnailsAreMadeOnlyWhenAskedAndSmallerThanTheImage() async throws {
        let big = DemoArt.png(title: "Wide", width: 1600, height: 900)
        let result = try await pipeline.process(big, limits: .init(), thumbnails: true)
        #expect(result.thumbnails.map(\.width) == [320, 960])
        #expect(result.thumbnails.map(\.height) == [180, 540])
        #expect(result.thumbnails.allSatisfy { ImageFormat.sniff($0.bytes)?.format == .webp })
        #expect(try await pipeline.process(big, limits: .init(), thumbnails: false).thumbnails.isEmpty)
        let small = DemoArt.png(title: "Small", width: 200, height: 100)
        #expect(try await pipeline.process(small, limits: .init(), thumbnails: true).thumbnails.isEmpty)
    }

    @Test func whatCannotBeDecodedIs422AndABombIsRefusedBeforeDecoding() async throws {
        let fixtures = try await ImageCheck.fixtures()
        let cut = try #require(fixtures["cut.jpg"])
        #expect(ImageFormat.sniff(cut)?.format == .jpeg)  // the header is fine: only decoding finds out
        let error = await #expect(throws: AgoraError.self) { try await pipeline.process(cut, limits: .init(), thumbnails: true) }
        #expect(error?.code == "image_unreadable")

        // A PNG whose pixel data is garbage.
        var png = DemoArt.png(title: "Broken", width: 64, height: 64)
        for index in 60..<min(png.count - 20, 400) { png[index] ^= 0x5A }
        let broken = await #expect(throws: AgoraError.self) { try await pipeline.process(png, limits: .init(), thumbnails: false) }
        #expect(broken?.code == "image_unreadable")

        // A few bytes that claim 8000x8000 pixels: refused from the header, never handed to libvips.
        let bomb = Headers.vp8x(width: 8000, height: 8000)
        let refused = await #expect(throws: AgoraError.self) { try await pipeline.process(bomb, limits: .init(), thumbnails: true) }
        #expect(refused?.code == "image_too_many_pixels")
    }

    @Test func manyImagesAtOnceAllComeOutWhole() async throws {
        let inputs = (0..<8).map { DemoArt.png(title: "Item \($0)", width: 700 + $0 * 10, height: 500) }
        let results = try await withThrowingTaskGroup(of: (Int, ImagePipeline.Result).self) { group in
            for (index, input) in inputs.enumerated() { group.addTask { (index, try await pipeline.process(input, limits: .init(), thumbnails: true)) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for index in 0..<8 {
            let result = try #require(results[index])
            #expect(result.original.width == 700 + index * 10)
            #expect(result.thumbnails.map(\.width) == [320])
        }
    }
}
