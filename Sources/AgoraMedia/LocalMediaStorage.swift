import AgoraCrypto
package import Foundation
package import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Media in a local folder: `<directory>/<first two hex digits>/<key>`, e.g. `$AGORA_DATA_DIR/media/3f/3f9c…e1.webp`.
///
/// The folder keeps no metadata beside the files: a key's extension decides the type a file is served with, so
/// `put` refuses a `contentType` that disagrees with it. Every file operation blocks, so all of them run on
/// `threadPool`, never on an event loop or in the cooperative pool (with two cores, one blocked cooperative thread
/// is half the server).
package struct LocalMediaStorage: MediaStorage {
    /// The folder that holds the shard folders; created on the first `put`.
    package let directory: URL
    let threadPool: NIOThreadPool

    /// Makes a store.
    /// - Parameters:
    ///   - directory: the media folder, e.g. `<data folder>/media`.
    ///   - threadPool: where the blocking file calls run.
    package init(directory: URL, threadPool: NIOThreadPool = .singleton) {
        self.directory = directory
        self.threadPool = threadPool
    }

    /// The path a key's file has (whether or not it exists).
    package func path(for key: MediaKey) -> String {
        directory.appendingPathComponent(key.shard, isDirectory: true).appendingPathComponent(key.rawValue, isDirectory: false).path
    }

    package func put(_ bytes: [UInt8], key: MediaKey, contentType: String) async throws {
        let path = path(for: key)
        guard contentType == key.format.contentType else {
            throw MediaStorageError(operation: "put as \(contentType) (the key says \(key.format.contentType))", path: path, errno: 0)
        }
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = "\(folder)/.upload-\(Base64.encode(SecureRandom.bytes(9), url: true))-\(key.rawValue)"
        try await threadPool.runIfActive { try Self.writeAtomically(bytes, folder: folder, temporary: temporary, path: path) }
    }

    package func get(_ key: MediaKey) async throws -> StoredMedia? {
        let path = path(for: key)
        guard let bytes = try await threadPool.runIfActive({ try Self.readFile(path) }) else { return nil }
        return StoredMedia(bytes: bytes, contentType: key.format.contentType)
    }

    package func delete(_ key: MediaKey) async throws {
        let path = path(for: key)
        try await threadPool.runIfActive {
            guard unlink(path) == 0 || errno == ENOENT else { throw MediaStorageError(operation: "unlink", path: path, errno: errno) }
        }
    }

    // MARK: Blocking file calls (thread pool only)

    /// Writes a temporary file beside the final one, flushes it, then renames it into place. rename(2) within one
    /// folder is atomic, so a reader finds the old file, the new one or none, never a half-written one.
    private static func writeAtomically(_ bytes: [UInt8], folder: String, temporary: String, path: String) throws {
        try makeFolder(folder)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaStorageError(operation: "open", path: temporary, errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw MediaStorageError(operation: "write", path: temporary, errno: errno)
                    }
                    offset += written
                }
            }
            // Flush before the rename: after a crash the name must not point at a file whose data never reached disk.
            guard fsync(fd) == 0 else { throw MediaStorageError(operation: "fsync", path: temporary, errno: errno) }
        }
        guard rename(temporary, path) == 0 else { throw MediaStorageError(operation: "rename", path: path, errno: errno) }
        renamed = true
    }

    /// `mkdir -p`: creates `path` and any missing parents; an existing folder is fine (another upload may race us).
    private static func makeFolder(_ path: String) throws {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw MediaStorageError(operation: "mkdir", path: path, errno: errno) }
        try makeFolder((path as NSString).deletingLastPathComponent)
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw MediaStorageError(operation: "mkdir", path: path, errno: errno) }
    }

    /// The file's bytes, or nil if it does not exist.
    private static func readFile(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw MediaStorageError(operation: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        // The size by seeking rather than fstat: with libvips's headers in the module, `struct stat` resolves to a
        // module this one does not import.
        let size = lseek(fd, 0, SEEK_END)
        guard size >= 0, lseek(fd, 0, SEEK_SET) == 0 else { throw MediaStorageError(operation: "lseek", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var total = 0
        try bytes.withUnsafeMutableBytes { raw in
            while total < raw.count {
                let count = read(fd, raw.baseAddress! + total, raw.count - total)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw MediaStorageError(operation: "read", path: path, errno: errno)
                }
                if count == 0 { break }  // the file shrank since we measured it; return what is there
                total += count
            }
        }
        return total == bytes.count ? bytes : Array(bytes.prefix(total))
    }
}
