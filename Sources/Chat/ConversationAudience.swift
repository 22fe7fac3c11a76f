package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging
import Realtime

/// Who hears of a user's presence changes: their conversation partners, less anyone in a block with them either
/// way. Needs only the database and the blocks, so the realtime hub is given it when it is built.
package struct ConversationAudience: PresenceAudience {
    let db: PGPool
    let blocks: any BlockList

    package init(db: PGPool, blocks: any BlockList) {
        self.db = db
        self.blocks = blocks
    }

    package func audience(of user: UUID, logger: Logger) async throws -> [UUID] {
        let partners = Array(Set(try await partners(of: user, logger: logger)))
        let blocked = try await blocks.blockedEitherWay(user, among: partners, logger: logger)
        return partners.filter { !blocked.contains($0) }
    }

    /// The people `user` has talked with most recently: who hears of their presence.
    package func partners(of user: UUID, limit: Int = 500, logger: Logger) async throws -> [UUID] {
        try await db.query(
            """
            SELECT CASE WHEN c.user_a = \(user) THEN c.user_b ELSE c.user_a END AS other FROM conversation_members m
            JOIN conversations c ON c.id = m.conversation_id
            WHERE m.user_id = \(user) ORDER BY m.last_activity DESC LIMIT \(limit)
            """,
            logger: logger
        ).map { try $0.decode("other") }
    }
}
