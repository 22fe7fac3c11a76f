import AgoraApp
import AgoraPostgres
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus

@main
struct Agora: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agora",
        abstract: "Agora: a real-time social commerce server.",
        subcommands: [Serve.self, Migrate.self, SeedCommand.self, SetRoleCommand.self, VAPIDKeyCommand.self, WebSocketEchoCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// Reads the configuration and sets up logging, or exits with the configuration's problems.
func bootstrap() -> (AgoraConfig, Logger) {
    let config: AgoraConfig
    do {
        config = try AgoraConfig(environment: ProcessInfo.processInfo.environment)
    } catch {
        FileHandle.standardError.write(Data("agora: \(error)\n".utf8))
        exit(78)  // EX_CONFIG
    }
    let level = config.logLevel
    let json = config.jsonLogs
    LoggingSystem.bootstrap { label in
        var handler: any LogHandler = json ? JSONLogHandler(label: label) : TextLogHandler(label: label)
        handler.logLevel = level
        return handler
    }
    var logger = Logger(label: "agora")
    logger.logLevel = level
    return (config, logger)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations and serve HTTP (the default).")

    func run() async throws {
        let (config, logger) = bootstrap()
        let metrics = AgoraMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        logger.info("Starting Agora", metadata: config.summary)
        let (app, _) = try buildApplication(config: config, logger: logger, metrics: metrics)
        // SIGTERM/SIGINT: stop accepting, let in-flight requests finish, then close the pools.
        try await app.runService()  // defaults to SIGTERM and SIGINT
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let (config, logger) = bootstrap()
        let db = PGPool(configuration: config.postgres, logger: logger)
        do {
            let applied = try await PGMigrator(pool: db).migrate(try Migrations.all(), logger: logger)
            logger.info(applied.isEmpty ? "Database is up to date" : "Migrations applied", metadata: ["versions": "\(applied)"])
            await db.close()
        } catch {
            await db.close()
            logger.critical("Migration failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
