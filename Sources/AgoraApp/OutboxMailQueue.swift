import Accounts
import AgoraMail
import AgoraPostgres

/// Accounts' mail goes to the outbox, in the caller's transaction.
struct OutboxMailQueue: MailQueue {
    let outbox: MailOutbox

    func enqueue(_ mail: AccountMail, in transaction: PGTransaction) async throws {
        // Every account mail carries a single-use link (email verification, password reset) whose token is stored
        // nowhere else in clear (`account_tokens` keeps its hash): sensitive, so the body is blanked once sent.
        try await outbox.enqueue(to: mail.to, subject: mail.subject, body: mail.text, sensitive: true, in: transaction)
    }
}
