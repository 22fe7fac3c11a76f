import AgoraCore
import AgoraPostgres
import AgoraRedis
import Foundation
import Hummingbird
import Logging

/// `GET /health` (the process answers) and `GET /health/ready` (PostgreSQL and Redis answer, with latencies).
struct HealthRoutes: Sendable {
    let db: PGPool
    let redis: RedisClient
    /// How long a dependency may take before it counts as down.
    var timeout: Duration = .seconds(2)

    struct Check: Codable, Equatable {
        var status: String
        var latencyMs: Double?
        var error: String?
    }

    struct Readiness: ResponseEncodable, Decodable {
        var status: String
        var checks: [String: Check]
    }

    func add(to router: some RouterMethods<AgoraRequestContext>) {
        router.get("/health") { _, _ in
            ["status": "ok"]
        }
        router.get("/health/ready") { request, context in
            try await ready(request: request, context: context)
        }
    }

    func ready(request: Request, context: AgoraRequestContext) async throws -> Response {
        let logger = context.logger
        async let postgres = check("postgres", logger: logger) { _ = try await db.query("SELECT 1", logger: logger) }
        async let redis = check("redis", logger: logger) { _ = try await self.redis.send("PING", logger: logger) }
        let checks = await ["postgres": postgres, "redis": redis]
        let allUp = checks.values.allSatisfy { $0.status == "up" }
        let body = Readiness(status: allUp ? "ok" : "unavailable", checks: checks)
        var response = try body.response(from: request, context: context)
        response.status = allUp ? .ok : .serviceUnavailable
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Runs `probe` against a deadline; a dependency that errors or is slow is down, and the log says why.
    private func check(_ name: String, logger: Logger, _ probe: @escaping @Sendable () async throws -> Void) async -> Check {
        let started = ContinuousClock.now
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await probe() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw AgoraError(.unavailable, "\(name) did not answer within \(timeout)")
                }
                try await group.next()
                group.cancelAll()
            }
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            return Check(status: "up", latencyMs: (ms * 100).rounded() / 100)
        } catch {
            logger.warning("Readiness check failed", metadata: ["dependency": "\(name)", "error": "\(error)"])
            return Check(status: "down", error: "\(name) is unreachable")
        }
    }
}
