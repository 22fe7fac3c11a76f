import AgoraPostgres
import Foundation

/// The seller ledger's entries (`seller_ledger`), written inside the transaction of the change that earns, releases,
/// refunds or pays out the money. Checkout, shipping, cancellation and payouts all write it.
enum SellerLedger {
    /// Appends one ledger entry; a repeat of the same (seller order, entry) is a no-op.
    static func record(seller: UUID, currency: String, bucket: String, amount: Int64, entry: String, sellerOrder: UUID?, payout: UUID? = nil, in tx: PGTransaction) async throws {
        try await tx.execute(
            """
            INSERT INTO seller_ledger (seller_id, currency, bucket, amount_minor, entry, seller_order_id, payout_id)
            VALUES (\(seller), \(currency), \(bucket), \(amount), \(entry), \(sellerOrder), \(payout))
            ON CONFLICT DO NOTHING
            """
        )
    }

    /// Moves a delivered seller order's earnings from pending to available.
    static func releaseEarnings(sellerOrder: UUID, seller: UUID, currency: String, amount: Int64, in tx: PGTransaction) async throws {
        try await SellerLedger.record(seller: seller, currency: currency, bucket: "pending", amount: -amount, entry: "release", sellerOrder: sellerOrder, in: tx)
        try await SellerLedger.record(seller: seller, currency: currency, bucket: "available", amount: amount, entry: "release_credit", sellerOrder: sellerOrder, in: tx)
    }
}
