package import AgoraCore
import Foundation
package import Logging
import ServiceLifecycle

/// Sends what the outbox holds: every `pollInterval` it claims a batch of due mails, hands them to the transport
/// and records the outcome. One per instance; instances never claim the same mail.
///
/// A refused mail (a 5xx for that recipient) fails at once; anything else is tried again after a delay that
/// doubles from `retryDelay` up to `maxRetryDelay`, at most `maxAttempts` times in all.
package struct MailDispatcher: Service {
    package struct Settings: Sendable {
        package var pollInterval: Duration
        package var batchSize: Int
        package var maxAttempts: Int
        package var retryDelay: Duration
        package var maxRetryDelay: Duration
        /// How long a claimed mail is reserved for this dispatcher; longer than a batch can take.
        package var lease: Duration

        package init(
            pollInterval: Duration = .seconds(1), batchSize: Int = 20, maxAttempts: Int = 8, retryDelay: Duration = .seconds(30),
            maxRetryDelay: Duration = .seconds(3600), lease: Duration = .seconds(300)
        ) {
            self.pollInterval = pollInterval
            self.batchSize = batchSize
            self.maxAttempts = maxAttempts
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
            self.lease = lease
        }

        /// `retryDelay`, doubled per earlier attempt, capped at `maxRetryDelay`.
        func delay(afterAttempt attempt: Int) -> Duration {
            min(retryDelay * (1 << min(max(attempt - 1, 0), 20)), maxRetryDelay)
        }
    }

    let outbox: MailOutbox
    /// Where mails go: SMTP, or the development mailbox.
    package let transport: any MailTransport
    let from: MailAddress
    let settings: Settings
    let logger: Logger
    let isReady: @Sendable () -> Bool
    let duties: DutyMonitor

    /// - Parameter isReady: polled before the first batch; the app says "migrations applied", so the dispatcher
    ///   does not query a table that does not exist yet.
    package init(
        outbox: MailOutbox, transport: any MailTransport, from: MailAddress, settings: Settings = .init(), logger: Logger,
        isReady: @escaping @Sendable () -> Bool = { true }, duties: DutyMonitor = DutyMonitor()
    ) {
        self.duties = duties
        self.outbox = outbox
        self.transport = transport
        self.from = from
        self.settings = settings
        self.logger = logger
        self.isReady = isReady
    }

    package func run() async throws {
        while !isReady() {
            if Task.isShuttingDownGracefully { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        duties.started("mail_dispatcher")
        var failures = 0
        // On graceful shutdown the batch in hand is finished and marked; what is left stays for the next process.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var wait = settings.pollInterval
            do {
                let handled = try await dispatchOnce()
                duties.ran("mail_dispatcher", items: handled)
                failures = 0
                if handled == settings.batchSize { wait = .zero }  // more may be waiting
            } catch {
                duties.failed("mail_dispatcher")
                failures += 1
                // The database is away: say so once in a while, and back off to at most 30 s.
                if failures == 1 || failures % 30 == 0 { logger.warning("Mail dispatcher cannot reach the outbox", metadata: ["error": "\(String(reflecting: error))"]) }
                wait = min(settings.pollInterval * (1 << min(failures, 5)), .seconds(30))
            }
            if wait > .zero {
                let pause = wait
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }

    /// Claims and sends one batch; returns how many mails it handled.
    @discardableResult
    package func dispatchOnce() async throws -> Int {
        let claimed = try await outbox.claim(limit: settings.batchSize, lease: settings.lease, logger: logger)
        guard !claimed.isEmpty else { return 0 }
        var ready: [(entry: OutboxMail, mail: Mail)] = []
        for entry in claimed {
            do {
                ready.append((entry, Mail(from: from, to: try MailAddress(entry.to), subject: entry.subject, text: entry.body)))
            } catch {
                try await outbox.markFailed(entry.id, error: "\(String(reflecting: error))", logger: logger)
            }
        }
        let results = await transport.send(ready.map { ($0.entry.id, $0.mail) }, logger: logger)
        for ((entry, _), result) in zip(ready, results) {
            let attempts = entry.attempts
            var logger = logger
            logger[metadataKey: "agora.mail_id"] = "\(entry.id)"
            switch result {
            case .success:
                try await outbox.markSent(entry.id, logger: logger)
                logger.debug("Mail sent")
            case .failure(let error) where error.kind == .permanent || attempts >= settings.maxAttempts:
                try await outbox.markFailed(entry.id, error: error.message, logger: logger)
                logger.error("Mail given up", metadata: ["error": "\(error.message)", "attempts": "\(attempts)"])
            case .failure(let error):
                let delay = settings.delay(afterAttempt: attempts)
                try await outbox.markForRetry(entry.id, error: error.message, after: delay, logger: logger)
                logger.warning("Mail not sent; will retry", metadata: ["error": "\(error.message)", "attempts": "\(attempts)", "retry_in": "\(delay)"])
            }
        }
        return claimed.count
    }
}
