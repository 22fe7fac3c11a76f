import Foundation
import Testing

/// A real SMTP server for tests: `Tests/mail/smtp_server.py` on aiosmtpd (PyPI), run as a child process.
///
/// Each accepted message is parsed by Python's email package and kept as a `ReceivedMail`, so tests check what a
/// standard parser reads from our wire format.
package final class SMTPTestServer: Sendable {
    /// A message as the server received and parsed it.
    package struct ReceivedMail: Decodable, Sendable {
        package var mail_from: String
        package var rcpt_tos: [String]
        package var from: String
        package var to: String
        package var subject: String
        package var text: String
        package var headers: [String: String]
        package var raw: String
        package var tls: Bool
        package var authenticated: Bool
    }

    /// Server options.
    package struct Options: Sendable {
        package enum TLS: String, Sendable { case starttls, implicit }
        package var tls: TLS?
        /// `user:password` the server requires.
        package var auth: String?
        /// Recipients answered with 550.
        package var reject: [String] = []
        /// How many DATA commands get 451 before the server accepts.
        package var tempfail = 0
        package init(tls: TLS? = nil, auth: String? = nil, reject: [String] = [], tempfail: Int = 0) {
            self.tls = tls
            self.auth = auth
            self.reject = reject
            self.tempfail = tempfail
        }
    }

    package let port: Int
    /// The PEM certificate the server presents (self-signed, for `localhost` and `127.0.0.1`), when TLS is on.
    package let certificateFile: String?
    private let spool: URL

    private init(port: Int, certificateFile: String?, spool: URL) {
        self.port = port
        self.certificateFile = certificateFile
        self.spool = spool
    }

    /// The python with aiosmtpd.
    package static var python: String? { TestTools.python() }

    /// Whether the server can run here, or must (AGORA_REQUIRE_SERVICES=1): then a missing aiosmtpd fails loudly.
    package static var isRunnableOrRequired: Bool {
        if TestServices.isRequired { return true }
        guard let python else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import aiosmtpd"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    /// Starts a server, runs `body`, stops the server.
    package static func with<R>(_ options: Options = .init(), _ body: (SMTPTestServer) async throws -> R) async throws -> R {
        let python = try #require(python, "no python3 for the SMTP test server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-smtp"))
        let spool = directory.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ready = directory.appendingPathComponent("port")
        var arguments = [TestTools.repositoryRoot.appendingPathComponent("Tests/mail/smtp_server.py").path, "--spool", spool.path, "--ready", ready.path]
        var certificate: String?
        if let tls = options.tls {
            let (cert, key) = try await makeCertificate(in: directory)
            certificate = cert
            arguments += ["--tls", tls.rawValue, "--cert", cert, "--key", key]
        }
        if let auth = options.auth { arguments += ["--auth", auth] }
        for address in options.reject { arguments += ["--reject", address] }
        if options.tempfail > 0 { arguments += ["--tempfail", String(options.tempfail)] }

        let log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        do {
            let result = try await serve(process: process, ready: ready, log: log, certificate: certificate, spool: spool, body)
            await stop(process)
            return result
        } catch {
            await stop(process)
            throw error
        }
    }

    private static func serve<R>(
        process: Process, ready: URL, log: URL, certificate: String?, spool: URL, _ body: (SMTPTestServer) async throws -> R
    ) async throws -> R {
        let deadline = ContinuousClock.now + .seconds(20)
        var port: Int?
        while port == nil {
            if let text = try? String(contentsOf: ready, encoding: .utf8) { port = Int(text) }
            guard port == nil else { break }
            guard process.isRunning, ContinuousClock.now < deadline else {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                Issue.record("SMTP test server did not start (needs PyPI aiosmtpd; scripts/interop-deps.sh installs it):\n\(output)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let server = SMTPTestServer(port: port!, certificateFile: certificate, spool: spool)
        return try await body(server)
    }

    /// SIGTERM, then SIGKILL if it lingers; polls rather than `waitUntilExit`, which would block a thread of the
    /// cooperative pool that other tests need.
    private static func stop(_ process: Process) async {
        process.terminate()
        for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// What the server has accepted so far, in order.
    package func received() throws -> [ReceivedMail] {
        let files = try FileManager.default.contentsOfDirectory(atPath: spool.path).filter { $0.hasSuffix(".json") }.sorted()
        return try files.map { try JSONDecoder().decode(ReceivedMail.self, from: Data(contentsOf: spool.appendingPathComponent($0))) }
    }

    /// Waits until at least `count` mails have arrived (or `timeout` passes) and returns them.
    package func waitForMail(count: Int = 1, timeout: Duration = .seconds(10)) async throws -> [ReceivedMail] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let mails = try received()
            if mails.count >= count || ContinuousClock.now >= deadline { return mails }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// A self-signed certificate for `localhost` and `127.0.0.1`, made with the `openssl` command.
    static func makeCertificate(in directory: URL) async throws -> (cert: String, key: String) {
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = try #require(TestTools.onPath("openssl"), "no openssl command")
        let run = try await ChildProcess.run(openssl, [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ], timeout: .seconds(30))
        try #require(run.status == 0, "openssl req failed: \(run.output)")
        return (cert, key)
    }
}
