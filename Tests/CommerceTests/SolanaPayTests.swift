import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Solana Pay against a local JSON-RPC node (`Tests/interop/solana_rpc.py`) whose transactions are built and signed
/// by `solders`, as a wallet app builds them: each seller order is its own transfer request to its seller's wallet,
/// and only a transaction that the node has finalized and that pays exactly what was asked fulfils it.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SolanaPayTests {
    static func overrides(_ node: LocalSolanaRPC, _ extra: [String: String] = [:]) -> [String: String] {
        Shop.overrides.merging([
            "AGORA_SOLANA_RPC_URL": node.url + "/?api-key=test-key", "AGORA_SOLANA_RATES": "ZAR/USDC=0.055,ZAR/SOL=0.0003", "AGORA_SOLANA_RATE_SOURCE": "test desk",
            "AGORA_SOLANA_RATE_AT": "2026-12-07T09:00:00Z", "AGORA_SOLANA_POLL_MS": "600000", "AGORA_SOLANA_RPC_TIMEOUT_SECONDS": "1",
        ].merging(extra) { _, new in new }) { _, new in new }
    }

    static let usdc = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"

    /// A fresh wallet address.
    static func wallet() -> String { Base58.encode((0..<32).map { _ in UInt8.random(in: 0...255) }) }

    /// What the tests need of a running app: the shop, the node and one watcher round at a time. (The app's own
    /// watcher runs too; with a 10-minute poll it has its one round at start-up and leaves the rounds to the test.)
    struct Harness {
        let shop: Shop
        let node: LocalSolanaRPC
        let watcher: SolanaPayWatcher

        /// One round with every payment due now (rounds otherwise wait out the poll interval).
        @discardableResult
        func round() async throws -> SolanaPayWatcher.Round {
            try await shop.services.db.execute("UPDATE solana_payments SET next_check_at = now() WHERE next_check_at < 'infinity'", logger: shop.market.logger)
            return try await watcher.check(logger: shop.market.logger)
        }

        func seller(_ name: String, token: String) async throws -> (grant: Grant, wallet: String, product: String) {
            let seller = try await shop.market.seller(name)
            let wallet = SolanaPayTests.wallet()
            let set = try await shop.api.call(.put, "/api/seller/wallet", json: ["address": wallet, "token": token], bearer: seller.accessToken)
            try #require(set.status == .ok, "wallet: \(set.raw)")
            return (seller, wallet, try await shop.product(seller, ["stock": 5]))
        }

        /// Checks out the buyer's cart with Solana Pay; the order and its transfers by seller order.
        func order(_ buyer: Grant) async throws -> (id: String, transfers: [[String: Any]]) {
            let placed = try await shop.api.call(
                .post, "/api/checkout", json: ["shippingAddress": Shop.address, "paymentMethod": "solana_pay"], bearer: buyer.accessToken
            )
            try #require(placed.status == .created, "checkout: \(placed.raw)")
            let transfers = try #require((placed["payment"] as? [String: Any])?["solanaPay"] as? [[String: Any]])
            return (try #require(placed["id"] as? String), transfers)
        }

        func shown(_ order: String, as buyer: Grant) async throws -> APIResponse {
            try await shop.api.call(.get, "/api/orders/\(order)", bearer: buyer.accessToken)
        }

        func transfers(_ order: String, as buyer: Grant) async throws -> [String: [String: Any]] {
            let shown = try await shown(order, as: buyer)
            let list = (shown["payment"] as? [String: Any])?["solanaPay"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: list.map { ($0["sellerOrderId"] as? String ?? "", $0) })
        }

        /// Pays a transfer as its request asks (or with `variant` spoiling it).
        @discardableResult
        func pay(_ transfer: [String: Any], variant: String = "exact", stage: String = "finalized", failed: Bool = false) async throws -> String {
            try await node.pay(
                recipient: try #require(transfer["recipient"] as? String), amount: Int64(try #require(transfer["amountAtomic"] as? Int)),
                mint: transfer["mint"] as? String, reference: try #require(transfer["reference"] as? String), variant: variant, stage: stage, failed: failed
            )
        }

        func int(_ sql: PGQuery) async throws -> Int { try await shop.int(sql) }
    }

    static func with(_ extra: [String: String] = [:], _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        try await LocalSolanaRPC.with { node in
            try await TestApp.withApplication(overrides(node, extra)) { app, services in
                try await app.test(.router) { client in
                    let shop = Shop(market: Market(api: API(client: client), services: services))
                    // An API key in the endpoint's query, as RPC providers hand them out, is kept on every call.
                    let rpc = try SolanaRPC(url: node.url + "/?api-key=test-key", caFile: nil, timeout: .seconds(1))
                    try await body(Harness(shop: shop, node: node, watcher: SolanaPayWatcher(commerce: services.commerce, rpc: rpc, logger: shop.market.logger)))
                }
            }
        }
    }

    @Test func twoSellersArePaidEachToTheirWalletAndTheOrderWithTheLast() async throws {
        try await Self.with { h in
            let api = h.shop.api
            let (alice, aliceWallet, aliceProduct) = try await h.seller("solalice", token: "USDC")
            let (bob, bobWallet, bobProduct) = try await h.seller("solbob", token: "SOL")
            let buyer = try await h.shop.buyer("solbuyer")

            // Wallets are validated: base58 of exactly 32 bytes, a token on offer.
            for (address, token, field) in [("0OIl" + String(repeating: "1", count: 40), "SOL", "address"), ("abc", "SOL", "address"),
                                            (Base58.encode([UInt8](repeating: 7, count: 31)), "SOL", "address"),
                                            (Base58.encode([UInt8](repeating: 7, count: 33)), "SOL", "address"), (Self.wallet(), "DOGE", "token")] {
                let refused = try await api.call(.put, "/api/seller/wallet", json: ["address": address, "token": token], bearer: alice.accessToken)
                #expect(refused.status == .unprocessableContent && (refused["fields"] as? [String: Any])?[field] != nil, "\(address) \(token): \(refused.raw)")
            }
            let kept = try await api.call(.get, "/api/seller/wallet", bearer: alice.accessToken)
            #expect(kept["address"] as? String == aliceWallet && kept["token"] as? String == "USDC" && kept["mint"] as? String == Self.usdc)

            _ = try await h.shop.add(aliceProduct, as: buyer)
            _ = try await h.shop.add(bobProduct, 2, as: buyer)
            // The buyer sees what each seller will be asked, at the configured rate, with its source and time.
            let options = try await api.call(.get, "/api/checkout/options", bearer: buyer.accessToken)
            let solana = try #require(options["solanaPay"] as? [String: Any])
            #expect(solana["available"] as? Bool == true, "\(options.raw)")
            let quotes = try #require(solana["quotes"] as? [[String: Any]])
            #expect(Set(quotes.map { "\($0["amount"] ?? "") \($0["token"] ?? "")" }) == ["3.85 USDC", "0.024 SOL"], "\(quotes)")
            #expect(quotes.allSatisfy { $0["rateSource"] as? String == "test desk" && ($0["rateAt"] as? String)?.hasPrefix("2026-12-07T09:00:00") == true })

            let (order, transfers) = try await h.order(buyer)
            #expect(transfers.count == 2)
            #expect(Set(transfers.compactMap { $0["reference"] as? String }).count == 2, "a fresh reference per seller order")
            let byRecipient = Dictionary(uniqueKeysWithValues: transfers.map { ($0["recipient"] as? String ?? "", $0) })
            let toAlice = try #require(byRecipient[aliceWallet])
            let toBob = try #require(byRecipient[bobWallet])
            // 10.00 + 60.00 shipping = 70 ZAR × 0.055 = 3.85 USDC; 20.00 + 60.00 = 80 ZAR × 0.0003 = 0.024 SOL.
            #expect(toAlice["amountAtomic"] as? Int == 3_850_000 && toAlice["mint"] as? String == Self.usdc)
            #expect(toBob["amountAtomic"] as? Int == 24_000_000 && toBob["mint"] == nil)
            let link = try #require(toAlice["url"] as? String)
            #expect(link.hasPrefix("solana:\(aliceWallet)?amount=3.85&spl-token=\(Self.usdc)&reference=\(toAlice["reference"] as? String ?? "")&label=Agora&message=Order%20"))
            #expect((toBob["url"] as? String)?.contains("spl-token") == false)

            // Alice's transfer is confirmed: shown as confirming, nothing fulfilled yet.
            let signature = try await h.pay(toAlice, stage: "confirmed")
            var round = try await h.round()
            #expect(round.confirming == 1 && round.paid == 0, "\(round)")
            var now = try await h.transfers(order, as: buyer)
            let aliceOrder = try #require(toAlice["sellerOrderId"] as? String)
            let bobOrder = try #require(toBob["sellerOrderId"] as? String)
            #expect(now[aliceOrder]?["status"] as? String == "confirming" && now[aliceOrder]?["signature"] as? String == signature)
            #expect(try await h.shop.stock(aliceProduct) == (5, 1))

            // Finalized: Alice's seller order is paid, and only hers; the order waits for Bob's.
            try await h.node.control("finalize", ["signature": signature])
            round = try await h.round()
            #expect(round.paid == 1, "\(round)")
            var shown = try await h.shown(order, as: buyer)
            #expect(shown["status"] as? String == "pending_payment")
            let statuses = Dictionary(uniqueKeysWithValues: shown.sellerOrders.map { ($0["id"] as? String ?? "", $0["status"] as? String ?? "") })
            #expect(statuses == [aliceOrder: "paid", bobOrder: "pending_payment"])
            #expect(try await h.shop.stock(aliceProduct) == (4, 0))
            #expect(try await h.shop.stock(bobProduct) == (5, 2))
            let sellerView = try await api.call(.get, "/api/seller/orders/\(aliceOrder)", bearer: alice.accessToken)
            #expect(sellerView["status"] as? String == "paid")

            // The money is already in Alice's wallet: her earnings are recorded as paid out, never to be paid again.
            let payouts = try await api.call(.get, "/api/seller/payouts", bearer: alice.accessToken)
            let payout = try #require((payouts["items"] as? [[String: Any]])?.first, "\(payouts.raw)")
            #expect(payout["status"] as? String == "paid" && (payout["note"] as? String)?.contains(signature) == true)
            let ledger = try await h.int("SELECT coalesce(sum(amount_minor), 0)::int FROM seller_ledger WHERE seller_id = \(UUID(uuidString: alice.accountID)!)")
            #expect(ledger == 0, "what the platform owes Alice for this order: nothing")

            // Bob is paid straight to finalized (twice, by a buyer who pressed twice): the order is paid, and the
            // second transfer is recorded as a duplicate and raised, for the seller to send back.
            try await h.pay(toBob)
            let twice = try await h.pay(toBob)
            round = try await h.round()
            #expect(round.paid == 1 && round.refused == 1, "\(round)")
            #expect(try await h.int("SELECT count(*)::int FROM solana_transfers WHERE signature = \(twice) AND reason = 'duplicate'") == 1)
            shown = try await h.shown(order, as: buyer)
            #expect(shown["status"] as? String == "paid" && shown.sellerOrders.allSatisfy { $0["status"] as? String == "paid" }, "\(shown.raw)")
            now = try await h.transfers(order, as: buyer)
            #expect(now.values.allSatisfy { $0["status"] as? String == "paid" })

            // Rounds after that change nothing: each seller order was fulfilled once.
            round = try await h.round()
            #expect(round.checked == 0)
            #expect(try await h.shop.stock(bobProduct) == (3, 0))
            #expect(try await h.int("SELECT count(*)::int FROM seller_ledger WHERE entry = 'earning' AND seller_order_id IN (\(UUID(uuidString: aliceOrder)!), \(UUID(uuidString: bobOrder)!))") == 2)
            #expect(try await h.int("SELECT count(*)::int FROM order_history WHERE order_id = \(UUID(uuidString: order)!) AND to_status = 'paid' AND seller_order_id IS NULL") == 1)

            // A cart whose seller has no wallet cannot be paid this way, and nothing is reserved.
            let carol = try await h.shop.market.seller("solcarol")
            let carolProduct = try await h.shop.product(carol, ["stock": 5])
            _ = try await h.shop.add(carolProduct, as: buyer)
            let closed = try await api.call(.get, "/api/checkout/options", bearer: buyer.accessToken)
            #expect((closed["solanaPay"] as? [String: Any])?["reason"] as? String == "no_wallet")
            let refused = try await api.call(.post, "/api/checkout", json: ["shippingAddress": Shop.address, "paymentMethod": "solana_pay"], bearer: buyer.accessToken)
            #expect(refused.status == .unprocessableContent && refused.code == "solana_pay_unavailable", "\(refused.raw)")
            #expect(try await h.shop.stock(carolProduct) == (5, 0))
            let unknown = try await api.call(.post, "/api/checkout", json: ["paymentMethod": "barter"], bearer: buyer.accessToken)
            #expect(unknown.status.code / 100 == 4 && unknown.status != .created, "\(unknown.raw)")
        }
    }

    @Test func transfersThatDoNotPayAreRecordedAndRefused() async throws {
        try await Self.with { h in
            let (_, _, product) = try await h.seller("refusedseller", token: "USDC")
            let buyer = try await h.shop.buyer("refusedbuyer")
            _ = try await h.shop.add(product, as: buyer)
            let (order, transfers) = try await h.order(buyer)
            let transfer = try #require(transfers.first)
            var spoiled: [String: String] = [:]
            for variant in ["short", "over", "wrong_mint", "wrong_recipient", "no_reference"] {
                spoiled[try await h.pay(transfer, variant: variant)] = variant
            }
            let failed = try await h.pay(transfer, failed: true)
            let round = try await h.round()
            #expect(round.refused == 5 && round.paid == 0, "\(round)")

            let rows = try await h.shop.services.db.query(
                "SELECT signature, outcome, reason FROM solana_transfers WHERE seller_order_id = \(UUID(uuidString: transfer["sellerOrderId"] as? String ?? "")!)",
                logger: h.shop.market.logger
            )
            var reasons: [String: String] = [:]
            for row in rows {
                #expect(try row.decode("outcome", as: String.self) == "refused")
                reasons[try row.decode("signature")] = try row.decode("reason")
            }
            let expected = ["short": "wrong_amount", "over": "wrong_amount", "wrong_mint": "wrong_token", "wrong_recipient": "wrong_recipient",
                            "no_reference": "missing_reference"]
            for (signature, variant) in spoiled { #expect(reasons[signature] == expected[variant], "\(variant)") }
            #expect(reasons[failed] == "failed")
            // Each refused transfer that moved money is raised to the administrators, once.
            let alerts: PGQuery = "SELECT count(*)::int FROM domain_events WHERE type = 'admin.alert' AND payload->>'alert' = 'solana_transfer_refused' AND subject_id = \(UUID(uuidString: order)!)"
            #expect(try await h.int(alerts) == 5)
            try await h.round()
            #expect(try await h.int(alerts) == 5, "judged once")
            #expect(try await h.shown(order, as: buyer)["status"] as? String == "pending_payment")
            #expect(try await h.shop.stock(product) == (5, 1))

            // The right transfer still pays it.
            try await h.pay(transfer)
            #expect(try await h.round().paid == 1)
            #expect(try await h.shown(order, as: buyer)["status"] as? String == "paid")
        }
    }

    @Test func aConfirmedTransferThatIsDroppedFulfilsNothingAndALateOneIsOnlyRecorded() async throws {
        try await Self.with { h in
            let (_, _, product) = try await h.seller("dropseller", token: "SOL")
            let buyer = try await h.shop.buyer("dropbuyer")
            _ = try await h.shop.add(product, as: buyer)
            let (order, transfers) = try await h.order(buyer)
            let transfer = try #require(transfers.first)
            let sellerOrder = try #require(transfer["sellerOrderId"] as? String)
            let orderID = try #require(UUID(uuidString: order))

            let signature = try await h.pay(transfer, stage: "confirmed")
            #expect(try await h.round().confirming == 1)
            // While confirming, a lapsed reservation waits for it (the grace).
            try await h.shop.services.db.execute("UPDATE orders SET reserved_until = now() - interval '1 second' WHERE id = \(orderID)", logger: h.shop.market.logger)
            let sweeper = CommerceSweeper(commerce: h.shop.services.commerce, logger: h.shop.market.logger)
            #expect(try await sweeper.sweep(logger: h.shop.market.logger).expired == 0)

            // The cluster drops it: the payment waits again, and nothing was fulfilled.
            try await h.node.control("drop", ["signature": signature])
            #expect(try await h.round().dropped == 1)
            #expect(try await h.transfers(order, as: buyer)[sellerOrder]?["status"] as? String == "pending")
            #expect(try await h.shop.stock(product) == (5, 1))
            #expect(try await h.int("SELECT count(*)::int FROM order_history WHERE order_id = \(orderID) AND note LIKE '%dropped%'") == 1)

            // Now the reservation lapses: stock released, the payment expired (and still watched).
            #expect(try await sweeper.sweep(logger: h.shop.market.logger).expired == 1)
            #expect(try await h.shop.stock(product) == (5, 0))
            #expect(try await h.shown(order, as: buyer)["status"] as? String == "cancelled")
            #expect(try await h.transfers(order, as: buyer)[sellerOrder]?["status"] as? String == "expired")

            // A transfer after that is recorded as late and raised; it fulfils nothing.
            let late = try await h.pay(transfer)
            #expect(try await h.round().late == 1)
            #expect(try await h.int("SELECT count(*)::int FROM solana_transfers WHERE signature = \(late) AND outcome = 'late'") == 1)
            #expect(try await h.int("SELECT count(*)::int FROM domain_events WHERE type = 'admin.alert' AND payload->>'reason' = 'late' AND subject_id = \(orderID)") == 1)
            #expect(try await h.shop.stock(product) == (5, 0))
            #expect(try await h.shown(order, as: buyer)["status"] as? String == "cancelled")

            // Past its watch, the reference leaves the queue for good.
            try await h.shop.services.db.execute("UPDATE solana_payments SET watch_until = now() WHERE order_id = \(orderID)", logger: h.shop.market.logger)
            #expect(try await h.round().checked == 0)
            #expect(try await h.int("SELECT count(*)::int FROM solana_payments WHERE order_id = \(orderID) AND next_check_at = 'infinity'") == 1)
        }
    }

    @Test func anOrderPartlyPaidWhenItsTimeRunsOutKeepsWhatWasPaid() async throws {
        try await Self.with { h in
            let (_, _, paidProduct) = try await h.seller("partpaid", token: "USDC")
            let (_, _, unpaidProduct) = try await h.seller("partunpaid", token: "SOL")
            let buyer = try await h.shop.buyer("partbuyer")
            _ = try await h.shop.add(paidProduct, as: buyer)
            _ = try await h.shop.add(unpaidProduct, as: buyer)
            let (order, transfers) = try await h.order(buyer)
            let paying = try #require(transfers.first { $0["token"] as? String == "USDC" })
            try await h.pay(paying)
            #expect(try await h.round().paid == 1)
            try await h.shop.services.db.execute(
                "UPDATE orders SET reserved_until = now() - interval '1 second' WHERE id = \(UUID(uuidString: order)!)", logger: h.shop.market.logger
            )
            #expect(try await CommerceSweeper(commerce: h.shop.services.commerce, logger: h.shop.market.logger).sweep(logger: h.shop.market.logger).expired == 1)
            let shown = try await h.shown(order, as: buyer)
            #expect(shown["status"] as? String == "paid", "\(shown.raw)")
            #expect(Set(shown.sellerOrders.compactMap { $0["status"] as? String }) == ["paid", "cancelled"])
            #expect(try await h.shop.stock(paidProduct) == (4, 0))
            #expect(try await h.shop.stock(unpaidProduct) == (5, 0))
        }
    }

    @Test func aNodeThatStopsAnsweringEndsTheRoundInsteadOfTimingOutEachPayment() async throws {
        try await Self.with { h in
            let (_, _, first) = try await h.seller("stallone", token: "USDC")
            let (_, _, second) = try await h.seller("stalltwo", token: "SOL")
            let buyer = try await h.shop.buyer("stallbuyer")
            _ = try await h.shop.add(first, as: buyer)
            _ = try await h.shop.add(second, as: buyer)
            let (order, transfers) = try await h.order(buyer)
            for transfer in transfers { try await h.pay(transfer) }
            try await h.node.control("fail", ["mode": "timeout", "count": 1, "seconds": 3])
            let stalled = try await h.round()
            #expect(stalled.checked == 1 && stalled.unreachable == 1, "the round stopped at the first timeout, the other payment waits: \(stalled)")
            let recovered = try await h.round()
            #expect(recovered.checked == 2 && recovered.paid == 2, "\(recovered)")
            #expect(try await h.shown(order, as: buyer)["status"] as? String == "paid")
        }
    }

    @Test func nodeFailuresChangeNothingAndTheNextRoundCatchesUp() async throws {
        try await Self.with { h in
            let (seller, _, product) = try await h.seller("failseller", token: "USDC")
            let buyer = try await h.shop.buyer("failbuyer")
            _ = try await h.shop.add(product, as: buyer)
            let (order, transfers) = try await h.order(buyer)
            let transfer = try #require(transfers.first)
            try await h.pay(transfer)
            for mode in ["http_500", "rpc_error", "garbage", "timeout"] {
                try await h.node.control("fail", ["mode": mode, "count": 1, "seconds": 3])
                let round = try await h.round()
                #expect(round.unreachable == 1 && round.paid == 0, "\(mode): \(round)")
                #expect(try await h.shown(order, as: buyer)["status"] as? String == "pending_payment")
            }
            // A failure on the finalized read (after the confirmed one succeeded) as well.
            try await h.node.control("fail", ["mode": "rpc_error", "count": 1, "method": "getTransaction"])
            #expect(try await h.round().unreachable == 1)
            #expect(try await h.round().paid == 1)
            #expect(try await h.shown(order, as: buyer)["status"] as? String == "paid")

            // A seller's refund of a Solana Pay order cannot be made by Agora: it is raised at once for a person.
            let sellerOrder = try #require(transfer["sellerOrderId"] as? String)
            let cancelled = try await h.shop.api.call(.post, "/api/seller/orders/\(sellerOrder)/cancel", json: ["reason": "out of stock"], bearer: seller.accessToken)
            #expect(cancelled.status == .ok, "\(cancelled.raw)")
            #expect(try await h.int("SELECT count(*)::int FROM refunds WHERE order_id = \(UUID(uuidString: order)!) AND status = 'failed'") == 1)
            #expect(try await h.int("SELECT count(*)::int FROM domain_events WHERE type = 'admin.alert' AND payload->>'alert' = 'refund_failed' AND subject_id = \(UUID(uuidString: order)!)") == 1)
        }
    }
}
