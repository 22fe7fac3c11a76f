import AgoraCrypto
import AgoraNet
import Foundation

/// Why a mail was not sent. `transient` failures are retried later; `permanent` ones (a 5xx refusal of this mail)
/// are not.
package struct SMTPError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable { case transient, permanent }
    package var kind: Kind
    /// What happened, with the server's reply where there was one. Never contains credentials.
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}

/// How to reach the SMTP server.
package struct SMTPSettings: Sendable {
    /// `none`: plain SMTP (a relay on this host or a trusted network). `startTLS`: RFC 3207 upgrade, required
    /// (a server that does not offer it is an error, never a silent downgrade). `tls`: TLS from the first byte
    /// (port 465, RFC 8314).
    package enum Security: String, Sendable { case none, startTLS = "starttls", tls }

    package var host: String
    package var port: Int
    package var security: Security
    package var username: String?
    package var password: String?
    /// PEM roots to trust instead of the system's, e.g. a private CA.
    package var caFile: String?
    /// The name we give in EHLO.
    package var heloName: String
    /// Bounds connect and every read and write.
    package var timeout: Duration

    package init(
        host: String, port: Int, security: Security = .none, username: String? = nil, password: String? = nil, caFile: String? = nil,
        heloName: String = "localhost", timeout: Duration = .seconds(15)
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.caFile = caFile
        self.heloName = heloName
        self.timeout = timeout
    }
}

/// A small SMTP client (RFC 5321) with STARTTLS (RFC 3207), implicit TLS and AUTH PLAIN / LOGIN (RFC 4954).
///
/// It sends several mails over one session, on SwiftNIO (AgoraNet's `LineConnection`): a session waiting for a slow
/// server holds no thread, and each step is bounded by `settings.timeout`.
package struct SMTPClient: Sendable {
    package let settings: SMTPSettings
    /// Built once from `settings.caFile` when the settings ask for TLS; a CA file that cannot be used fails each
    /// session (transiently, so the mails wait for the setting to be fixed), as it did when each session read it.
    private let tls: Result<ClientTLSContext, SMTPError>?

    package init(settings: SMTPSettings) {
        self.settings = settings
        if settings.security == .none {
            tls = nil
        } else {
            do {
                tls = .success(try ClientTLSContext(caFile: settings.caFile))
            } catch {
                tls = .failure(SMTPError(.transient, error.message))
            }
        }
    }

    /// Sends each mail, in order, over one session. A failure to set up the session fails every mail transiently;
    /// a refusal of one mail does not stop the others.
    package func send(_ mails: [Mail]) async -> [Result<Void, SMTPError>] {
        guard !mails.isEmpty else { return [] }
        let connection: SMTPConnection
        do {
            connection = try await open()
        } catch {
            // Even a 5xx here (a refused login, say) is about the session, not the mails: keep them for later.
            let failure = SMTPError(.transient, error.message)
            return mails.map { _ in .failure(failure) }
        }
        var results: [Result<Void, SMTPError>] = []
        for (index, mail) in mails.enumerated() {
            do {
                try await deliver(mail, over: connection)
                results.append(.success(()))
            } catch {
                results.append(.failure(error))
                // A refused transaction leaves the session usable after RSET; a broken one fails the rest.
                if (try? await connection.command("RSET"))?.isPositive != true {
                    let rest = SMTPError(.transient, "connection lost after an earlier mail failed: \(error.message)")
                    results += mails[(index + 1)...].map { _ in .failure(rest) }
                    await connection.close()
                    return results
                }
            }
        }
        _ = try? await connection.command("QUIT")
        await connection.close()
        return results
    }

    // MARK: Session

    /// Connects and greets, upgrading to TLS and logging in as the settings say; the connection is closed when any
    /// of it fails.
    private func open() async throws(SMTPError) -> SMTPConnection {
        let tls = try tls?.get()
        let connection = try await SMTPConnection(
            host: settings.host, port: settings.port, timeout: settings.timeout, implicitTLS: settings.security == .tls ? tls : nil)
        do throws(SMTPError) {
            try expect(await connection.readReply(), 220, "greeting")
            var extensions = try await hello(connection)
            if settings.security == .startTLS {
                guard extensions.keys.contains("STARTTLS") else {
                    throw SMTPError(.transient, "the server does not offer STARTTLS, which AGORA_SMTP_TLS=starttls requires")
                }
                try expect(await connection.command("STARTTLS"), 220, "STARTTLS")
                guard let tls else { throw SMTPError(.transient, "STARTTLS without a TLS context") }
                try await connection.startTLS(tls)
                extensions = try await hello(connection)  // RFC 3207 §4.2: forget what was said before TLS
            }
            if let username = settings.username, !username.isEmpty {
                try await authenticate(connection, username: username, password: settings.password ?? "", offered: extensions["AUTH"] ?? "")
            }
            return connection
        } catch {
            await connection.close()
            throw error
        }
    }

    /// EHLO, falling back to HELO for an old server; returns the extensions by keyword (`AUTH` -> `PLAIN LOGIN`).
    private func hello(_ connection: SMTPConnection) async throws(SMTPError) -> [String: String] {
        let reply = try await connection.command("EHLO \(settings.heloName)")
        guard reply.code == 250 else {
            try expect(await connection.command("HELO \(settings.heloName)"), 250, "HELO")
            return [:]
        }
        var extensions: [String: String] = [:]
        for line in reply.lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            extensions[keyword.uppercased()] = parts.count > 1 ? String(parts[1]).uppercased() : ""
        }
        return extensions
    }

    private func authenticate(_ connection: SMTPConnection, username: String, password: String, offered: String) async throws(SMTPError) {
        // Credentials only over TLS, or to a relay on this host: anything else would send the password in clear.
        guard connection.isTLS || Self.isLoopback(settings.host) else {
            throw SMTPError(.transient, "refusing to send SMTP credentials without TLS to \(settings.host); set AGORA_SMTP_TLS")
        }
        let mechanisms = Set(offered.split(separator: " ").map(String.init))
        if mechanisms.contains("PLAIN") || mechanisms.isEmpty {
            let credentials = Base64.encode(Array("\0\(username)\0\(password)".utf8))
            try expect(await connection.command("AUTH PLAIN \(credentials)"), 235, "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            try expect(await connection.command("AUTH LOGIN"), 334, "AUTH LOGIN")
            try expect(await connection.command(Base64.encode(Array(username.utf8))), 334, "AUTH LOGIN")
            try expect(await connection.command(Base64.encode(Array(password.utf8))), 235, "AUTH LOGIN")
        } else {
            throw SMTPError(.transient, "the server offers no authentication we speak (it offers \(offered))")
        }
    }

    // MARK: One mail

    private func deliver(_ mail: Mail, over connection: SMTPConnection) async throws(SMTPError) {
        try expect(await connection.command("MAIL FROM:<\(mail.from.address)>"), 250, "MAIL FROM")
        let recipient = try await connection.command("RCPT TO:<\(mail.to.address)>")
        guard recipient.code == 250 || recipient.code == 251 else { throw Self.refusal(recipient, "RCPT TO") }
        try expect(await connection.command("DATA"), 354, "DATA")
        try await connection.write(Self.dotStuffed(mail.rfc5322()))
        try expect(await connection.readReply(), 250, "end of DATA")
    }

    /// RFC 5321 §4.5.2: a line starting with `.` gets another; then the `CRLF.CRLF` terminator.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 16)
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == 0x0A
        }
        if out.suffix(2) != [0x0D, 0x0A] { out += [0x0D, 0x0A] }
        out += Array(".\r\n".utf8)
        return out
    }

    private func expect(_ reply: SMTPReply, _ code: Int, _ step: String) throws(SMTPError) {
        guard reply.code == code else { throw Self.refusal(reply, step) }
    }

    private static func refusal(_ reply: SMTPReply, _ step: String) -> SMTPError {
        SMTPError(reply.isTransientFailure || reply.isPositive ? .transient : .permanent, "\(step) refused: \(reply.summary)")
    }

    /// Whether `host` names this machine (where a relay may take credentials without TLS).
    package static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
