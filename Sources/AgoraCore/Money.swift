/// An amount of money in integer minor units (cents) of an ISO 4217 currency. Never a floating-point number.
package struct Money: Sendable, Hashable, Codable {
    /// Minor units: 12999 is 129.99 in a two-decimal currency.
    package var amount: Int64
    /// ISO 4217 code, upper case (`ZAR`).
    package var currency: String

    package init(amount: Int64, currency: String) {
        self.amount = amount
        self.currency = currency
    }

    /// Whether `code` has the shape of an ISO 4217 code (three upper-case letters).
    package static func isCurrencyCode(_ code: String) -> Bool {
        code.utf8.count == 3 && code.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    }
}

extension Money {
    /// The amount as a decimal number of major units with two decimals (`12999` → `"129.99"`, `-5` → `"-0.05"`),
    /// as schema.org offers and OpenGraph prices write it. Every currency Agora sells in has two decimals (the PWA
    /// divides by 100 as well).
    package var decimalString: String {
        let magnitude = amount.magnitude
        let cents = magnitude % 100
        return "\(amount < 0 ? "-" : "")\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}
