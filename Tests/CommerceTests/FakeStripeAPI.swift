import AgoraTestSupport
import Foundation
import Testing

/// `Tests/interop/fake_stripe_api.py` as a child process: a few of Stripe's API endpoints over HTTPS (a self-signed
/// certificate for 127.0.0.1 and localhost, made by the `openssl` command) or plain HTTP, recording every request.
final class FakeStripeAPI: Sendable {
    /// A request as the fake received and decoded it.
    struct Call: Decodable, Sendable {
        var method: String
        var path: String
        /// Lower-case names.
        var headers: [String: String]
        var body: String
        /// `[name, value]` pairs as Python's `parse_qsl` decodes the body.
        var form: [[String]]

        /// The decoded fields, in order.
        var fields: [Field] { form.map { Field($0[0], $0[1]) } }
        func field(_ name: String) -> String? { form.first { $0[0] == name }?[1] }
    }

    struct Field: Equatable, CustomStringConvertible {
        var name: String
        var value: String
        init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
        var description: String { "\(name)=\(value)" }
    }

    static let secretKey = "sk_test_51FakeAgoraKey0123456789abcdefGHIJ"

    let port: Int
    /// The server's certificate, to trust as the CA file; nil when plain.
    let certificateFile: String?
    private let record: URL

    var baseURL: String { "\(certificateFile == nil ? "http" : "https")://127.0.0.1:\(port)" }

    private init(port: Int, certificateFile: String?, record: URL) {
        self.port = port
        self.certificateFile = certificateFile
        self.record = record
    }

    /// Whether the fake can run here (python3 and openssl), or must (AGORA_REQUIRE_SERVICES=1, then it fails loudly).
    static var isRunnableOrRequired: Bool {
        TestServices.isRequired || (TestTools.python() != nil && TestTools.onPath("openssl") != nil)
    }

    /// Starts the fake, runs `body`, stops the fake.
    static func with<R>(tls: Bool = true, _ body: (FakeStripeAPI) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-stripe"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("calls.jsonl")
        var arguments = ["--secret-key", secretKey, "--record", record.path]
        var certificate: String?
        if tls {
            let (cert, key) = try await makeCertificate(in: directory)
            certificate = cert
            arguments += ["--cert", cert, "--key", key]
        } else {
            arguments.append("--plain")
        }
        return try await PythonServer.with("Tests/interop/fake_stripe_api.py", arguments, in: directory, name: "the fake Stripe API") { port in
            try await body(FakeStripeAPI(port: port, certificateFile: certificate, record: record))
        }
    }

    /// A self-signed certificate for `127.0.0.1` and `localhost`, made with the `openssl` command (as the SMTP
    /// tests make theirs, but on P-256, which is quicker to generate than RSA).
    private static func makeCertificate(in directory: URL) async throws -> (cert: String, key: String) {
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = try #require(TestTools.onPath("openssl"), "no openssl command")
        let run = try await ChildProcess.run(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ], timeout: .seconds(30))
        try #require(run.status == 0, "openssl req failed: \(run.output)")
        return (cert, key)
    }

    /// Every request so far, in order. The fake writes each one before it answers, so a call that returned has
    /// its record.
    func calls() throws -> [Call] {
        guard let text = try? String(contentsOf: record, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Call.self, from: Data($0.utf8)) }
    }
}
