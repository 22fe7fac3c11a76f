public import Foundation
public import Logging
public import Realtime

/// Live product fields (price, stock, likes, views) for the `product:<id>` topic, coalesced: changes to one
/// product within `interval` of its last update go out together, at most one message per product per interval
/// from each instance.
public actor ProductUpdates {
    private let hub: RealtimeHub
    private let interval: Duration
    private let logger: Logger
    private var pending: [UUID: [String: JSON]] = [:]
    private var lastSent: [UUID: ContinuousClock.Instant] = [:]
    /// Messages sent, for tests and metrics.
    public private(set) var sentCount = 0

    public init(hub: RealtimeHub, interval: Duration, logger: Logger) {
        self.hub = hub
        self.interval = interval
        self.logger = logger
    }

    /// `fields` of `product` changed (later values win).
    public func changed(_ product: UUID, _ fields: [String: JSON]) async {
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
    public func views(_ totals: [UUID: Int]) async {
        for (product, views) in totals { await changed(product, ["views": .number(Double(views))]) }
    }

    private func send(_ product: UUID) async {
        guard var fields = pending.removeValue(forKey: product) else { return }
        let now = ContinuousClock.now
        lastSent[product] = now
        if lastSent.count > 10_000 { lastSent = lastSent.filter { now - $0.value < interval } }
        fields["productId"] = .string(product.uuidString)
        let data = String(decoding: (try? JSONEncoder().encode(fields)) ?? Data("{}".utf8), as: UTF8.self)
        sentCount += 1
        await hub.publish(topic: "product:\(product.uuidString)", type: "product:updated", data: data, logger: logger)
    }
}
