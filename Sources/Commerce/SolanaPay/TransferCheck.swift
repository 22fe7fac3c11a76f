/// Whether a transaction pays a transfer request: read from the balances the chain recorded before and after it,
/// never from what the buyer's client says, nor from the instructions (a wallet may route a payment through a
/// program; the balances are what the recipient received).
package enum TransferCheck: Equatable, Sendable {
    case pays
    /// Money moved, but not as asked; recorded and never fulfilled.
    case refused(Reason, received: Int64?, token: String?)

    package enum Reason: String, Sendable {
        /// The transaction failed on chain (nothing moved).
        case failed
        /// The reference is not among the transaction's accounts: whatever index listed it, it is not this payment.
        case missingReference = "missing_reference"
        /// The recipient received the right token, but not exactly the amount.
        case wrongAmount = "wrong_amount"
        /// The recipient received another token (another mint, or SOL for a token, or a token for SOL).
        case wrongToken = "wrong_token"
        /// The recipient received nothing.
        case wrongRecipient = "wrong_recipient"
        /// It pays, but another transaction already paid the same request (the buyer paid twice).
        case duplicate
    }

    /// Checks `transaction` against what was asked: `amount` of `token` to `recipient`, mentioning `reference`.
    /// For SOL the recipient's lamport balance must grow by exactly the amount; for an SPL token, the balances of
    /// token accounts the recipient owns in that mint must grow by exactly the amount together.
    package static func check(_ transaction: ParsedTransaction, recipient: SolanaPublicKey, token: SolanaToken, amount: Int64,
                              reference: SolanaPublicKey) -> TransferCheck {
        guard !transaction.failed else { return .refused(.failed, received: nil, token: nil) }
        guard transaction.accountKeys.contains(reference.base58) else { return .refused(.missingReference, received: nil, token: nil) }
        let owner = recipient.base58
        let lamports = lamportDelta(transaction, account: owner)
        let tokens = tokenDeltas(transaction, owner: owner)
        let received: Int64?
        if let mint = token.mint {
            received = tokens[mint.base58]
        } else {
            received = lamports
        }
        if let received, received == amount { return .pays }
        if let received, received > 0 { return .refused(.wrongAmount, received: received, token: token.key) }
        // Nothing of the asked token arrived: some other token, or nothing at all?
        if let other = tokens.first(where: { $0.key != token.mint?.base58 && $0.value > 0 }) {
            return .refused(.wrongToken, received: other.value, token: other.key)
        }
        if token.mint != nil, let lamports, lamports > 0 { return .refused(.wrongToken, received: lamports, token: "SOL") }
        return .refused(.wrongRecipient, received: nil, token: nil)
    }

    /// How much the account's lamports grew (negative when they shrank); nil when it is not in the transaction or
    /// the balances are out of range.
    static func lamportDelta(_ transaction: ParsedTransaction, account: String) -> Int64? {
        guard let index = transaction.accountKeys.firstIndex(of: account), index < transaction.preBalances.count,
            index < transaction.postBalances.count
        else { return nil }
        let delta = Int128(transaction.postBalances[index]) - Int128(transaction.preBalances[index])
        return Int64(exactly: delta)
    }

    /// How much each mint's token accounts owned by `owner` grew, summed per mint (amounts that do not parse count as
    /// nothing; an account that is new in the transaction had zero before).
    static func tokenDeltas(_ transaction: ParsedTransaction, owner: String) -> [String: Int64] {
        var deltas: [String: Int128] = [:]
        for balance in transaction.postTokenBalances where balance.owner == owner {
            guard let post = UInt64(balance.amount) else { continue }
            let pre = transaction.preTokenBalances.first { $0.accountIndex == balance.accountIndex && $0.mint == balance.mint }
                .flatMap { UInt64($0.amount) } ?? 0
            deltas[balance.mint, default: 0] += Int128(post) - Int128(pre)
        }
        // An account whose balance went (and was closed) to nothing appears only before.
        for balance in transaction.preTokenBalances where balance.owner == owner {
            guard !transaction.postTokenBalances.contains(where: { $0.accountIndex == balance.accountIndex && $0.mint == balance.mint }),
                let pre = UInt64(balance.amount)
            else { continue }
            deltas[balance.mint, default: 0] -= Int128(pre)
        }
        return deltas.compactMapValues { Int64(exactly: $0) }
    }
}
