import Accounts
import AgoraMail
import AgoraPostgres

/// Accounts' mail goes to the outbox, in the caller's transaction.
struct OutboxMailQueue: MailQueue {
    let outbox: MailOutbox

    func enqueue(_ mail: AccountMail, in transaction: PGTransaction) async throws {
        try await outbox.enqueue(to: mail.to, subject: mail.subject, body: mail.text, in: transaction)
    }
}
