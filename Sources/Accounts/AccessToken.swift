package import AgoraCore
import AgoraCrypto
package import Foundation

/// Short-lived access tokens: JWTs signed with HMAC-SHA256 (RFC 7519, RFC 7515).
///
/// The algorithm is pinned. A token is accepted only if its header says exactly `"alg":"HS256"`, so `none`, the
/// RS/ES family (whose "public key" an attacker could pass off as our HMAC secret) and anything unknown are refused
/// before the signature is even looked at; the signature is compared in constant time.
package struct AccessToken: Sendable {
    /// The claims Agora puts in a token.
    package struct Claims: Codable, Sendable, Equatable {
        /// The account id.
        package var sub: UUID
        package var role: Role
        /// The session (refresh-token family) the token belongs to, so logout can revoke it.
        package var sid: String
        /// Issued at, seconds since 1970.
        package var iat: Int
        /// Expires at, seconds since 1970.
        package var exp: Int
    }

    /// Why a token was refused.
    package enum Failure: Error, Equatable {
        case malformed, unsupportedAlgorithm, badSignature, expired, notYetValid
    }

    /// Tokens larger than this are refused unread; ours are about 250 bytes.
    static let maxLength = 4096
    /// Allowed clock difference between instances for `iat`.
    static let leeway = 60

    private let key: [UInt8]
    /// Lifetime of issued tokens.
    package let lifetime: Duration

    /// - Parameters:
    ///   - key: the HMAC key (`AGORA_JWT_SECRET`, at least 32 bytes).
    ///   - lifetime: how long an issued token is valid (15 minutes by default).
    package init(key: [UInt8], lifetime: Duration = .seconds(900)) {
        self.key = key
        self.lifetime = lifetime
    }

    /// Issues a signed token for `identity`, valid from `now` for `lifetime`.
    package func issue(account: UUID, role: Role, session: String, now: Date = .now) -> (token: String, claims: Claims) {
        let iat = Int(now.timeIntervalSince1970)
        let claims = Claims(sub: account, role: role, sid: session, iat: iat, exp: iat + Int(lifetime.components.seconds))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding a struct of strings and integers cannot fail.
        let payload = try! encoder.encode(claims)
        let signingInput = Self.header + "." + Base64.encode(payload, url: true, padding: false)
        let signature = HMACSHA256.authenticationCode(for: Array(signingInput.utf8), key: key)
        return (signingInput + "." + Base64.encode(signature, url: true, padding: false), claims)
    }

    /// Verifies `token` and returns its claims.
    /// - Throws: `Failure` saying why the token is refused.
    package func verify(_ token: String, now: Date = .now) throws(Failure) -> Claims {
        guard token.utf8.count <= Self.maxLength else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64.decode(String(parts[0]), url: true),
            let signature = Base64.decode(String(parts[2]), url: true)
        else { throw .malformed }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else { throw .malformed }
        // Pinned: only the exact algorithm we sign with, and no extensions we would have to understand.
        guard header.alg == "HS256", header.crit == nil, header.typ == nil || header.typ == "JWT" else { throw .unsupportedAlgorithm }
        let signingInput = token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)
        let expected = HMACSHA256.authenticationCode(for: signingInput, key: key)
        guard ConstantTime.equals(expected, signature) else { throw .badSignature }
        guard let payload = Base64.decode(String(parts[1]), url: true),
            let claims = try? JSONDecoder().decode(Claims.self, from: Data(payload)), !claims.sid.isEmpty
        else { throw .malformed }
        let seconds = Int(now.timeIntervalSince1970)
        guard seconds < claims.exp else { throw .expired }
        guard claims.iat <= seconds + Self.leeway else { throw .notYetValid }
        return claims
    }

    /// `{"alg":"HS256","typ":"JWT"}`, encoded once.
    private static let header = Base64.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8), url: true, padding: false)

    private struct Header: Decodable {
        var alg: String
        var typ: String?
        var crit: [String]?
    }
}
