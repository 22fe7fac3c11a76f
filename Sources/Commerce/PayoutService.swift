import AgoraAudit
package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// A seller's money in one currency: pending (paid, not yet delivered) and available (delivered, not paid out).
package struct Balance: Codable, Sendable, Equatable {
    package var currency: String
    package var pending: Int64
    package var available: Int64
}

/// A payout of a seller's available balance.
package struct Payout: Codable, Sendable, Equatable {
    package var id: UUID
    package var sellerId: UUID
    package var amount: Money
    /// `requested` → `paid`, or `failed` (the amount goes back to available).
    package var status: String
    package var note: String?
    package var requestedAt: Date
    package var processedAt: Date?
}

/// A seller's balances (from the ledger), their payout requests, and the operator's settling of them.
package struct PayoutService: Sendable {
    let db: PGPool

    package init(db: PGPool) { self.db = db }
}

extension PayoutService {
    /// The seller's balances, one per currency they have earned in.
    package func balances(of seller: UUID, logger: Logger) async throws -> [Balance] {
        try await db.query(
            """
            SELECT currency, coalesce(sum(amount_minor) FILTER (WHERE bucket = 'pending'), 0) AS pending,
                   coalesce(sum(amount_minor) FILTER (WHERE bucket = 'available'), 0) AS available
            FROM seller_ledger WHERE seller_id = \(seller) GROUP BY currency ORDER BY currency
            """,
            logger: logger
        ).map { Balance(currency: try $0.decode("currency"), pending: try $0.decode("pending"), available: try $0.decode("available")) }
    }

    /// Requests a payout of everything available in `currency` (the only currency with money available when nil).
    /// Serialised per seller with an advisory lock, so two concurrent requests cannot pay the same money twice.
    /// - Throws: 409 `nothing_to_pay_out`; 422 `currency_required` when several currencies have money available.
    package func requestPayout(seller: UUID, currency: String?, logger: Logger) async throws -> Payout {
        let id: UUID = try await db.withTransaction(logger: logger) { tx in
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('agora.payout:' || \(seller.uuidString.lowercased()), 0))")
            let rows = try await tx.query(
                """
                SELECT currency, sum(amount_minor) AS available FROM seller_ledger
                WHERE seller_id = \(seller) AND bucket = 'available' AND (\(currency == nil) OR currency = \(currency ?? ""))
                GROUP BY currency HAVING sum(amount_minor) > 0 ORDER BY currency
                """
            )
            guard !rows.isEmpty else { throw AgoraError(.conflict, code: "nothing_to_pay_out", "There is no available balance to pay out") }
            guard rows.count == 1 else {
                throw AgoraError(.validation, code: "currency_required", "Money is available in several currencies; name one",
                                 fields: ["currency": "is required"])
            }
            let amount: Int64 = try rows.one().decode("available")
            let chosen: String = try rows.one().decode("currency")
            let id: UUID = try await tx.query(
                "INSERT INTO payouts (seller_id, currency, amount_minor) VALUES (\(seller), \(chosen), \(amount)) RETURNING id"
            ).one().decode("id")
            try await SellerLedger.record(seller: seller, currency: chosen, bucket: "available", amount: -amount, entry: "payout", sellerOrder: nil, payout: id, in: tx)
            return id
        }
        logger.info("Payout requested", metadata: ["agora.payout_id": "\(id)"])
        return try await payouts(where: "id = \(id)", limit: 1, logger: logger).one()
    }

    /// Payouts of one seller, or of everyone (admins), newest first, optionally of one status.
    package func payouts(seller: UUID?, status: String?, limit: Int, cursor: String?, logger: Logger) async throws -> Page<Payout> {
        var filter: PGQuery = "(\(seller == nil) OR seller_id = \(seller)) AND (\(status == nil) OR status = \(status ?? ""))"
        if let cursor {
            let position = try OpaqueCursor.decode(cursor, as: TimePosition.self)
            filter.append(" AND (requested_at, id) < (\(position.date), \(position.id))")
        }
        let found = try await payouts(where: filter, limit: limit + 1, logger: logger)
        let items = Array(found.prefix(limit))
        return Page(items: items, nextCursor: found.count > limit ? items.last.map { OpaqueCursor.encode(TimePosition($0.requestedAt, id: $0.id)) } : nil)
    }

    /// An admin settles a requested payout: `paid`, or `failed` (its amount goes back to the seller's available balance).
    ///
    /// The audit entry (who, the note as the reason, the status before and after) is written in the same transaction.
    /// - Throws: 404 for an unknown payout; 409 `payout_settled` for one already settled; 422 for another status.
    package func settlePayout(_ id: UUID, status: String, note: String?, by admin: UUID, logger: Logger) async throws -> Payout {
        guard status == "paid" || status == "failed" else {
            throw AgoraError(.validation, "A payout is settled as paid or failed", fields: ["status": "must be paid or failed"])
        }
        try await db.withTransaction(logger: logger) { tx in
            let rows = try await tx.query("SELECT seller_id, currency, amount_minor, status FROM payouts WHERE id = \(id) FOR UPDATE")
            guard let row = rows.first else { throw AgoraError(.notFound, code: "payout_not_found", "No such payout") }
            let before: String = try row.decode("status")
            guard before == "requested" else {
                throw AgoraError(.conflict, code: "payout_settled", "This payout is already settled")
            }
            let seller: UUID = try row.decode("seller_id")
            let currency: String = try row.decode("currency")
            let amount: Int64 = try row.decode("amount_minor")
            try await tx.execute("UPDATE payouts SET status = \(status), note = \(note), processed_at = now() WHERE id = \(id)")
            if status == "failed" {
                try await SellerLedger.record(seller: seller, currency: currency, bucket: "available",
                                 amount: amount, entry: "payout_failed", sellerOrder: nil, payout: id, in: tx)
            }
            let facts: AuditLog.State = ["sellerId": .string(seller.uuidString), "currency": .string(currency), "amountMinor": .int(amount)]
            try await AuditLog.record(
                .init(
                    actor: admin, action: .payoutSettled, targetType: "payout", targetID: id.uuidString, reason: note,
                    before: facts.merging(["status": .string(before)]) { $1 },
                    after: facts.merging(["status": .string(status)]) { $1 }
                ),
                in: tx
            )
        }
        return try await payouts(where: "id = \(id)", limit: 1, logger: logger).one()
    }

    func payouts(where filter: PGQuery, limit: Int, logger: Logger) async throws -> [Payout] {
        try await db.query(
            """
            SELECT id, seller_id, currency, amount_minor, status, note, requested_at, processed_at FROM payouts
            WHERE \(fragment: filter) ORDER BY requested_at DESC, id DESC LIMIT \(limit)
            """,
            logger: logger
        ).map { row in
            Payout(
                id: try row.decode("id"), sellerId: try row.decode("seller_id"),
                amount: Money(amount: try row.decode("amount_minor"), currency: try row.decode("currency")), status: try row.decode("status"),
                note: try row.decode("note"), requestedAt: try row.decode("requested_at"), processedAt: try row.decode("processed_at")
            )
        }
    }
}
