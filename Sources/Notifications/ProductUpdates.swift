package import Foundation
package import Logging
package import Realtime

/// Live product fields (price, availability, likes, views, status) for the `product:<id>` topic, coalesced: changes
/// to one product within `interval` of its last update go out together, at most one message per product per
/// interval from each instance.
///
/// The topic says what HTTP says to everyone: `available` (stock less reservations), never the exact stock, which
/// only the seller sees. A product that leaves publication has its followers rechecked on every instance, and those
/// who may no longer see it lose the topic.
package actor ProductUpdates {
    /// A field key whose value is read when the update goes out: the product's current availability.
    package static let availableKey = "available"
    /// The field key of a status change (`unpublished`, `archived`).
    package static let statusKey = "status"

    private let hub: RealtimeHub
    private let interval: Duration
    private let logger: Logger
    /// Current `available` of products, read from their owner (Catalog) when an update carries `availableKey`.
    private let availability: @Sendable ([UUID]) async throws -> [UUID: Int]
    private var pending: [UUID: [String: JSON]] = [:]
    private var lastSent: [UUID: ContinuousClock.Instant] = [:]
    /// Messages sent, for tests and metrics.
    package private(set) var sentCount = 0

    package init(hub: RealtimeHub, interval: Duration, logger: Logger, availability: @escaping @Sendable ([UUID]) async throws -> [UUID: Int]) {
        self.availability = availability
        self.hub = hub
        self.interval = interval
        self.logger = logger
    }

    /// `fields` of `product` changed (later values win).
    package func changed(_ product: UUID, _ fields: [String: JSON]) async {
        let waiting = pending[product] != nil
        pending[product, default: [:]].merge(fields) { _, new in new }
        guard !waiting else { return }  // a send is already scheduled and will carry these
        let now = ContinuousClock.now
        if let last = lastSent[product], now - last < interval {
            let delay = interval - (now - last)
            Task {
                try? await Task.sleep(for: delay)
                await self.send(product)
            }
        } else {
            await send(product)
        }
    }

    /// New view counts from the view flusher.
    package func views(_ totals: [UUID: Int]) async {
        for (product, views) in totals { await changed(product, ["views": .integer(Int64(views))]) }
    }

    private func send(_ product: UUID) async {
        guard var fields = pending.removeValue(forKey: product) else { return }
        let now = ContinuousClock.now
        lastSent[product] = now
        if lastSent.count > 10_000 { lastSent = lastSent.filter { now - $0.value < interval } }
        if fields[Self.availableKey] != nil {
            do {
                if let available = try await availability([product])[product] { fields[Self.availableKey] = .integer(Int64(available)) } else {
                    fields[Self.availableKey] = nil
                }
            } catch {
                logger.warning("Live availability not read", metadata: ["error": "\(error)"])
                fields[Self.availableKey] = nil
            }
        }
        let topic = "product:\(product.uuidString)"
        let statusChanged = fields[Self.statusKey] != nil
        guard !fields.isEmpty else { return }
        fields["productId"] = .string(product.uuidString)
        let data = (try? JSONText(encoding: fields)) ?? .emptyObject
        sentCount += 1
        await hub.publish(topic: topic, type: "product:updated", data: data, logger: logger)
        if statusChanged { await hub.recheck(topic: topic, logger: logger) }
    }
}
