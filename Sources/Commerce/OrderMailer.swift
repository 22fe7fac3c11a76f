public import AgoraPostgres
public import Foundation

/// A mail commerce sends to an account: the buyer's receipt, a seller's new-order note, a low-stock warning.
public struct OrderMail: Sendable, Equatable {
    /// The account it is for; its address is filled in where the mail is queued.
    public var to: UUID
    public var subject: String
    public var body: String
    /// Holds secrets (digital items): the body is dropped once sent.
    public var sensitive: Bool

    public init(to: UUID, subject: String, body: String, sensitive: Bool = false) {
        self.to = to
        self.subject = subject
        self.body = body
        self.sensitive = sensitive
    }
}

/// Where commerce's mail goes: a statement the caller runs in its own transaction (pipelined with its COMMIT), so
/// a mail exists exactly when the change that caused it was committed. The application wires this to the email
/// outbox, as `MailQueue` is wired for Accounts.
public protocol OrderMailer: Sendable {
    /// The statement that queues `mails` (nil for none). A mail to an account that no longer exists is dropped.
    func enqueueStatement(_ mails: [OrderMail]) throws -> PGQuery?
}
