import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// One event of a user's durable stream: stored in PostgreSQL before it is published, numbered per user.
package struct StreamEvent: Sendable, Equatable {
    package var user: UUID
    /// 1, 2, 3, ... per user, with no gap.
    package var seq: Int64
    /// The protocol type (`chat:message`, `notification:new`, `order:status`, `chat:read`).
    package var type: String
    /// The event's `data`, as JSON text.
    package var data: String

    package init(user: UUID, seq: Int64, type: String, data: String) {
        self.user = user
        self.seq = seq
        self.type = type
        self.data = data
    }

    /// The frame the client gets: `{"type": ..., "seq": ..., "data": ...}`.
    package var frameText: String { ServerMessage.event(type: type, seq: seq, data: JSONText(json: data)).text }
}

/// An event to append to a user's stream.
package struct StreamEntry: Sendable {
    package var user: UUID
    package var type: String
    package var data: String

    /// - Parameter data: JSON text (an object).
    package init(user: UUID, type: String, data: String) {
        self.user = user
        self.type = type
        self.data = data
    }

    /// An entry whose data is `value` encoded by `AgoraJSON`.
    package init(user: UUID, type: String, encoding value: some Encodable) throws {
        self.init(user: user, type: type, data: try AgoraJSON.text(value))
    }
}

/// Every user's durable event stream (`user_streams`, `user_events`).
///
/// A user's sequence number lives in one row that the appending transaction updates, so concurrent appends for one
/// user queue on it and commit in sequence order: when event N is visible, so is every event before it. A reader that
/// has processed N asks for everything after N and misses nothing.
package struct UserStream: Sendable {
    let db: PGPool

    package init(db: PGPool) { self.db = db }

    /// Appends `entries` in `transaction`, in one statement. Users are locked in id order, so two transactions
    /// appending for the same two users cannot deadlock.
    package func append(_ entries: [StreamEntry], in transaction: PGTransaction) async throws -> [StreamEvent] {
        guard let statement = Self.appendStatement(entries) else { return [] }
        return try Self.appended(entries, heads: try await transaction.query(statement))
    }

    /// The statement that appends `entries` (nil for none), for a caller that sends it with its COMMIT; its rows go
    /// to `appended`. Each user's stream head moves once by that user's count of entries (locked in user-id order,
    /// as the chat statements lock them), and the entries take the numbers up to the new head, in order.
    package static func appendStatement(_ entries: [StreamEntry]) -> PGQuery? {
        guard !entries.isEmpty else { return nil }
        return
            """
            WITH e AS (
                SELECT user_id, type, data, n FROM unnest(\(entries.map(\.user)), \(entries.map(\.type)), \(entries.map(\.data)))
                    WITH ORDINALITY AS e(user_id, type, data, n)
            ), heads AS (
                INSERT INTO user_streams (user_id, last_seq)
                SELECT user_id, count(*) FROM e GROUP BY user_id ORDER BY user_id
                ON CONFLICT (user_id) DO UPDATE SET last_seq = user_streams.last_seq + EXCLUDED.last_seq
                RETURNING user_id, last_seq
            ), written AS (
                INSERT INTO user_events (user_id, seq, type, data)
                SELECT e.user_id,
                       heads.last_seq - count(*) OVER (PARTITION BY e.user_id) + row_number() OVER (PARTITION BY e.user_id ORDER BY e.n),
                       e.type, e.data::jsonb
                FROM e JOIN heads ON heads.user_id = e.user_id
            )
            SELECT user_id, last_seq FROM heads
            """
    }

    /// The events `appendStatement(entries)` wrote, in the order of `entries`, from its rows (each user's new head).
    package static func appended(_ entries: [StreamEntry], heads rows: [PGRow]) throws -> [StreamEvent] {
        var heads: [UUID: Int64] = [:]
        for row in rows { heads[try row.decode("user_id")] = try row.decode("last_seq") }
        var next: [UUID: Int64] = [:]
        for entry in entries { next[entry.user, default: (heads[entry.user] ?? 0) + 1] -= 1 }
        return entries.map { entry in
            let seq = next[entry.user, default: 0]
            next[entry.user] = seq + 1
            return StreamEvent(user: entry.user, seq: seq, type: entry.type, data: entry.data)
        }
    }

    /// What a catch-up read finds: the events after the asked sequence that are still kept, and how far the stream has
    /// been pruned (events up to `prunedThrough` are gone; a reader that asked for less is told `reset`).
    package struct CatchUp: Sendable {
        package var events: [StreamEvent]
        package var prunedThrough: Int64
    }

    /// The events of `user` after `seq` (oldest first, at most `limit`) and the stream's pruning watermark, in one
    /// round trip. A chat:message event references its message (stored once) and is rendered from it, by the same
    /// SQL function the send statement used for the live event.
    package func catchUp(of user: UUID, after seq: Int64, limit: Int, logger: Logger) async throws -> CatchUp {
        let rows = try await db.query(
            """
            SELECT s.pruned_seq, e.seq, e.type, e.data
            FROM user_streams s LEFT JOIN LATERAL (
                SELECT e.seq, e.type,
                       coalesce(e.data, chat_message_event(m), jsonb_build_object('messageId', e.message_id, 'deleted', true))::text AS data
                FROM user_events e LEFT JOIN messages m ON m.id = e.message_id
                WHERE e.user_id = s.user_id AND e.seq > \(seq) ORDER BY e.seq LIMIT \(limit)
            ) e ON true
            WHERE s.user_id = \(user)
            ORDER BY e.seq
            """,
            logger: logger
        )
        let pruned: Int64 = try rows.first?.decode("pruned_seq") ?? 0
        let events = try rows.compactMap { row -> StreamEvent? in
            guard let seq: Int64 = try row.decode("seq") else { return nil }
            return StreamEvent(user: user, seq: seq, type: try row.decode("type"), data: try row.decode("data"))
        }
        return CatchUp(events: events, prunedThrough: pruned)
    }

    /// The last sequence number of each of `users` (0 for a user with no events).
    package func heads(_ users: [UUID], logger: Logger) async throws -> [UUID: Int64] {
        guard !users.isEmpty else { return [:] }
        let rows = try await db.query("SELECT user_id, last_seq FROM user_streams WHERE user_id = ANY(\(users))", logger: logger)
        var heads = Dictionary(uniqueKeysWithValues: users.map { ($0, Int64(0)) })
        for row in rows { heads[try row.decode("user_id")] = try row.decode("last_seq") }
        return heads
    }
}
