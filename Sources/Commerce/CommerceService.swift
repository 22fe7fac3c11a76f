public import AgoraCore
public import AgoraEvents
public import AgoraMail
public import AgoraPostgres
public import Foundation
public import Logging

/// The money path: carts, checkout, payments, fulfilment, orders and shipping, digital inventory, reviews, the
/// seller ledger and payouts. Each concern is an extension in its own file (`CommerceService+Checkout.swift`, …);
/// SQL lives only in this module's files.
///
/// Invariants, each kept by the database as well as by this code:
/// - stock never goes negative and reservations never exceed it (`products_reserved_within_stock`);
/// - a checkout reserves with row locks taken in product-id order, so concurrent checkouts never deadlock;
/// - a provider event is handled once (`payment_events` primary key), so a paid order is fulfilled once;
/// - every state change writes an `order_history` row and a domain event in the same transaction;
/// - no transaction is open while a payment provider is called: a refund is recorded (`refunds`, pending) with the
///   change that owes it, asked for after the commit, and its outcome recorded in a transaction of its own.
public struct CommerceService: Sendable {
    public let db: PGPool
    public let events: EventOutbox
    public let mail: MailOutbox
    public let vault: InventoryVault
    public let settings: CommerceSettings
    /// Every configured provider by name, and the one new checkouts use.
    public let providers: [String: any PaymentProvider]
    public let checkoutProvider: String

    public init(
        db: PGPool, events: EventOutbox, mail: MailOutbox, vault: InventoryVault, settings: CommerceSettings,
        providers: [any PaymentProvider], checkoutProvider: String
    ) {
        self.db = db
        self.events = events
        self.mail = mail
        self.vault = vault
        self.settings = settings
        self.providers = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.checkoutProvider = checkoutProvider
    }

    func provider(_ name: String) throws -> any PaymentProvider {
        guard let provider = providers[name] else {
            throw AgoraError(.notFound, code: "unknown_payment_provider", "No payment provider named '\(name)' is configured")
        }
        return provider
    }

    /// Writes one `order_history` row.
    func recordHistory(
        order: UUID, sellerOrder: UUID? = nil, from: String?, to: String, actor: OrderActor, note: String? = nil, in tx: PGTransaction
    ) async throws {
        try await tx.execute(Self.historyStatement(order: order, sellerOrder: sellerOrder, from: from, to: to, actor: actor, note: note))
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

    /// The e-mail addresses of `ids`.
    func emails(of ids: [UUID], in tx: PGTransaction) async throws -> [UUID: String] {
        let rows = try await tx.query("SELECT id, email FROM accounts WHERE id = ANY(\(ids))")
        return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode("id"), try $0.decode("email")) })
    }

    /// Formats minor units for mail (`R 129.99` style is locale work; this is `129.99 ZAR`).
    static func display(_ amount: Int64, _ currency: String) -> String {
        let sign = amount < 0 ? "-" : ""
        let value = abs(amount)
        return "\(sign)\(value / 100).\(String(format: "%02d", value % 100)) \(currency)"
    }
}
