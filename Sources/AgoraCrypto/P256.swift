import COpenSSL

/// NIST P-256 keys, ECDH and ECDSA (ES256) through OpenSSL 3's EVP interface: what Web Push needs (VAPID's signing
/// key, RFC 8292; the per-message key agreement of RFC 8291).
///
/// Keys travel as bytes: a private key is its 32-byte scalar, a public key its 65-byte uncompressed point
/// (`04 ‖ X ‖ Y`), as the Push API and VAPID write them (base64url). Each operation builds the OpenSSL key it needs and
/// frees it, so a key is a plain `Sendable` value.
package struct P256Key: Sendable, Equatable {
    /// The private scalar, big-endian, 32 bytes.
    package let privateKey: [UInt8]
    /// The public point, uncompressed, 65 bytes.
    package let publicKey: [UInt8]

    package enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// Bytes that are not a P-256 private scalar or a point on the curve.
        case invalidKey
        /// OpenSSL refused an operation (the function that failed).
        case failed(String)

        package var description: String {
            switch self {
            case .invalidKey: "not a P-256 key"
            case .failed(let function): "OpenSSL \(function) failed"
            }
        }
    }

    /// A new random key pair.
    package static func generate() throws(Error) -> P256Key {
        guard let context = EVP_PKEY_CTX_new_id(P256.evpPKeyEC, nil) else { throw .failed("EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw .failed("EVP_PKEY_keygen_init") }
        guard EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context, NID_X9_62_prime256v1) == 1 else { throw .failed("set_ec_paramgen_curve_nid") }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen(context, &key) == 1, let key else { throw .failed("EVP_PKEY_keygen") }
        defer { EVP_PKEY_free(key) }
        var publicKey = [UInt8](repeating: 0, count: 65)
        var length = 0
        guard EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, &publicKey, 65, &length) == 1, length == 65 else {
            throw .failed("EVP_PKEY_get_octet_string_param")
        }
        var scalar: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) == 1, let scalar else { throw .failed("EVP_PKEY_get_bn_param") }
        defer { BN_clear_free(scalar) }
        var privateKey = [UInt8](repeating: 0, count: 32)
        guard BN_bn2binpad(scalar, &privateKey, 32) == 32 else { throw .failed("BN_bn2binpad") }
        return P256Key(privateKey: privateKey, publicKey: publicKey)
    }

    private init(privateKey: [UInt8], publicKey: [UInt8]) {
        self.privateKey = privateKey
        self.publicKey = publicKey
    }

    /// The key pair of a private scalar (its public point computed).
    /// - Throws: `.invalidKey` unless it is 32 bytes in 1 ..< the group order.
    package init(privateKey: [UInt8]) throws(Error) {
        guard privateKey.count == 32, let group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1) else { throw .invalidKey }
        defer { EC_GROUP_free(group) }
        guard let scalar = BN_bin2bn(privateKey, 32, nil) else { throw .failed("BN_bin2bn") }
        defer { BN_clear_free(scalar) }
        guard BN_is_zero(scalar) == 0, BN_cmp(scalar, EC_GROUP_get0_order(group)) < 0 else { throw .invalidKey }
        guard let point = EC_POINT_new(group) else { throw .failed("EC_POINT_new") }
        defer { EC_POINT_free(point) }
        guard EC_POINT_mul(group, point, scalar, nil, nil, nil) == 1 else { throw .failed("EC_POINT_mul") }
        var publicKey = [UInt8](repeating: 0, count: 65)
        guard EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, &publicKey, 65, nil) == 65 else { throw .failed("EC_POINT_point2oct") }
        self.privateKey = privateKey
        self.publicKey = publicKey
    }

    /// The ECDH shared secret with `peer` (a 65-byte public point): the X coordinate of the product, 32 bytes.
    /// - Throws: `.invalidKey` when `peer` is not a point on P-256.
    package func sharedSecret(with peer: [UInt8]) throws(Error) -> [UInt8] {
        let mine = try P256.pkey(publicKey: publicKey, privateKey: privateKey)
        defer { EVP_PKEY_free(mine) }
        let theirs = try P256.pkey(publicKey: peer, privateKey: nil)
        defer { EVP_PKEY_free(theirs) }
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, mine, nil) else { throw .failed("EVP_PKEY_CTX_new_from_pkey") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, theirs) == 1 else { throw .failed("EVP_PKEY_derive_set_peer") }
        var length = 0
        guard EVP_PKEY_derive(context, nil, &length) == 1, length == 32 else { throw .failed("EVP_PKEY_derive") }
        var secret = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_derive(context, &secret, &length) == 1, length == 32 else { throw .failed("EVP_PKEY_derive") }
        return secret
    }

    /// An ECDSA signature of SHA-256(`message`), as JWS ES256 writes it: `r ‖ s`, 32 bytes each.
    package func signature(for message: [UInt8]) throws(Error) -> [UInt8] {
        let key = try P256.pkey(publicKey: publicKey, privateKey: privateKey)
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { throw .failed("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else { throw .failed("EVP_DigestSignInit") }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else { throw .failed("EVP_DigestSign") }
        var der = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &der, &length, message, message.count) == 1 else { throw .failed("EVP_DigestSign") }
        return try der.withUnsafeBufferPointer { buffer throws(Error) -> [UInt8] in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let signature = d2i_ECDSA_SIG(nil, &cursor, length) else { throw .failed("d2i_ECDSA_SIG") }
            defer { ECDSA_SIG_free(signature) }
            var raw = [UInt8](repeating: 0, count: 64)
            guard let r = ECDSA_SIG_get0_r(signature), let s = ECDSA_SIG_get0_s(signature),
                BN_bn2binpad(r, &raw, 32) == 32, raw.withUnsafeMutableBufferPointer({ BN_bn2binpad(s, $0.baseAddress! + 32, 32) }) == 32
            else { throw .failed("BN_bn2binpad") }
            return raw
        }
    }
}

/// Checks on P-256 public keys and signatures.
package enum P256 {
    /// `EVP_PKEY_EC` (`NID_X9_62_id_ecPublicKey`), which Swift does not import as a macro of a macro.
    static let evpPKeyEC: Int32 = 408
    /// `EVP_PKEY_PUBLIC_KEY` and `EVP_PKEY_KEYPAIR` (selections of `EVP_PKEY_fromdata`), macros Swift does not import.
    static let selectPublicKey: Int32 = 0x86
    static let selectKeyPair: Int32 = 0x87

    /// Whether `bytes` is an uncompressed point on P-256 (what a browser's `p256dh` must be).
    package static func isPublicKey(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 65, bytes.first == 0x04, let group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1) else { return false }
        defer { EC_GROUP_free(group) }
        guard let point = EC_POINT_new(group) else { return false }
        defer { EC_POINT_free(point) }
        // oct2point refuses a point that is not on the curve.
        return EC_POINT_oct2point(group, point, bytes, 65, nil) == 1 && EC_POINT_is_at_infinity(group, point) == 0
    }

    /// Whether `signature` (`r ‖ s`) signs SHA-256(`message`) for `publicKey`.
    package static func verify(signature: [UInt8], for message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, let key = try? pkey(publicKey: publicKey, privateKey: nil) else { return false }
        defer { EVP_PKEY_free(key) }
        guard let parsed = ECDSA_SIG_new() else { return false }
        defer { ECDSA_SIG_free(parsed) }
        guard let r = BN_bin2bn(signature, 32, nil) else { return false }
        guard let s = Array(signature[32...]).withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, 32, nil) }) else {
            BN_free(r)
            return false
        }
        guard ECDSA_SIG_set0(parsed, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return false
        }
        var der: UnsafeMutablePointer<UInt8>?
        let length = i2d_ECDSA_SIG(parsed, &der)
        guard length > 0, let der else { return false }
        defer { CRYPTO_free(der, #fileID, #line) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        return EVP_DigestVerify(context, der, Int(length), message, message.count) == 1
    }

    /// Parameter names and the curve's name as C strings that live as long as the program: `OSSL_PARAM_BLD` keeps
    /// the pointers it is given until `OSSL_PARAM_BLD_to_param` (and the built parameters keep the names), so a
    /// Swift string's temporary C string would dangle.
    static let groupParameter: StaticString = "group"
    static let publicParameter: StaticString = "pub"
    static let privateParameter: StaticString = "priv"
    static let curveName: StaticString = "prime256v1"

    static func cString(_ text: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// An OpenSSL key from bytes; free it with `EVP_PKEY_free`.
    static func pkey(publicKey: [UInt8], privateKey: [UInt8]?) throws(P256Key.Error) -> OpaquePointer {
        guard isPublicKey(publicKey) else { throw .invalidKey }
        guard let builder = OSSL_PARAM_BLD_new() else { throw .failed("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        var scalar: OpaquePointer?
        defer { if let scalar { BN_clear_free(scalar) } }
        if let privateKey {
            guard privateKey.count == 32, let bn = BN_bin2bn(privateKey, 32, nil) else { throw .invalidKey }
            scalar = bn
        }
        // The public point's bytes must stay put until the parameters are built: build them inside its closure.
        let params: UnsafeMutablePointer<OSSL_PARAM>? = publicKey.withUnsafeBytes { point -> UnsafeMutablePointer<OSSL_PARAM>? in
            guard OSSL_PARAM_BLD_push_utf8_string(builder, cString(groupParameter), cString(curveName), 0) == 1,
                OSSL_PARAM_BLD_push_octet_string(builder, cString(publicParameter), point.baseAddress, point.count) == 1
            else { return nil }
            if let scalar, OSSL_PARAM_BLD_push_BN(builder, cString(privateParameter), scalar) != 1 { return nil }
            return OSSL_PARAM_BLD_to_param(builder)
        }
        guard let params else { throw .failed("OSSL_PARAM_BLD") }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw .failed("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
            EVP_PKEY_fromdata(context, &key, privateKey == nil ? selectPublicKey : selectKeyPair, params) == 1, let key
        else { throw .invalidKey }
        return key
    }
}
