package import Foundation

/// A token sellers may ask to be paid in: native SOL (no mint, 9 decimals) or an SPL token by its mint.
package struct SolanaToken: Sendable, Equatable {
    /// What buyers and sellers read (`SOL`, `USDC`): upper-case letters and digits.
    package var symbol: String
    /// The SPL token's mint; nil for native SOL.
    package var mint: SolanaPublicKey?
    /// Digits of the smallest unit: 9 for SOL (lamports), 6 for USDC.
    package var decimals: Int

    package init(symbol: String, mint: SolanaPublicKey?, decimals: Int) {
        self.symbol = symbol
        self.mint = mint
        self.decimals = decimals
    }

    package static let sol = SolanaToken(symbol: "SOL", mint: nil, decimals: 9)
    /// USDC on Solana's mainnet.
    package static let usdc = SolanaToken(symbol: "USDC", mint: SolanaPublicKey(base58: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"), decimals: 6)

    /// How the token is named in a wallet row and a payment row: `SOL`, or the mint.
    package var key: String { mint?.base58 ?? "SOL" }
}

/// A configured exchange rate: one major unit of `currency` buys `rate` tokens, written as a decimal.
package struct SolanaRate: Sendable, Equatable {
    package var currency: String
    package var token: String
    /// The decimal as configured (`1.0842`): stored on every payment as the buyer was shown it.
    package var text: String
    /// `text` as an integer and a power of ten: 1.0842 is 10842 and 4.
    package var mantissa: UInt64
    package var scale: Int

    /// Parses `1.0842`: digits with at most one point and 18 decimals, greater than zero.
    package init?(currency: String, token: String, text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.utf8.allSatisfy { (48...57).contains($0) } }),
            parts.count == 1 || (1...18).contains(parts[1].utf8.count), parts.joined().utf8.count <= 19,
            let mantissa = UInt64(parts.joined()), mantissa > 0
        else { return nil }
        self.currency = currency
        self.token = token
        self.text = text
        self.mantissa = mantissa
        self.scale = parts.count == 2 ? parts[1].utf8.count : 0
    }

    /// The token amount, in its smallest unit, that pays `minor` units of the currency (two decimals, as every
    /// currency Agora sells in), rounded up so the seller never receives less than the price. Nil when it would not
    /// fit a u64 token amount (and PostgreSQL's bigint).
    package func atomicAmount(minor: Int64, decimals: Int) -> Int64? {
        guard minor >= 0, (0...18).contains(decimals) else { return nil }
        // minor / 100 × mantissa / 10^scale × 10^decimals, exactly in 128 bits, then rounded up.
        let numerator = UInt128(UInt64(minor)).multipliedReportingOverflow(by: UInt128(mantissa))
        guard !numerator.overflow else { return nil }
        let scaled = numerator.partialValue.multipliedReportingOverflow(by: Self.power(decimals))
        guard !scaled.overflow else { return nil }
        let denominator = 100 * Self.power(scale)
        let (quotient, remainder) = scaled.partialValue.quotientAndRemainder(dividingBy: denominator)
        let amount = quotient + (remainder > 0 ? 1 : 0)
        guard amount <= UInt128(Int64.max) else { return nil }
        return Int64(amount)
    }

    static func power(_ exponent: Int) -> UInt128 {
        (0..<exponent).reduce(UInt128(1)) { value, _ in value * 10 }
    }
}

/// Settings of Solana Pay (`AGORA_SOLANA_*`, README). Solana Pay is offered when an RPC endpoint is set.
package struct SolanaPaySettings: Sendable {
    /// The JSON-RPC endpoint the confirmation job asks (`AGORA_SOLANA_RPC_URL`); nil switches Solana Pay off.
    package var rpcURL: String?
    /// A CA bundle for the endpoint's certificate (`AGORA_SOLANA_CA_FILE`), when it is not a public one.
    package var caFile: String?
    /// Bounds each RPC call (`AGORA_SOLANA_RPC_TIMEOUT_SECONDS`, 10).
    package var rpcTimeout: Duration = .seconds(10)
    /// How often each open payment's reference is looked up (`AGORA_SOLANA_POLL_MS`, 3 s).
    package var pollInterval: Duration = .seconds(3)
    /// Payments checked in one round (`AGORA_SOLANA_BATCH`, 50) and signatures asked per reference (20).
    package var batch = 50
    package var signaturesPerReference = 20
    /// The tokens sellers may choose (`AGORA_SOLANA_TOKENS`, `USDC=<mint>:6`; SOL is always there).
    package var tokens: [SolanaToken] = [.sol, .usdc]
    /// Rates per currency and token (`AGORA_SOLANA_RATES`, `ZAR/USDC=0.055,ZAR/SOL=0.00029`).
    package var rates: [SolanaRate] = []
    /// Where the rates come from and when they were taken (`AGORA_SOLANA_RATE_SOURCE`, `AGORA_SOLANA_RATE_AT`):
    /// shown to the buyer and stored on each payment.
    package var rateSource = "configured"
    package var rateAt = Date()
    /// The `label` of every transfer request (`AGORA_SOLANA_LABEL`, `Agora`).
    package var label = "Agora"
    /// A transfer seen `confirmed` holds its order's reservation this long past its end, waiting to be finalized
    /// (`AGORA_SOLANA_CONFIRM_GRACE_SECONDS`, 120).
    package var confirmGrace: Duration = .seconds(120)
    /// How long after a payment expired its reference is still watched, so a late transfer is recorded and raised to
    /// the administrators (`AGORA_SOLANA_LATE_WATCH_SECONDS`, 1 day).
    package var lateWatch: Duration = .seconds(86_400)

    package init(rpcURL: String? = nil) {
        self.rpcURL = rpcURL
    }

    package var isEnabled: Bool { rpcURL != nil }

    /// The token named by a symbol (`USDC`, `sol`) or a mint.
    package func token(_ name: String) -> SolanaToken? {
        tokens.first { $0.symbol.caseInsensitiveCompare(name) == .orderedSame || $0.mint?.base58 == name }
    }

    /// The token of a wallet row (`SOL` or a mint).
    package func token(key: String) -> SolanaToken? { tokens.first { $0.key == key } }

    package func rate(currency: String, token: SolanaToken) -> SolanaRate? {
        rates.first { $0.currency == currency && $0.token == token.symbol }
    }

    /// Parses `USDC=EPjF…:6,BONK=DezX…:5` into tokens (SOL is added first).
    package static func parseTokens(_ text: String) -> [SolanaToken]? {
        var tokens = [SolanaToken.sol]
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, (1...10).contains(pair[0].utf8.count), pair[0] != "SOL",
                pair[0].utf8.allSatisfy({ (65...90).contains($0) || (48...57).contains($0) })
            else { return nil }
            let spec = pair[1].split(separator: ":").map(String.init)
            guard spec.count == 2, let mint = SolanaPublicKey(base58: spec[0]), let decimals = Int(spec[1]), (0...18).contains(decimals),
                !tokens.contains(where: { $0.symbol == pair[0] || $0.mint == mint })
            else { return nil }
            tokens.append(SolanaToken(symbol: pair[0], mint: mint, decimals: decimals))
        }
        return tokens
    }

    /// Parses `ZAR/USDC=0.055,ZAR/SOL=0.00029` against the known tokens.
    package static func parseRates(_ text: String, tokens: [SolanaToken]) -> [SolanaRate]? {
        var rates: [SolanaRate] = []
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { return nil }
            let names = pair[0].split(separator: "/").map(String.init)
            guard names.count == 2, names[0].utf8.count == 3, names[0].utf8.allSatisfy({ (65...90).contains($0) }),
                tokens.contains(where: { $0.symbol == names[1] }), let rate = SolanaRate(currency: names[0], token: names[1], text: pair[1]),
                !rates.contains(where: { $0.currency == names[0] && $0.token == names[1] })
            else { return nil }
            rates.append(rate)
        }
        return rates
    }
}
