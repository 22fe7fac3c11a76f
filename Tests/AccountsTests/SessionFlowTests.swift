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
struct SessionFlowTests {
    @Test func registerSetsHardenedCookiesAndReturnsTheAccount() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                let response = try await api.call(.post, "/api/auth/register", json: [
                    "email": "Ada@Example.com", "username": "Ada", "displayName": " Ada Lovelace ", "password": "analytical engine",
                ])
                #expect(response.status == .created)
                let account = try #require(response["account"] as? [String: Any])
                #expect(account["email"] as? String == "Ada@example.com")
                #expect(account["username"] as? String == "ada")
                #expect(account["displayName"] as? String == "Ada Lovelace")
                #expect(account["role"] as? String == "buyer")
                #expect(account["emailVerified"] as? Bool == false)
                #expect(account["passwordHash"] == nil && !response.raw.contains("$2b$"))
                #expect(response["tokenType"] as? String == "Bearer")
                #expect(response["expiresIn"] as? Int == 900)
                let refresh = try #require(response.setCookieLine("agora_refresh"))
                for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/api/auth"] { #expect(refresh.contains(attribute), "\(attribute) in \(refresh)") }
                #expect(try #require(response.setCookies["agora_refresh"]).count == 43)  // 256 bits, base64url
                let access = try #require(response.setCookieLine("agora_access"))
                for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] { #expect(access.contains(attribute)) }

                let me = try await api.call(.get, "/api/me", bearer: response["accessToken"] as? String)
                #expect(me.status == .ok && me["username"] as? String == "ada")
            }
        }
    }

    @Test func registrationErrorsNameEveryFieldAndChangeNothing() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let api = API(client: client)
                let bad = try await api.call(.post, "/api/auth/register", json: ["email": "nope", "username": "x", "password": "short"])
                #expect(bad.status == .unprocessableContent)
                #expect(Set(bad.fields.keys) == ["email", "username", "displayName", "password"])
                #expect(bad.code == "validation_failed")

                let sameAsName = try await api.call(.post, "/api/auth/register", json: [
                    "email": "grace@example.com", "username": "grace_hopper", "displayName": "Grace", "password": "Grace_Hopper",
                ])
                #expect(sameAsName.status == .unprocessableContent && sameAsName.fields["password"] == "must not be your username")

                _ = try await api.register("grace")
                let duplicate = try await api.call(.post, "/api/auth/register", json: [
                    "email": "GRACE@example.COM", "username": "GRACE", "displayName": "Grace 2", "password": "another good one",
                ])
                #expect(duplicate.status == .unprocessableContent)
                #expect(duplicate.fields == ["email": "is already registered", "username": "is taken"])

                let malformed = try await api.client.execute(uri: "/api/auth/register", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{not json")) { $0.status }
                #expect(malformed == .badRequest)
                let count = try await services.db.query("SELECT count(*) AS n FROM accounts", logger: TestServices.logger)[0].decode("n", as: Int.self)
                #expect(count == 1)
            }
        }
    }

    @Test func wrongPasswordAndUnknownEmailLookTheSame() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                _ = try await api.register("alan")
                let wrong = try await api.login("alan@example.com", "not the password")
                let unknown = try await api.login("nobody@example.com", "not the password")
                #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
                #expect(wrong.code == "invalid_credentials" && unknown.code == "invalid_credentials")
                #expect(wrong["message"] as? String == unknown["message"] as? String)
                let ok = try await api.login("ALAN@example.com")
                #expect(ok.status == .ok)
            }
        }
    }

    @Test func refreshRotatesAndReusingAnOldTokenRevokesTheFamily() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                _ = try await api.register("mallory")
                let login = try await api.login("mallory@example.com")
                let first = try Grant(login)

                let second = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": first.refreshToken], headers: [.origin: API.origin])
                #expect(second.status == .ok)
                let secondGrant = try Grant(second)
                #expect(secondGrant.refreshToken != first.refreshToken)
                let third = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": secondGrant.refreshToken], headers: [.origin: API.origin])
                #expect(third.status == .ok)
                let thirdGrant = try Grant(third)
                #expect(try await api.call(.get, "/api/me", bearer: thirdGrant.accessToken).status == .ok)

                // The first token again: theft detected, the family is gone.
                let replay = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": first.refreshToken], headers: [.origin: API.origin])
                #expect(replay.status == .unauthorized && replay.code == "refresh_token_reused")
                #expect(replay.setCookies["agora_refresh"] == "")  // told to forget it
                // ... so the newest refresh token and every access token of the session stop working too.
                let latest = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": thirdGrant.refreshToken], headers: [.origin: API.origin])
                #expect(latest.status == .unauthorized && latest.code == "invalid_refresh_token")
                let me = try await api.call(.get, "/api/me", bearer: thirdGrant.accessToken)
                #expect(me.status == .unauthorized && me.code == "session_revoked")
                // Another login is unaffected.
                #expect(try await api.login("mallory@example.com").status == .ok)
            }
        }
    }

    @Test func refreshNeedsOurOriginAndAValidCookie() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                let grant = try await api.register("eve")
                let foreign = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": grant.refreshToken], headers: [.origin: "https://evil.example"])
                #expect(foreign.status == .forbidden && foreign.code == "origin_not_allowed")
                let none = try await api.call(.post, "/api/auth/refresh", headers: [.origin: API.origin])
                #expect(none.status == .unauthorized)
                let garbage = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": String(repeating: "A", count: 43)], headers: [.origin: API.origin])
                #expect(garbage.status == .unauthorized && garbage.code == "invalid_refresh_token")
                // The refused attempts did not spend the real token.
                let ok = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": grant.refreshToken], headers: [.origin: API.origin])
                #expect(ok.status == .ok)
            }
        }
    }

    @Test func forgedAndExpiredAccessTokensAreRefusedOverHTTP() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let api = API(client: client)
                let grant = try await api.register("oscar")
                let parts = grant.accessToken.split(separator: ".").map(String.init)
                let none = parts[0].isEmpty ? "" : Base64URL.encode(#"{"alg":"none","typ":"JWT"}"#) + "." + parts[1] + "."
                let responses = [
                    try await api.call(.get, "/api/me", bearer: none),
                    try await api.call(.get, "/api/me", bearer: parts[0] + "." + parts[1] + "." + String(parts[2].reversed())),
                    try await api.call(.get, "/api/me", bearer: "not-a-token"),
                ]
                for response in responses { #expect(response.status == .unauthorized && response.code == "invalid_token", "\(response.raw)") }

                let expired = services.auth.tokens.issue(account: UUID(uuidString: grant.accountID)!, role: .buyer, session: "s", now: Date.now.addingTimeInterval(-901)).token
                let response = try await api.call(.get, "/api/me", bearer: expired)
                #expect(response.status == .unauthorized && response.code == "token_expired")
                // A public route still answers an anonymous caller whose token was refused.
                #expect(try await api.call(.get, "/api/users/oscar", bearer: "not-a-token").status == .ok)
            }
        }
    }

    @Test func logoutEndsOneSessionAndLogoutAllEndsEvery() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                let phone = try await api.register("nora")
                let laptop = try Grant(try await api.call(.post, "/api/auth/login", json: ["email": "nora@example.com", "password": "correct horse battery", "device": "Laptop"]))
                let tablet = try Grant(try await api.login("nora@example.com"))

                let listed = try await api.call(.get, "/api/me/sessions", bearer: laptop.accessToken)
                let sessions = try #require(listed["sessions"] as? [[String: Any]])
                #expect(sessions.count == 3)
                #expect(sessions.filter { $0["current"] as? Bool == true }.count == 1)
                #expect(sessions.contains { $0["device"] as? String == "Laptop" && $0["current"] as? Bool == true })

                let logout = try await api.call(.post, "/api/auth/logout", cookies: ["agora_refresh": phone.refreshToken], headers: [.origin: API.origin])
                #expect(logout.status == .noContent && logout.setCookies["agora_access"] == "")
                #expect(try await api.call(.get, "/api/me", bearer: phone.accessToken).status == .unauthorized)
                #expect(try await api.call(.get, "/api/me", bearer: laptop.accessToken).status == .ok)

                #expect(try await api.call(.post, "/api/auth/logout-all", bearer: tablet.accessToken).status == .noContent)
                for grant in [laptop, tablet] {
                    #expect(try await api.call(.get, "/api/me", bearer: grant.accessToken).code == "session_revoked")
                    let refresh = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": grant.refreshToken], headers: [.origin: API.origin])
                    #expect(refresh.status == .unauthorized)
                }
            }
        }
    }

    @Test func realtimeTicketsWorkOnceAndStandForTheCaller() async throws {
        try await TestApp.withApplication { app, services in
            try await app.test(.router) { client in
                let api = API(client: client)
                let grant = try await api.register("tess")
                #expect(try await api.call(.post, "/api/realtime/ticket").status == .unauthorized)
                let response = try await api.call(.post, "/api/realtime/ticket", bearer: grant.accessToken)
                #expect(response.status == .ok && response["expiresIn"] as? Int == 30)
                let ticket = try #require(response["ticket"] as? String)
                let identity = try await services.auth.tickets.redeem(ticket, logger: TestServices.logger)
                #expect(identity?.accountID.uuidString == grant.accountID && identity?.transport == .ticket)
                let again = try await services.auth.tickets.redeem(ticket, logger: TestServices.logger)
                #expect(again == nil)
            }
        }
    }
}

enum Base64URL {
    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct PasswordChangeTests {
    @Test func changingThePasswordEndsEverySession() async throws {
        try await TestApp.withApplication { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                let first = try await api.register("paula")
                let second = try Grant(try await api.login("paula@example.com"))
                let wrong = try await api.call(.post, "/api/me/password", json: ["currentPassword": "not it at all", "newPassword": "a brand new secret"], bearer: first.accessToken)
                #expect(wrong.status == .unprocessableContent && wrong.fields["currentPassword"] == "is incorrect")
                let weak = try await api.call(.post, "/api/me/password", json: ["currentPassword": "correct horse battery", "newPassword": "paula"], bearer: first.accessToken)
                #expect(weak.status == .unprocessableContent && weak.fields["newPassword"] != nil)
                // The refused attempts changed nothing.
                #expect(try await api.call(.get, "/api/me", bearer: second.accessToken).status == .ok)

                let changed = try await api.call(.post, "/api/me/password", json: ["currentPassword": "correct horse battery", "newPassword": "a brand new secret"], bearer: first.accessToken)
                #expect(changed.status == .noContent && changed.setCookies["agora_refresh"] == "")
                for grant in [first, second] {
                    #expect(try await api.call(.get, "/api/me", bearer: grant.accessToken).code == "session_revoked")
                    let refresh = try await api.call(.post, "/api/auth/refresh", cookies: ["agora_refresh": grant.refreshToken], headers: [.origin: API.origin])
                    #expect(refresh.status == .unauthorized)
                }
                #expect(try await api.login("paula@example.com").status == .unauthorized)
                #expect(try await api.login("paula@example.com", "a brand new secret").status == .ok)
            }
        }
    }
}
