import AgoraCore
import AgoraCrypto
import Foundation
import Testing

@testable import Accounts

@Suite struct AccessTokenTests {
    let key = Array("0123456789abcdef0123456789abcdef".utf8)
    let account = UUID()

    func b64(_ s: String) -> String { Base64.encode(Array(s.utf8), url: true, padding: false) }
    func sign(_ input: String, key: [UInt8]) -> String {
        Base64.encode(HMACSHA256.authenticationCode(for: Array(input.utf8), key: key), url: true, padding: false)
    }
    var now: Int { Int(Date.now.timeIntervalSince1970) }
    func payload(exp: Int? = nil, iat: Int? = nil) -> String {
        #"{"sub":"\#(account.uuidString)","role":"buyer","sid":"s1","iat":\#(iat ?? now),"exp":\#(exp ?? now + 900)}"#
    }

    @Test func issuedTokensVerifyWithTheirClaims() throws {
        let tokens = AccessToken(key: key)
        let (token, claims) = tokens.issue(account: account, role: .seller, session: "abc")
        #expect(token.split(separator: ".").count == 3)
        let verified = try tokens.verify(token)
        #expect(verified == claims)
        #expect(verified.sub == account && verified.role == .seller && verified.sid == "abc")
        #expect(verified.exp - verified.iat == 900)
    }

    @Test func algNoneIsRefused() {
        let token = b64(#"{"alg":"none","typ":"JWT"}"#) + "." + b64(payload()) + "."
        #expect(throws: AccessToken.Failure.unsupportedAlgorithm) { try AccessToken(key: key).verify(token) }
        // Even with a "signature" attached, and with the algorithm name in another case.
        let signed = b64(#"{"alg":"None"}"#) + "." + b64(payload())
        #expect(throws: AccessToken.Failure.unsupportedAlgorithm) { try AccessToken(key: key).verify(signed + "." + sign(signed, key: key)) }
    }

    @Test func otherAlgorithmsAreRefusedEvenWithAValidHMAC() {
        for alg in ["HS512", "RS256", "ES256", "hs256"] {
            let input = b64(#"{"alg":"\#(alg)","typ":"JWT"}"#) + "." + b64(payload())
            #expect(throws: AccessToken.Failure.unsupportedAlgorithm) { try AccessToken(key: key).verify(input + "." + sign(input, key: key)) }
        }
        let critical = b64(#"{"alg":"HS256","crit":["exp"]}"#) + "." + b64(payload())
        #expect(throws: AccessToken.Failure.unsupportedAlgorithm) { try AccessToken(key: key).verify(critical + "." + sign(critical, key: key)) }
    }

    @Test func aWrongSignatureOrATamperedPayloadIsRefused() {
        let tokens = AccessToken(key: key)
        let (token, _) = tokens.issue(account: account, role: .buyer, session: "s")
        let parts = token.split(separator: ".").map(String.init)
        // Signed with another key.
        let other = AccessToken(key: Array("another-key-another-key-another-key".utf8)).issue(account: account, role: .buyer, session: "s").token
        #expect(throws: AccessToken.Failure.badSignature) { try tokens.verify(other) }
        // Payload swapped for one that claims admin, signature kept.
        let forged = parts[0] + "." + b64(payload().replacingOccurrences(of: "buyer", with: "admin")) + "." + parts[2]
        #expect(throws: AccessToken.Failure.badSignature) { try tokens.verify(forged) }
        // Signature removed or truncated.
        #expect(throws: AccessToken.Failure.badSignature) { try tokens.verify(parts[0] + "." + parts[1] + ".") }
        #expect(throws: AccessToken.Failure.self) { try tokens.verify(parts[0] + "." + parts[1] + "." + parts[2].dropLast(4)) }
    }

    @Test func expiredAndFutureTokensAreRefused() {
        let expired = b64(#"{"alg":"HS256","typ":"JWT"}"#) + "." + b64(payload(exp: now - 1, iat: now - 901))
        #expect(throws: AccessToken.Failure.expired) { try AccessToken(key: key).verify(expired + "." + sign(expired, key: key)) }
        // A correctly signed token whose exp was edited is a bad signature, not a valid longer token.
        let (token, _) = AccessToken(key: key).issue(account: account, role: .buyer, session: "s1")
        let parts = token.split(separator: ".").map(String.init)
        let extended = parts[0] + "." + b64(payload(exp: now + 86_400 * 365)) + "." + parts[2]
        #expect(throws: AccessToken.Failure.badSignature) { try AccessToken(key: key).verify(extended) }
        let future = b64(#"{"alg":"HS256"}"#) + "." + b64(payload(exp: now + 7200, iat: now + 3600))
        #expect(throws: AccessToken.Failure.notYetValid) { try AccessToken(key: key).verify(future + "." + sign(future, key: key)) }
    }

    @Test func malformedTokensAreRefused() {
        let tokens = AccessToken(key: key)
        for token in ["", "a.b", "a.b.c.d", "!!.??.**", String(repeating: "a", count: 5000)] {
            #expect(throws: AccessToken.Failure.malformed) { try tokens.verify(token) }
        }
        // Signed, but the payload lacks claims.
        let input = b64(#"{"alg":"HS256"}"#) + "." + b64(#"{"sub":"x"}"#)
        #expect(throws: AccessToken.Failure.malformed) { try tokens.verify(input + "." + sign(input, key: key)) }
    }
}
