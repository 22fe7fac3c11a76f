public import AgoraPostgres

/// A mail the accounts domain wants sent: plain text, one recipient.
public struct AccountMail: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var text: String
}

/// Where account mail goes: written in the caller's transaction, so a mail exists exactly when the change that
/// caused it was committed. The application wires this to the email outbox.
public protocol MailQueue: Sendable {
    /// Queues `mail` as part of `transaction`.
    func enqueue(_ mail: AccountMail, in transaction: PGTransaction) async throws
}
