import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

// Blocks are edges of the social graph, like follows, and this service owns both tables: a block removes the
// follows between the two accounts in the same transaction, so no follow outlives a block.
extension FollowService: BlockList {
    /// `user` blocks (or with `false` unblocks) `username`. Blocking removes the follows both ways. Idempotent.
    /// - Throws: 404 for an unknown user; 422 `cannot_block_self`.
    package func setBlock(_ user: UUID, username: String, blocked: Bool, logger: Logger) async throws {
        let other = try await resolve(username, logger: logger)
        guard user != other else { throw AgoraError(.validation, code: "cannot_block_self", "You cannot block yourself") }
        try await db.withTransaction(logger: logger) { tx in
            try await Self.lockPair(user, other, in: tx)
            if blocked {
                try await tx.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES (\(user), \(other)) ON CONFLICT DO NOTHING")
                _ = try await self.changeFollow(follower: other, followee: user, following: false, in: tx)
                _ = try await self.changeFollow(follower: user, followee: other, following: false, in: tx)
            } else {
                try await tx.execute("DELETE FROM blocks WHERE blocker_id = \(user) AND blocked_id = \(other)")
            }
        }
    }

    /// Serialises follows and blocks between two accounts, so a follow racing a block cannot outlive it.
    static func lockPair(_ a: UUID, _ b: UUID, in tx: PGTransaction) async throws {
        let key = [a.uuidString, b.uuidString].sorted().joined()
        try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))")
    }

    /// Whether `user` blocks `username`.
    package func isBlocking(_ user: UUID, username: String, logger: Logger) async throws -> Bool {
        try await blocks(user, try await resolve(username, logger: logger), logger: logger)
    }

    package func blocks(_ blocker: UUID, _ other: UUID, logger: Logger) async throws -> Bool {
        try await !db.query("SELECT 1 FROM blocks WHERE blocker_id = \(blocker) AND blocked_id = \(other)", logger: logger).isEmpty
    }

    package func blockedEitherWay(_ user: UUID, among others: [UUID], logger: Logger) async throws -> Set<UUID> {
        guard !others.isEmpty else { return [] }
        let rows = try await db.query(
            """
            SELECT blocked_id AS other FROM blocks WHERE blocker_id = \(user) AND blocked_id = ANY(\(others))
            UNION SELECT blocker_id FROM blocks WHERE blocked_id = \(user) AND blocker_id = ANY(\(others))
            """,
            logger: logger
        )
        return Set(try rows.map { try $0.decode("other") })
    }
}
