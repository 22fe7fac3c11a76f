import AgoraCore
import AgoraCrypto
import Foundation

/// Seals and opens digital inventory items with AES-256-GCM.
///
/// Each item is sealed under the current key with a fresh 96-bit nonce and the product id as associated data (a
/// row copied to another product does not open). Rows record the id of their key, so after a rotation the old key
/// (kept in `previous`) still opens old items while new ones use the new key. Fingerprints, for finding duplicates,
/// are HMAC-SHA256 of the item under a key derived from the key that sealed it: equal items match, and the table
/// holds nothing that could be checked against a guess without the key. A row's fingerprint was made under its own
/// key, so after a rotation an item is looked for under every key the vault has (`fingerprints`), not just the
/// current one; new rows get the current key's (`fingerprint`).
package struct InventoryVault: Sendable {
    let current: (id: String, key: [UInt8])
    let keys: [String: [UInt8]]
    /// The fingerprint key of the current key.
    let currentFingerprintKey: [UInt8]
    /// The fingerprint key of the current key first, then those of the previous keys.
    let fingerprintKeys: [[UInt8]]

    /// - Parameters:
    ///   - key: the current 32-byte key (`AGORA_INVENTORY_KEY`).
    ///   - previous: keys of earlier rotations, still used to open the items they sealed.
    package init(key: [UInt8], previous: [[UInt8]] = []) {
        let id = Self.keyID(key)
        current = (id, key)
        var keys = [id: key]
        currentFingerprintKey = Self.fingerprintKey(of: key)
        var fingerprintKeys = [currentFingerprintKey]
        for old in previous where keys[Self.keyID(old)] == nil {
            keys[Self.keyID(old)] = old
            fingerprintKeys.append(Self.fingerprintKey(of: old))
        }
        self.keys = keys
        self.fingerprintKeys = fingerprintKeys
    }

    static func fingerprintKey(of key: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(for: Array("agora inventory fingerprint".utf8), key: key)
    }

    /// A key's public name: the first 8 bytes of a SHA-256 of it, in hex. Names a key without revealing it.
    static func keyID(_ key: [UInt8]) -> String {
        "k" + Hex.encode(SHA256.hash(Array("agora inventory key id".utf8) + key).prefix(8))
    }

    package var currentKeyID: String { current.id }

    func seal(_ item: String, product: UUID) throws -> [UInt8] {
        try AESGCM.seal(Array(item.utf8), key: current.key, authenticating: Self.aad(product))
    }

    func open(_ sealed: [UInt8], keyID: String, product: UUID) throws -> String {
        guard let key = keys[keyID] else {
            throw AgoraError(.internalError, "An inventory item is sealed under a key this server does not have")
        }
        return String(decoding: try AESGCM.open(sealed, key: key, authenticating: Self.aad(product)), as: UTF8.self)
    }

    /// The fingerprint a new row of `item` gets: under the current key.
    func fingerprint(_ item: String) -> [UInt8] {
        HMACSHA256.authenticationCode(for: Array(item.utf8), key: currentFingerprintKey)
    }

    /// Every fingerprint a stored row of `item` can have: one per key this vault knows, the current one first.
    func fingerprints(_ item: String) -> [[UInt8]] {
        fingerprintKeys.map { HMACSHA256.authenticationCode(for: Array(item.utf8), key: $0) }
    }

    static func aad(_ product: UUID) -> [UInt8] { Array(product.uuidString.lowercased().utf8) }
}
