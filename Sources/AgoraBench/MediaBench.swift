import AgoraDemo
import AgoraMedia
import ArgumentParser
import Foundation

/// Upload and demo-image costs: parsing a 5 MiB multipart body, sniffing it, and encoding the seeder's PNGs.
struct MediaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "media", abstract: "Multipart parsing, image sniffing and PNG encoding.")
    @Option(help: "Repetitions of each measurement; the median is printed.") var runs = 15

    func run() async throws {
        let boundary = "----agora-bench-boundary"
        var file = PNGEncoder.encode(DemoArt.render(seed: 1, initials: "AB"))
        while file.count < 5 << 20 { file += (0..<65536).map { _ in UInt8.random(in: 0...255) } }
        let body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            + file + Array("\r\n--\(boundary)--\r\n".utf8)
        let parse = try median(runs) { _ = try MultipartFormData.parse(body: body, boundary: boundary) }
        let sniff = try median(runs) { _ = ImageFormat.sniff(file) }
        let art = DemoArt.render(seed: 7, initials: "WD")
        var size = 0
        let encode = try median(runs) { size = PNGEncoder.encode(art).count }
        let render = try median(runs) { _ = DemoArt.render(seed: 7, initials: "WD") }
        print(String(format: "multipart parse, %.1f MiB body: median %.2f ms (%.0f MiB/s)", Double(body.count) / 1_048_576, parse * 1000, Double(body.count) / 1_048_576 / parse))
        print(String(format: "sniff the same file: median %.3f ms", sniff * 1000))
        print(String(format: "DemoArt render 640x480: median %.2f ms", render * 1000))
        print(String(format: "PNG encode 640x480 (%d bytes): median %.2f ms", size, encode * 1000))
    }

    func median(_ runs: Int, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = ContinuousClock.now
            try body()
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return times.sorted()[times.count / 2]
    }
}
