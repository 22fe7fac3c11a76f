import AgoraTestSupport
import Commerce
import Foundation
import Testing

/// Stripe's bracket notation and the percent-encoding of its form bodies.
struct StripeFormTests {
    static let sample = StripeForm([
        .init("mode", "payment"),
        .init("metadata", .object([.init("order_id", "3f2c")])),
        .init(
            "line_items",
            .list([
                .object([
                    .init("price_data", .object([.init("currency", "eur"), .init("unit_amount", 1250)])),
                    .init("quantity", 2),
                ]),
                .object([.init("quantity", 1)]),
            ])),
        .init("expand", .list(["payment_intent", "customer"])),
        .init("empty", .object([])),
        .init("none", .list([])),
    ])

    @Test func nestedValuesFlattenToBracketedKeysInOrder() {
        #expect(Self.sample.pairs.map { "\($0.key)=\($0.value)" } == [
            "mode=payment",
            "metadata[order_id]=3f2c",
            "line_items[0][price_data][currency]=eur",
            "line_items[0][price_data][unit_amount]=1250",
            "line_items[0][quantity]=2",
            "line_items[1][quantity]=1",
            "expand[0]=payment_intent",
            "expand[1]=customer",
        ])
    }

    @Test func theBodyPercentEncodesKeysAndValues() {
        #expect(Self.sample.encoded == [
            "mode=payment", "metadata%5Border_id%5D=3f2c", "line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=eur",
            "line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=1250", "line_items%5B0%5D%5Bquantity%5D=2",
            "line_items%5B1%5D%5Bquantity%5D=1", "expand%5B0%5D=payment_intent", "expand%5B1%5D=customer",
        ].joined(separator: "&"))
        #expect(StripeForm([]).encoded == "")
    }

    @Test func percentEncodingKeepsOnlyUnreservedCharacters() {
        #expect(StripeForm.percentEncode("AZaz09-._~") == "AZaz09-._~")
        #expect(StripeForm.percentEncode("a b&c=d+e") == "a+b%26c%3Dd%2Be")
        #expect(StripeForm.percentEncode("/?#[]@!$'()*,;:%") == "%2F%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B%3A%25")
        // UTF-8, byte by byte, upper-case hex: é, €, 🎉.
        #expect(StripeForm.percentEncode("é€🎉") == "%C3%A9%E2%82%AC%F0%9F%8E%89")
        #expect(StripeForm.percentEncode("line\r\nbreak\t") == "line%0D%0Abreak%09")
        #expect(StripeForm.percentEncode("https://shop.example/orders/1?paid=1&s={CHECKOUT_SESSION_ID}") ==
            "https%3A%2F%2Fshop.example%2Forders%2F1%3Fpaid%3D1%26s%3D%7BCHECKOUT_SESSION_ID%7D")
        #expect(StripeForm([.init("n", -5)]).encoded == "n=-5")
    }

    static var hasStripePython: Bool { StripeInterop.isAvailable }

    /// stripe-python encodes the same parameters byte for byte the same (`urlencode(_api_encode(params))`, what its
    /// requestor sends).
    @Test(.enabled(if: hasStripePython)) func stripePythonEncodesTheSameParametersIdentically() async throws {
        let name = "Zoë's \"Tee\" & mug, 50% off = 🎉 (a+b)/c~*"
        let form = StripeForm([
            .init("mode", "payment"),
            .init("client_reference_id", "5b0e6b8e-1d1c-4f43-9c5e-0d1f2a3b4c5d"),
            .init("line_items", .list([
                .object([
                    .init("price_data", .object([
                        .init("currency", "eur"), .init("product_data", .object([.init("name", .string(name))])), .init("unit_amount", 1999),
                    ])),
                    .init("quantity", 3),
                ]),
            ])),
            .init("customer_email", "ada+shop@example.com"),
            .init("success_url", "https://shop.example/paid?o=1&s={CHECKOUT_SESSION_ID}"),
            .init("expires_at", 1_800_001_860),
        ])
        let script = """
            import json, sys
            from urllib.parse import urlencode
            from stripe._encode import _api_encode
            params = {
                "mode": "payment",
                "client_reference_id": "5b0e6b8e-1d1c-4f43-9c5e-0d1f2a3b4c5d",
                "line_items": [{"price_data": {"currency": "eur", "product_data": {"name": sys.argv[1]}, "unit_amount": 1999}, "quantity": 3}],
                "customer_email": "ada+shop@example.com",
                "success_url": "https://shop.example/paid?o=1&s={CHECKOUT_SESSION_ID}",
                "expires_at": 1800001860,
            }
            sys.stdout.write(urlencode(list(_api_encode(params))))
            """
        let outcome = try await StripeInterop.run(["-c", script, name])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(form.encoded == outcome.output)
    }
}

/// The `stripe` Python package (scripts/interop-deps.sh installs it), for checks against Stripe's own code.
enum StripeInterop {
    static let isAvailable: Bool = {
        guard let python = TestTools.python() else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import stripe, stripe._encode"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    static func run(_ arguments: [String]) async throws -> ChildProcess.Outcome {
        let python = try #require(TestTools.python())
        return try await ChildProcess.run(python, arguments, timeout: .seconds(60))
    }
}
