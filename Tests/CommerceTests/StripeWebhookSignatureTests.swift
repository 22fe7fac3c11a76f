import AgoraCore
import AgoraTestSupport
import Commerce
import Foundation
import Testing

/// Our verifier against the `stripe` Python package's own signing and verification code, both ways.
struct StripeWebhookSignatureTests {
    static let secret = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
    static let payload = #"{"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_1","client_reference_id":"ord_é"}}}"#

    /// Runs the stripe package: `sign` prints Stripe's signature of the payload at the timestamp, `verify` exits 0
    /// only when `WebhookSignature.verify_header` accepts the header with a 300 s tolerance.
    static func stripe(_ mode: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let python = try #require(TestTools.python(), "python3 with the stripe package (scripts/interop-deps.sh) is needed")
        let script = """
            import sys, stripe
            from stripe import WebhookSignature
            mode, secret, payload = sys.argv[1], sys.argv[2], sys.argv[3]
            if mode == "sign":
                print(WebhookSignature._compute_signature("%d.%s" % (int(sys.argv[4]), payload), secret))
            elif mode == "refusals":
                # argv[4]: a good header used with a changed body; argv[5:]: headers to refuse with this body.
                cases = [(payload + " ", sys.argv[4])] + [(payload, h) for h in sys.argv[5:]]
                results = []
                for body, header in cases:
                    try:
                        WebhookSignature.verify_header(body, header, secret, tolerance=300)
                        results.append("accepted")
                    except stripe.SignatureVerificationError:
                        results.append("refused")
                print(" ".join(results))
            else:
                try:
                    WebhookSignature.verify_header(payload, sys.argv[4], secret, tolerance=300)
                    print("ok")
                except stripe.SignatureVerificationError as error:
                    print("refused:", error)
                    sys.exit(3)
            """
        let outcome = try await ChildProcess.run(python, ["-c", script, mode] + arguments, timeout: .seconds(60))
        return (outcome.status, outcome.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    @Test func stripeSignaturesVerifyHere() async throws {
        let timestamp = now
        let theirs = try await Self.stripe("sign", [Self.secret, Self.payload, String(timestamp)])
        #expect(theirs.status == 0)
        let verifier = StripeWebhookSignature(secret: Self.secret)
        #expect(verifier.signature(payload: Array(Self.payload.utf8), timestamp: timestamp) == theirs.output)
        // As Stripe sends it, with a v0 and a second (rolled) v1 around the real one.
        let header = "t=\(timestamp),v0=deadbeef,v1=\(String(repeating: "0", count: 64)),v1=\(theirs.output)"
        #expect(try verifier.verify(payload: Array(Self.payload.utf8), header: header).get() == timestamp)
    }

    @Test func ourSignaturesVerifyWithStripe() async throws {
        let verifier = StripeWebhookSignature(secret: Self.secret)
        let header = verifier.header(payload: Array(Self.payload.utf8), timestamp: now)
        let accepted = try await Self.stripe("verify", [Self.secret, Self.payload, header])
        #expect(accepted.status == 0 && accepted.output == "ok", "\(accepted.output)")
        // And stripe refuses what we refuse: a changed body, an old timestamp, another secret. One interpreter for
        // the three (importing stripe is the slow part).
        let old = verifier.header(payload: Array(Self.payload.utf8), timestamp: now - 301)
        let otherSecret = StripeWebhookSignature(secret: "whsec_other").header(payload: Array(Self.payload.utf8), timestamp: now)
        let refused = try await Self.stripe("refusals", [Self.secret, Self.payload, header, old, otherSecret])
        #expect(refused.status == 0 && refused.output == "refused refused refused", "\(refused.output)")
    }

    @Test func refusalsNameTheirReason() {
        let verifier = StripeWebhookSignature(secret: Self.secret)
        let body = Array(Self.payload.utf8)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let good = verifier.header(payload: body, timestamp: 1_800_000_000)
        #expect(verifier.verify(payload: body, header: good, now: at) == .success(1_800_000_000))
        #expect(verifier.verify(payload: body, header: nil, now: at) == .failure(.missingHeader))
        #expect(verifier.verify(payload: body, header: "v1=abc", now: at) == .failure(.malformedHeader))
        #expect(verifier.verify(payload: body, header: "t=soon,v1=abc", now: at) == .failure(.malformedHeader))
        #expect(verifier.verify(payload: body, header: "t=1800000000,v0=abc", now: at) == .failure(.noSignatures))
        #expect(verifier.verify(payload: body + [0x20], header: good, now: at) == .failure(.noMatch))
        // Upper-case hex is not what Stripe sends, and not accepted.
        let upper = "t=1800000000,v1=" + verifier.signature(payload: body, timestamp: 1_800_000_000).uppercased()
        #expect(verifier.verify(payload: body, header: upper, now: at) == .failure(.noMatch))
        // Five minutes is in time; a second more is not. The signature is checked first, as Stripe does.
        #expect(verifier.verify(payload: body, header: good, now: at.addingTimeInterval(300)) == .success(1_800_000_000))
        #expect(verifier.verify(payload: body, header: good, now: at.addingTimeInterval(301)) == .failure(.tooOld))
        #expect(verifier.verify(payload: body + [0x20], header: good, now: at.addingTimeInterval(301)) == .failure(.noMatch))
        #expect(StripeWebhookSignature.Failure.noMatch.error.code == "invalid_signature")
    }
}
