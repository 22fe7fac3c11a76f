import AgoraDemo
import AgoraMedia
import Foundation
import Testing

/// A scratch folder per test, so tests run in parallel without sharing files.
func withScratchFolder<R>(_ body: (URL) async throws -> R) async throws -> R {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agora-media-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try await body(folder)
}

@Suite struct MediaKeyTests {
    @Test func randomKeysValidateAndDiffer() throws {
        let keys = (0..<100).map { _ in MediaKey.random(format: .webp) }
        #expect(Set(keys).count == 100)
        for key in keys {
            #expect(key.rawValue.count == 32 + 5)
            #expect(key.rawValue.hasSuffix(".webp"))
            #expect(MediaKey(validating: key.rawValue) == key)
            #expect(key.shard == String(key.rawValue.prefix(2)))
        }
        #expect(MediaKey(validating: MediaKey.random(format: .jpeg).rawValue)?.format == .jpeg)
    }

    @Test(arguments: [
        "", "../../etc/passwd", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef.",
        "0123456789abcdef0123456789abcdef.gif", "0123456789ABCDEF0123456789ABCDEF.png", "0123456789abcdef0123456789abcde.png",
        "0123456789abcdef0123456789abcdef0.png", "0123456789abcdef0123456789abcdef.png/", "0123456789abcdef0123456789abcdef.png.png",
        "../3456789abcdef0123456789abcdef.png", "0123456789abcdef0123456789abcdeg.png", "0123456789abcdef0123456789abcdef.PNG",
    ])
    func onlyTheShapeRandomMakesIsAccepted(text: String) {
        #expect(MediaKey(validating: text) == nil)
    }

    @Test func aWellFormedKeyIsAccepted() {
        #expect(MediaKey(validating: "0123456789abcdef0123456789abcdef.png")?.format == .png)
    }
}

@Suite struct LocalMediaStorageTests {
    @Test func putGetDeleteRoundTrip() async throws {
        try await withScratchFolder { folder in
            let storage = LocalMediaStorage(directory: folder.appendingPathComponent("media"))
            let key = MediaKey.random(format: .png)
            let bytes = PNGEncoder.encode(PixelBuffer(width: 4, height: 4))
            try await storage.put(bytes, key: key, contentType: "image/png")
            #expect(try await storage.get(key) == StoredMedia(bytes: bytes, contentType: "image/png"))

            // The file sits in its shard folder under the media folder, with no temporary file left beside it.
            let path = storage.path(for: key)
            #expect(path == folder.appendingPathComponent("media/\(key.shard)/\(key.rawValue)").path)
            #expect(try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent) == [key.rawValue])

            // Replacing is atomic and complete.
            let replacement = PNGEncoder.encode(PixelBuffer(width: 9, height: 2))
            try await storage.put(replacement, key: key, contentType: "image/png")
            #expect(try await storage.get(key)?.bytes == replacement)

            try await storage.delete(key)
            #expect(try await storage.get(key) == nil)
            #expect(!FileManager.default.fileExists(atPath: path))
            try await storage.delete(key)  // deleting again is fine: retries must not fail
        }
    }

    @Test func missingKeyIsNil() async throws {
        try await withScratchFolder { folder in
            let storage = LocalMediaStorage(directory: folder)
            let missing = try await storage.get(MediaKey.random(format: .jpeg))
            #expect(missing == nil)
        }
    }

    @Test func contentTypeMustMatchTheKey() async throws {
        try await withScratchFolder { folder in
            let storage = LocalMediaStorage(directory: folder)
            let key = MediaKey.random(format: .jpeg)
            await #expect(throws: MediaStorageError.self) { try await storage.put([1, 2, 3], key: key, contentType: "text/html") }
            let stored = try await storage.get(key)
            #expect(stored == nil)
        }
    }

    @Test func manyConcurrentWritesLandIntact() async throws {
        try await withScratchFolder { folder in
            let storage = LocalMediaStorage(directory: folder)
            let keys = (0..<24).map { _ in MediaKey.random(format: .webp) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, key) in keys.enumerated() {
                    let bytes = [UInt8](repeating: UInt8(index), count: 10_000 + index)
                    group.addTask { try await storage.put(bytes, key: key, contentType: "image/webp") }
                }
                try await group.waitForAll()
            }
            for (index, key) in keys.enumerated() {
                #expect(try await storage.get(key)?.bytes == [UInt8](repeating: UInt8(index), count: 10_000 + index))
            }
        }
    }

    @Test func unwritableFolderIsAnError() async throws {
        try await withScratchFolder { folder in
            // A file where the media folder should be: mkdir fails with ENOTDIR rather than writing elsewhere.
            #expect(FileManager.default.createFile(atPath: folder.path, contents: Data("x".utf8)))
            let storage = LocalMediaStorage(directory: folder)
            let error = await #expect(throws: MediaStorageError.self) {
                try await storage.put([1], key: MediaKey.random(format: .png), contentType: "image/png")
            }
            #expect(error?.operation == "mkdir")
        }
    }
}
