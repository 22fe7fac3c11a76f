import AgoraCore
import AgoraEvents
import AgoraPostgres
import Foundation

/// What every change of an order writes, whichever service makes it: the `order_history` row, the domain event per
/// seller order, and the small readers and formatters they share.
enum OrderRecords {
    /// Writes one `order_history` row.
    static func recordHistory(
        order: UUID, sellerOrder: UUID? = nil, from: String?, to: String, actor: OrderActor, note: String? = nil, in tx: PGTransaction
    ) async throws {
        try await tx.execute(historyStatement(order: order, sellerOrder: sellerOrder, from: from, to: to, actor: actor, note: note))
    }

    /// The `order_history` insert, for callers that pipeline it.
    static func historyStatement(
        order: UUID, sellerOrder: UUID? = nil, from: String?, to: String, actor: OrderActor, note: String? = nil
    ) -> PGQuery {
        """
        INSERT INTO order_history (order_id, seller_order_id, from_status, to_status, actor_id, actor_kind, note)
        VALUES (\(order), \(sellerOrder), \(from), \(to), \(actor.accountID), \(actor.kind), \(note))
        """
    }

    /// One event per seller order, so each consumer (the buyer's feed, the seller's) reads its facts from the payload.
    static func orderEvent(
        _ kind: DomainEvent.Kind, order: UUID, sellerOrder: UUID, buyer: UUID, seller: UUID, status: SellerOrderStatus, total: Int64,
        currency: String, actor: UUID?, extra: [String: DomainEvent.Value] = [:]
    ) -> DomainEvent {
        var payload: [String: DomainEvent.Value] = [
            "sellerOrderId": .string(sellerOrder.uuidString.lowercased()), "buyerId": .string(buyer.uuidString.lowercased()),
            "sellerId": .string(seller.uuidString.lowercased()), "status": .string(status.rawValue), "total": .int(total),
            "currency": .string(currency),
        ]
        payload.merge(extra) { _, new in new }
        return DomainEvent(kind, actor: actor, subject: order, payload: payload)
    }

    static func enumValue<T: RawRepresentable>(_ row: PGRow, _ column: String) throws -> T where T.RawValue == String {
        let raw: String = try row.decode(column)
        guard let value = T(rawValue: raw) else { throw PGError(.invalidValue, message: "unexpected \(column) '\(raw)'") }
        return value
    }

    /// Formats minor units for mail (`R 129.99` style is locale work; this is `129.99 ZAR`).
    static func display(_ amount: Int64, _ currency: String) -> String {
        let sign = amount < 0 ? "-" : ""
        let value = abs(amount)
        return "\(sign)\(value / 100).\(String(format: "%02d", value % 100)) \(currency)"
    }
}
