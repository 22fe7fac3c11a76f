import Accounts
import AgoraApp
import AgoraMail
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Logins must not queue behind slow mail: SMTP sessions hold no thread while they wait, and bcrypt has threads of
/// its own.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured), .schemaTestLimit)
struct LoginIsolationTests {
    @Test func aLoginDoesNotWaitForMailStuckOnASilentServer() async throws {
        let silent = try await SilentServer.start()
        try await TestApp.withApplication([
            "AGORA_MAIL_TRANSPORT": "smtp", "AGORA_SMTP_HOST": "127.0.0.1", "AGORA_SMTP_PORT": String(silent.port),
            "AGORA_SMTP_TIMEOUT": "30", "AGORA_MAIL_DISPATCH": "false",
        ]) { app, services in
            try await app.test(.router) { client in
                _ = try await services.auth.accounts.register(
                    .init(email: "ida@example.com", username: "ida", displayName: "Ida", password: "correct horse battery"), logger: TestServices.logger)
                let transport = services.mailDispatcher.transport
                let mail = Mail(from: try MailAddress("no-reply@agora.example"), to: try MailAddress("ida@example.com"), subject: "Stuck", text: "Never sent")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // More sessions than the machine has threads, each waiting for a greeting that never comes (for up
                    // to AGORA_SMTP_TIMEOUT). None holds a thread, so all of them reach the server at once.
                    let sessions = max(6, ProcessInfo.processInfo.activeProcessorCount + 2)
                    for _ in 0..<sessions {
                        group.addTask { _ = await transport.send([(UUID(), mail)], logger: TestServices.logger) }
                    }
                    let deadline = ContinuousClock.now + .seconds(20)
                    while silent.connections < sessions, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                    try #require(silent.connections == sessions, "\(silent.connections) of \(sessions) mail sessions reached the silent server")

                    let started = ContinuousClock.now
                    let login = try await API(client: client).login("ida@example.com")
                    let waited = ContinuousClock.now - started
                    #expect(login.status == .ok)
                    #expect(waited < .seconds(3), "a login waited \(waited) behind mail stuck on a silent SMTP server")

                    // Closing the connections frees the stuck sessions.
                    await silent.close()
                    try await group.waitForAll()
                }
            }
        }
    }
}
