/// Where uploaded images live: a local folder (`LocalMediaStorage`, one host) or an S3-compatible bucket
/// (`S3MediaStorage`, shared by every host).
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

    /// Part of the file under `key`, or nil if there is none.
    func get(_ key: MediaKey, range: ByteRange) async throws -> MediaPart?

    /// Removes the file under `key`. Removing a missing file is not an error, so a retried delete succeeds.
    func delete(_ key: MediaKey) async throws

    /// A URL browsers may fetch the file from directly for a while (a presigned GET), or nil if the store has none.
    func directURL(for key: MediaKey) -> String?
}

extension MediaStorage {
    /// Reads the whole file and cuts the part out: right for stores whose files are small and local.
    package func get(_ key: MediaKey, range: ByteRange) async throws -> MediaPart? {
        guard let media = try await get(key) else { return nil }
        return MediaPart(of: media.bytes, range: range, contentType: media.contentType)
    }

    package func directURL(for key: MediaKey) -> String? { nil }
}

/// A byte range as HTTP asks for one (RFC 9110 §14.1.2): from `first` to `last` inclusive (to the end when `last`
/// is nil), or the last `suffixLength` bytes.
package enum ByteRange: Sendable, Equatable {
    case from(Int, through: Int?)
    case suffix(Int)

    /// The range of a single-range `Range` header value (`bytes=0-99`, `bytes=100-`, `bytes=-100`), or nil for
    /// anything else: other units, several ranges, a malformed one. (A server may ignore a Range it does not
    /// support and send the whole file; that is what nil leads to.)
    package init?(header: String) {
        let value = header.trimmingSpaces()
        guard value.hasPrefix("bytes="), !value.contains(",") else { return nil }
        let spec = value.dropFirst(6)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        // At most 15 digits: beyond any file, and far from overflowing an Int.
        func number(_ text: Substring) -> Int? {
            guard !text.isEmpty, text.count <= 15, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(text)
        }
        if first.isEmpty {
            guard let length = number(last), length > 0 else { return nil }
            self = .suffix(length)
        } else {
            guard let start = number(first) else { return nil }
            if last.isEmpty {
                self = .from(start, through: nil)
            } else {
                guard let end = number(last), end >= start else { return nil }
                self = .from(start, through: end)
            }
        }
    }

    /// The header value that asks for this range.
    package var header: String {
        switch self {
        case .from(let first, let last): "bytes=\(first)-\(last.map(String.init) ?? "")"
        case .suffix(let length): "bytes=-\(length)"
        }
    }

    /// The offsets this range selects of a file of `size` bytes, or nil if it selects none (HTTP's 416).
    package func resolved(size: Int) -> Range<Int>? {
        switch self {
        case .from(let first, let last):
            guard first < size else { return nil }
            return first..<(min(last ?? (size - 1), size - 1) + 1)
        case .suffix(let length):
            guard size > 0 else { return nil }
            return max(0, size - length)..<size
        }
    }
}

/// Part of a stored file: the bytes at `offsets` of a file of `totalSize` bytes. `offsets` is nil when the range
/// asked for selects nothing of the file (the bytes are then empty).
package struct MediaPart: Sendable, Equatable {
    package var bytes: [UInt8]
    package var offsets: Range<Int>?
    /// The whole file's size; nil when the store did not say (only ever for an unsatisfiable range).
    package var totalSize: Int?
    package var contentType: String

    package init(bytes: [UInt8], offsets: Range<Int>?, totalSize: Int?, contentType: String) {
        self.bytes = bytes
        self.offsets = offsets
        self.totalSize = totalSize
        self.contentType = contentType
    }

    /// `range` of `file`.
    package init(of file: [UInt8], range: ByteRange, contentType: String) {
        let offsets = range.resolved(size: file.count)
        self.init(bytes: offsets.map { Array(file[$0]) } ?? [], offsets: offsets, totalSize: file.count, contentType: contentType)
    }

    /// Whether this is the whole file.
    package var isWhole: Bool { offsets == 0..<(totalSize ?? -1) }
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
    /// The POSIX error number, or 0 when the failure was not a system call's (e.g. an object store's answer, which
    /// `operation` then describes).
    package var errno: Int32

    /// Makes an error.
    package init(operation: String, path: String, errno: Int32 = 0) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    package var description: String { "MediaStorageError: \(operation) \(path) failed (errno \(errno))" }
}
