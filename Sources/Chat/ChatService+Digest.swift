package import AgoraPostgres
package import Foundation
package import Logging

/// The unread-chat digest's reads and claim. The job that sends it (AgoraApp's `ChatDigestJob`) asks Realtime who is
/// offline and writes the mail; this side knows what is unread and what a digest already counted.
extension ChatService {
    /// A user with messages waiting for a digest.
    package struct DigestCandidate: Sendable, Equatable {
        package var user: UUID
        /// Unread messages from others, in how many conversations.
        package var unread: Int
        package var conversations: Int
        /// The newest of them: what a digest claims.
        package var newestMessageID: Int64
    }

    /// Users with unread messages newer than their last digest, the oldest of those having waited at least `waiting`;
    /// the counts are of everything unread.
    package func digestCandidates(waiting: Duration, limit: Int, logger: Logger) async throws -> [DigestCandidate] {
        try await db.query(
            """
            SELECT cm.user_id, count(*) AS unread, count(DISTINCT cm.conversation_id) AS conversations, max(m.id) AS newest
            FROM conversation_members cm
            JOIN messages m ON m.conversation_id = cm.conversation_id AND m.id > cm.last_read_id AND m.sender_id <> cm.user_id
            LEFT JOIN chat_digests d ON d.user_id = cm.user_id
            WHERE cm.unread > 0
            GROUP BY cm.user_id, d.last_message_id
            HAVING max(m.id) > coalesce(d.last_message_id, 0)
               AND min(m.created_at) FILTER (WHERE m.id > coalesce(d.last_message_id, 0))
                   <= now() - make_interval(secs => \(Double(waiting.components.seconds)))
            ORDER BY min(m.created_at)
            LIMIT \(limit)
            """,
            logger: logger
        ).map { row in
            DigestCandidate(
                user: try row.decode("user_id"), unread: try row.decode("unread"), conversations: try row.decode("conversations"),
                newestMessageID: try row.decode("newest")
            )
        }
    }

    /// Claims the digest of `user` up to message `newest`, in the transaction that writes its mail: false when
    /// another instance (or an earlier round) already counted those messages.
    package func claimDigest(_ user: UUID, upTo newest: Int64, in tx: PGTransaction) async throws -> Bool {
        try await !tx.query(
            """
            INSERT INTO chat_digests (user_id, last_message_id) VALUES (\(user), \(newest))
            ON CONFLICT (user_id) DO UPDATE SET last_message_id = excluded.last_message_id, sent_at = now()
            WHERE chat_digests.last_message_id < excluded.last_message_id
            RETURNING user_id
            """
        ).isEmpty
    }
}
