import AgoraMail
import AgoraTestSupport
import Foundation
import Testing

/// Our SMTP client against a real SMTP server (aiosmtpd), over real TCP, with and without TLS.
@Suite(.enabled(if: SMTPTestServer.isRunnableOrRequired), .timeLimit(.minutes(2)))
struct SMTPClientTests {
    let from = try! MailAddress(parsing: "Agora Shop <no-reply@agora.example>")

    func send(_ settings: SMTPSettings, _ mails: [Mail]) async throws -> [Result<Void, SMTPError>] {
        await SMTPClient(settings: settings).send(mails)
    }

    func mail(to: String = "ada@example.com", subject: String = "Hello", text: String = "Hi there") -> Mail {
        Mail(from: from, to: try! MailAddress(to), subject: subject, text: text)
    }

    @Test func plainSMTPDeliversWhatAStandardParserReadsBackExactly() async throws {
        try await SMTPTestServer.with { server in
            let text = """
                Hello Zoë,

                .a line that starts with a dot
                a line with = signs and trailing spaces   
                \(String(repeating: "a long line that goes on ", count: 12))
                http://localhost:8080/verify-email?token=\(String(repeating: "Ab_9-", count: 9))
                €, 🎉 and ✓
                """
            let results = try await send(.init(host: "127.0.0.1", port: server.port), [mail(subject: "Grüße aus Köln – bestätigen Sie", text: text), mail(to: "bob@example.com", subject: "Second")])
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "\(results)")
            let received = try await server.waitForMail(count: 2)
            try #require(received.count == 2)
            #expect(received[0].mail_from == "no-reply@agora.example" && received[0].rcpt_tos == ["ada@example.com"])
            #expect(received[0].subject == "Grüße aus Köln – bestätigen Sie")
            #expect(received[0].from == "Agora Shop <no-reply@agora.example>")
            // MIME text has CRLF line breaks (RFC 2046 §4.1.1), which Python's parser keeps; the last line ends in one too.
            #expect(received[0].text == text.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n", "\(received[0].text.debugDescription)\n\(received[0].raw)")
            #expect(received[0].raw.split(separator: "\r\n", omittingEmptySubsequences: false).allSatisfy { $0.count <= 78 })
            #expect(received[1].to == "bob@example.com" && received[1].subject == "Second")
            #expect(!received[0].tls)
        }
    }

    @Test func startTLSWithAuthenticationVerifiesTheServerCertificate() async throws {
        try await SMTPTestServer.with(.init(tls: .starttls, auth: "agora:s3cret pass")) { server in
            var settings = SMTPSettings(host: "localhost", port: server.port, security: .startTLS, username: "agora", password: "s3cret pass", caFile: server.certificateFile)
            let ok = try await send(settings, [mail()])
            #expect((try? ok[0].get()) != nil, "\(ok)")
            let received = try await server.waitForMail()
            #expect(received.count == 1 && received[0].tls && received[0].authenticated)

            settings.password = "wrong"
            let refused = try await send(settings, [mail()])
            guard case .failure(let error) = refused[0] else { Issue.record("a wrong password was accepted"); return }
            #expect(error.kind == .transient && error.message.contains("535"), "\(error)")
            #expect(!error.message.contains("wrong"), "the password never appears in errors")
        }
    }

    @Test func anUntrustedCertificateIsRefusedBeforeAnythingIsSent() async throws {
        try await SMTPTestServer.with(.init(tls: .starttls, auth: "agora:s3cret pass")) { server in
            // The system trust store does not know the test's self-signed certificate.
            let settings = SMTPSettings(host: "localhost", port: server.port, security: .startTLS, username: "agora", password: "s3cret pass")
            let results = try await send(settings, [mail()])
            guard case .failure(let error) = results[0] else { Issue.record("an untrusted certificate was accepted"); return }
            #expect(error.kind == .transient && error.message.contains("certificate verify failed"), "\(error)")
            let received = try server.received()
            #expect(received.isEmpty)
        }
    }

    @Test func aCertificateForAnotherNameIsRefused() async throws {
        try await SMTPTestServer.with(.init(tls: .implicit)) { server in
            // Trusted, but issued for localhost/127.0.0.1: 127.0.0.2 reaches the same server under a name it is not for.
            let settings = SMTPSettings(host: "127.0.0.2", port: server.port, security: .tls, caFile: server.certificateFile)
            let results = try await send(settings, [mail()])
            guard case .failure(let error) = results[0] else { Issue.record("a certificate for another host was accepted"); return }
            #expect(error.message.contains("certificate") || error.message.contains("connect"), "\(error)")
            let received = try server.received()
            #expect(received.isEmpty)
        }
    }

    @Test func implicitTLSDelivers() async throws {
        try await SMTPTestServer.with(.init(tls: .implicit)) { server in
            let settings = SMTPSettings(host: "127.0.0.1", port: server.port, security: .tls, caFile: server.certificateFile)
            let results = try await send(settings, [mail()])
            #expect((try? results[0].get()) != nil, "\(results)")
            let received = try await server.waitForMail()
            #expect(received.first?.tls == true)
        }
    }

    @Test func startTLSRequiredButNotOfferedIsAnErrorNotADowngrade() async throws {
        try await SMTPTestServer.with { server in
            let settings = SMTPSettings(host: "127.0.0.1", port: server.port, security: .startTLS)
            let results = try await send(settings, [mail()])
            guard case .failure(let error) = results[0] else { Issue.record("sent without the TLS it was told to require"); return }
            #expect(error.message.contains("STARTTLS"))
            let received = try server.received()
            #expect(received.isEmpty)
        }
    }

    @Test func aRefusedRecipientFailsOnlyItsOwnMailAndPermanently() async throws {
        try await SMTPTestServer.with(.init(reject: ["nobody@example.com"])) { server in
            let results = try await send(.init(host: "127.0.0.1", port: server.port), [
                mail(to: "nobody@example.com"), mail(to: "ada@example.com"),
            ])
            guard case .failure(let error) = results[0] else { Issue.record("a 550 was taken as delivered"); return }
            #expect(error.kind == .permanent && error.message.contains("550"))
            #expect((try? results[1].get()) != nil)
            let received = try await server.waitForMail()
            #expect(received.map(\.to) == ["ada@example.com"])
        }
    }

    @Test func aTemporaryRefusalIsTransient() async throws {
        try await SMTPTestServer.with(.init(tempfail: 1)) { server in
            let results = try await send(.init(host: "127.0.0.1", port: server.port), [mail(), mail(to: "bob@example.com")])
            guard case .failure(let error) = results[0] else { Issue.record("a 451 was taken as delivered"); return }
            #expect(error.kind == .transient && error.message.contains("451"))
            #expect((try? results[1].get()) != nil, "the session goes on after RSET")
        }
    }

    @Test func noServerIsATransientFailureWithinTheTimeout() async throws {
        let start = ContinuousClock.now
        // Port 1 (tcpmux): nothing listens there on these machines.
        let results = try await send(.init(host: "127.0.0.1", port: 1, timeout: .seconds(2)), [mail()])
        guard case .failure(let error) = results[0] else { Issue.record("delivered to nothing"); return }
        #expect(error.kind == .transient && error.message.contains("connect"), "\(error)")
        // A refused connect fails at once; the bound is the timeout plus slack for a full parallel run on two cores
        // (which once took 3.3 s to schedule it).
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func sessionsToASilentServerWaitSideBySideAndEachTimesOut() async throws {
        // A server that accepts and never says a word. Each session gives up at its own timeout, and they all wait at
        // once, holding no thread: fifty take about one timeout (2.1 s alone). On a thread pool of two, as before, they
        // took 50 s. The bound leaves room for a full parallel run, which has delayed timers by seconds.
        let silent = try await SilentServer.start()
        let port = silent.port
        let mail = mail()
        let start = ContinuousClock.now
        let results = await withTaskGroup(of: [Result<Void, SMTPError>].self) { group in
            for _ in 0..<50 {
                group.addTask { await SMTPClient(settings: .init(host: "127.0.0.1", port: port, timeout: .seconds(2))).send([mail]) }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = ContinuousClock.now - start
        await silent.close()
        #expect(results.count == 50)
        for result in results {
            guard case .failure(let error) = result else { Issue.record("a silent server took a mail"); continue }
            #expect(error.kind == .transient && error.message.contains("timed out"), "\(error)")
        }
        #expect(elapsed >= .seconds(2) && elapsed < .seconds(20), "fifty 2 s timeouts took \(elapsed)")
    }
}
