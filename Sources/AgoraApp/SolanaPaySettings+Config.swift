import Commerce
import Foundation

extension SolanaPaySettings {
    /// Reads `AGORA_SOLANA_*` (README, "Solana Pay"). Solana Pay is on when `AGORA_SOLANA_RPC_URL` is set.
    static func read(
        env: [String: String],
        string: (String, String) -> String,
        int: (String, Int, ClosedRange<Int>) -> Int,
        problem: (String) -> Void
    ) -> SolanaPaySettings {
        var settings = SolanaPaySettings()
        let url = string("AGORA_SOLANA_RPC_URL", "")
        if !url.isEmpty {
            if let parts = URLComponents(string: url), ["https", "http"].contains(parts.scheme?.lowercased() ?? ""), parts.host?.isEmpty == false {
                settings.rpcURL = url
            } else {
                problem("AGORA_SOLANA_RPC_URL must be an http(s) URL")
            }
        }
        settings.caFile = env["AGORA_SOLANA_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        settings.rpcTimeout = .seconds(int("AGORA_SOLANA_RPC_TIMEOUT_SECONDS", 10, 1...120))
        settings.pollInterval = .milliseconds(int("AGORA_SOLANA_POLL_MS", 3000, 100...600_000))
        settings.batch = int("AGORA_SOLANA_BATCH", 50, 1...1000)
        settings.signaturesPerReference = int("AGORA_SOLANA_SIGNATURES_LIMIT", 20, 1...1000)
        settings.confirmGrace = .seconds(int("AGORA_SOLANA_CONFIRM_GRACE_SECONDS", 120, 0...3600))
        settings.lateWatch = .seconds(int("AGORA_SOLANA_LATE_WATCH_SECONDS", 86_400, 0...30 * 86_400))
        let label = string("AGORA_SOLANA_LABEL", "Agora")
        if (1...64).contains(label.count), !label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            settings.label = label
        } else {
            problem("AGORA_SOLANA_LABEL must be 1 to 64 characters without control characters")
        }
        let tokens = string("AGORA_SOLANA_TOKENS", "USDC=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v:6")
        if let parsed = SolanaPaySettings.parseTokens(tokens) { settings.tokens = parsed } else {
            problem("AGORA_SOLANA_TOKENS must look like USDC=<mint in base58>:6 (symbol, mint, decimals; SOL is always offered)")
        }
        if let rates = SolanaPaySettings.parseRates(string("AGORA_SOLANA_RATES", ""), tokens: settings.tokens) { settings.rates = rates } else {
            problem("AGORA_SOLANA_RATES must look like ZAR/USDC=0.055,ZAR/SOL=0.00029 (tokens per unit of the currency, for configured tokens)")
        }
        let source = string("AGORA_SOLANA_RATE_SOURCE", "configured")
        if (1...200).contains(source.count) { settings.rateSource = source } else { problem("AGORA_SOLANA_RATE_SOURCE must be 1 to 200 characters") }
        let at = string("AGORA_SOLANA_RATE_AT", "")
        if !at.isEmpty {
            if let date = ISO8601DateFormatter().date(from: at) { settings.rateAt = date } else {
                problem("AGORA_SOLANA_RATE_AT must be an ISO 8601 time such as 2026-12-07T09:00:00Z")
            }
        }
        if settings.isEnabled, settings.rates.isEmpty {
            problem("AGORA_SOLANA_RATES is needed with AGORA_SOLANA_RPC_URL: no order could be converted to a token amount")
        }
        return settings
    }

    /// Safe to log.
    var summary: String { rpcURL == nil ? "off" : "on (\(tokens.map(\.symbol).joined(separator: ",")); \(rates.count) rates)" }
}
