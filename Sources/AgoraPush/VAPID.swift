package import AgoraCrypto
package import Foundation

/// Voluntary Application Server Identification (RFC 8292): the server's P-256 key, whose public half browsers are
/// given as `applicationServerKey` when they subscribe, and a JWT signed with it (ES256) on every push, so a push
/// service accepts pushes to those subscriptions only from us.
package struct VAPID: Sendable {
    package let key: P256Key
    /// A contact for the push service's operators: `mailto:` or an `https:` URL (`AGORA_VAPID_SUBJECT`).
    package let subject: String

    package init(key: P256Key, subject: String) {
        self.key = key
        self.subject = subject
    }

    /// The public key as the PWA passes it to `pushManager.subscribe` and as the `k` parameter: base64url, no padding.
    package var publicKey: String { Base64.encode(key.publicKey, url: true, padding: false) }

    /// `Authorization: vapid t=<JWT>, k=<public key>` for a push to `audience` (the endpoint's origin), valid for
    /// `lifetime` (at most 24 hours, RFC 8292 section 2).
    package func authorization(audience: String, now: Date = Date(), lifetime: TimeInterval = 12 * 3600) throws -> String {
        let header = Base64.encode(Array(#"{"typ":"JWT","alg":"ES256"}"#.utf8), url: true, padding: false)
        struct Claims: Encodable {
            var aud: String
            var exp: Int
            var sub: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let claims = try encoder.encode(Claims(aud: audience, exp: Int(now.timeIntervalSince1970 + min(lifetime, 86_400)), sub: subject))
        let signingInput = header + "." + Base64.encode(Array(claims), url: true, padding: false)
        let signature = try key.signature(for: Array(signingInput.utf8))
        // No space after the comma: RFC 7235 allows one, and some verifiers (py_vapid) split on the last space.
        return "vapid t=\(signingInput).\(Base64.encode(signature, url: true, padding: false)),k=\(publicKey)"
    }
}
