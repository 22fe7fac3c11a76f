import AgoraCore
import AgoraPostgres
import AgoraRedis
import Hummingbird
import Prometheus

/// `GET /metrics`: Prometheus text format.
struct MetricsRoutes: Sendable {
    let metrics: AgoraMetrics
    let db: PGPool
    let redis: RedisClient

    func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/metrics") { _, _ in
            metrics.recordPool("postgres", db.statistics)
            metrics.recordPool("redis", redis.statistics)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
            )
        }
    }
}
