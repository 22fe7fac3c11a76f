import AgoraNet
package import Foundation

/// The two calls of Solana's JSON-RPC API that confirm a Solana Pay transfer: which transactions mention a
/// reference (`getSignaturesForAddress`) and what one of them did (`getTransaction`, `jsonParsed`).
package struct SolanaRPC: Sendable {
    /// Why a call gave nothing to go on. The confirmation job logs it and asks again next round; nothing changes.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        /// Not reached, or no answer in time.
        case unreachable(String)
        /// A status other than 200.
        case http(Int)
        /// A JSON-RPC error object (`-32005` "node is behind", …).
        case rpc(code: Int, message: String)
        /// A body that is not the JSON-RPC answer expected.
        case malformed

        package var description: String {
            switch self {
            case .unreachable(let reason): "unreachable (\(reason))"
            case .http(let status): "HTTP \(status)"
            case .rpc(let code, _): "RPC error \(code)"
            case .malformed: "malformed answer"
            }
        }
    }

    /// A commitment level: `confirmed` (voted by a supermajority) or `finalized` (rooted; cannot be rolled back).
    package enum Commitment: String, Sendable {
        case confirmed, finalized
    }

    /// An entry of `getSignaturesForAddress`.
    package struct SignatureInfo: Sendable, Decodable, Equatable {
        package var signature: String
        package var slot: UInt64
        /// Whether the transaction failed on chain (its `err` is not null).
        package var failed: Bool
        package var confirmationStatus: String?
        package var blockTime: Int64?

        enum CodingKeys: String, CodingKey { case signature, slot, err, confirmationStatus, blockTime }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            signature = try container.decode(String.self, forKey: .signature)
            slot = try container.decode(UInt64.self, forKey: .slot)
            failed = !((try? container.decodeNil(forKey: .err)) ?? true)
            confirmationStatus = try container.decodeIfPresent(String.self, forKey: .confirmationStatus)
            blockTime = try container.decodeIfPresent(Int64.self, forKey: .blockTime)
        }
    }

    let client: HTTPSClient
    /// What every call posts to: `/`, with the endpoint's query when it has one (RPC providers put API keys there).
    let target: String

    /// - Parameter url: the endpoint; an API key in its path or query is kept out of every log.
    /// - Throws: `HTTPClientError` for a URL it cannot use or a CA file it cannot read (start-up stops on it).
    package init(url: String, caFile: String?, timeout: Duration) throws {
        var base = URLComponents(string: url)
        let query = base?.percentEncodedQuery
        base?.percentEncodedQuery = nil
        target = query.map { "/?\($0)" } ?? "/"
        client = try HTTPSClient(baseURL: base?.string ?? url, caFile: caFile, connectTimeout: min(timeout, .seconds(5)), timeout: timeout,
                                 maxResponseBytes: 4 << 20, keepAlive: true, maxConnections: 4)
    }

    /// The newest `limit` transactions that mention `address`, newest first.
    package func signatures(for address: SolanaPublicKey, limit: Int, commitment: Commitment) async throws(Failure) -> [SignatureInfo] {
        let params: [Any] = [address.base58, ["limit": limit, "commitment": commitment.rawValue]]
        return try decode([SignatureInfo].self, from: try await call("getSignaturesForAddress", params))
    }

    /// The transaction, or nil when the node does not have it at that commitment (not yet, or dropped).
    package func transaction(_ signature: String, commitment: Commitment) async throws(Failure) -> ParsedTransaction? {
        let params: [Any] = [signature, ["encoding": "jsonParsed", "commitment": commitment.rawValue, "maxSupportedTransactionVersion": 0]]
        let result = try await call("getTransaction", params)
        if result is NSNull { return nil }
        return try decode(ParsedTransaction.self, from: result)
    }

    /// One JSON-RPC call; its `result`, which may be `NSNull`.
    func call(_ method: String, _ params: [Any]) async throws(Failure) -> Any {
        let request: [String: Any] = ["jsonrpc": "2.0", "id": 1, "method": method, "params": params]
        let body: [UInt8]
        do { body = Array(try JSONSerialization.data(withJSONObject: request)) } catch { throw .malformed }
        let response: HTTPSClient.Response
        do {
            response = try await client.send(.post, target, headers: [.init("Content-Type", "application/json")], body: body)
        } catch {
            throw .unreachable(error.message)
        }
        guard response.status == 200 else { throw .http(response.status) }
        guard let answer = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else { throw .malformed }
        if let error = answer["error"] as? [String: Any] {
            throw .rpc(code: (error["code"] as? Int) ?? 0, message: (error["message"] as? String) ?? "")
        }
        guard let result = answer["result"] else { throw .malformed }
        return result
    }

    func decode<T: Decodable>(_ type: T.Type, from value: Any) throws(Failure) -> T {
        do {
            let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .malformed
        }
    }
}

/// What the check of a transfer needs of a `getTransaction` answer in `jsonParsed` encoding.
package struct ParsedTransaction: Sendable, Decodable, Equatable {
    package struct TokenBalance: Sendable, Decodable, Equatable {
        package var accountIndex: Int
        package var mint: String
        package var owner: String?
        /// `uiTokenAmount.amount`: the raw amount, a decimal string.
        package var amount: String

        enum CodingKeys: String, CodingKey { case accountIndex, mint, owner, uiTokenAmount }
        enum AmountKeys: String, CodingKey { case amount }

        package init(accountIndex: Int, mint: String, owner: String?, amount: String) {
            self.accountIndex = accountIndex
            self.mint = mint
            self.owner = owner
            self.amount = amount
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            accountIndex = try container.decode(Int.self, forKey: .accountIndex)
            mint = try container.decode(String.self, forKey: .mint)
            owner = try container.decodeIfPresent(String.self, forKey: .owner)
            amount = try container.nestedContainer(keyedBy: AmountKeys.self, forKey: .uiTokenAmount).decode(String.self, forKey: .amount)
        }
    }

    package var slot: UInt64
    package var blockTime: Int64?
    /// The transaction failed on chain (`meta.err` is not null): it moved nothing but its fee.
    package var failed: Bool
    /// The account keys in order (`jsonParsed` writes objects with `pubkey`; `json` writes plain strings).
    package var accountKeys: [String]
    package var preBalances: [UInt64]
    package var postBalances: [UInt64]
    package var preTokenBalances: [TokenBalance]
    package var postTokenBalances: [TokenBalance]

    enum CodingKeys: String, CodingKey { case slot, blockTime, meta, transaction }
    enum MetaKeys: String, CodingKey { case err, preBalances, postBalances, preTokenBalances, postTokenBalances }
    enum TransactionKeys: String, CodingKey { case message }
    enum MessageKeys: String, CodingKey { case accountKeys }
    struct AccountKey: Decodable {
        var pubkey: String
        init(from decoder: any Decoder) throws {
            if let plain = try? decoder.singleValueContainer().decode(String.self) {
                pubkey = plain
            } else {
                pubkey = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .pubkey)
            }
        }
        enum Keys: String, CodingKey { case pubkey }
    }

    package init(
        slot: UInt64, blockTime: Int64?, failed: Bool, accountKeys: [String], preBalances: [UInt64], postBalances: [UInt64],
        preTokenBalances: [TokenBalance], postTokenBalances: [TokenBalance]
    ) {
        self.slot = slot
        self.blockTime = blockTime
        self.failed = failed
        self.accountKeys = accountKeys
        self.preBalances = preBalances
        self.postBalances = postBalances
        self.preTokenBalances = preTokenBalances
        self.postTokenBalances = postTokenBalances
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        slot = try container.decode(UInt64.self, forKey: .slot)
        blockTime = try container.decodeIfPresent(Int64.self, forKey: .blockTime)
        let meta = try container.nestedContainer(keyedBy: MetaKeys.self, forKey: .meta)
        failed = !((try? meta.decodeNil(forKey: .err)) ?? true)
        preBalances = try meta.decode([UInt64].self, forKey: .preBalances)
        postBalances = try meta.decode([UInt64].self, forKey: .postBalances)
        preTokenBalances = try meta.decodeIfPresent([TokenBalance].self, forKey: .preTokenBalances) ?? []
        postTokenBalances = try meta.decodeIfPresent([TokenBalance].self, forKey: .postTokenBalances) ?? []
        let message = try container.nestedContainer(keyedBy: TransactionKeys.self, forKey: .transaction)
            .nestedContainer(keyedBy: MessageKeys.self, forKey: .message)
        accountKeys = try message.decode([AccountKey].self, forKey: .accountKeys).map(\.pubkey)
    }
}
