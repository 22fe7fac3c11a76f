import AgoraCrypto
import HummingbirdBcrypt
package import NIOPosix

/// bcrypt, run on a thread pool: a cost-12 hash takes a quarter of a second of CPU, which on an event loop or in
/// the cooperative pool would stall every request scheduled behind it.
///
/// The pool should be one of its own (`WorkerPools.hashing`): on a pool shared with blocking I/O, a login would
/// wait for a slow mail server's timeout.
package struct PasswordHasher: Sendable {
    /// log2 of bcrypt's rounds: 12 in production, lower in tests (`AGORA_BCRYPT_COST`).
    package let cost: UInt8
    private let threadPool: NIOThreadPool
    /// A hash of a random password at the same cost, verified when a login names no account so that an unknown
    /// email takes as long as a wrong password.
    private let decoy: String

    /// - Parameters:
    ///   - cost: 4...31.
    ///   - threadPool: where hashing runs; its size bounds concurrent hashes (and so logins per second).
    package init(cost: UInt8, threadPool: NIOThreadPool) {
        precondition((4...31).contains(cost), "bcrypt cost must be 4...31")
        self.cost = cost
        self.threadPool = threadPool
        self.decoy = Bcrypt.hash(SecureRandom.token(byteCount: 16), cost: cost)
    }

    /// Hashes `password` with a fresh salt.
    package func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; with `hash == nil`, spends the same time and answers false.
    package func verify(_ password: String, against hash: String?) async throws -> Bool {
        let decoy = self.decoy
        return try await threadPool.runIfActive {
            guard let hash else {
                _ = Bcrypt.verify(password, hash: decoy)
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }
}
