import AgoraCrypto
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [
        // RFC 4648 §10.
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func urlAlphabetAndOptionalPadding() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf]
        #expect(Base64.encode(bytes) == "+/+/")
        #expect(Base64.encode(bytes, url: true) == "-_-_")
        #expect(Base64.encode([0xfb], url: true, padding: false) == "-w")
        #expect(Base64.decode("-w", url: true) == [0xfb])
        #expect(Base64.decode("-w==", url: true) == [0xfb])
    }

    @Test(arguments: ["Zg", "Zg=", "Zh==", "Z===", "Zm9v!", "Zm9vYg==Zg==", "-_-_", "A"])
    func rejectsNonCanonicalOrInvalid(input: String) {
        #expect(Base64.decode(input) == nil)
    }

    @Test func roundTripsEveryLength() {
        for n in 0..<70 {
            let bytes = SecureRandom.bytes(n)
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.decode(Base64.encode(bytes, url: true, padding: false), url: true) == bytes)
        }
    }
}
