public import AgoraCore
public import AgoraPostgres
public import AgoraRedis
import Foundation
public import Hummingbird
public import Logging

/// The running parts of an Agora process, for the CLI and tests.
public struct AgoraServices: Sendable {
    public let db: PGPool
    public let redis: RedisClient
    public let metrics: AgoraMetrics
}

/// Builds the application: pools, middleware, routes, static files and start-up migrations.
///
/// The tests call this too, so what they exercise is what `agora serve` runs.
/// - Parameters:
///   - config: every setting, from `AgoraConfig(environment:)`.
///   - logger: the process logger; requests log through children of it that carry their request id.
///   - metrics: where request and pool metrics go.
public func buildApplication(
    config: AgoraConfig,
    logger: Logger,
    metrics: AgoraMetrics = AgoraMetrics()
) throws -> (app: some ApplicationProtocol, services: AgoraServices) {
    let db = PGPool(configuration: config.postgres, logger: logger)
    let redis = RedisClient(configuration: config.redis, logger: logger)

    let router = AgoraRouter(context: AgoraRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: ObservabilityMiddleware(metrics: metrics))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware(routes: router.methods))
    router.add(middleware: BodyLimitMiddleware(limit: config.maxBodySize))
    if FileManager.default.fileExists(atPath: config.publicDirectory) {
        router.add(middleware: FileMiddleware(
            config.publicDirectory,
            cacheControl: .init([
                // No build step means no content hashes in file names: revalidate code (cheap with ETags), cache media a day.
                (MediaType(type: .text), [.noCache]),
                (MediaType(type: .application), [.noCache]),
                (MediaType(type: .image), [.public, .maxAge(86_400)]),
                (MediaType(type: .font), [.public, .maxAge(86_400)]),
            ]),
            searchForIndexHtml: true,
            logger: logger
        ))
    } else {
        logger.warning("Public directory not found; static files are not served", metadata: ["public_dir": "\(config.publicDirectory)"])
    }

    HealthRoutes(db: db, redis: redis).add(to: router)
    MetricsRoutes(metrics: metrics, db: db, redis: redis).add(to: router)

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "agora"),
        logger: logger
    )
    app.addServices(db, redis)
    if config.migrateOnStart {
        app.beforeServerStarts {
            let applied = try await PGMigrator(pool: db).migrate(try Migrations.all(), logger: logger)
            if !applied.isEmpty { logger.info("Migrations applied", metadata: ["versions": "\(applied)"]) }
        }
    }
    return (app, AgoraServices(db: db, redis: redis, metrics: metrics))
}
