import AgoraCore
public import AgoraPostgres
public import Foundation
public import Logging

/// One event of a user's durable stream: stored in PostgreSQL before it is published, numbered per user.
public struct StreamEvent: Sendable, Equatable {
    public var user: UUID
    /// 1, 2, 3, ... per user, with no gap.
    public var seq: Int64
    /// The protocol type (`chat:message`, `notification:new`, `order:status`, `chat:read`).
    public var type: String
    /// The event's `data`, as JSON text.
    public var data: String

    public init(user: UUID, seq: Int64, type: String, data: String) {
        self.user = user
        self.seq = seq
        self.type = type
        self.data = data
    }

    /// The frame the client gets: `{"type": ..., "seq": ..., "data": ...}`.
    public var frameText: String { ServerMessage.event(type: type, seq: seq, data: JSONText(json: data)).text }
}

/// An event to append to a user's stream.
public struct StreamEntry: Sendable {
    public var user: UUID
    public var type: String
    public var data: String

    /// - Parameter data: JSON text (an object).
    public init(user: UUID, type: String, data: String) {
        self.user = user
        self.type = type
        self.data = data
    }

    /// An entry whose data is `value` encoded by `AgoraJSON`.
    public init(user: UUID, type: String, encoding value: some Encodable) throws {
        self.init(user: user, type: type, data: try AgoraJSON.text(value))
    }
}

/// Every user's durable event stream (`user_streams`, `user_events`).
///
/// A user's sequence number lives in one row that the appending transaction updates, so concurrent appends for one
/// user queue on it and commit in sequence order: when event N is visible, so is every event before it. A reader that
/// has processed N asks for everything after N and misses nothing.
public struct UserStream: Sendable {
    let db: PGPool

    public init(db: PGPool) { self.db = db }

    /// Appends `entries` in `transaction`. Users are locked in id order, so two transactions appending for the same
    /// two users cannot deadlock.
    public func append(_ entries: [StreamEntry], in transaction: PGTransaction) async throws -> [StreamEvent] {
        var events: [StreamEvent] = []
        for entry in entries.enumerated().sorted(by: { ($0.element.user.uuidString, $0.offset) < ($1.element.user.uuidString, $1.offset) }) {
            let row = try await transaction.query(
                """
                WITH s AS (
                    INSERT INTO user_streams (user_id, last_seq) VALUES (\(entry.element.user), 1)
                    ON CONFLICT (user_id) DO UPDATE SET last_seq = user_streams.last_seq + 1
                    RETURNING last_seq
                )
                INSERT INTO user_events (user_id, seq, type, data)
                SELECT \(entry.element.user), last_seq, \(entry.element.type), \(entry.element.data)::jsonb FROM s
                RETURNING seq
                """
            )
            events.append(StreamEvent(user: entry.element.user, seq: try row.one().decode("seq"), type: entry.element.type, data: entry.element.data))
        }
        return events
    }

    /// Events of `user` after `seq`, oldest first.
    public func events(of user: UUID, after seq: Int64, limit: Int, logger: Logger) async throws -> [StreamEvent] {
        let rows = try await db.query(
            // A chat:message event references its message (stored once) and is rendered from it, by the same SQL
            // function the send statement used for the live event.
            """
            SELECT e.seq, e.type, coalesce(e.data, chat_message_event(m), jsonb_build_object('messageId', e.message_id, 'deleted', true))::text AS data
            FROM user_events e LEFT JOIN messages m ON m.id = e.message_id
            WHERE e.user_id = \(user) AND e.seq > \(seq) ORDER BY e.seq LIMIT \(limit)
            """,
            logger: logger
        )
        return try rows.map { StreamEvent(user: user, seq: try $0.decode("seq"), type: try $0.decode("type"), data: try $0.decode("data")) }
    }

    /// The last sequence number of each of `users` (0 for a user with no events).
    public func heads(_ users: [UUID], logger: Logger) async throws -> [UUID: Int64] {
        guard !users.isEmpty else { return [:] }
        let rows = try await db.query("SELECT user_id, last_seq FROM user_streams WHERE user_id = ANY(\(users))", logger: logger)
        var heads = Dictionary(uniqueKeysWithValues: users.map { ($0, Int64(0)) })
        for row in rows { heads[try row.decode("user_id")] = try row.decode("last_seq") }
        return heads
    }
}
