import AgoraPool
import AgoraPostgres
import AgoraRedis
package import Prometheus
import Synchronization

/// Agora's Prometheus metrics, on a registry the application owns (no global state, so tests get their own).
package final class AgoraMetrics: Sendable {
    /// The registry `/metrics` renders. `agora serve` also bootstraps swift-metrics with it, so library metrics land here.
    package let registry: PrometheusCollectorRegistry
    private static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// Wraps `registry`.
    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let (counter, histogram) = requestSeries(RequestSeries(route: route, method: method, status: status))
        counter.increment()
        histogram.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// One request's series. Route labels are patterns and statuses few, so the set stays small.
    private struct RequestSeries: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    /// The handles of each series, looked up in the registry once: the registry builds label arrays and takes its
    /// own lock on every `make…`, which showed in the profile of a cheap route.
    private let requestHandles = Mutex<[RequestSeries: (Counter, DurationHistogram)]>([:])

    private func requestSeries(_ series: RequestSeries) -> (Counter, DurationHistogram) {
        if let handles = requestHandles.withLock({ $0[series] }) { return handles }
        let handles = (
            registry.makeCounter(
                name: "agora_http_requests_total",
                labels: [("route", series.route), ("method", series.method), ("status", String(series.status))]
            ),
            registry.makeDurationHistogram(
                name: "agora_http_request_duration_seconds",
                labels: [("route", series.route), ("method", series.method)],
                buckets: Self.durationBuckets
            )
        )
        requestHandles.withLock { $0[series] = handles }
        return handles
    }

    /// Copies a pool's counts into gauges; called when `/metrics` is scraped.
    func recordPool(_ name: String, _ statistics: some PoolStatistics) {
        let labels = [("pool", name)]
        registry.makeGauge(name: "agora_pool_connections_open", labels: labels).set(Double(statistics.open))
        registry.makeGauge(name: "agora_pool_connections_leased", labels: labels).set(Double(statistics.leased))
        registry.makeGauge(name: "agora_pool_waiting", labels: labels).set(Double(statistics.waiting))
        registry.makeGauge(name: "agora_pool_capacity", labels: labels).set(Double(statistics.capacity))
        registry.makeGauge(name: "agora_pool_connections_opened", labels: labels).set(Double(statistics.opened))
    }
}

/// The counts `recordPool` reads.
protocol PoolStatistics {
    var open: Int { get }
    var leased: Int { get }
    var waiting: Int { get }
    var capacity: Int { get }
    var opened: Int { get }
}

extension PGPool.Statistics: PoolStatistics {}
extension RedisClient.Statistics: PoolStatistics {}
