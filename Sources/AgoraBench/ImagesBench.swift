import AgoraMedia
import ArgumentParser
import Foundation
import NIOPosix

/// The image pipeline on one photo: sniff + decode + upright + re-encode without metadata, with and without the
/// thumbnails, on one thread (pin the process with taskset to measure one core).
struct ImagesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "The libvips upload pipeline on one photo.")
    @Option(help: "A JPEG, PNG or WebP file.") var file: String
    @Option(help: "Repetitions of each measurement; the median is printed.") var runs = 9

    func run() async throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let pipeline = ImagePipeline(settings: .init(thumbnailWidths: [320, 960], quality: 85), threadPool: pool)
        let limits = ImageLimits(maxBytes: 64 << 20, maxDimension: 16_000, maxPixels: 100_000_000)
        var last: ImagePipeline.Result?
        let full = try await median { last = try await pipeline.process(bytes, limits: limits, thumbnails: true) }
        let clean = try await median { _ = try await pipeline.process(bytes, limits: limits, thumbnails: false) }
        try await pool.shutdownGracefully()
        guard let result = last else { return }
        let sniffed = ImageFormat.sniff(bytes)
        print("input: \(sniffed.map { "\($0.format.rawValue) \($0.width)x\($0.height)" } ?? "?"), \(bytes.count) bytes")
        print(String(format: "clean only (decode, upright, re-encode without metadata): median %.0f ms", clean * 1000))
        print(String(format: "clean + thumbnails %@: median %.0f ms", result.thumbnails.map { String($0.width) }.joined(separator: ", "), full * 1000))
        print("stored: \(result.original.format.rawValue) \(result.original.width)x\(result.original.height) \(result.original.bytes.count) bytes; "
            + result.thumbnails.map { "webp \($0.width)x\($0.height) \($0.bytes.count) bytes" }.joined(separator: "; "))
    }

    func median(_ body: () async throws -> Void) async throws -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = ContinuousClock.now
            try await body()
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return times.sorted()[times.count / 2]
    }
}
