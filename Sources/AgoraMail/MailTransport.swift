package import Foundation
package import Logging
package import NIOPosix

/// Where the dispatcher hands mails: SMTP in production, a folder of files in development.
package protocol MailTransport: Sendable {
    /// Sends each mail; one result per mail, in order.
    func send(_ mails: [(id: UUID, mail: Mail)], logger: Logger) async -> [Result<Void, SMTPError>]
}

/// Sends through an SMTP server. The client is non-blocking, so a session needs no thread of its own.
package struct SMTPTransport: MailTransport {
    let client: SMTPClient

    package init(settings: SMTPSettings) {
        self.client = SMTPClient(settings: settings)
    }

    package func send(_ mails: [(id: UUID, mail: Mail)], logger: Logger) async -> [Result<Void, SMTPError>] {
        await client.send(mails.map(\.mail))
    }
}

/// Development: each mail becomes a readable text file in a folder (`$AGORA_DATA_DIR/mailbox`), newest last by
/// name, so the links in it can be opened without a mail server.
package struct MailboxTransport: MailTransport {
    package let directory: URL
    let threadPool: NIOThreadPool

    /// - Parameter threadPool: where the files are written (`WorkerPools.files`).
    package init(directory: URL, threadPool: NIOThreadPool) {
        self.directory = directory
        self.threadPool = threadPool
    }

    package func send(_ mails: [(id: UUID, mail: Mail)], logger: Logger) async -> [Result<Void, SMTPError>] {
        let directory = self.directory
        let written: [Result<String, SMTPError>]
        do {
            // File I/O blocks: on the thread pool, not in the cooperative pool.
            written = try await threadPool.runIfActive { mails.map { Self.write($0.id, $0.mail, to: directory) } }
        } catch {
            return mails.map { _ in .failure(SMTPError(.transient, "mail sender is shutting down")) }
        }
        return zip(mails, written).map { entry, result in
            result.map { path in
                // The path and recipient only: the body holds single-use links, which do not belong in logs.
                logger.info("Mail written to the development mailbox", metadata: ["file": "\(path)", "to": "\(entry.mail.to.address)"])
            }
        }
    }

    /// Writes one mail as a readable text file; returns its path.
    private static func write(_ id: UUID, _ mail: Mail, to directory: URL) -> Result<String, SMTPError> {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            let file = directory.appendingPathComponent("\(formatter.string(from: .now))-\(id.uuidString.prefix(8).lowercased()).txt")
            let text = """
                From: \(mail.from)
                To: \(mail.to)
                Subject: \(mail.subject)
                Date: \(Mail.rfc5322Date(.now))

                \(mail.text)

                """
            try Data(text.utf8).write(to: file, options: .atomic)
            return .success(file.path)
        } catch {
            return .failure(SMTPError(.transient, "cannot write to the mailbox \(directory.path): \(error)"))
        }
    }
}
