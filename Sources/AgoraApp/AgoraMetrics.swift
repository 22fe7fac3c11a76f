public import AgoraPool
public import Prometheus

/// Agora's Prometheus metrics, on a registry the application owns (no global state, so tests get their own).
public final class AgoraMetrics: Sendable {
    /// The registry `/metrics` renders. `agora serve` also bootstraps swift-metrics with it, so library metrics land here.
    public let registry: PrometheusCollectorRegistry
    private static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// Wraps `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(
            name: "agora_http_requests_total",
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            name: "agora_http_request_duration_seconds",
            labels: [("route", route), ("method", method)],
            buckets: Self.durationBuckets
        ).recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
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

extension BlockingPool.Statistics: PoolStatistics {}
