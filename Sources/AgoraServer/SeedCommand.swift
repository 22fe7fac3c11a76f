import AgoraApp
import AgoraDemo
import AgoraPostgres
import AgoraRedis
import ArgumentParser
import Foundation
import Logging

/// `agora seed`: loads the demo marketplace into an empty database (the run script does this on first start).
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Load the demo marketplace (sellers, products with images, follows and likes) if there are no products yet."
    )

    func run() async throws {
        let (config, logger) = bootstrap()
        guard config.mode == .development else {
            FileHandle.standardError.write(Data("agora: refusing to load demo accounts with a known password in production\n".utf8))
            throw ExitCode.failure
        }
        let (_, services) = try buildApplication(config: config, logger: logger)
        let result: Result<DemoSeed.Summary?, any Error>
        do {
            _ = try await PGMigrator(pool: services.db).migrate(try Migrations.all(), logger: logger)
            result = .success(try await DemoSeed.seedIfEmpty(services, logger: logger))
        } catch {
            result = .failure(error)
        }
        await services.db.close()
        await services.redis.close()
        switch try result.get() {
        case let summary?:
            print("Loaded the demo marketplace: \(summary.products) products in \(summary.categories) categories, \(summary.accounts) accounts.")
            print("Log in as demo_buyer@demo.agora.local (or thandi_tech@…, karoo_crafts@…, vinyl_vault@…, pixel_keys@…, demo_admin@…) with password \(DemoSeed.password)")
        case nil:
            print("The database already has products; nothing loaded.")
        }
    }
}
