package import AgoraPostgres
package import Foundation

/// A mail commerce sends to an account: the buyer's receipt, a seller's new-order note, a low-stock warning.
package struct OrderMail: Sendable, Equatable {
    /// The account it is for; its address is filled in where the mail is queued.
    package var to: UUID
    package var subject: String
    package var body: String
    /// Holds secrets (digital items): the body is dropped once sent.
    package var sensitive: Bool
    /// The notification kind whose mute also silences this mail (`order_status` for news about an order), nil for
    /// mails that go out whatever the recipient muted (a receipt, a takedown).
    package var muteKind: String?

    package init(to: UUID, subject: String, body: String, sensitive: Bool = false, muteKind: String? = nil) {
        self.to = to
        self.subject = subject
        self.body = body
        self.sensitive = sensitive
        self.muteKind = muteKind
    }
}

/// Where commerce's mail goes: a statement the caller runs in its own transaction (pipelined with its COMMIT), so
/// a mail exists exactly when the change that caused it was committed. The application wires this to the email
/// outbox, as `MailQueue` is wired for Accounts.
package protocol OrderMailer: Sendable {
    /// The statement that queues `mails` (nil for none). A mail to an account that no longer exists is dropped, and so
    /// is one whose `muteKind` its recipient muted.
    func enqueueStatement(_ mails: [OrderMail]) throws -> PGQuery?
}
