import Accounts
import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraRedis
import ArgumentParser
import Foundation
import Logging

/// `agora set-role USERNAME ROLE`: the only way to make an admin (there is deliberately no HTTP route for it).
struct SetRoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Set an account's role (buyer, seller or admin).")

    @Argument(help: "The account's username.") var username: String
    @Argument(help: "buyer, seller or admin.") var role: String

    func run() async throws {
        guard let role = Role(rawValue: role) else { throw ValidationError("ROLE must be buyer, seller or admin") }
        let (config, logger) = bootstrap()
        let db = PGPool(configuration: config.postgres, logger: logger)
        let redis = RedisClient(configuration: config.redis, logger: logger)
        let result: Result<Account, any Error>
        do {
            result = .success(try await setAccountRole(config: config, db: db, redis: redis, username: username, role: role, logger: logger))
        } catch {
            result = .failure(error)
        }
        await db.close()
        await redis.close()
        switch result {
        case .success(let account):
            print("@\(account.username) is now \(account.role.rawValue); their sessions ended (they log in again)")
        case .failure(let error as AgoraError):
            FileHandle.standardError.write(Data("agora: \(error.message)\n".utf8))
            throw ExitCode.failure
        case .failure(let error):
            throw error
        }
    }
}
