import AgoraCore
import AgoraPostgres
import AgoraRedis
import Catalog
import Hummingbird
import Prometheus

/// `GET /metrics`: Prometheus text format.
struct MetricsRoutes: Sendable {
    let metrics: AgoraMetrics
    let db: PGPool
    let redis: RedisClient
    let cache: CatalogCache

    func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/metrics") { _, _ in
            metrics.recordPool("postgres", db.statistics)
            metrics.recordPool("redis", redis.statistics)
            for (name, value) in [("hit", cache.statistics.hits), ("miss", cache.statistics.misses), ("unavailable", cache.statistics.unavailable)] {
                metrics.registry.makeGauge(name: "agora_catalog_cache_lookups", labels: [("result", name)]).set(Double(value))
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
            )
        }
    }
}
