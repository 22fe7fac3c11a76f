package import Foundation
package import Logging

/// How a domain that must reach an account's owner outside Agora (a payment provider's receipt) learns their
/// address without reading the accounts tables. Accounts implements it (`AccountsService`). Mail does not need it:
/// mail is addressed to an account and its address is filled in where the mail is queued.
package protocol AccountContacts: Sendable {
    /// The e-mail address of `account`, or nil when there is no such account.
    func email(of account: UUID, logger: Logger) async throws -> String?
}
