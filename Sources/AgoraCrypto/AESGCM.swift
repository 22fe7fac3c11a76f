internal import COpenSSL

/// AES-GCM authenticated encryption: AES-256 for what Agora stores (`keySize`), AES-128 when a protocol asks for it
/// (Web Push's `aes128gcm`); the key's length picks which.
///
/// A sealed box is `nonce (12) || ciphertext || tag (16)`. Nonces are random; with 96-bit random nonces a
/// key should seal well under 2^32 messages (NIST SP 800-38D §8.3), which is far above what Agora stores.
package enum AESGCM {
    /// Key length in bytes of what Agora itself encrypts (AES-256).
    package static let keySize = 32

    /// The cipher for a key of this length: AES-128-GCM for 16 bytes, AES-256-GCM for 32; nil otherwise.
    static func cipher(for key: [UInt8]) -> OpaquePointer? {
        switch key.count {
        case 16: EVP_aes_128_gcm()
        case 32: EVP_aes_256_gcm()
        default: nil
        }
    }
    /// Nonce length in bytes.
    package static let nonceSize = 12
    /// Tag length in bytes.
    package static let tagSize = 16

    /// Why sealing or opening failed. Deliberately vague: an attacker learns nothing from which check failed.
    package enum Error: Swift.Error, Equatable {
        case invalidKey
        case invalidNonce
        case authenticationFailed
    }

    /// Encrypts `plaintext` under `key` with a fresh random nonce.
    package static func seal(_ plaintext: some Collection<UInt8>, key: [UInt8], authenticating aad: [UInt8] = []) throws(Error) -> [UInt8] {
        let nonce = SecureRandom.bytes(nonceSize)
        let (ciphertext, tag) = try seal(Array(plaintext), key: key, nonce: nonce, aad: aad)
        return nonce + ciphertext + tag
    }

    /// Decrypts a box made by `seal`, failing if any byte of it, or of `aad`, was changed.
    package static func open(_ box: some Collection<UInt8>, key: [UInt8], authenticating aad: [UInt8] = []) throws(Error) -> [UInt8] {
        let box = Array(box)
        guard box.count >= nonceSize + tagSize else { throw .authenticationFailed }
        let nonce = Array(box[..<nonceSize])
        let ciphertext = Array(box[nonceSize..<(box.count - tagSize)])
        let tag = Array(box[(box.count - tagSize)...])
        return try open(ciphertext, tag: tag, key: key, nonce: nonce, aad: aad)
    }

    /// Encrypts with a caller-chosen nonce; for test vectors. Never reuse a nonce under one key.
    package static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws(Error) -> (ciphertext: [UInt8], tag: [UInt8]) {
        guard let cipher = cipher(for: key) else { throw .invalidKey }
        guard !nonce.isEmpty else { throw .invalidNonce }
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagSize)
        var length: Int32 = 0
        var total: Int32 = 0
        var ok = EVP_EncryptInit_ex(ctx, cipher, nil, nil, nil) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(nonce.count), nil) == 1
        ok = ok && EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1
        if ok, !aad.isEmpty { ok = EVP_EncryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1 }
        if ok, !plaintext.isEmpty {
            ok = EVP_EncryptUpdate(ctx, &ciphertext, &length, plaintext, Int32(plaintext.count)) == 1
            total = length
        }
        if ok {
            ok = ciphertext.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(ctx, $0.baseAddress! + Int(total), &length) } == 1
            total += length
        }
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(tagSize), &tag) == 1
        precondition(ok, "OpenSSL AES-GCM encryption failed")
        return (Array(ciphertext.prefix(Int(total))), tag)
    }

    /// Decrypts with a caller-chosen nonce; for test vectors and `open`.
    package static func open(_ ciphertext: [UInt8], tag: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws(Error) -> [UInt8] {
        guard let cipher = cipher(for: key) else { throw .invalidKey }
        guard !nonce.isEmpty else { throw .invalidNonce }
        guard tag.count == tagSize else { throw .authenticationFailed }
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var tag = tag
        var length: Int32 = 0
        var total: Int32 = 0
        var ok = EVP_DecryptInit_ex(ctx, cipher, nil, nil, nil) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(nonce.count), nil) == 1
        ok = ok && EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1
        if ok, !aad.isEmpty { ok = EVP_DecryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1 }
        if ok, !ciphertext.isEmpty {
            ok = EVP_DecryptUpdate(ctx, &plaintext, &length, ciphertext, Int32(ciphertext.count)) == 1
            total = length
        }
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tagSize), &tag) == 1
        guard ok else { throw .authenticationFailed }
        // The tag is checked here: a flipped bit anywhere makes Final fail, and no plaintext escapes.
        let verified = plaintext.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + Int(total), &length) } == 1
        guard verified else { throw .authenticationFailed }
        total += length
        return Array(plaintext.prefix(Int(total)))
    }
}
