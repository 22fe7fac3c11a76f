package import AgoraPostgres
package import Foundation
package import Logging

/// A mail waiting in the outbox.
package struct OutboxMail: Sendable, Equatable {
    package var id: UUID
    package var to: String
    package var subject: String
    package var body: String
    /// Tries so far, this one included once claimed.
    package var attempts: Int
}

/// The `mail_outbox` table: mails are written in the transaction of the change that causes them, and claimed,
/// sent and marked by `MailDispatcher`.
///
/// Delivery is at least once: a dispatcher that dies after the SMTP server accepted a mail but before marking it
/// sent leaves the mail to be sent again when its lease runs out. Our mails are links with single-use tokens, so a
/// duplicate is harmless, and a lost mail is not.
package struct MailOutbox: Sendable {
    let db: PGPool

    package init(db: PGPool) {
        self.db = db
    }

    /// Queues a mail as part of `transaction`; it exists exactly when the transaction commits.
    /// - Parameter sensitive: the body holds secrets (digital items, single-use links): it is blanked once the mail
    ///   is sent or fails, so it rests in the table only while it waits.
    /// - Throws: `MailError.invalidAddress` for a recipient that could not be sent to (nothing is written).
    @discardableResult
    package func enqueue(to: String, subject: String, body: String, sensitive: Bool = false, in transaction: PGTransaction) async throws -> UUID {
        let recipient = try MailAddress(to)
        let subject = String(Mail.oneLine(subject).prefix(250))
        let row = try await transaction.query(
            "INSERT INTO mail_outbox (to_address, subject, body, sensitive) VALUES (\(recipient.address), \(subject), \(body), \(sensitive)) RETURNING id"
        ).one()
        return try row.decode("id")
    }

    /// A mail to queue with others in one statement (`enqueueStatement`).
    package struct Outgoing: Sendable, Equatable {
        package var to: String
        package var subject: String
        package var body: String
        package var sensitive: Bool

        package init(to: String, subject: String, body: String, sensitive: Bool = false) {
            self.to = to
            self.subject = subject
            self.body = body
            self.sensitive = sensitive
        }
    }

    /// The statement that queues `mails` (nil for none), for a caller that pipelines it with its own statements and
    /// its COMMIT; as `enqueue`, each mail exists exactly when that transaction commits.
    /// - Throws: `MailError.invalidAddress` for a recipient that could not be sent to (nothing is written).
    package static func enqueueStatement(_ mails: [Outgoing]) throws -> PGQuery? {
        guard !mails.isEmpty else { return nil }
        let recipients = try mails.map { try MailAddress($0.to).address }
        // One statement for the batch: parallel arrays unnested in order (booleans as text, as arrays carry no Bool).
        return
            """
            INSERT INTO mail_outbox (to_address, subject, body, sensitive)
            SELECT t, s, b, z::boolean
            FROM unnest(\(recipients), \(mails.map { String(Mail.oneLine($0.subject).prefix(250)) }), \(mails.map(\.body)),
                        \(mails.map { $0.sensitive ? "t" : "f" }))
                 AS m(t, s, b, z)
            """
    }

    /// Claims up to `limit` due mails for `lease`: other dispatchers skip them until it runs out. Safe with any
    /// number of instances (`FOR UPDATE SKIP LOCKED`).
    package func claim(limit: Int, lease: Duration, logger: Logger) async throws -> [OutboxMail] {
        let rows = try await db.query(
            """
            UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => \(Self.seconds(lease)))
            WHERE id IN (
                SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            )
            RETURNING id, to_address, subject, body, attempts
            """,
            logger: logger
        )
        return try rows.map { row in
            OutboxMail(
                id: try row.decode("id"), to: try row.decode("to_address"), subject: try row.decode("subject"),
                body: try row.decode("body"), attempts: try row.decode("attempts")
            )
        }
    }

    /// Records that the server accepted the mail.
    package func markSent(_ id: UUID, logger: Logger) async throws {
        try await db.execute("UPDATE mail_outbox SET status = 'sent', sent_at = now(), last_error = NULL, body = CASE WHEN sensitive THEN '' ELSE body END WHERE id = \(id)", logger: logger)
    }

    /// Keeps the mail pending, to be tried again after `delay`.
    package func markForRetry(_ id: UUID, error: String, after delay: Duration, logger: Logger) async throws {
        try await db.execute(
            """
            UPDATE mail_outbox SET last_error = \(String(error.prefix(500))), next_attempt_at = now() + make_interval(secs => \(Self.seconds(delay)))
            WHERE id = \(id) AND status = 'pending'
            """,
            logger: logger
        )
    }

    /// Gives up on the mail.
    package func markFailed(_ id: UUID, error: String, logger: Logger) async throws {
        try await db.execute(
            "UPDATE mail_outbox SET status = 'failed', last_error = \(String(error.prefix(500))), body = CASE WHEN sensitive THEN '' ELSE body END WHERE id = \(id) AND status = 'pending'",
            logger: logger
        )
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
