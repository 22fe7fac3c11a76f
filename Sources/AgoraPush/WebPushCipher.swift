package import AgoraCrypto

/// The payload encryption of Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188): one record, keyed by
/// an ECDH between a fresh key of ours and the subscription's `p256dh` key, mixed with its `auth` secret.
///
/// The body is `salt (16) ‖ record size (4) ‖ key id length (1) ‖ our public key (65) ‖ AES-128-GCM(payload ‖ 0x02)`.
/// `encrypt` with a given key and salt reproduces RFC 8291's Appendix A byte for byte (tested).
package enum WebPushCipher {
    /// The record size written in the header; a payload must fit one record.
    static let recordSize = 4096
    /// The most plaintext bytes one record holds: the record less the tag (16) and the delimiter (1), less the
    /// header (86), which push services count against their 4,096-byte limit.
    package static let maxPayload = recordSize - 16 - 1 - 86

    package enum Error: Swift.Error, Equatable {
        case payloadTooLarge
        case invalidSubscription
        case malformed
        case crypto(String)
    }

    /// The encrypted body for a subscription.
    /// - Parameters:
    ///   - subscriberKey: the subscription's `p256dh` (65 bytes).
    ///   - authSecret: the subscription's `auth` (16 bytes).
    ///   - serverKey, salt: a fresh key and random salt unless given (tests).
    package static func encrypt(
        _ payload: [UInt8], subscriberKey: [UInt8], authSecret: [UInt8], serverKey: P256Key? = nil, salt: [UInt8]? = nil
    ) throws(Error) -> [UInt8] {
        guard payload.count <= maxPayload else { throw .payloadTooLarge }
        guard authSecret.count == 16, P256.isPublicKey(subscriberKey) else { throw .invalidSubscription }
        let key: P256Key
        do { key = try serverKey ?? P256Key.generate() } catch { throw .crypto("\(error)") }
        let salt = salt ?? SecureRandom.bytes(16)
        let (cek, nonce) = keys(salt: salt, secret: try secret(key, subscriberKey), authSecret: authSecret, receiverKey: subscriberKey,
                                    senderKey: key.publicKey)
        let sealed: (ciphertext: [UInt8], tag: [UInt8])
        do { sealed = try AESGCM.seal(payload + [0x02], key: cek, nonce: nonce, aad: []) } catch { throw .crypto("\(error)") }
        let size = UInt32(recordSize)
        let header = salt + [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF), 65] + key.publicKey
        return header + sealed.ciphertext + sealed.tag
    }

    /// Decrypts a body as the subscriber would (for tests, and a check that both directions agree).
    package static func decrypt(_ body: [UInt8], subscriber: P256Key, authSecret: [UInt8]) throws(Error) -> [UInt8] {
        guard body.count > 86 + 16, body[20] == 65 else { throw .malformed }
        let salt = Array(body[0..<16])
        let senderKey = Array(body[21..<86])
        let sealed = Array(body[86...])
        let (cek, nonce) = keys(salt: salt, secret: try secret(subscriber, senderKey), authSecret: authSecret,
                                    receiverKey: subscriber.publicKey, senderKey: senderKey)
        let plaintext: [UInt8]
        do {
            plaintext = try AESGCM.open(Array(sealed.dropLast(16)), tag: Array(sealed.suffix(16)), key: cek, nonce: nonce, aad: [])
        } catch { throw .malformed }
        // The last record ends with 0x02 after any zero padding.
        guard let end = plaintext.lastIndex(where: { $0 != 0 }), plaintext[end] == 0x02 else { throw .malformed }
        return Array(plaintext[..<end])
    }

    static func secret(_ mine: P256Key, _ theirs: [UInt8]) throws(Error) -> [UInt8] {
        do { return try mine.sharedSecret(with: theirs) } catch { throw .invalidSubscription }
    }

    /// RFC 8291 section 3.4: the content-encryption key and nonce.
    static func keys(salt: [UInt8], secret: [UInt8], authSecret: [UInt8], receiverKey: [UInt8], senderKey: [UInt8]) -> (key: [UInt8], nonce: [UInt8]) {
        let keyInfo = Array("WebPush: info".utf8) + [0] + receiverKey + senderKey
        let ikm = HKDF.deriveKey(inputKeyMaterial: secret, salt: authSecret, info: keyInfo, length: 32)
        let prk = HKDF.extract(salt: salt, inputKeyMaterial: ikm)
        return (HKDF.expand(prk: prk, info: Array("Content-Encoding: aes128gcm".utf8) + [0], length: 16),
                HKDF.expand(prk: prk, info: Array("Content-Encoding: nonce".utf8) + [0], length: 12))
    }
}
