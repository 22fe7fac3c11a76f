package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// What an admin did, recorded by the domain that did it in the same transaction as the change (`admin_audit`): who,
/// what, to what, why, and the state before and after. Nothing in the application updates or deletes a row.
package struct AuditLog: Sendable {
    /// State before or after an action: named scalars, like a domain event's payload.
    package typealias State = [String: DomainEvent.Value]

    let db: PGPool

    package init(db: PGPool) {
        self.db = db
    }

    /// Writes one entry as part of `transaction`, so the action and its record commit or roll back together.
    package static func record(_ entry: AuditEntry.New, in transaction: PGTransaction) async throws {
        try await transaction.execute(
            """
            INSERT INTO admin_audit (actor_id, action, target_type, target_id, reason, before, after)
            VALUES (\(entry.actor), \(entry.action.rawValue), \(entry.targetType), \(entry.targetID), \(entry.reason),
                    \(try DomainEvent.jsonText(entry.before))::jsonb, \(try DomainEvent.jsonText(entry.after))::jsonb)
            """
        )
    }

    /// Entries newest first, narrowed by `filter`, a page of at most `limit` after `cursor`.
    /// - Throws: 400 `invalid_cursor` for a cursor that is not one of ours.
    package func entries(_ filter: AuditFilter, limit: Int, cursor: String?, logger: Logger) async throws -> Page<AuditEntry> {
        var conditions: PGQuery = "TRUE"
        if let actor = filter.actor { conditions.append(" AND actor_id = \(actor)") }
        if let action = filter.action { conditions.append(" AND action = \(action.rawValue)") }
        if let targetType = filter.targetType { conditions.append(" AND target_type = \(targetType)") }
        if let targetID = filter.targetID { conditions.append(" AND target_id = \(targetID)") }
        if let from = filter.from { conditions.append(" AND created_at >= \(from)") }
        if let to = filter.to { conditions.append(" AND created_at < \(to)") }
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            conditions.append(" AND (created_at, id) < (\(position.date), \(position.id))")
        }
        let rows = try await db.query(
            """
            SELECT id, actor_id, action, target_type, target_id, reason, before::text AS before, after::text AS after, created_at
            FROM admin_audit WHERE \(fragment: conditions) ORDER BY created_at DESC, id DESC LIMIT \(limit + 1)
            """,
            logger: logger
        )
        let found = try rows.map { row in
            AuditEntry(
                id: try row.decode("id"), actorId: try row.decode("actor_id"),
                action: AuditAction(rawValue: try row.decode("action")) ?? .unknown, targetType: try row.decode("target_type"),
                targetId: try row.decode("target_id"), reason: try row.decode("reason"),
                before: try DomainEvent.payload(jsonText: try row.decode("before")), after: try DomainEvent.payload(jsonText: try row.decode("after")),
                createdAt: try row.decode("created_at")
            )
        }
        let items = Array(found.prefix(limit))
        let next = found.count > limit ? items.last.map { OpaqueCursor.encode(TimePosition($0.createdAt, id: $0.id)) } : nil
        return Page(items: items, nextCursor: next)
    }
}
