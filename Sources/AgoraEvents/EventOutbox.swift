package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// The one internal publisher of domain events: events go into the `domain_events` table in the transaction of
/// the change that caused them, so an event exists exactly when its change committed, and consumers (the realtime
/// relay, notifications) read them from there.
package struct EventOutbox: Sendable {
    /// An event as stored, with its id and time.
    package struct Recorded: Sendable, Equatable {
        package var id: Int64
        package var event: DomainEvent
        package var occurredAt: Date
    }

    let db: PGPool

    /// The channel on which PostgreSQL announces committed domain events (migration 0008: a statement trigger on
    /// `domain_events`), with the table's schema as the payload.
    package static let notifyChannel = "agora_domain_events"

    package init(db: PGPool) { self.db = db }

    /// Records `events` as part of `transaction`; they are rolled back with it.
    package func record(_ events: [DomainEvent], in transaction: PGTransaction) async throws {
        guard let statement = try Self.recordStatement(events) else { return }
        try await transaction.execute(statement)
    }

    /// The statement that records `events` (nil for none), for a caller that pipelines it with its own statements.
    package static func recordStatement(_ events: [DomainEvent]) throws -> PGQuery? {
        guard !events.isEmpty else { return nil }
        // One statement for the batch: parallel arrays unnested in order.
        return
            """
            INSERT INTO domain_events (type, actor_id, subject_id, payload)
            SELECT type, nullif(actor, '')::uuid, nullif(subject, '')::uuid, payload::jsonb
            FROM unnest(\(events.map(\.kind.rawValue)), \(events.map { $0.actorID?.uuidString ?? "" }),
                        \(events.map { $0.subjectID?.uuidString ?? "" }), \(try events.map { try DomainEvent.jsonText($0.payload) }))
                 AS e(type, actor, subject, payload)
            """
    }

    /// Records one event as part of `transaction`.
    package func record(_ event: DomainEvent, in transaction: PGTransaction) async throws {
        try await record([event], in: transaction)
    }

    /// Events with an id above `id`, oldest first, optionally only of `kinds` or about `subject`.
    package func events(after id: Int64 = 0, kinds: [DomainEvent.Kind]? = nil, subject: UUID? = nil, limit: Int = 100, logger: Logger) async throws -> [Recorded] {
        let rows = try await db.query(
            """
            SELECT id, type, actor_id, subject_id, payload::text AS payload, occurred_at FROM domain_events
            WHERE id > \(id)
              AND (\(kinds == nil) OR type = ANY(\(kinds?.map(\.rawValue) ?? [])))
              AND (\(subject == nil) OR subject_id = \(subject))
            ORDER BY id LIMIT \(limit)
            """,
            logger: logger
        )
        return try rows.map(Self.decode)
    }

    /// Claims up to `limit` events no relay has handled, oldest first, and runs `body` with them in the claiming
    /// transaction; they are marked relayed when it commits. Several instances can relay at once: each claims
    /// different rows (`SKIP LOCKED`), and a relay that dies mid-batch leaves its rows to the next.
    ///
    /// One statement claims and marks the batch (a rollback unmarks it), so `body` may end the transaction with
    /// `commit(after:)`, sending its last statements with the COMMIT.
    /// - Returns: what `body` returned, and how many events it got.
    package func relay<R: Sendable>(limit: Int, logger: Logger, _ body: (PGTransaction, [Recorded]) async throws -> R) async throws -> (R, Int) {
        try await db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query(
                """
                UPDATE domain_events SET relayed_at = now()
                WHERE id IN (SELECT id FROM domain_events WHERE relayed_at IS NULL ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id, type, actor_id, subject_id, payload::text AS payload, occurred_at
                """
            )
            let batch = try rows.map(Self.decode).sorted { $0.id < $1.id }
            return (try await body(tx, batch), batch.count)
        }
    }

    static func decode(_ row: PGRow) throws -> Recorded {
        let payload: String = try row.decode("payload")
        return Recorded(
            id: try row.decode("id"),
            event: DomainEvent(
                DomainEvent.Kind(rawValue: try row.decode("type")),
                actor: try row.decode("actor_id"),
                subject: try row.decode("subject_id"),
                payload: try DomainEvent.payload(jsonText: payload)
            ),
            occurredAt: try row.decode("occurred_at")
        )
    }
}
