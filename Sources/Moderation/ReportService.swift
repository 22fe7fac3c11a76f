package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// The reports users file and administrators resolve (table `reports`). The checks that need other domains (does
/// the listing exist, may the reporter see the message) are the caller's; resolving runs in the caller's
/// transaction beside the action it takes and its audit entry.
package struct ReportService: Sendable {
    let db: PGPool

    package init(db: PGPool) { self.db = db }

    static let columns: StaticString = """
        id, reporter_id, target_type, target_id, subject_id, reason, body, evidence, status, resolution, resolution_note, resolved_by, \
        resolved_at, created_at
        """

    static func report(_ row: PGRow) throws -> Report {
        func value<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
            let raw: String = try row.decode(column)
            guard let value = T(rawValue: raw) else { throw PGError(.invalidValue, message: "unexpected \(column) '\(raw)'") }
            return value
        }
        return Report(
            id: try row.decode("id"), reporterId: try row.decode("reporter_id"), targetType: try value("target_type"), targetId: try row.decode("target_id"),
            subjectId: try row.decode("subject_id"), reason: try value("reason"), body: try row.decode("body"), evidence: try row.decode("evidence"),
            status: try row.decode("status"), resolution: try row.decode("resolution", as: String?.self).flatMap(ReportResolution.init(rawValue:)),
            resolutionNote: try row.decode("resolution_note"), resolvedBy: try row.decode("resolved_by"), resolvedAt: try row.decode("resolved_at"),
            createdAt: try row.decode("created_at")
        )
    }

    /// Files a report.
    /// - Throws: 409 `already_reported` while the reporter's earlier report of the same target is open.
    package func file(_ report: NewReport, logger: Logger) async throws -> Report {
        let rows = try await db.query(
            """
            INSERT INTO reports (reporter_id, target_type, target_id, subject_id, reason, body, evidence)
            VALUES (\(report.reporter), \(report.target.rawValue), \(report.targetID), \(report.subject), \(report.reason.rawValue), \(report.body),
                    \(report.evidence))
            ON CONFLICT (reporter_id, target_type, target_id) WHERE status = 'open' DO NOTHING
            RETURNING \(literal: Self.columns)
            """,
            logger: logger
        )
        guard let row = rows.first else {
            throw AgoraError(.conflict, code: "already_reported", "You reported this already; an administrator will look at it")
        }
        return try Self.report(row)
    }

    /// Reports, oldest first (the queue), of one status and target type when given.
    package func reports(status: String?, target: ReportTarget?, limit: Int, cursor: String?, logger: Logger) async throws -> Page<Report> {
        var filter: PGQuery = "TRUE"
        if let status { filter.append(" AND status = \(status)") }
        if let target { filter.append(" AND target_type = \(target.rawValue)") }
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            filter.append(" AND (created_at, id) > (\(position.date), \(position.id))")
        }
        let rows = try await db.query(
            "SELECT \(literal: Self.columns) FROM reports WHERE \(fragment: filter) ORDER BY created_at, id LIMIT \(limit + 1)", logger: logger
        )
        let items = try rows.prefix(limit).map(Self.report)
        var next: String?
        if rows.count > limit, let last = items.last { next = OpaqueCursor.encode(TimePosition(last.createdAt, id: last.id)) }
        return Page(items: items, nextCursor: next)
    }

    /// Locks an open report for its resolution.
    /// - Throws: 404; 409 `report_resolved`.
    package func lockOpen(_ id: UUID, in tx: PGTransaction) async throws -> Report {
        guard let row = try await tx.query("SELECT \(literal: Self.columns) FROM reports WHERE id = \(id) FOR UPDATE").first else {
            throw AgoraError(.notFound, code: "report_not_found", "No such report")
        }
        let report = try Self.report(row)
        guard report.status == "open" else { throw AgoraError(.conflict, code: "report_resolved", "This report was resolved already") }
        return report
    }

    /// Closes a locked open report, and every other open report of the same target with it (one decision answers
    /// them all).
    /// - Returns: the report as resolved.
    package func resolve(_ id: UUID, as resolution: ReportResolution, note: String, by admin: UUID, in tx: PGTransaction) async throws -> Report {
        let row = try await tx.query(
            """
            UPDATE reports SET status = 'resolved', resolution = \(resolution.rawValue), resolution_note = \(note), resolved_by = \(admin),
                   resolved_at = now()
            WHERE id = \(id) RETURNING \(literal: Self.columns)
            """
        ).one()
        let report = try Self.report(row)
        try await tx.execute(
            """
            UPDATE reports SET status = 'resolved', resolution = \(resolution.rawValue), resolution_note = \(note), resolved_by = \(admin),
                   resolved_at = now()
            WHERE target_type = \(report.targetType.rawValue) AND target_id = \(report.targetId) AND status = 'open'
            """
        )
        return report
    }
}
