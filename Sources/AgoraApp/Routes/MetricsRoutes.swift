import AgoraCore
import AgoraPostgres
import AgoraRedis
import Catalog
import Foundation
import Hummingbird
import Prometheus

/// `GET /metrics`: Prometheus text format.
struct MetricsRoutes: Sendable {
    let metrics: AgoraMetrics
    let db: PGPool
    let redis: RedisClient
    let cache: CatalogCache
    let duties: DutyMonitor
    /// `host:port`, so a dashboard can tell the instances apart even without Prometheus's own `instance` label.
    let instance: String

    func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/metrics") { _, _ in
            metrics.recordPool("postgres", db.statistics)
            metrics.recordPool("redis", redis.statistics)
            for (name, value) in [("hit", cache.statistics.hits), ("miss", cache.statistics.misses), ("unavailable", cache.statistics.unavailable)] {
                metrics.registry.makeGauge(name: "agora_catalog_cache_lookups", labels: [("result", name)]).set(Double(value))
            }
            metrics.registry.makeGauge(name: "agora_instance_info", labels: [("instance", instance), ("pid", String(ProcessInfo.processInfo.processIdentifier))]).set(1.0)
            // Which duties run here and what they did: every instance runs them all, and their claims in PostgreSQL
            // or Redis decide which one does a given piece of work.
            for (duty, record) in duties.snapshot {
                let labels = [("duty", duty)]
                metrics.registry.makeGauge(name: "agora_duty_running", labels: labels).set(1.0)
                metrics.registry.makeGauge(name: "agora_duty_runs", labels: labels).set(Double(record.runs))
                metrics.registry.makeGauge(name: "agora_duty_items", labels: labels).set(Double(record.items))
                metrics.registry.makeGauge(name: "agora_duty_failures", labels: labels).set(Double(record.failures))
                if let at = record.lastRun {
                    metrics.registry.makeGauge(name: "agora_duty_last_run_timestamp_seconds", labels: labels).set(at.timeIntervalSince1970)
                }
                if let at = record.lastWork {
                    metrics.registry.makeGauge(name: "agora_duty_last_work_timestamp_seconds", labels: labels).set(at.timeIntervalSince1970)
                }
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
            )
        }
    }
}
