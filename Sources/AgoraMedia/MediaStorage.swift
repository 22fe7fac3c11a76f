/// Where uploaded images live: a local folder now, an S3-compatible bucket later.
///
/// Implementations must be safe to call from many requests at once, and must not block the caller's thread.
package protocol MediaStorage: Sendable {
    /// Stores `bytes` under `key`, replacing whatever was there; readers see the old file or the new one, never part.
    /// - Parameters:
    ///   - bytes: the file.
    ///   - key: its name.
    ///   - contentType: the media type to serve it with.
    func put(_ bytes: [UInt8], key: MediaKey, contentType: String) async throws

    /// The file stored under `key`, or nil if there is none.
    func get(_ key: MediaKey) async throws -> StoredMedia?

    /// Removes the file under `key`. Removing a missing file is not an error, so a retried delete succeeds.
    func delete(_ key: MediaKey) async throws
}

/// A stored file and the type to serve it with.
package struct StoredMedia: Sendable, Equatable {
    /// The file's bytes.
    package var bytes: [UInt8]
    /// Its media type, e.g. `image/webp`.
    package var contentType: String

    /// Makes a value.
    package init(bytes: [UInt8], contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
    }
}

/// A storage operation that failed for a reason other than a missing file.
///
/// Its description names the operation, path and `errno` for the logs; clients only ever see a generic 500.
package struct MediaStorageError: Error, Sendable, CustomStringConvertible {
    /// What was being done, e.g. `rename`.
    package var operation: String
    /// The file or folder involved.
    package var path: String
    /// The POSIX error number, or 0 when the failure was not a system call's.
    package var errno: Int32

    /// Makes an error.
    package init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    package var description: String { "MediaStorageError: \(operation) \(path) failed (errno \(errno))" }
}
