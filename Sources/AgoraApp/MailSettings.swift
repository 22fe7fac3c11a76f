package import AgoraMail
import Foundation

/// Outgoing mail settings (`AGORA_MAIL_*`, `AGORA_SMTP_*`).
package struct MailSettings: Sendable {
    /// `mailbox`: files in `$AGORA_DATA_DIR/mailbox` (development only). `smtp`: an SMTP server.
    package enum Transport: String, Sendable { case mailbox, smtp }

    package var transport: Transport
    /// The sender of every mail (`AGORA_MAIL_FROM`).
    package var from: MailAddress
    package var smtp: SMTPSettings
    package var mailboxDirectory: String
    package var dispatcher: MailDispatcher.Settings
    /// Run the outbox dispatcher in this process (`AGORA_MAIL_DISPATCH`, true).
    package var isDispatcherEnabled: Bool

    /// Safe to log: no credentials.
    var summary: String {
        switch transport {
        case .mailbox: "mailbox \(mailboxDirectory)"
        case .smtp: "smtp \(smtp.host):\(smtp.port) tls=\(smtp.security.rawValue)\(smtp.username == nil ? "" : " auth")"
        }
    }

    static func read(
        env: [String: String],
        mode: AgoraConfig.Mode,
        dataDirectory: String,
        string: (String, String) -> String,
        int: (String, Int, ClosedRange<Int>) -> Int,
        bool: (String, Bool) -> Bool,
        problem: (String) -> Void
    ) -> MailSettings {
        let transportName = string("AGORA_MAIL_TRANSPORT", mode == .production ? "smtp" : "mailbox")
        var transport = Transport(rawValue: transportName) ?? .mailbox
        if Transport(rawValue: transportName) == nil { problem("AGORA_MAIL_TRANSPORT must be mailbox or smtp, got '\(transportName)'") }
        if transport == .mailbox, mode == .production {
            problem("AGORA_MAIL_TRANSPORT=mailbox only keeps mail on this machine; production needs smtp")
            transport = .smtp
        }
        let fromText = string("AGORA_MAIL_FROM", "Agora <no-reply@agora.localhost>")
        var from = try! MailAddress("no-reply@agora.localhost")
        do { from = try MailAddress(parsing: fromText) } catch { problem("AGORA_MAIL_FROM: \(error)") }

        let securityName = string("AGORA_SMTP_TLS", "none")
        let security = SMTPSettings.Security(rawValue: securityName) ?? .none
        if SMTPSettings.Security(rawValue: securityName) == nil { problem("AGORA_SMTP_TLS must be none, starttls or tls, got '\(securityName)'") }
        let defaultPort = switch security {
        case .none: 25
        case .startTLS: 587
        case .tls: 465
        }
        let host = string("AGORA_SMTP_HOST", "127.0.0.1")
        let username = env["AGORA_SMTP_USERNAME"].flatMap { $0.isEmpty ? nil : $0 }
        if username != nil, security == .none, !SMTPClient.isLoopback(host) {
            problem("AGORA_SMTP_USERNAME with AGORA_SMTP_TLS=none would send the password in clear to \(host); use starttls or tls")
        }
        let caFile = env["AGORA_SMTP_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) { problem("AGORA_SMTP_CA_FILE: cannot read \(caFile)") }
        let smtp = SMTPSettings(
            host: host,
            port: int("AGORA_SMTP_PORT", defaultPort, 1...65535),
            security: security,
            username: username,
            password: env["AGORA_SMTP_PASSWORD"],
            caFile: caFile,
            heloName: string("AGORA_SMTP_HELO", from.domain),
            timeout: .seconds(int("AGORA_SMTP_TIMEOUT", 15, 1...300))
        )
        let dispatcher = MailDispatcher.Settings(
            pollInterval: .milliseconds(int("AGORA_MAIL_POLL_MS", 1000, 10...600_000)),
            batchSize: int("AGORA_MAIL_BATCH", 20, 1...1000),
            maxAttempts: int("AGORA_MAIL_MAX_ATTEMPTS", 8, 1...100),
            retryDelay: .seconds(int("AGORA_MAIL_RETRY_SECONDS", 30, 0...86_400))
        )
        return MailSettings(
            transport: transport, from: from, smtp: smtp,
            mailboxDirectory: URL(fileURLWithPath: dataDirectory).appendingPathComponent("mailbox").path,
            dispatcher: dispatcher, isDispatcherEnabled: bool("AGORA_MAIL_DISPATCH", true)
        )
    }
}
