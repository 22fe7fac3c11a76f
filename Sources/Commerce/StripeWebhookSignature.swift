package import AgoraCore
import AgoraCrypto
package import Foundation

/// Stripe's webhook signatures, verified as Stripe documents them
/// (https://docs.stripe.com/webhooks#verify-manually):
///
/// - the `Stripe-Signature` header is a comma-separated list of `key=value` pairs: one `t` (the Unix time Stripe
///   signed at) and one or more `v1` (several while a secret is being rolled); other schemes (`v0`) are ignored;
/// - the signed payload is `"<t>.<raw request body>"`, the signature its HMAC-SHA256 under the endpoint secret, in
///   lower-case hex;
/// - the event is genuine when any `v1` equals the expected signature (compared in constant time), and recent when
///   `t` is no older than the tolerance (5 minutes by default) — checked after the signature, as Stripe's libraries do.
///
/// Groundwork for the commerce issue; it also signs, for the simulated provider and the tests.
package struct StripeWebhookSignature: Sendable {
    /// The endpoint's signing secret (`whsec_…`).
    let secret: [UInt8]
    /// How old a signature may be.
    package let tolerance: Duration

    package init(secret: String, tolerance: Duration = .seconds(300)) {
        self.secret = Array(secret.utf8)
        self.tolerance = tolerance
    }

    /// Why a webhook was refused; each is a 400 with code `invalid_signature` and this reason as the message.
    package enum Failure: String, Error, Sendable {
        case missingHeader = "No Stripe-Signature header"
        case malformedHeader = "The Stripe-Signature header has no valid timestamp"
        case noSignatures = "The Stripe-Signature header has no v1 signature"
        case noMatch = "No v1 signature matches the payload"
        case tooOld = "The signature's timestamp is outside the tolerance"

        package var error: AgoraError { AgoraError(.badRequest, code: "invalid_signature", rawValue) }
    }

    /// Checks `header` against `payload` (the body exactly as received) at time `now`.
    /// - Returns: the signed timestamp.
    package func verify(payload: some Collection<UInt8>, header: String?, now: Date = .now) -> Result<Int64, Failure> {
        guard let header, !header.isEmpty else { return .failure(.missingHeader) }
        var timestamp: Int64?
        var signatures: [Substring] = []
        for item in header.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            // The first t counts, as in Stripe's libraries.
            if pair[0] == "t", timestamp == nil {
                guard let value = Int64(pair[1]) else { return .failure(.malformedHeader) }
                timestamp = value
            } else if pair[0] == "v1" {
                signatures.append(pair[1])
            }
        }
        guard let timestamp else { return .failure(.malformedHeader) }
        guard !signatures.isEmpty else { return .failure(.noSignatures) }
        let expected = Array(signature(payload: payload, timestamp: timestamp).utf8)
        guard signatures.contains(where: { ConstantTime.equals(Array($0.utf8), expected) }) else { return .failure(.noMatch) }
        guard Double(timestamp) >= now.timeIntervalSince1970 - Double(tolerance.components.seconds) else { return .failure(.tooOld) }
        return .success(timestamp)
    }

    /// The `v1` signature of `payload` at `timestamp`: lower-case hex of HMAC-SHA256(secret, "t.payload").
    package func signature(payload: some Collection<UInt8>, timestamp: Int64) -> String {
        let signed = Array("\(timestamp).".utf8) + Array(payload)
        return Hex.encode(HMACSHA256.authenticationCode(for: signed, key: secret))
    }

    /// A complete `Stripe-Signature` header for `payload`, as Stripe would send it.
    package func header(payload: some Collection<UInt8>, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(signature(payload: payload, timestamp: timestamp))"
    }
}
