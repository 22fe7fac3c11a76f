import AgoraCore
import AgoraCrypto
public import Foundation

/// Seals and opens digital inventory items with AES-256-GCM.
///
/// Each item is sealed under the current key with a fresh 96-bit nonce and the product id as associated data (a
/// row copied to another product does not open). Rows record the id of their key, so after a rotation the old key
/// (kept in `previous`) still opens old items while new ones use the new key. Fingerprints, for finding duplicates,
/// are HMAC-SHA256 of the item under a key derived from the current key: equal items match, and the table holds
/// nothing that could be checked against a guess without the key.
public struct InventoryVault: Sendable {
    let current: (id: String, key: [UInt8])
    let keys: [String: [UInt8]]
    let fingerprintKey: [UInt8]

    /// - Parameters:
    ///   - key: the current 32-byte key (`AGORA_INVENTORY_KEY`).
    ///   - previous: keys of earlier rotations, still used to open the items they sealed.
    public init(key: [UInt8], previous: [[UInt8]] = []) {
        let id = Self.keyID(key)
        current = (id, key)
        var keys = [id: key]
        for old in previous { keys[Self.keyID(old)] = old }
        self.keys = keys
        fingerprintKey = HMACSHA256.authenticationCode(for: Array("agora inventory fingerprint".utf8), key: key)
    }

    /// A key's public name: the first 8 bytes of a SHA-256 of it, in hex. Names a key without revealing it.
    static func keyID(_ key: [UInt8]) -> String {
        "k" + Hex.encode(SHA256.hash(Array("agora inventory key id".utf8) + key).prefix(8))
    }

    public var currentKeyID: String { current.id }

    func seal(_ item: String, product: UUID) throws -> [UInt8] {
        try AESGCM.seal(Array(item.utf8), key: current.key, authenticating: Self.aad(product))
    }

    func open(_ sealed: [UInt8], keyID: String, product: UUID) throws -> String {
        guard let key = keys[keyID] else {
            throw AgoraError(.internalError, "An inventory item is sealed under a key this server does not have")
        }
        return String(decoding: try AESGCM.open(sealed, key: key, authenticating: Self.aad(product)), as: UTF8.self)
    }

    func fingerprint(_ item: String) -> [UInt8] {
        HMACSHA256.authenticationCode(for: Array(item.utf8), key: fingerprintKey)
    }

    static func aad(_ product: UUID) -> [UInt8] { Array(product.uuidString.lowercased().utf8) }
}
