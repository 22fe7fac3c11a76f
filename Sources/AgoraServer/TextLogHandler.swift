import Logging
import Synchronization

// `@preconcurrency`: C's `stdout` is a global `var` to Swift 6; it is never reassigned, and writes take `flockfile`.
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// The text log (`AGORA_LOG_FORMAT=text`, the default): the lines swift-log's `StreamLogHandler.stdout`
/// writes, `2026-12-06T03:54:53+0000 info agora: key=value … [source] message`, one `fwrite` and `fflush` per line.
///
/// It exists for the access log, one line per request: `StreamLogHandler` formats the local time with `localtime`,
/// which `stat`s `/etc/localtime` on every call, and formats all of a logger's metadata again on every
/// `logger[metadataKey:] = …` (Hummingbird sets the request id on every request). Here the timestamp is formatted
/// once per second (the zone is read again then, as `localtime` would), and metadata only when a line is written.
struct TextLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = Self.clock.timestamp()
        line += " "
        line += event.level.rawValue
        if !label.isEmpty { line += " " }
        line += label
        line += ":"
        Self.append(effectiveMetadata(event), to: &line)
        line += " ["
        line += event.source
        line += "] "
        line += event.message.description
        line += "\n"
        line.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            flockfile(stdout)
            _ = fwrite(base, 1, bytes.count, stdout)
            funlockfile(stdout)
            _ = fflush(stdout)
        }
    }

    /// The handler's metadata, then the provider's, then the call's, then the error's; later ones win.
    private func effectiveMetadata(_ event: LogEvent) -> Logger.Metadata {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return merged
    }

    /// ` key=value key=value`, keys sorted; nothing for no metadata.
    private static func append(_ metadata: Logger.Metadata, to line: inout String) {
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " "
            line += key
            line += "="
            line += value.description
        }
    }

    private static let clock = LocalTimestamp()
}

/// `%Y-%m-%dT%H:%M:%S%z` in local time, formatted at most once per second.
private final class LocalTimestamp: Sendable {
    private let cached = Mutex<(second: time_t, text: String)>((-1, ""))

    func timestamp() -> String {
        let now = time(nil)
        if let text = cached.withLock({ $0.second == now ? $0.text : nil }) { return text }
        let text = Self.format(now)
        cached.withLock { $0 = (now, text) }
        return text
    }

    private static func format(_ now: time_t) -> String {
        // `tzset` rereads TZ and /etc/localtime, as `localtime` does on every call; here once a second.
        tzset()
        var seconds = now
        var local = tm()
        guard localtime_r(&seconds, &local) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
