/// A Solana Pay transfer request, `solana:<recipient>?amount=&spl-token=&reference=&label=&message=&memo=` (the
/// Solana Pay specification): what a wallet app reads from the link or its QR code to build the transfer.
package struct TransferRequest: Sendable, Equatable {
    package var recipient: SolanaPublicKey
    /// In the token's smallest unit.
    package var amount: Int64
    package var token: SolanaToken
    package var reference: SolanaPublicKey
    package var label: String
    package var message: String
    package var memo: String

    package init(recipient: SolanaPublicKey, amount: Int64, token: SolanaToken, reference: SolanaPublicKey, label: String, message: String, memo: String) {
        self.recipient = recipient
        self.amount = amount
        self.token = token
        self.reference = reference
        self.label = label
        self.message = message
        self.memo = memo
    }

    /// The link: the amount in whole tokens as a plain decimal (no exponent, no trailing zeros), every text
    /// percent-encoded as `encodeURIComponent` does, and `spl-token` only for an SPL token.
    package var url: String {
        var query = ["amount=\(Self.decimal(amount, decimals: token.decimals))"]
        if let mint = token.mint { query.append("spl-token=\(mint.base58)") }
        query.append("reference=\(reference.base58)")
        for (name, value) in [("label", label), ("message", message), ("memo", memo)] where !value.isEmpty {
            query.append("\(name)=\(Self.percentEncoded(value))")
        }
        return "solana:\(recipient.base58)?\(query.joined(separator: "&"))"
    }

    /// `1500000` with 6 decimals is `1.5`; `1` with 9 is `0.000000001`.
    package static func decimal(_ atomic: Int64, decimals: Int) -> String {
        let digits = String(atomic.magnitude)
        guard decimals > 0 else { return digits }
        let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
        let whole = padded.dropLast(decimals)
        var fraction = Substring(padded.suffix(decimals))
        while fraction.last == "0" { fraction = fraction.dropLast() }
        return fraction.isEmpty ? String(whole) : "\(whole).\(fraction)"
    }

    /// Keeps `A–Z a–z 0–9 - _ . ! ~ * ' ( )` and encodes every other UTF-8 byte as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        let kept = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if kept.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
