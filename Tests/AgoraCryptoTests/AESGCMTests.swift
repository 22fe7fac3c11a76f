import AgoraCrypto
import Testing

private func hex(_ s: String) -> [UInt8] { Hex.decode(s)! }

@Suite struct AESGCMTests {
    static let key15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let plain15 =
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"

    /// AES-256 test cases 13–16 of McGrew & Viega, "The Galois/Counter Mode of Operation", the vectors NIST's GCM validation uses.
    @Test(arguments: [
        ("0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"),
        ("0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
         "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"),
        (key15, "cafebabefacedbaddecaf888", plain15, "",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
         "b094dac5d93471bdec1a502270e3cc6c"),
        (key15, "cafebabefacedbaddecaf888", String(plain15.prefix(120)), "feedfacedeadbeeffeedfacedeadbeefabaddad2",
         "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
         "76fc6ece0f4e1768cddf8853bb2d551b"),
    ])
    func publishedVectors(key: String, nonce: String, plaintext: String, aad: String, ciphertext: String, tag: String) throws {
        let sealed = try AESGCM.seal(hex(plaintext), key: hex(key), nonce: hex(nonce), aad: hex(aad))
        #expect(Hex.encode(sealed.ciphertext) == ciphertext)
        #expect(Hex.encode(sealed.tag) == tag)
        let opened = try AESGCM.open(hex(ciphertext), tag: hex(tag), key: hex(key), nonce: hex(nonce), aad: hex(aad))
        #expect(opened == hex(plaintext))
    }

    @Test func sealOpenRoundTripWithRandomNonce() throws {
        let key = SecureRandom.bytes(32)
        let message = Array("licence key ABCD-1234".utf8)
        let a = try AESGCM.seal(message, key: key, authenticating: [1, 2])
        let b = try AESGCM.seal(message, key: key, authenticating: [1, 2])
        #expect(a != b)  // fresh nonce each time
        #expect(a.count == 12 + message.count + 16)
        #expect(try AESGCM.open(a, key: key, authenticating: [1, 2]) == message)
    }

    @Test func everyFlippedBitFailsToOpen() throws {
        let key = SecureRandom.bytes(32)
        let box = try AESGCM.seal(Array("secret".utf8), key: key)
        for bit in 0..<(box.count * 8) {
            var tampered = box
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: AESGCM.Error.authenticationFailed) { try AESGCM.open(tampered, key: key) }
        }
        #expect(throws: AESGCM.Error.authenticationFailed) { try AESGCM.open(box, key: key, authenticating: [0]) }
        #expect(throws: AESGCM.Error.authenticationFailed) { try AESGCM.open(box, key: SecureRandom.bytes(32)) }
        #expect(throws: AESGCM.Error.invalidKey) { try AESGCM.open(box, key: [1, 2, 3]) }
    }
}
