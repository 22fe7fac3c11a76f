import AgoraCore

/// The payment providers configured, by name, and the one new checkouts use.
package struct PaymentProviders: Sendable {
    package let byName: [String: any PaymentProvider]
    /// The provider of new checkouts.
    package let checkoutProvider: String

    package init(_ providers: [any PaymentProvider], checkoutProvider: String) {
        self.byName = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.checkoutProvider = checkoutProvider
    }

    /// The provider called `name`.
    /// - Throws: `AgoraError` (404 `unknown_payment_provider`) when none is configured by that name.
    package func provider(_ name: String) throws -> any PaymentProvider {
        guard let provider = byName[name] else {
            throw AgoraError(.notFound, code: "unknown_payment_provider", "No payment provider named '\(name)' is configured")
        }
        return provider
    }
}
