import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `Public/` for `FileMiddleware`, with the small files held in memory.
///
/// `LocalFileSystem` answers every request for a file with two `stat`s and a read, each a hop to a thread pool and
/// back: a 5 KB stylesheet cost five times a bare route. Here a file's attributes are checked against the disk at
/// most once per `revalidateAfter` (so an edited file is served within that time, with its new ETag, as before),
/// and files up to `maxFileSize` are read once and served from memory until they change. `FileMiddleware` still
/// builds every header (ETag, Last-Modified, Cache-Control, ranges, 304s) from the attributes, as it did.
/// Larger files, and ranges of files not held, are read from disk by `LocalFileSystem`.
struct CachedFileProvider: FileProvider {
    /// What `FileMiddleware` builds its headers from: the values `LocalFileSystem` gives.
    struct FileAttributes: FileMiddlewareFileAttributes, Sendable {
        let isFolder: Bool
        let size: Int
        let modificationDate: Date
    }

    typealias FileIdentifier = String

    typealias Settings = StaticFileCacheSettings

    private let disk: LocalFileSystem
    private let threadPool: NIOThreadPool
    private let settings: Settings
    private let cache = Cache()

    /// - Parameters:
    ///   - rootFolder: the folder served (`AGORA_PUBLIC_DIR`).
    ///   - threadPool: where `stat` and reads run.
    init(rootFolder: String, settings: Settings, threadPool: NIOThreadPool, logger: Logger) {
        self.disk = LocalFileSystem(rootFolder: rootFolder, threadPool: threadPool, logger: logger)
        self.threadPool = threadPool
        self.settings = settings
    }

    func getFileIdentifier(_ path: String) -> String? {
        disk.getFileIdentifier(path)
    }

    func getAttributes(id path: String) async throws -> FileAttributes? {
        let now = ContinuousClock.now
        if let version = cache.version(of: path, checkedSince: now - settings.revalidateAfter) {
            return version.attributes
        }
        // As LocalFileSystem: whatever cannot be stat'ed is not there.
        guard let version = try? await threadPool.runIfActive({ FileVersion(path: path) }) else {
            cache.forget(path)
            return nil
        }
        cache.checked(path, version: version, at: now, capacity: settings.capacity)
        return version.attributes
    }

    func loadFile(id path: String, context: some RequestContext) async throws -> ResponseBody {
        if let content = cache.content(of: path) { return ResponseBody(byteBuffer: content) }
        guard let version = cache.version(of: path), !version.isFolder, version.size <= settings.maxFileSize else {
            return try await disk.loadFile(id: path, context: context)
        }
        let read: (FileVersion, ByteBuffer)
        do {
            read = try await threadPool.runIfActive { try Self.readWhole(path) }
        } catch {
            // Gone since its `stat`: the 404 LocalFileSystem would answer.
            context.coreContext.endpointPath.value = "NotFound"
            throw HTTPError(.notFound)
        }
        // Held only if it is the version the headers describe; a file changing under us is served, not kept.
        if read.0 == version { cache.hold(read.1, of: path, version: version, capacity: settings.capacity) }
        return ResponseBody(byteBuffer: read.1)
    }

    func loadFile(id path: String, range: ClosedRange<Int>, context: some RequestContext) async throws -> ResponseBody {
        // Ranges are rare (media players, resumed downloads): LocalFileSystem clamps and reads them.
        try await disk.loadFile(id: path, range: range, context: context)
    }

    /// The file's bytes and the version they are of (from `fstat` of the descriptor they were read from).
    private static func readWhole(_ path: String) throws -> (FileVersion, ByteBuffer) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileReadError() }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileReadError() }
        let version = FileVersion(info)
        var buffer = ByteBufferAllocator().buffer(capacity: max(0, version.size))
        while true {
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { bytes in
                read(descriptor, bytes.baseAddress, bytes.count)
            }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileReadError()
            }
        }
        return (version, buffer)
    }

    private struct FileReadError: Error {}
}

/// How much of `Public/` `CachedFileProvider` holds in memory, and for how long it trusts it.
package struct StaticFileCacheSettings: Sendable {
    /// Files up to this size are held in memory (`AGORA_STATIC_CACHE_MAX_FILE`, bytes).
    package var maxFileSize: Int
    /// Bytes held in all (`AGORA_STATIC_CACHE_BYTES`); past it the cache starts again empty.
    package var capacity: Int
    /// How long a file's attributes are trusted before the next `stat` (`AGORA_STATIC_CACHE_REVALIDATE_MS`).
    package var revalidateAfter: Duration

    package init(maxFileSize: Int, capacity: Int, revalidateAfter: Duration) {
        self.maxFileSize = maxFileSize
        self.capacity = capacity
        self.revalidateAfter = revalidateAfter
    }
}

/// What `stat` says of a file: enough to tell that it changed (size, modification time to the nanosecond, inode).
private struct FileVersion: Equatable, Sendable {
    let isFolder: Bool
    let size: Int
    let modified: timespec
    let inode: UInt64

    init(_ info: stat) {
        isFolder = (info.st_mode & S_IFMT) == S_IFDIR
        size = Int(info.st_size)
        modified = info.st_mtim
        inode = UInt64(info.st_ino)
    }

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    /// As `LocalFileSystem` reports them: whole seconds of modification time.
    var attributes: CachedFileProvider.FileAttributes {
        .init(isFolder: isFolder, size: size, modificationDate: Date(timeIntervalSince1970: Double(modified.tv_sec)))
    }

    static func == (a: Self, b: Self) -> Bool {
        a.isFolder == b.isFolder && a.size == b.size && a.inode == b.inode
            && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
    }
}

/// The paths seen, each with its last `stat` and, for small files, their bytes.
private final class Cache: Sendable {
    private struct Entry {
        var version: FileVersion
        var checked: ContinuousClock.Instant
        var content: ByteBuffer?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())

    /// The version last seen, if it was checked at or after `since` (any age when `since` is nil).
    func version(of path: String, checkedSince since: ContinuousClock.Instant? = nil) -> FileVersion? {
        state.withLock { state in
            guard let entry = state.entries[path] else { return nil }
            if let since, entry.checked < since { return nil }
            return entry.version
        }
    }

    func content(of path: String) -> ByteBuffer? {
        state.withLock { $0.entries[path]?.content }
    }

    /// Records a `stat`; a changed file loses the bytes held for it.
    func checked(_ path: String, version: FileVersion, at instant: ContinuousClock.Instant, capacity: Int) {
        state.withLock { state in
            if var entry = state.entries[path] {
                if entry.version != version, let content = entry.content {
                    state.bytes -= content.readableBytes
                    entry.content = nil
                }
                entry.version = version
                entry.checked = instant
                state.entries[path] = entry
            } else {
                Self.makeRoom(Self.overhead(path), in: &state, capacity: capacity)
                state.entries[path] = Entry(version: version, checked: instant)
                state.bytes += Self.overhead(path)
            }
        }
    }

    /// Keeps a file's bytes, if its entry still describes `version` and they fit.
    func hold(_ content: ByteBuffer, of path: String, version: FileVersion, capacity: Int) {
        let size = content.readableBytes
        guard size + Self.overhead(path) <= capacity else { return }
        state.withLock { state in
            guard let entry = state.entries[path], entry.version == version, entry.content == nil else { return }
            Self.makeRoom(size, in: &state, capacity: capacity)
            // Making room may have emptied the cache; the entry goes back with the bytes.
            if state.entries[path] == nil { state.bytes += Self.overhead(path) }
            state.entries[path] = Entry(version: version, checked: entry.checked, content: content)
            state.bytes += size
        }
    }

    func forget(_ path: String) {
        state.withLock { state in
            guard let entry = state.entries.removeValue(forKey: path) else { return }
            state.bytes -= Self.overhead(path) + (entry.content?.readableBytes ?? 0)
        }
    }

    /// Paths come from clients (`/a/./b`, `//b` name the same file), so the cache is bounded: when `bytes` more would
    /// not fit, it starts again empty.
    private static func makeRoom(_ bytes: Int, in state: inout State, capacity: Int) {
        if state.bytes + bytes > capacity {
            state.entries.removeAll()
            state.bytes = 0
        }
    }

    /// What an entry costs besides its bytes: its key and bookkeeping.
    private static func overhead(_ path: String) -> Int { path.utf8.count + 128 }
}
