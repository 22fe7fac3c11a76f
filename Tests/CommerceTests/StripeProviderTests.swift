import AgoraCore
import AgoraNet
import Foundation
import Testing

@testable import Commerce

/// `StripeProvider` without the network: its configuration, what it shows of itself, and the checkout form it builds.
struct StripeProviderTests {
    @Test func theProviderNeverShowsItsKey() throws {
        let key = "sk_live_51SuperSecretKeyValue"
        let provider = try StripeProvider(secretKey: key, webhookSecret: "whsec_hidden_value")
        #expect(provider.name == "stripe")
        var dumped = ""
        dump(provider, to: &dumped)
        for text in [String(describing: provider), String(reflecting: provider), "\(provider)", dumped] {
            #expect(!text.contains(key) && !text.contains("whsec_hidden"), "\(text)")
        }
        #expect(String(describing: provider) == "StripeProvider(https://api.stripe.com:443)")
    }

    @Test func thePlainHTTPAPIIsOnlyForThisMachine() throws {
        #expect(throws: HTTPClientError.self) { try StripeProvider(secretKey: "sk_test_x", webhookSecret: "whsec_x", apiBaseURL: "http://api.stripe.com") }
        #expect(throws: HTTPClientError.self) { try StripeProvider(secretKey: "sk_test_x", webhookSecret: "whsec_x", apiBaseURL: "ftp://127.0.0.1") }
        _ = try StripeProvider(secretKey: "sk_test_x", webhookSecret: "whsec_x", apiBaseURL: "http://127.0.0.1:12111")
    }

    @Test func expiresAtStaysInStripesWindowWhateverTheReservationSays() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000.25)
        let provider = try StripeProvider(secretKey: "sk_test_x", webhookSecret: "whsec_x", now: { now })
        let earliest: Int64 = 1_800_000_001 + 31 * 60
        let latest: Int64 = 1_800_000_000 + 24 * 3600 - 60
        #expect(provider.expiresAt(now) == earliest)
        #expect(provider.expiresAt(.distantPast) == earliest)
        #expect(provider.expiresAt(Date(timeIntervalSince1970: -1e300)) == earliest)
        #expect(provider.expiresAt(now.addingTimeInterval(3600.9)) == 1_800_003_601)
        #expect(provider.expiresAt(.distantFuture) == latest)
        #expect(provider.expiresAt(Date(timeIntervalSince1970: 1e300)) == latest)
    }

    @Test func theCheckoutFormNeedsLinesThatAddUpToTheTotal() throws {
        let provider = try StripeProvider(secretKey: "sk_test_x", webhookSecret: "whsec_x")
        func request(_ lines: [PaymentRequest.Line], total: Int64) -> PaymentRequest {
            PaymentRequest(orderID: UUID(), currency: "EUR", total: total, lines: lines, buyerEmail: nil, successURL: "https://s/ok", cancelURL: "https://s/no", expiresAt: Date())
        }
        let codes: [String?] = [
            request([], total: 0), request([.init(name: "a", unitAmount: 5, quantity: 0)], total: 0),
            request([.init(name: "a", unitAmount: 5, quantity: 2)], total: 11), request([.init(name: "a", unitAmount: .max, quantity: 2)], total: -2),
        ].map { request in
            do {
                _ = try provider.checkoutForm(request)
                return nil
            } catch {
                return (error as? AgoraError)?.code
            }
        }
        #expect(codes == ["invalid_payment_request", "invalid_payment_request", "payment_amount_mismatch", "payment_amount_mismatch"])
        let form = try provider.checkoutForm(request([.init(name: "a", unitAmount: 5, quantity: 2), .init(name: "b", unitAmount: 1, quantity: 1)], total: 11))
        #expect(form.pairs.first { $0.key == "customer_email" } == nil)
        #expect(form.pairs.first { $0.key == "line_items[1][price_data][currency]" }?.value == "eur")
    }
}
