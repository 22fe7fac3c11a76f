package import AgoraCore
package import AgoraEvents
import AgoraPostgres
import Foundation
package import Logging
package import Realtime
import ServiceLifecycle

/// Turns domain events (follows, likes, orders, stock) into notifications, `order:status` stream events and live
/// `product:updated` topic messages.
///
/// Every instance runs one; each batch is claimed with `SKIP LOCKED` in the transaction that writes what it
/// produces, so an event is relayed exactly once however many instances run, and a crash mid-batch leaves it to
/// the next relay. Stream events are published after that transaction commits.
package struct NotificationRelay: Service {
    let events: EventOutbox
    let notifications: NotificationService
    let stream: UserStream
    let hub: RealtimeHub
    let accounts: any AccountDirectory
    let products: ProductUpdates
    let interval: Duration
    let batchSize: Int
    let logger: Logger
    let isReady: @Sendable () -> Bool
    /// No notice caused by an account reaches someone in a block with it, either way.
    let blocks: any BlockList
    /// Signalled when domain events commit (`PGListener` on `EventOutbox.notifyChannel`); `interval` is then only the
    /// safety net for a notification that was lost.
    let wakeup: EventWakeup
    let duties: DutyMonitor

    package init(
        events: EventOutbox, notifications: NotificationService, stream: UserStream, hub: RealtimeHub, accounts: any AccountDirectory,
        products: ProductUpdates, blocks: any BlockList, interval: Duration, batchSize: Int = 200, wakeup: EventWakeup = EventWakeup(),
        logger: Logger, isReady: @escaping @Sendable () -> Bool, duties: DutyMonitor = DutyMonitor()
    ) {
        self.duties = duties
        self.events = events
        self.wakeup = wakeup
        self.blocks = blocks
        self.notifications = notifications
        self.stream = stream
        self.hub = hub
        self.accounts = accounts
        self.products = products
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
        self.isReady = isReady
    }

    package func run() async throws {
        duties.started("notification_relay")
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var relayed = 0
            if isReady() {
                do {
                    relayed = try await relayOnce()
                    duties.ran("notification_relay", items: relayed)
                } catch {
                    duties.failed("notification_relay")
                    logger.warning("Notification relay failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            // A full batch means more are waiting: go on at once. Otherwise until events commit (or the safety net).
            if relayed < batchSize {
                let wakeup = wakeup
                await withGracefulShutdownHandler {
                    await wakeup.wait(upTo: interval)
                } onGracefulShutdown: {
                    wakeup.signal()
                }
            }
        }
    }

    /// Relays one batch; returns how many domain events it took.
    ///
    /// Whatever the batch holds, its transaction is at most four statements in three round trips: the claim, one
    /// insert of all its notifications, and one append of all its stream entries sent with the COMMIT.
    @discardableResult
    package func relayOnce() async throws -> Int {
        let ((published, updates), count) = try await events.relay(limit: batchSize, logger: logger) { tx, batch in
            var outputs: [Output] = []
            var updates: [(UUID, [String: JSON])] = []
            for recorded in batch {
                let (produced, update) = try await handle(recorded.event, in: tx)
                outputs += produced
                if let update { updates.append(update) }
            }
            // The batch's notices in one statement; each notice's entry then takes its place among the others.
            var notices = try await notifications.notify(outputs.compactMap(\.notice), in: tx).makeIterator()
            let entries = outputs.compactMap { output -> StreamEntry? in
                switch output {
                case .entry(let entry): entry
                case .notice: notices.next() ?? nil
                }
            }
            // One append for the batch, with the COMMIT: it locks the users' streams in id order, as every other
            // writer does. Published only once committed.
            guard let append = UserStream.appendStatement(entries) else { return ([StreamEvent](), updates) }
            let heads = try await tx.commit(after: [append]).one().rows
            return (try UserStream.appended(entries, heads: heads), updates)
        }
        await hub.publish(published, logger: logger)
        for (product, fields) in updates { await products.changed(product, fields) }
        return count
    }

    /// What handling an event makes for a user's stream: an entry, or a notice whose `notification:new` entry goes
    /// in its place once stored (none if its user muted its kind).
    enum Output {
        case entry(StreamEntry)
        case notice(NotificationService.NoticeRequest)

        var notice: NotificationService.NoticeRequest? {
            if case .notice(let request) = self { request } else { nil }
        }
    }

    /// What one domain event makes: stream outputs, and a product's changed live fields.
    func handle(_ event: DomainEvent, in tx: PGTransaction) async throws -> ([Output], (UUID, [String: JSON])?) {
        let payload = event.payload
        func string(_ key: String) -> String? { if case .string(let value)? = payload[key] { value } else { nil } }
        func int(_ key: String) -> Int64? { if case .int(let value)? = payload[key] { value } else { nil } }
        func uuid(_ key: String) -> UUID? { string(key).flatMap(UUID.init(uuidString:)) }
        var out: [Output] = []
        switch event.kind {
        case .userFollowed:
            guard let followee = event.subjectID, let follower = event.actorID else { break }
            // A follow recorded just before a block is relayed after it: the block wins.
            guard try await blocks.blockedEitherWay(followee, among: [follower], logger: logger).isEmpty else { break }
            let who = try await accounts.summaries([follower], logger: logger)[follower]
            out.append(.notice(.init(followee, .follower, data: [
                "followerId": .string(follower.uuidString), "username": .string(who?.username ?? ""), "displayName": .string(who?.displayName ?? ""),
            ])))
        case .productLiked, .productUnliked:
            guard let product = event.subjectID else { break }
            if event.kind == .productLiked, let seller = uuid("sellerId"), let liker = event.actorID, liker != seller,
                try await blocks.blockedEitherWay(seller, among: [liker], logger: logger).isEmpty
            {
                out.append(.notice(.init(seller, .like, data: [
                    "productId": .string(product.uuidString), "likerId": .string(liker.uuidString), "likeCount": .integer(int("likeCount") ?? 0),
                ])))
            }
            if let likes = int("likeCount") { return (out, (product, ["likes": .integer(likes)])) }
        case .productPriceChanged:
            guard let product = event.subjectID, let amount = int("amount"), let currency = string("currency") else { break }
            return (out, (product, ["price": .object(["amount": .integer(amount), "currency": .string(currency)])]))
        case .productStockChanged:
            // Exact stock is the seller's to know (HTTP shows it to them only); the topic tells everyone what HTTP
            // tells everyone, `available`, read when the coalesced update goes out.
            guard let product = event.subjectID else { break }
            return (out, (product, [ProductUpdates.availableKey: .null]))
        case .productUnpublished, .productArchived:
            // Followers who may no longer see it lose the topic (`ProductUpdates` asks the hub to recheck them).
            guard let product = event.subjectID else { break }
            return (out, (product, [ProductUpdates.statusKey: .string(event.kind == .productArchived ? "archived" : "unpublished")]))
        case .productLowStock:
            guard let product = event.subjectID, let seller = uuid("sellerId") else { break }
            out.append(.notice(.init(seller, .lowStock, data: [
                "productId": .string(product.uuidString), "title": .string(string("title") ?? ""),
                "stock": .integer(int("stock") ?? 0), "lowStockThreshold": .integer(int("lowStockThreshold") ?? 0),
            ])))
        case .orderCreated, .orderPaid, .orderShipped, .orderDelivered, .orderCancelled, .orderRefunded, .orderDispute:
            guard let order = event.subjectID, let buyer = uuid("buyerId"), let seller = uuid("sellerId") else { break }
            var summary: [String: JSON] = [
                "orderId": .string(order.uuidString), "sellerOrderId": .string(string("sellerOrderId")?.uppercased() ?? ""),
                "status": .string(string("status") ?? ""), "total": .integer(int("total") ?? 0), "currency": .string(string("currency") ?? ""),
                "buyerId": .string(buyer.uuidString), "sellerId": .string(seller.uuidString),
            ]
            for key in ["carrier", "trackingNumber", "reason", "disputeId", "step", "disputeStatus"] { if let value = string(key) { summary[key] = .string(value) } }
            for key in ["amount", "refunded"] { if let value = int(key) { summary[key] = .integer(value) } }
            let status = try StreamEntry(user: buyer, type: "order:status", encoding: summary)
            let sellerStatus = try StreamEntry(user: seller, type: "order:status", encoding: summary)
            out += event.kind == .orderCreated ? [.entry(status)] : [.entry(status), .entry(sellerStatus)]
            if event.kind == .orderPaid { out.append(.notice(.init(seller, .order, data: summary))) }
            if [.orderShipped, .orderDelivered, .orderCancelled, .orderRefunded].contains(event.kind) {
                out.append(.notice(.init(buyer, .orderStatus, data: summary)))
            }
            if event.kind == .orderDispute {
                // Each step is news to the other side (both, when an administrator acts).
                for party in [buyer, seller] where party != event.actorID { out.append(.notice(.init(party, .orderStatus, data: summary))) }
            }
        case .adminAlert:
            var data: [String: JSON] = [:]
            for (key, value) in payload {
                switch value {
                case .string(let text): data[key] = .string(text)
                case .int(let number): data[key] = .integer(number)
                case .bool(let flag): data[key] = .bool(flag)
                }
            }
            out += try await accounts.administrators(logger: logger).map { .notice(.init($0, .adminAlert, data: data)) }
        default:
            break
        }
        return (out, nil)
    }
}
