import Accounts
import AgoraApp
import AgoraCore
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct PrivacyTests {
    @Test func aUserCannotReadOrChangeAnotherUsersPrivateData() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                let alice = try await api.register("alice")
                let bob = try await api.register("bob")

                // The public profile has no email and no verification state.
                let profile = try await api.call(.get, "/api/users/ALICE", bearer: bob.accessToken)
                #expect(profile.status == .ok && profile["username"] as? String == "alice")
                #expect(profile["email"] == nil && profile["emailVerified"] == nil && !profile.raw.contains("alice@example.com"))
                #expect(try await api.call(.get, "/api/users/nobody").status == .notFound)

                // /api/me is always the caller; there is no id to aim at someone else.
                let me = try await api.call(.get, "/api/me", bearer: bob.accessToken)
                #expect(me["id"] as? String == bob.accountID)

                // Bob cannot end, or learn about, Alice's sessions.
                let aliceSessions = try await api.call(.get, "/api/me/sessions", bearer: alice.accessToken)
                let aliceSession = try #require((aliceSessions["sessions"] as? [[String: Any]])?.first?["id"] as? String)
                let bobSessions = try await api.call(.get, "/api/me/sessions", bearer: bob.accessToken)
                #expect(!(bobSessions.raw.contains(aliceSession)))
                let kill = try await api.call(.delete, "/api/me/sessions/\(aliceSession)", bearer: bob.accessToken)
                #expect(kill.status == .notFound)
                #expect(try await api.call(.get, "/api/me", bearer: alice.accessToken).status == .ok)

                // Bob's tickets stand for Bob; Bob's token edits only Bob.
                let edit = try await api.call(.patch, "/api/me", json: ["displayName": "Not Alice"], bearer: bob.accessToken)
                #expect(edit.status == .ok && edit["id"] as? String == bob.accountID)
                let aliceNow = try await api.call(.get, "/api/me", bearer: alice.accessToken)
                #expect(aliceNow["displayName"] as? String == "Alice")
                // Anonymous: nothing private at all.
                for path in ["/api/me", "/api/me/sessions"] {
                    let anonymous = try await api.call(.get, path)
                    #expect(anonymous.status == .unauthorized && anonymous.code == "authentication_required")
                }
            }
        }
    }

    @Test func cookieAuthenticatedWritesNeedOurOrigin() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                let grant = try await api.register("carol")
                let cookie = ["agora_access": grant.accessToken]
                // Reads with the cookie are fine without an Origin.
                #expect(try await api.call(.get, "/api/me", cookies: cookie).status == .ok)
                // Writes: no Origin, a foreign Origin, or a foreign Referer are all refused, and change nothing.
                let refused = [
                    try await api.call(.patch, "/api/me", json: ["bio": "pwned"], cookies: cookie),
                    try await api.call(.patch, "/api/me", json: ["bio": "pwned"], cookies: cookie, headers: [.origin: "https://evil.example"]),
                    try await api.call(.patch, "/api/me", json: ["bio": "pwned"], cookies: cookie, headers: [.referer: "https://evil.example/page"]),
                    try await api.call(.patch, "/api/me", json: ["bio": "pwned"], cookies: cookie, headers: [.origin: "null"]),
                ]
                for response in refused { #expect(response.status == .forbidden && response.code == "origin_not_allowed") }
                #expect(try await api.call(.get, "/api/me", cookies: cookie)["bio"] as? String == "")
                // Our own origin (either spelling), or a Referer from it, may write.
                let ok = try await api.call(.patch, "/api/me", json: ["bio": "hello"], cookies: cookie, headers: [.origin: "http://127.0.0.1:8080"])
                #expect(ok.status == .ok && ok["bio"] as? String == "hello")
                let viaReferer = try await api.call(.patch, "/api/me", json: ["bio": "again"], cookies: cookie, headers: [.referer: "http://localhost:8080/me"])
                #expect(viaReferer.status == .ok)
                // A Bearer token needs no Origin: a foreign page cannot add one.
                #expect(try await api.call(.patch, "/api/me", json: ["bio": "bearer"], bearer: grant.accessToken).status == .ok)
                // Login from a foreign page is refused too (login CSRF).
                let foreignLogin = try await api.call(.post, "/api/auth/login", json: ["email": "carol@example.com", "password": "correct horse battery"], headers: [.origin: "https://evil.example"])
                #expect(foreignLogin.status == .forbidden)
            }
        }
    }

    @Test func profileEditsAreValidatedAndNullClears() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                let grant = try await api.register("dora")
                let set = try await api.call(.patch, "/api/me", json: [
                    "displayName": "Dora E.", "bio": "Sells maps.\nAnd compasses.", "avatarUrl": "https://cdn.example.com/d.png", "location": "Cape Town",
                ], bearer: grant.accessToken)
                #expect(set.status == .ok && set["location"] as? String == "Cape Town" && set["avatarUrl"] as? String == "https://cdn.example.com/d.png")
                let bad = try await api.call(.patch, "/api/me", json: [
                    "displayName": "", "avatarUrl": "javascript:alert(1)", "bio": String(repeating: "x", count: 501), "location": "ok",
                ], bearer: grant.accessToken)
                #expect(bad.status == .unprocessableContent && Set(bad.fields.keys) == ["displayName", "avatarUrl", "bio"])
                // The refused edit changed nothing, not even its valid field.
                let unchanged = try await api.call(.get, "/api/me", bearer: grant.accessToken)
                #expect(unchanged["location"] as? String == "Cape Town" && unchanged["displayName"] as? String == "Dora E.")
                let cleared = try await api.call(.patch, "/api/me", json: ["avatarUrl": nil, "location": nil], bearer: grant.accessToken)
                #expect(cleared.status == .ok && cleared["avatarUrl"] == nil && cleared["location"] == nil)
                #expect(cleared["bio"] as? String == "Sells maps.\nAnd compasses.")
            }
        }
    }

    @Test func becomingASellerNeedsAVerifiedEmail() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let api = API(client: client)
                let grant = try await api.register("sam")
                let refused = try await api.call(.post, "/api/me/seller", bearer: grant.accessToken)
                #expect(refused.status == .forbidden && refused.code == "email_not_verified")
                try await services.db.execute("UPDATE accounts SET email_verified_at = now() WHERE username = 'sam'", logger: TestServices.logger)
                let seller = try await api.call(.post, "/api/me/seller", bearer: grant.accessToken)
                #expect(seller.status == .ok && (seller["account"] as? [String: Any])?["role"] as? String == "seller")
                let token = try #require(seller["accessToken"] as? String)
                #expect(try services.auth.tokens.verify(token).role == .seller)
                // A refresh also issues the new role.
                let refreshed = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": grant.refreshToken], headers: [.origin: API.origin])
                #expect(try services.auth.tokens.verify(try #require(refreshed["accessToken"] as? String)).role == .seller)
            }
        }
    }
}
