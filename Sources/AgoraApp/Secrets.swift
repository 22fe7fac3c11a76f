package import AgoraCrypto
import Foundation

/// Server secrets. In production each must come from the environment; in development a missing one is generated
/// once and kept in `<data dir>/secrets.json` (mode 0600), so sessions survive restarts.
package struct Secrets: Sendable {
    /// HMAC key for access tokens (`AGORA_JWT_SECRET`).
    package var jwtSecret: [UInt8]
    /// AES-256-GCM key for digital inventory (`AGORA_INVENTORY_KEY`, 32 bytes as base64 or hex).
    package var inventoryKey: [UInt8]
    /// Signs the simulated payment provider's webhooks (`AGORA_PAYMENT_WEBHOOK_SECRET`).
    package var paymentWebhookSecret: [UInt8]
    /// The VAPID key pair of Web Push (`AGORA_VAPID_PRIVATE_KEY`: the P-256 private scalar, 32 bytes as base64url;
    /// `agora vapid-key` prints a new one). Browsers' subscriptions are bound to its public half, so it must stay the
    /// same across restarts and instances.
    package var vapidKey: P256Key

    static let names = ["AGORA_JWT_SECRET", "AGORA_INVENTORY_KEY", "AGORA_PAYMENT_WEBHOOK_SECRET", "AGORA_VAPID_PRIVATE_KEY"]

    init(environment env: [String: String], mode: AgoraConfig.Mode, dataDirectory: String) throws {
        var values: [String: String] = [:]
        for name in Self.names { if let value = env[name], !value.isEmpty { values[name] = value } }
        let missing = Self.names.filter { values[$0] == nil }
        if !missing.isEmpty {
            guard mode == .development else {
                throw ConfigError(problems: missing.map { "\($0) must be set when AGORA_ENV=production" })
            }
            let stored = try Self.developmentSecrets(in: dataDirectory)
            for name in missing { values[name] = stored[name] }
        }
        jwtSecret = Array(values["AGORA_JWT_SECRET"]!.utf8)
        guard jwtSecret.count >= 32 else { throw ConfigError(problems: ["AGORA_JWT_SECRET must be at least 32 characters"]) }
        let key = values["AGORA_INVENTORY_KEY"]!
        guard let inventoryKey = Base64.decode(key) ?? Hex.decode(key), inventoryKey.count == AESGCM.keySize else {
            throw ConfigError(problems: ["AGORA_INVENTORY_KEY must be 32 bytes, as base64 or hex"])
        }
        self.inventoryKey = inventoryKey
        paymentWebhookSecret = Array(values["AGORA_PAYMENT_WEBHOOK_SECRET"]!.utf8)
        guard paymentWebhookSecret.count >= 16 else { throw ConfigError(problems: ["AGORA_PAYMENT_WEBHOOK_SECRET must be at least 16 characters"]) }
        guard let scalar = Base64.decode(values["AGORA_VAPID_PRIVATE_KEY"]!, url: true), let vapidKey = try? P256Key(privateKey: scalar) else {
            throw ConfigError(problems: ["AGORA_VAPID_PRIVATE_KEY must be a P-256 private key: 32 bytes as base64url (agora vapid-key makes one)"])
        }
        self.vapidKey = vapidKey
    }

    /// A new VAPID private key, as `AGORA_VAPID_PRIVATE_KEY` takes it.
    package static func newVAPIDKey() throws -> String { Base64.encode(try P256Key.generate().privateKey, url: true, padding: false) }

    /// Reads, or creates, the development secrets file.
    private static func developmentSecrets(in directory: String) throws -> [String: String] {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("secrets.json")
        // A file from before a secret existed keeps what it has (the inventory key above all: items encrypted with it
        // must stay readable) and gains only the missing ones.
        let stored = (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
        if Set(stored.keys).isSuperset(of: names) { return stored }
        let fresh = [
            "AGORA_JWT_SECRET": SecureRandom.token(byteCount: 48),
            "AGORA_INVENTORY_KEY": Base64.encode(SecureRandom.bytes(AESGCM.keySize)),
            "AGORA_PAYMENT_WEBHOOK_SECRET": SecureRandom.token(byteCount: 32),
            "AGORA_VAPID_PRIVATE_KEY": try newVAPIDKey(),
        ]
        let generated = stored.merging(fresh) { old, _ in old }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(generated)
            guard FileManager.default.createFile(atPath: url.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw ConfigError(problems: ["cannot write development secrets to \(url.path)"])
            }
        }
        return generated
    }
}
