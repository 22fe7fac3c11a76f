package import AgoraCore
package import AgoraPostgres
package import Foundation
package import Logging

/// Sellers' Solana wallets (one per shop, with the token it accepts), and what paying a cart with Solana Pay would
/// take (`options`), for the checkout page.
package struct ShopWallets: Sendable {
    let db: PGPool
    let settings: CommerceSettings

    package init(db: PGPool, settings: CommerceSettings) {
        self.db = db
        self.settings = settings
    }

    /// A shop's wallet as its seller sees it.
    package struct Wallet: Codable, Sendable, Equatable {
        package var address: String
        package var token: String
        package var mint: String?
        package var decimals: Int
        package var updatedAt: Date
    }

    /// What a seller sends to set the wallet.
    package struct WalletInput: Decodable, Sendable {
        package var address: String?
        /// `SOL`, a configured token's symbol (`USDC`) or its mint.
        package var token: String?
    }

    package func wallet(of seller: UUID, logger: Logger) async throws -> Wallet {
        let rows = try await db.query("SELECT address, token, updated_at FROM shop_wallets WHERE seller_id = \(seller)", logger: logger)
        guard let row = rows.first else { throw AgoraError(.notFound, code: "no_wallet", "This shop has no Solana wallet") }
        return try view(row)
    }

    /// Sets (or replaces) the seller's wallet. Orders already placed keep the wallet they were made with.
    /// - Throws: 422 `solana_pay_unavailable` when Solana Pay is off; 422 with `fields` for an address that is not
    ///   a base58 public key of 32 bytes, or a token that is not offered.
    package func setWallet(of seller: UUID, _ input: WalletInput, logger: Logger) async throws -> Wallet {
        guard settings.solana.isEnabled else {
            throw AgoraError(.validation, code: "solana_pay_unavailable", "Solana Pay is not offered on this marketplace")
        }
        var problems: [String: String] = [:]
        let address = input.address.flatMap { SolanaPublicKey(base58: $0.trimmingCharacters(in: .whitespaces)) }
        if address == nil {
            problems["address"] = input.address == nil ? "is required" : "must be a Solana public key: 32 bytes in base58 (32 to 44 characters)"
        }
        let token = settings.solana.token(input.token ?? "SOL")
        if token == nil {
            problems["token"] = "must be one of \(settings.solana.tokens.map(\.symbol).joined(separator: ", "))"
        }
        guard let address, let token, problems.isEmpty else { throw AgoraError(.validation, "The wallet is not valid", fields: problems) }
        let row = try await db.query(
            """
            INSERT INTO shop_wallets (seller_id, address, token) VALUES (\(seller), \(address.base58), \(token.key))
            ON CONFLICT (seller_id) DO UPDATE SET address = excluded.address, token = excluded.token, updated_at = now()
            RETURNING address, token, updated_at
            """,
            logger: logger
        ).one()
        return try view(row)
    }

    package func removeWallet(of seller: UUID, logger: Logger) async throws {
        try await db.execute("DELETE FROM shop_wallets WHERE seller_id = \(seller)", logger: logger)
    }

    func view(_ row: PGRow) throws -> Wallet {
        let key: String = try row.decode("token")
        let token = settings.solana.token(key: key)
        return Wallet(
            address: try row.decode("address"), token: token?.symbol ?? key, mint: key == "SOL" ? nil : key, decimals: token?.decimals ?? 0,
            updatedAt: try row.decode("updated_at")
        )
    }

    // MARK: Checkout options

    /// How the buyer's cart may be paid.
    package struct Options: Codable, Sendable, Equatable {
        package var provider: String
        package var solanaPay: SolanaOption
    }

    package struct SolanaOption: Codable, Sendable, Equatable {
        package var available: Bool
        /// Why not, when not: `disabled`, `cart_empty`, `mixed_currencies`, `no_wallet` or `no_rate`.
        package var reason: String?
        /// Sellers of the cart without a wallet.
        package var sellersWithoutWallet: [UUID]
        /// What each seller would be paid, at today's rate.
        package var quotes: [Quote]
    }

    package struct Quote: Codable, Sendable, Equatable {
        package var sellerId: UUID
        package var total: Money
        package var token: String
        package var mint: String?
        package var amount: String
        package var amountAtomic: Int64
        package var rate: String
        package var rateSource: String
        package var rateAt: Date
    }

    /// What paying `buyer`'s cart by Solana Pay would take: per seller, the total in the seller's token at the
    /// configured rate (the amounts checkout will ask, unless prices or the rate change before it).
    package func options(buyer: UUID, provider: String, logger: Logger) async throws -> Options {
        let solana = settings.solana
        var option = SolanaOption(available: false, reason: nil, sellersWithoutWallet: [], quotes: [])
        guard solana.isEnabled else {
            option.reason = "disabled"
            return Options(provider: provider, solanaPay: option)
        }
        let rows = try await db.query(
            """
            SELECT p.seller_id, p.currency, p.price_minor, p.type, c.quantity, w.address, w.token
            FROM cart_items c JOIN products p ON p.id = c.product_id LEFT JOIN shop_wallets w ON w.seller_id = p.seller_id
            WHERE c.account_id = \(buyer)
            """,
            logger: logger
        )
        struct Line { var seller: UUID; var currency: String; var price: Int64; var physical: Bool; var quantity: Int; var token: String? }
        let lines = try rows.map { row in
            Line(seller: try row.decode("seller_id"), currency: try row.decode("currency"), price: try row.decode("price_minor"),
                 physical: try row.decode("type", as: String.self) == "physical", quantity: try row.decode("quantity"), token: try row.decode("token"))
        }
        let currencies = Set(lines.map(\.currency))
        guard let currency = currencies.first else {
            option.reason = "cart_empty"
            return Options(provider: provider, solanaPay: option)
        }
        guard currencies.count == 1 else {
            option.reason = "mixed_currencies"
            return Options(provider: provider, solanaPay: option)
        }
        let pricing = Pricing(settings: settings, currency: currency)
        for (seller, lines) in Dictionary(grouping: lines, by: \.seller).sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            guard let key = lines.first?.token, let token = solana.token(key: key) else {
                option.sellersWithoutWallet.append(seller)
                continue
            }
            guard let goods = Pricing.goods(lines.map { ($0.price, $0.quantity) }) else { continue }
            let total = pricing.totals(goods: goods, hasPhysical: lines.contains(where: \.physical)).total
            guard let rate = solana.rate(currency: currency, token: token), let amount = rate.atomicAmount(minor: total, decimals: token.decimals) else {
                option.reason = "no_rate"
                continue
            }
            option.quotes.append(Quote(
                sellerId: seller, total: Money(amount: total, currency: currency), token: token.symbol, mint: token.mint?.base58,
                amount: TransferRequest.decimal(amount, decimals: token.decimals), amountAtomic: amount, rate: rate.text, rateSource: solana.rateSource,
                rateAt: solana.rateAt
            ))
        }
        if !option.sellersWithoutWallet.isEmpty { option.reason = "no_wallet" }
        option.available = option.reason == nil
        return Options(provider: provider, solanaPay: option)
    }
}
