import AgoraCore
import AgoraPostgres
package import Foundation
package import Logging

/// Solana Pay as a payment provider, so that the order paths that look a provider up by the order's
/// `payment_provider` (refunds, closing sessions, webhooks) know it. Its transfer requests are made at checkout
/// (`CheckoutService.planSolanaPay`) and confirmed by `SolanaPayWatcher`, not by this type: the chain has no
/// sessions and sends no webhooks.
package struct SolanaPayProvider: PaymentProvider {
    package static let providerName = "solana_pay"
    package var name: String { Self.providerName }

    package init() {}

    /// Never called: a Solana Pay order has its page as payment URL from the start.
    package func startPayment(_ request: PaymentRequest, logger: Logger) async throws -> PaymentSession {
        PaymentSession(id: "solana-\(request.orderID.uuidString.lowercased())", url: request.successURL)
    }

    package func parseWebhook(payload: [UInt8], signature: String?, now: Date) throws -> PaymentEvent? {
        throw AgoraError(.notFound, code: "unknown_payment_provider", "Solana Pay sends no webhooks")
    }

    /// The money is in the seller's wallet, out of Agora's reach: the seller has to send it back. The refund is
    /// recorded failed at once and raised to the administrators (`RefundService.recordRefundFailure`).
    package func refund(_ request: RefundRequest, logger: Logger) async throws -> RefundResult {
        throw AgoraError(.conflict, code: Self.refundByHand, "A Solana Pay payment is in the seller's wallet; the seller must send it back")
    }

    /// The error code of a refund only a person can make.
    package static let refundByHand = "refund_by_hand"

    package func cancelSession(_ sessionID: String, logger: Logger) async throws {}
}
