public import Foundation
public import Logging
public import NIOPosix

/// Where the dispatcher hands mails: SMTP in production, a folder of files in development.
public protocol MailTransport: Sendable {
    /// Sends each mail; one result per mail, in order.
    func send(_ mails: [(id: UUID, mail: Mail)], logger: Logger) async -> [Result<Void, SMTPError>]
}

/// Sends through an SMTP server, on a thread pool (the SMTP client blocks).
public struct SMTPTransport: MailTransport {
    let client: SMTPClient
    let threadPool: NIOThreadPool

    public init(settings: SMTPSettings, threadPool: NIOThreadPool = .singleton) {
        self.client = SMTPClient(settings: settings)
        self.threadPool = threadPool
    }

    public func send(_ mails: [(id: UUID, mail: Mail)], logger: Logger) async -> [Result<Void, SMTPError>] {
        let client = self.client
        let batch = mails.map(\.mail)
        do {
            return try await threadPool.runIfActive { client.send(batch) }
        } catch {
            // The thread pool is shutting down: the mails stay pending for the next process.
            return mails.map { _ in .failure(SMTPError(.transient, "mail sender is shutting down")) }
        }
    }
}

/// Development: each mail becomes a readable text file in a folder (`$AGORA_DATA_DIR/mailbox`), newest last by
/// name, so the links in it can be opened without a mail server.
public struct MailboxTransport: MailTransport {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public func send(_ mails: [(id: UUID, mail: Mail)], logger: Logger) async -> [Result<Void, SMTPError>] {
        mails.map { entry in
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.timeZone = TimeZone(identifier: "UTC")
                formatter.dateFormat = "yyyyMMdd-HHmmss"
                let file = directory.appendingPathComponent("\(formatter.string(from: .now))-\(entry.id.uuidString.prefix(8).lowercased()).txt")
                let text = """
                    From: \(entry.mail.from)
                    To: \(entry.mail.to)
                    Subject: \(entry.mail.subject)
                    Date: \(Mail.rfc5322Date(.now))

                    \(entry.mail.text)

                    """
                try Data(text.utf8).write(to: file, options: .atomic)
                // The path and recipient only: the body holds single-use links, which do not belong in logs.
                logger.info("Mail written to the development mailbox", metadata: ["file": "\(file.path)", "to": "\(entry.mail.to.address)"])
                return .success(())
            } catch {
                return .failure(SMTPError(.transient, "cannot write to the mailbox \(directory.path): \(error)"))
            }
        }
    }
}
