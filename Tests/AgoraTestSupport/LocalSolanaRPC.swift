import AgoraNet
package import Foundation
import Testing

/// `Tests/interop/solana_rpc.py` as a child process: a Solana JSON-RPC node standing in for the chain, answering
/// with transactions built and signed by `solders` (PyPI), in the RPC API's shapes; its control API makes payments.
package final class LocalSolanaRPC: Sendable {
    package let port: Int

    private init(port: Int) { self.port = port }

    package var url: String { "http://127.0.0.1:\(port)" }

    package static func with<R>(_ body: (LocalSolanaRPC) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-solana"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await PythonServer.with("Tests/interop/solana_rpc.py", [], in: directory, name: "the Solana RPC stand-in (solders)") { port in
            try await body(LocalSolanaRPC(port: port))
        }
    }

    /// Sends `body` to a control endpoint and returns its JSON answer.
    @discardableResult
    package func control(_ path: String, _ body: [String: Any?] = [:]) async throws -> [String: Any] {
        let client = try HTTPSClient(baseURL: url)
        let payload = try JSONSerialization.data(withJSONObject: body.compactMapValues { $0 })
        let response = try await client.send(.post, "/control/\(path)", headers: [.init("Content-Type", "application/json")], body: Array(payload))
        try #require(response.status == 200, "the stand-in refused /control/\(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    /// A transfer as a wallet app makes it from a transfer request: `variant` `exact`, `short`, `over`, `wrong_mint`,
    /// `wrong_recipient` or `no_reference`; `stage` `confirmed` or `finalized`. Returns the signature.
    @discardableResult
    package func pay(recipient: String, amount: Int64, mint: String?, reference: String, variant: String = "exact", stage: String = "finalized",
                     failed: Bool = false) async throws -> String
    {
        let answer = try await control("pay", [
            "recipient": recipient, "amount": String(amount), "splToken": mint, "reference": reference, "variant": variant, "stage": stage,
            "failed": failed, "memo": "agora test",
        ])
        return try #require(answer["signature"] as? String)
    }

    /// JSON-RPC calls received so far, by method.
    package func calls() async throws -> [String: Int] {
        let response = try await HTTPSClient(baseURL: url).send(.get, "/control/calls")
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int]) ?? [:]
    }
}
