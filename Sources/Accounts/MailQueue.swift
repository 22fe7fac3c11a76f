package import AgoraPostgres

/// A mail the accounts domain wants sent: plain text, one recipient.
package struct AccountMail: Sendable, Equatable {
    package var to: String
    package var subject: String
    package var text: String
}

/// Where account mail goes: written in the caller's transaction, so a mail exists exactly when the change that
/// caused it was committed. The application wires this to the email outbox.
package protocol MailQueue: Sendable {
    /// Queues `mail` as part of `transaction`.
    func enqueue(_ mail: AccountMail, in transaction: PGTransaction) async throws
}
