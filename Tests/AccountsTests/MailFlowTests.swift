import Accounts
import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The whole account life cycle with real mail: the app's outbox dispatcher delivers to a real SMTP server
/// (aiosmtpd), and the test follows the links in what arrives.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured && SMTPTestServer.isRunnableOrRequired), .schemaTestLimit)
struct MailFlowTests {
    func withMailingApp(_ body: @escaping @Sendable (API, AgoraServices, SMTPTestServer) async throws -> Void) async throws {
        try await SMTPTestServer.with { server in
            try await TestApp.withApplication([
                "AGORA_MAIL_TRANSPORT": "smtp", "AGORA_SMTP_HOST": "127.0.0.1", "AGORA_SMTP_PORT": String(server.port),
                "AGORA_MAIL_POLL_MS": "50", "AGORA_MAIL_FROM": "Agora <no-reply@agora.example>", "AGORA_PUBLIC_URL": "https://agora.example",
            ]) { app, services in
                try await app.test(.router) { client in try await body(API(client: client), services, server) }
            }
        }
    }

    /// The token of the one link in `mail` that starts with `prefix`.
    func token(in mail: SMTPTestServer.ReceivedMail, link prefix: String) throws -> String {
        let line = try #require(mail.text.split(whereSeparator: \.isNewline).first { $0.hasPrefix(prefix + "?token=") }, "no \(prefix) link in:\n\(mail.text)")
        return String(line.dropFirst(prefix.count + "?token=".count))
    }

    @Test func registerVerifyLoginRefreshTwiceThenReuseRevokesTheFamily() async throws {
        try await withMailingApp { api, _, server in
            let registered = try await api.register("ada")
            let mails = try await server.waitForMail()
            let mail = try #require(mails.first, "no verification mail arrived")
            #expect(mails.count == 1 && mail.rcpt_tos == ["ada@example.com"] && mail.subject == "Confirm your email for Agora")
            #expect(mail.from == "Agora <no-reply@agora.example>")
            let token = try token(in: mail, link: "https://agora.example/verify-email")
            #expect(token.count == 43)

            // Not verified yet: selling is refused.
            #expect(try await api.call(.post, "/api/me/seller", bearer: registered.accessToken).code == "email_not_verified")
            let verified = try await api.call(.post, "/api/auth/verify-email", json: ["token": token])
            #expect(verified.status == .ok && verified["emailVerified"] as? Bool == true)
            // The link works once.
            let again = try await api.call(.post, "/api/auth/verify-email", json: ["token": token])
            #expect(again.status == .badRequest && again.code == "invalid_link")

            let login = try Grant(try await api.login("ada@example.com"))
            let refresh = { (token: String) in
                try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": token], headers: [.origin: API.origin])
            }
            let second = try Grant(try await refresh(login.refreshToken))
            let third = try Grant(try await refresh(second.refreshToken))
            #expect(try await api.call(.get, "/api/me", bearer: third.accessToken)["emailVerified"] as? Bool == true)

            let reuse = try await refresh(login.refreshToken)
            #expect(reuse.status == .unauthorized && reuse.code == "refresh_token_reused")
            #expect(try await refresh(third.refreshToken).status == .unauthorized)
            #expect(try await api.call(.get, "/api/me", bearer: third.accessToken).code == "session_revoked")
            // The registration's own session was another family, untouched by the theft response.
            #expect(try await api.call(.get, "/api/me", bearer: registered.accessToken).status == .ok)
        }
    }

    /// Only the tokens' hashes are kept (`account_tokens`); the mails that carried them must not keep the tokens
    /// themselves in `mail_outbox` once they are sent, or a read of that table (a backup, a replica, a support query)
    /// would hand out working verification and reset links.
    @Test func sentMailsDoNotKeepTheirLinks() async throws {
        try await withMailingApp { api, services, server in
            _ = try await api.register("cal")
            #expect(try await api.call(.post, "/api/auth/password-reset", json: ["email": "cal@example.com"]).status == .accepted)
            let mails = try await server.waitForMail(count: 2)
            try #require(mails.count == 2, "expected the verification and the reset mail, got \(mails.map(\.subject))")
            let tokens = [
                try token(in: try #require(mails.first { $0.subject == "Confirm your email for Agora" }), link: "https://agora.example/verify-email"),
                try token(in: try #require(mails.first { $0.subject == "Reset your Agora password" }), link: "https://agora.example/reset-password"),
            ]
            // The server has the mails before the dispatcher records them as sent.
            let deadline = ContinuousClock.now + .seconds(10)
            var statuses: [String] = []
            while ContinuousClock.now < deadline {
                statuses = try await services.db.query("SELECT status FROM mail_outbox", logger: TestServices.logger).map { try $0.decode("status", as: String.self) }
                if statuses == ["sent", "sent"] { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            try #require(statuses == ["sent", "sent"])
            for token in tokens {
                let rows = try await services.db.query(
                    "SELECT count(*) AS n FROM mail_outbox WHERE strpos(body, \(token)) > 0 OR strpos(subject, \(token)) > 0", logger: TestServices.logger)
                #expect(try rows[0].decode("n", as: Int.self) == 0, "a sent mail still holds its link")
            }
            // The links still work: only the copies in the outbox are gone.
            #expect(try await api.call(.post, "/api/auth/verify-email", json: ["token": tokens[0]]).status == .ok)
        }
    }

    @Test func aPasswordResetByMailEndsEverySession() async throws {
        try await withMailingApp { api, services, server in
            let first = try await api.register("bea")
            let second = try Grant(try await api.login("bea@example.com"))
            // Unknown addresses get the same answer and no mail.
            #expect(try await api.call(.post, "/api/auth/password-reset", json: ["email": "nobody@example.com"]).status == .accepted)
            #expect(try await api.call(.post, "/api/auth/password-reset", json: ["email": "BEA@example.com"]).status == .accepted)
            let mails = try await server.waitForMail(count: 2)
            try #require(mails.count == 2, "expected the verification and the reset mail, got \(mails.map(\.subject))")
            let reset = try #require(mails.first { $0.subject == "Reset your Agora password" })
            #expect(reset.rcpt_tos == ["bea@example.com"])
            let token = try token(in: reset, link: "https://agora.example/reset-password")

            let weak = try await api.call(.post, "/api/auth/password-reset/confirm", json: ["token": token, "password": "short"])
            #expect(weak.status == .unprocessableContent)
            #expect(try await api.call(.get, "/api/me", bearer: first.accessToken).status == .ok, "a refused reset changes nothing")

            let done = try await api.call(.post, "/api/auth/password-reset/confirm", json: ["token": token, "password": "a whole new secret"])
            #expect(done.status == .noContent)
            for grant in [first, second] {
                #expect(try await api.call(.get, "/api/me", bearer: grant.accessToken).code == "session_revoked")
                let refreshed = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": grant.refreshToken], headers: [.origin: API.origin])
                #expect(refreshed.status == .unauthorized)
            }
            #expect(try await api.login("bea@example.com").status == .unauthorized)
            #expect(try await api.login("bea@example.com", "a whole new secret").status == .ok)
            // The link is spent, and following it proved the mailbox.
            #expect(try await api.call(.post, "/api/auth/password-reset/confirm", json: ["token": token, "password": "yet another one!"]).code == "invalid_link")
            let verified = try await services.db.query("SELECT email_verified_at IS NOT NULL AS v FROM accounts WHERE username = 'bea'", logger: TestServices.logger)
            #expect(try verified[0].decode("v", as: Bool.self))
            let statuses = try await services.db.query("SELECT status FROM mail_outbox", logger: TestServices.logger).map { try $0.decode("status", as: String.self) }
            #expect(statuses == ["sent", "sent"])
        }
    }
}
