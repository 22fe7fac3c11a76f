import AgoraCore
import AgoraCrypto
import AgoraPostgres
import Foundation
import Logging

/// How a buyer pays an order.
package enum PaymentMethod: String, Sendable, Codable {
    /// The configured provider (`AGORA_PAYMENT_PROVIDER`: the simulated one or Stripe), one payment for the order.
    case provider
    /// Solana Pay: each seller order paid to its seller's wallet.
    case solanaPay = "solana_pay"
}

extension CheckoutService {
    /// The transfer requests of a Solana Pay order, and the statement that stores them.
    struct SolanaPlan {
        var statement: PGQuery
        var transfers: [SolanaTransferView]
        /// The order's payment URL: its page, where the buyer finds the QR codes.
        var url: String
    }

    /// Makes a transfer request per seller order, in the checkout's transaction: the seller's wallet and token, the
    /// amount converted at the configured rate (rounded up to the token's smallest unit), and a fresh random
    /// reference key that the confirmation job looks the transaction up by.
    /// - Throws: 422 `solana_pay_unavailable` when Solana Pay is off or a seller has no wallet (`fields.sellers`
    ///   names them), `solana_rate_missing` when no rate converts the currency to a seller's token, `order_too_large`
    ///   when an amount would not fit a token amount.
    func planSolanaPay(order: UUID, currency: String, sellerOrders: [(seller: UUID, sellerOrder: UUID, total: Int64)], in tx: PGTransaction)
        async throws -> SolanaPlan
    {
        let solana = settings.solana
        guard solana.isEnabled else {
            throw AgoraError(.validation, code: "solana_pay_unavailable", "Solana Pay is not offered on this marketplace")
        }
        let rows = try await tx.query("SELECT seller_id, address, token FROM shop_wallets WHERE seller_id = ANY(\(sellerOrders.map(\.seller)))")
        var wallets: [UUID: (address: SolanaPublicKey, token: SolanaToken)] = [:]
        for row in rows {
            // A wallet whose token is no longer configured counts as no wallet.
            guard let address = SolanaPublicKey(base58: try row.decode("address")), let token = solana.token(key: try row.decode("token")) else { continue }
            wallets[try row.decode("seller_id")] = (address, token)
        }
        let missing = sellerOrders.map(\.seller).filter { wallets[$0] == nil }
        guard missing.isEmpty else {
            throw AgoraError(
                .validation, code: "solana_pay_unavailable",
                "\(missing.count == 1 ? "A seller" : "\(missing.count) sellers") of this order \(missing.count == 1 ? "has" : "have") no Solana wallet; pay another way",
                fields: ["sellers": missing.map { $0.uuidString.lowercased() }.joined(separator: ",")]
            )
        }
        let base = settings.publicURL.hasSuffix("/") ? String(settings.publicURL.dropLast()) : settings.publicURL
        let orderText = order.uuidString.lowercased()
        var transfers: [SolanaTransferView] = []
        for entry in sellerOrders {
            guard let wallet = wallets[entry.seller] else { continue }
            guard let rate = solana.rate(currency: currency, token: wallet.token) else {
                throw AgoraError(.validation, code: "solana_rate_missing", "Payments in \(wallet.token.symbol) are not offered for prices in \(currency)")
            }
            guard let amount = rate.atomicAmount(minor: entry.total, decimals: wallet.token.decimals) else { throw Self.orderTooLarge }
            guard amount > 0 else {
                throw AgoraError(.validation, code: "solana_amount_zero", "Nothing to pay: a free order needs no Solana Pay transfer")
            }
            guard let reference = SolanaPublicKey(bytes: SecureRandom.bytes(32)) else { continue }
            let request = TransferRequest(
                recipient: wallet.address, amount: amount, token: wallet.token, reference: reference, label: solana.label,
                message: "Order \(orderText.prefix(8))", memo: "agora:\(entry.sellerOrder.uuidString.lowercased().prefix(8))"
            )
            transfers.append(SolanaTransferView(
                sellerOrderId: entry.sellerOrder, recipient: wallet.address.base58, token: wallet.token.symbol, mint: wallet.token.mint?.base58,
                decimals: wallet.token.decimals, amount: TransferRequest.decimal(amount, decimals: wallet.token.decimals), amountAtomic: amount,
                reference: reference.base58, url: request.url, rate: rate.text, rateSource: solana.rateSource, rateAt: solana.rateAt,
                status: "pending", signature: nil
            ))
        }
        let watch = Double(settings.reservationTTL.components.seconds + solana.lateWatch.components.seconds)
        let tokens = transfers.map { $0.mint ?? "SOL" }
        let statement: PGQuery =
            """
            INSERT INTO solana_payments (seller_order_id, order_id, recipient, token, symbol, decimals, amount_atomic, reference, url, rate,
                                         rate_source, rate_at, watch_until)
            SELECT so, \(order), r, t, sym, d::smallint, a, ref, u, rate, \(solana.rateSource), \(solana.rateAt), now() + make_interval(secs => \(watch))
            FROM unnest(\(transfers.map(\.sellerOrderId)), \(transfers.map(\.recipient)), \(tokens), \(transfers.map(\.token)),
                        \(transfers.map(\.decimals)), \(transfers.map { Int($0.amountAtomic) }), \(transfers.map(\.reference)), \(transfers.map(\.url)),
                        \(transfers.map(\.rate)))
                 AS p(so, r, t, sym, d, a, ref, u, rate)
            """
        return SolanaPlan(statement: statement, transfers: transfers, url: "\(base)/orders/\(orderText)")
    }
}

extension OrderService {
    /// The transfer requests of a Solana Pay order, in the order of its seller orders' ids.
    func solanaTransfers(of order: UUID, logger: Logger) async throws -> [SolanaTransferView] {
        try await db.query(
            """
            SELECT seller_order_id, recipient, token, symbol, decimals, amount_atomic, reference, url, rate, rate_source, rate_at, status, signature
            FROM solana_payments WHERE order_id = \(order) ORDER BY seller_order_id
            """,
            logger: logger
        ).map { row in
            let token: String = try row.decode("token")
            let decimals: Int = try row.decode("decimals")
            let amount: Int64 = try row.decode("amount_atomic")
            return SolanaTransferView(
                sellerOrderId: try row.decode("seller_order_id"), recipient: try row.decode("recipient"), token: try row.decode("symbol"),
                mint: token == "SOL" ? nil : token, decimals: decimals, amount: TransferRequest.decimal(amount, decimals: decimals), amountAtomic: amount,
                reference: try row.decode("reference"), url: try row.decode("url"), rate: try row.decode("rate"), rateSource: try row.decode("rate_source"),
                rateAt: try row.decode("rate_at"), status: try row.decode("status"), signature: try row.decode("signature")
            )
        }
    }
}
