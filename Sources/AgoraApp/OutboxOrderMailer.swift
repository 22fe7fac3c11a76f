import AgoraMail
import AgoraPostgres
import Commerce
import Foundation

/// Commerce's mail goes to the outbox in the caller's transaction, addressed by account: the composition root is
/// where the outbox (AgoraMail's table) and the account's address (Accounts' table) meet, so neither domain reads
/// the other's rows and the mail still costs no round trip of its own. A mail whose kind its recipient muted (the
/// notification mutes, Notifications' table) is not written at all.
struct OutboxOrderMailer: OrderMailer {
    func enqueueStatement(_ mails: [OrderMail]) throws -> PGQuery? {
        guard !mails.isEmpty else { return nil }
        // One statement for the batch: parallel arrays unnested in order (booleans as text, as arrays carry no Bool).
        return
            """
            INSERT INTO mail_outbox (to_address, subject, body, sensitive)
            SELECT a.email, m.s, m.b, m.z::boolean
            FROM unnest(\(mails.map(\.to)), \(mails.map { String(Mail.oneLine($0.subject).prefix(250)) }), \(mails.map(\.body)),
                        \(mails.map { $0.sensitive ? "t" : "f" }), \(mails.map { $0.muteKind ?? "" }))
                 WITH ORDINALITY AS m(i, s, b, z, k, n)
            JOIN accounts a ON a.id = m.i
            WHERE NOT EXISTS (SELECT 1 FROM notification_mutes nm WHERE nm.user_id = m.i AND nm.kind = m.k)
            ORDER BY m.n
            """
    }
}
