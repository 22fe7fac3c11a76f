package import Foundation
package import Logging

/// Who blocks whom, for every domain that must honour a block (Social owns the `blocks` table).
///
/// A block cuts every channel between two accounts that the blocker did not choose: the blocked account cannot
/// follow the blocker, message them, open conversations with them, send them typing or read receipts, see their
/// presence, or cause notifications to them; and the blocker's presence, typing and receipts do not reach the
/// blocked account either.
package protocol BlockList: Sendable {
    /// Whether `blocker` blocks `other`.
    func blocks(_ blocker: UUID, _ other: UUID, logger: Logger) async throws -> Bool
    /// Those of `others` that `user` blocks or that block `user`.
    func blockedEitherWay(_ user: UUID, among others: [UUID], logger: Logger) async throws -> Set<UUID>
}
