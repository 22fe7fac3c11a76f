import AgoraNet

/// A reply of an SMTP server: a three-digit code and its text lines (RFC 5321 §4.2).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var isPositive: Bool { (200..<400).contains(code) }
    var isTransientFailure: Bool { (400..<500).contains(code) }
    /// The first line, for errors and logs.
    var summary: String { "\(code) \(lines.first ?? "")" }
}

/// One connection to an SMTP server, optionally upgraded to TLS: writes command lines and reads replies.
///
/// On SwiftNIO through AgoraNet's `LineConnection`: a session waiting for a slow server holds no thread, and every
/// step is bounded by the settings' timeout.
struct SMTPConnection: Sendable {
    /// RFC 5321 §4.5.3.1.5 allows 512-byte reply lines; we allow more but not without bound.
    static let maxLineLength = 4096
    static let maxReplyLines = 200

    private let line: LineConnection

    /// Connects to `host:port`, with TLS from the first byte for implicit TLS.
    /// - Throws: `SMTPError` (transient) when no address accepts within `timeout`, or the TLS handshake fails.
    init(host: String, port: Int, timeout: Duration, implicitTLS: ClientTLSContext?) async throws(SMTPError) {
        do {
            line = try await LineConnection.connect(
                host: host, port: port, timeout: timeout, maxLineLength: Self.maxLineLength, tls: implicitTLS)
        } catch {
            throw SMTPError(.transient, error.message)
        }
    }

    /// Upgrades the connection to TLS after the server's 220 to `STARTTLS`.
    func startTLS(_ tls: ClientTLSContext) async throws(SMTPError) {
        do { try await line.startTLS(tls) } catch { throw SMTPError(.transient, error.message) }
    }

    var isTLS: Bool { line.isTLS }

    /// Sends `text` and CRLF, then reads the reply.
    func command(_ text: String) async throws(SMTPError) -> SMTPReply {
        try await write(Array((text + "\r\n").utf8))
        return try await readReply()
    }

    /// Reads one (possibly multi-line) reply.
    func readReply() async throws(SMTPError) -> SMTPReply {
        var lines: [String] = []
        while lines.count < Self.maxReplyLines {
            let text: String
            do { text = try await line.readLine() } catch { throw SMTPError(.transient, error.message) }
            let bytes = Array(text.utf8)
            guard bytes.count >= 3, let code = Int(String(text.prefix(3))), (200...599).contains(code) else {
                throw SMTPError(.transient, "malformed reply from the server: \(text.prefix(80))")
            }
            lines.append(bytes.count > 4 ? String(text.dropFirst(4)) : "")
            // `250-text` continues, `250 text` (or a bare `250`) ends the reply.
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { return SMTPReply(code: code, lines: lines) }
            guard bytes[3] == UInt8(ascii: "-") else { throw SMTPError(.transient, "malformed reply from the server: \(text.prefix(80))") }
        }
        throw SMTPError(.transient, "the server's reply has too many lines")
    }

    /// Writes bytes as they are.
    func write(_ bytes: [UInt8]) async throws(SMTPError) {
        do { try await line.write(bytes) } catch { throw SMTPError(.transient, error.message) }
    }

    /// Closes the connection.
    func close() async { await line.close() }
}
