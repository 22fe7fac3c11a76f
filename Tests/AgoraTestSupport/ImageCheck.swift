package import Foundation
import Testing

/// `Tests/interop/image_check.py`: fixtures with the metadata phones leave in photos, and Pillow's independent view
/// of what was stored.
package enum ImageCheck {
    /// What Pillow finds in a file.
    package struct Report: Decodable, Sendable {
        package var format: String
        package var width: Int
        package var height: Int
        package var exifTags: Int
        package var gps: Bool
        package var text: [String: String]
        package var comment: String
        package var icc: Bool
        /// Which of the fixtures' tell-tale strings (`AgoraTestPhone`, `Cape Town`, `Exif\0\0`…) the bytes contain.
        package var telltales: [String]
    }

    /// The fixtures by file name (`gps.jpg`, `text.png`, `gps.webp`, `cut.jpg`).
    package static func fixtures() async throws -> [String: [UInt8]] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-images"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try await run(["make", folder.path])
        #expect(outcome.status == 0, "image_check.py make: \(outcome.output)")
        var files: [String: [UInt8]] = [:]
        for name in ["gps.jpg", "text.png", "gps.webp", "cut.jpg"] {
            files[name] = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
        }
        return files
    }

    /// Pillow's report on `bytes`.
    package static func inspect(_ bytes: [UInt8]) async throws -> Report {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-image"))
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try await run(["inspect", file.path])
        #expect(outcome.status == 0, "image_check.py inspect: \(outcome.output)")
        let line = try #require(outcome.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(outcome.output)")
        return try JSONDecoder().decode(Report.self, from: Data(line.utf8))
    }

    static func run(_ arguments: [String]) async throws -> ChildProcess.Outcome {
        let python = try #require(TestTools.python(), "no python3 (scripts/interop-deps.sh installs Pillow)")
        let script = TestTools.repositoryRoot.appendingPathComponent("Tests/interop/image_check.py").path
        return try await ChildProcess.run(python, [script] + arguments, timeout: .seconds(60))
    }
}
