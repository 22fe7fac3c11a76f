import AgoraCrypto
import Testing

/// P-256 through OpenSSL: keys as bytes, ECDH that both sides agree on, ES256 signatures as JWS writes them.
struct P256Tests {
    @Test func aPrivateScalarGivesBackItsPublicPoint() throws {
        let key = try P256Key.generate()
        #expect(key.privateKey.count == 32 && key.publicKey.count == 65 && key.publicKey.first == 0x04)
        #expect(try P256Key(privateKey: key.privateKey) == key)
        #expect(P256.isPublicKey(key.publicKey))
    }

    @Test func bothSidesOfAnECDHAgree() throws {
        let alice = try P256Key.generate()
        let bob = try P256Key.generate()
        let one = try alice.sharedSecret(with: bob.publicKey)
        let two = try bob.sharedSecret(with: alice.publicKey)
        let other = try alice.sharedSecret(with: P256Key.generate().publicKey)
        #expect(one.count == 32 && one == two && one != other)
    }

    @Test func signaturesVerifyAndTamperingIsCaught() throws {
        let key = try P256Key.generate()
        let message = Array("eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZSJ9".utf8)
        let signature = try key.signature(for: message)
        #expect(signature.count == 64)
        #expect(P256.verify(signature: signature, for: message, publicKey: key.publicKey))
        #expect(!P256.verify(signature: signature, for: message + [0x2e], publicKey: key.publicKey))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!P256.verify(signature: flipped, for: message, publicKey: key.publicKey))
        let stranger = try P256Key.generate()
        #expect(!P256.verify(signature: signature, for: message, publicKey: stranger.publicKey))
    }

    @Test func bytesThatAreNotAKeyAreRefused() throws {
        let key = try P256Key.generate()
        var offCurve = key.publicKey
        offCurve[64] ^= 1
        #expect(!P256.isPublicKey(offCurve))
        #expect(!P256.isPublicKey(Array(key.publicKey.prefix(33))))
        #expect(!P256.isPublicKey([UInt8](repeating: 0, count: 65)))
        #expect(throws: P256Key.Error.invalidKey) { try key.sharedSecret(with: offCurve) }
        #expect(throws: P256Key.Error.invalidKey) { try P256Key(privateKey: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: P256Key.Error.invalidKey) { try P256Key(privateKey: [UInt8](repeating: 0xff, count: 32)) }
        #expect(throws: P256Key.Error.invalidKey) { try P256Key(privateKey: [1, 2, 3]) }
    }
}
