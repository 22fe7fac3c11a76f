import Commerce
import Foundation
import Testing

/// The pieces of Solana Pay that need no chain: base58, keys, the transfer-request link, the conversion at a
/// configured rate, the settings, and the check of a transaction's balances.
struct SolanaPayUnitTests {
    @Test func base58MatchesKnownVectors() throws {
        // Bitcoin's base58 test vectors (the alphabet Solana uses).
        let vectors: [(String, String)] = [
            ("", ""), ("61", "2g"), ("626262", "a3gV"), ("636363", "aPEr"), ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
            ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"), ("516b6fcd0f", "ABnLTmg"),
            ("bf4f89001e670274dd", "3SEo3LWLoPntC"), ("572e4794", "3EFU7m"), ("ecac89cad93923c02321", "EJDM8drfXA6uyA"), ("10c8511e", "Rt5zm"),
            ("00000000000000000000", "1111111111"),
        ]
        for (hex, text) in vectors {
            let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
            #expect(Base58.encode(bytes) == text, "\(hex)")
            #expect(Base58.decode(text) == bytes, "\(text)")
        }
        #expect(Base58.decode("0OIl") == nil && Base58.decode("abc+") == nil && Base58.decode("é") == nil)
        #expect(Base58.decode(String(repeating: "z", count: 200)) == nil, "bounded before any work")
        // Random round trips.
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...64)).map { _ in UInt8.random(in: 0...255) }
            #expect(Base58.decode(Base58.encode(bytes)) == bytes)
        }
    }

    @Test func publicKeysAreThirtyTwoBytesOfBase58() {
        #expect(SolanaPublicKey(base58: "11111111111111111111111111111111")?.bytes == [UInt8](repeating: 0, count: 32), "the System Program")
        #expect(SolanaPublicKey(base58: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v") != nil, "USDC's mint")
        #expect(SolanaPublicKey(base58: "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA") != nil)
        #expect(SolanaPublicKey(base58: Base58.encode([UInt8](repeating: 9, count: 31))) == nil)
        #expect(SolanaPublicKey(base58: Base58.encode([UInt8](repeating: 9, count: 33))) == nil)
        #expect(SolanaPublicKey(base58: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1O") == nil, "O is not in the alphabet")
        #expect(SolanaPublicKey(base58: "1" + "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v") == nil, "a leading 1 is a leading zero byte")
        #expect(SolanaPublicKey(base58: "") == nil && SolanaPublicKey(base58: "EPjF\u{0}dd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v") == nil)
    }

    @Test func transferRequestLinksFollowTheSpecification() throws {
        // The specification's own example of an SPL transfer request.
        let recipient = try #require(SolanaPublicKey(base58: "mvines9iiHiAbsPAU7gzqjsAV1R3yU2W5TwvtSjCfX3"))
        let reference = try #require(SolanaPublicKey(base58: "82ZJ7nbGpixjeDCmEhUcmwXYfvurzAgGdtSMuHnUgyny"))
        let usdc = SolanaToken.usdc
        let request = TransferRequest(recipient: recipient, amount: 10_010_000, token: usdc, reference: reference, label: "Michael",
                                      message: "Thanks for all the fish", memo: "OrderId5678")
        #expect(request.url == "solana:mvines9iiHiAbsPAU7gzqjsAV1R3yU2W5TwvtSjCfX3?amount=10.01&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v&reference=82ZJ7nbGpixjeDCmEhUcmwXYfvurzAgGdtSMuHnUgyny&label=Michael&message=Thanks%20for%20all%20the%20fish&memo=OrderId5678")
        let sol = TransferRequest(recipient: recipient, amount: 1, token: .sol, reference: reference, label: "Café & Co", message: "", memo: "")
        #expect(sol.url == "solana:mvines9iiHiAbsPAU7gzqjsAV1R3yU2W5TwvtSjCfX3?amount=0.000000001&reference=82ZJ7nbGpixjeDCmEhUcmwXYfvurzAgGdtSMuHnUgyny&label=Caf%C3%A9%20%26%20Co")
        #expect(TransferRequest.decimal(1_500_000, decimals: 6) == "1.5" && TransferRequest.decimal(2_000_000_000, decimals: 9) == "2")
        #expect(TransferRequest.decimal(123, decimals: 0) == "123" && TransferRequest.decimal(5, decimals: 2) == "0.05")
    }

    @Test func amountsAreConvertedExactlyAndRoundedUp() throws {
        let usdc = try #require(SolanaRate(currency: "ZAR", token: "USDC", text: "0.055"))
        #expect(usdc.atomicAmount(minor: 7000, decimals: 6) == 3_850_000)
        #expect(usdc.atomicAmount(minor: 1, decimals: 6) == 550)
        let third = try #require(SolanaRate(currency: "EUR", token: "SOL", text: "0.003333333333333333"))
        #expect(third.atomicAmount(minor: 100, decimals: 9) == 3_333_334, "rounded up, never down")
        #expect(usdc.atomicAmount(minor: Int64.max, decimals: 18) == nil, "too large is nil, not a trap")
        #expect(SolanaRate(currency: "ZAR", token: "SOL", text: "1e3") == nil && SolanaRate(currency: "ZAR", token: "SOL", text: "0") == nil)
        #expect(SolanaRate(currency: "ZAR", token: "SOL", text: "-1") == nil && SolanaRate(currency: "ZAR", token: "SOL", text: ".5") == nil)
        #expect(SolanaRate(currency: "ZAR", token: "SOL", text: "1.") == nil && SolanaRate(currency: "ZAR", token: "SOL", text: "99999999999999999999") == nil)
    }

    @Test func settingsParseTokensAndRates() throws {
        let tokens = try #require(SolanaPaySettings.parseTokens("USDC=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v:6,BONK=DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263:5"))
        #expect(tokens.map(\.symbol) == ["SOL", "USDC", "BONK"] && tokens[2].decimals == 5)
        #expect(SolanaPaySettings.parseTokens("USDC=notakey:6") == nil && SolanaPaySettings.parseTokens("SOL=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v:9") == nil)
        #expect(SolanaPaySettings.parseTokens("usdc=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v:6") == nil)
        #expect(SolanaPaySettings.parseTokens("USDC=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v:19") == nil)
        let rates = try #require(SolanaPaySettings.parseRates("ZAR/USDC=0.055, ZAR/SOL=0.0003", tokens: tokens))
        #expect(rates.count == 2 && rates[1].scale == 4 && rates[1].mantissa == 3)
        #expect(SolanaPaySettings.parseRates("ZAR/DOGE=1", tokens: tokens) == nil && SolanaPaySettings.parseRates("ZAR/USDC=1,ZAR/USDC=2", tokens: tokens) == nil)
        #expect(SolanaPaySettings.parseRates("", tokens: tokens) == [])
    }

    static let recipient = SolanaPublicKey(base58: "mvines9iiHiAbsPAU7gzqjsAV1R3yU2W5TwvtSjCfX3")!
    static let reference = SolanaPublicKey(base58: "82ZJ7nbGpixjeDCmEhUcmwXYfvurzAgGdtSMuHnUgyny")!
    static let payer = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
    static let mint = SolanaToken.usdc.mint!.base58

    static func solTransfer(_ lamports: UInt64, reference: Bool = true, failed: Bool = false) -> ParsedTransaction {
        ParsedTransaction(
            slot: 10, blockTime: nil, failed: failed,
            accountKeys: [payer, recipient.base58] + (reference ? [Self.reference.base58] : []) + ["11111111111111111111111111111111"],
            preBalances: [5_000_000_000, 1_000, 0, 1], postBalances: [5_000_000_000 - lamports - 5000, 1_000 + lamports, 0, 1],
            preTokenBalances: [], postTokenBalances: []
        )
    }

    static func tokenTransfer(_ amount: UInt64, mint: String = mint, owner: String = recipient.base58, newAccount: Bool = false) -> ParsedTransaction {
        ParsedTransaction(
            slot: 10, blockTime: nil, failed: false, accountKeys: [payer, "ATA1", "ATA2", reference.base58, mint],
            preBalances: [1, 2, 3, 0, 4], postBalances: [1, 2, 3, 0, 4],
            preTokenBalances: [.init(accountIndex: 1, mint: mint, owner: payer, amount: "90000000")]
                + (newAccount ? [] : [.init(accountIndex: 2, mint: mint, owner: owner, amount: "100")]),
            postTokenBalances: [.init(accountIndex: 1, mint: mint, owner: payer, amount: String(90_000_000 - amount)),
                                .init(accountIndex: 2, mint: mint, owner: owner, amount: String((newAccount ? 0 : 100) + amount))]
        )
    }

    @Test func aTransferPaysOnlyWithExactlyTheAmountOfTheTokenToTheRecipientAndTheReference() {
        let check = { (transaction: ParsedTransaction, token: SolanaToken, amount: Int64) in
            TransferCheck.check(transaction, recipient: Self.recipient, token: token, amount: amount, reference: Self.reference)
        }
        #expect(check(Self.solTransfer(24_000_000), .sol, 24_000_000) == .pays)
        #expect(check(Self.solTransfer(23_999_999), .sol, 24_000_000) == .refused(.wrongAmount, received: 23_999_999, token: "SOL"))
        #expect(check(Self.solTransfer(24_000_001), .sol, 24_000_000) == .refused(.wrongAmount, received: 24_000_001, token: "SOL"))
        #expect(check(Self.solTransfer(24_000_000, reference: false), .sol, 24_000_000) == .refused(.missingReference, received: nil, token: nil))
        #expect(check(Self.solTransfer(24_000_000, failed: true), .sol, 24_000_000) == .refused(.failed, received: nil, token: nil))
        #expect(check(Self.tokenTransfer(3_850_000), .usdc, 3_850_000) == .pays)
        #expect(check(Self.tokenTransfer(3_850_000, newAccount: true), .usdc, 3_850_000) == .pays, "a token account made by the transfer")
        #expect(check(Self.tokenTransfer(3_849_999), .usdc, 3_850_000) == .refused(.wrongAmount, received: 3_849_999, token: Self.mint))
        let other = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
        #expect(check(Self.tokenTransfer(3_850_000, mint: other), .usdc, 3_850_000) == .refused(.wrongToken, received: 3_850_000, token: other))
        #expect(check(Self.tokenTransfer(3_850_000, owner: Self.payer), .usdc, 3_850_000) == .refused(.wrongRecipient, received: nil, token: nil))
        #expect(check(Self.solTransfer(3_850_000), .usdc, 3_850_000) == .refused(.wrongToken, received: 3_850_000, token: "SOL"))
        #expect(check(Self.tokenTransfer(24_000_000), .sol, 24_000_000) == .refused(.wrongToken, received: 24_000_000, token: Self.mint))
    }

    @Test func parsedTransactionsDecodeTheRPCShape() throws {
        let json = """
            {"slot": 7, "blockTime": 1765097000, "version": "legacy",
             "meta": {"err": null, "fee": 5000, "preBalances": [10, 0], "postBalances": [5, 5], "preTokenBalances": [],
                      "postTokenBalances": [{"accountIndex": 1, "mint": "\(Self.mint)", "owner": "\(Self.recipient.base58)", "programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
                                             "uiTokenAmount": {"amount": "42", "decimals": 6, "uiAmount": 0.000042, "uiAmountString": "0.000042"}}]},
             "transaction": {"signatures": ["x"], "message": {"accountKeys": [{"pubkey": "\(Self.payer)", "signer": true, "writable": true, "source": "transaction"},
                                                                             {"pubkey": "\(Self.reference.base58)", "signer": false, "writable": false, "source": "transaction"}],
                                                              "instructions": [], "recentBlockhash": "x"}}}
            """
        let transaction = try JSONDecoder().decode(ParsedTransaction.self, from: Data(json.utf8))
        #expect(transaction.accountKeys == [Self.payer, Self.reference.base58] && !transaction.failed && transaction.postTokenBalances[0].amount == "42")
        let failed = json.replacingOccurrences(of: "\"err\": null", with: "\"err\": {\"InstructionError\": [0, {\"Custom\": 1}]}")
        #expect(try JSONDecoder().decode(ParsedTransaction.self, from: Data(failed.utf8)).failed)
    }
}
