import AgoraApp
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Logging in with an OAuth 2 provider, against a real authorization server (authlib, `Tests/interop/oauth_provider.py`)
/// configured as "discord": PKCE and state, new accounts, returning users, an email already taken (linked only with
/// the password), linking from the account page, unlinking, and every way a callback can be wrong.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured && TestTools.python() != nil), .serialized)
struct OAuthLoginTests {
    /// One browser's trip: start, the provider's consent as `user`, and the callback with the browser's state cookie.
    struct Trip {
        var start: APIResponse
        var state: String
        var callback: URLComponents
    }

    static func begin(_ api: API) async throws -> (response: APIResponse, state: String, authorize: String) {
        let start = try await api.call(.get, "/api/auth/oauth/discord/start")
        try #require(start.status == .found, "start: \(start.status) \(start.raw)")
        let state = try #require(start.setCookies["agora_oauth"], "no state cookie")
        return (start, state, try #require(start.headers[.location]))
    }

    static func finish(_ api: API, _ callback: URLComponents, cookie: String?) async throws -> APIResponse {
        let query = callback.percentEncodedQuery ?? ""
        return try await api.call(.get, "/api/auth/oauth/discord/callback?\(query)", cookies: cookie.map { ["agora_oauth": $0] } ?? [:])
    }

    static func login(_ api: API, _ provider: LocalOAuthProvider, as user: String) async throws -> APIResponse {
        let (_, state, authorize) = try await begin(api)
        return try await finish(api, try await provider.authorize(authorize, as: user), cookie: state)
    }

    static func value(_ name: String, in callback: URLComponents) -> String? { callback.queryItems?.first { $0.name == name }?.value }

    @Test func aNewUserGetsAnAccountAndComesBackToIt() async throws {
        try await LocalOAuthProvider.with { provider in
            try await provider.addUser("alice", id: "100000000000000001", username: "Alice.W!", email: "alice@discord.example", verified: true)
            try await TestApp.withApplication(provider.environment) { app, _ in
                try await app.test(.router) { client in
                    let api = API(client: client)
                    let providers = try await api.call(.get, "/api/auth/oauth/providers")
                    #expect((providers["providers"] as? [[String: Any]])?.first?["name"] as? String == "discord")

                    // The provider is asked for a code with PKCE (S256) and a state that the browser's cookie holds.
                    let (start, state, authorize) = try await Self.begin(api)
                    let asked = try #require(URLComponents(string: authorize))
                    #expect(asked.path == "/oauth2/authorize")
                    #expect(Self.value("code_challenge_method", in: asked) == "S256")
                    #expect(Self.value("code_challenge", in: asked)?.count == 43)
                    #expect(Self.value("state", in: asked) == state && state.count == 43)
                    #expect(Self.value("redirect_uri", in: asked)?.hasSuffix("/api/auth/oauth/discord/callback") == true)
                    let cookie = try #require(start.setCookieLine("agora_oauth"))
                    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/api/auth/oauth"] { #expect(cookie.contains(attribute), "\(cookie)") }

                    let back = try await provider.authorize(authorize, as: "alice")
                    let done = try await Self.finish(api, back, cookie: state)
                    #expect(done.status == .found && done.headers[.location] == "/explore?welcome=1", "\(done.status) \(done.headers)")
                    let access = try #require(done.setCookies["agora_access"])
                    #expect(done.setCookies["agora_refresh"]?.count == 43)
                    #expect(done.setCookies["agora_oauth"] == "", "the state cookie is cleared")
                    let me = try await api.call(.get, "/api/me", bearer: access)
                    #expect(me["email"] as? String == "alice@discord.example" && me["emailVerified"] as? Bool == true)
                    #expect(me["username"] as? String == "alicew", "\(me.raw)")
                    let links = try await api.call(.get, "/api/me/oauth", bearer: access)
                    #expect((links["links"] as? [[String: Any]])?.first?["username"] as? String == "Alice.W!")
                    #expect(links["hasPassword"] as? Bool == false)

                    // No password: the password endpoints say so, and the last way in cannot be unlinked.
                    let change = try await api.call(.post, "/api/me/password", json: ["currentPassword": "anything at all", "newPassword": "a brand new password"], bearer: access)
                    #expect(change.status == .unprocessableContent && change.fields["currentPassword"] != nil, "\(change.raw)")
                    #expect(try await api.login("alice@discord.example", "").status != .ok)
                    let unlink = try await api.call(.delete, "/api/me/oauth/discord", bearer: access)
                    #expect(unlink.status == .conflict && unlink.code == "last_login_method")

                    // The same provider account comes back to the same Agora account.
                    let again = try await Self.login(api, provider, as: "alice")
                    #expect(again.status == .found && again.headers[.location] == "/")
                    let second = try await api.call(.get, "/api/me", bearer: try #require(again.setCookies["agora_access"]))
                    #expect(second["id"] as? String == me["id"] as? String)
                }
            }
        }
    }

    @Test func aWrongStateAReplayedCodeAPKCEMismatchAndAProviderErrorLogNobodyIn() async throws {
        try await LocalOAuthProvider.with { provider in
            try await provider.addUser("dave", id: "200000000000000002", username: "dave", email: "dave@discord.example", verified: true)
            try await TestApp.withApplication(provider.environment) { app, _ in
                try await app.test(.router) { client in
                    let api = API(client: client)
                    func refused(_ response: APIResponse, _ code: String, _ what: String) {
                        #expect(response.status == .found && response.headers[.location] == "/login?oauthError=\(code)", "\(what): \(response.headers)")
                        #expect(response.setCookies["agora_access"] == nil && response.setCookies["agora_refresh"] == nil, "\(what) logged in")
                    }

                    // A state this browser did not start (login CSRF), or none at all.
                    let (_, stateA, authorizeA) = try await Self.begin(api)
                    let codeA = try await provider.authorize(authorizeA, as: "dave")
                    refused(try await Self.finish(api, codeA, cookie: nil), "invalid_state", "no cookie")
                    refused(try await Self.finish(api, codeA, cookie: "another-browsers-state"), "invalid_state", "another cookie")
                    // The state was not used up by those: the real browser still gets in, once.
                    let ok = try await Self.finish(api, codeA, cookie: stateA)
                    #expect(ok.status == .found && ok.setCookies["agora_access"] != nil)
                    refused(try await Self.finish(api, codeA, cookie: stateA), "invalid_state", "the same callback twice")

                    // A code used once already, brought with a fresh state: the provider refuses it.
                    let (_, stateB, _) = try await Self.begin(api)
                    var replay = codeA
                    replay.queryItems = replay.queryItems?.map { $0.name == "state" ? URLQueryItem(name: "state", value: stateB) : $0 }
                    refused(try await Self.finish(api, replay, cookie: stateB), "exchange_failed", "a replayed code")

                    // A code issued for another flow's PKCE challenge (an injected code): the verifier does not match.
                    let (_, stateC, _) = try await Self.begin(api)
                    let (_, _, authorizeD) = try await Self.begin(api)
                    var injected = try await provider.authorize(authorizeD, as: "dave")
                    injected.queryItems = injected.queryItems?.map { $0.name == "state" ? URLQueryItem(name: "state", value: stateC) : $0 }
                    refused(try await Self.finish(api, injected, cookie: stateC), "exchange_failed", "a PKCE mismatch")

                    // The user says no at the provider.
                    let (_, stateE, authorizeE) = try await Self.begin(api)
                    let denied = try await provider.authorize(authorizeE, as: "deny")
                    #expect(Self.value("error", in: denied) == "access_denied")
                    refused(try await Self.finish(api, denied, cookie: stateE), "provider_error", "access denied")

                    // An unknown provider.
                    #expect(try await api.call(.get, "/api/auth/oauth/github/start").code == "oauth_provider_not_found")
                }
            }
        }
    }

    @Test func anEmailAlreadyTakenIsLinkedOnlyWithThePassword() async throws {
        try await LocalOAuthProvider.with { provider in
            try await provider.addUser("bob", id: "300000000000000003", username: "bob", email: "bob@example.com", verified: true)
            try await provider.addUser("mallory", id: "300000000000000004", username: "mallory", email: "mallory@example.com", verified: false)
            try await TestApp.withApplication(provider.environment) { app, services in
                try await app.test(.router) { client in
                    let api = API(client: client)
                    let bob = try await api.register("bob")  // bob@example.com

                    let asked = try await Self.login(api, provider, as: "bob")
                    let location = try #require(asked.headers[.location])
                    #expect(location.hasPrefix("/login#oauthLink=") && location.contains("email=bob%40example%2Ecom"), "\(location)")
                    #expect(asked.setCookies["agora_access"] == nil, "not logged in on the email alone")
                    let accounts = try await services.db.query("SELECT count(*) AS n FROM accounts WHERE lower(email) = 'bob@example.com'", logger: TestServices.logger)
                    #expect(try accounts[0].decode("n", as: Int64.self) == 1, "no second account with that email")
                    let token = try #require(URLComponents(string: "/x?" + location.split(separator: "#")[1])?.queryItems?.first { $0.name == "oauthLink" }?.value)

                    let wrong = try await api.call(.post, "/api/auth/oauth/link/confirm", json: ["token": token, "password": "not the password"])
                    #expect(wrong.status == .unauthorized && wrong.code == "invalid_credentials")
                    let right = try await api.call(.post, "/api/auth/oauth/link/confirm", json: ["token": token, "password": "correct horse battery"])
                    #expect(right.status == .ok && (right["account"] as? [String: Any])?["id"] as? String == bob.accountID, "\(right.raw)")
                    let used = try await api.call(.post, "/api/auth/oauth/link/confirm", json: ["token": token, "password": "correct horse battery"])
                    #expect(used.status == .notFound && used.code == "oauth_link_expired")

                    // From now on Discord logs in as bob, who may unlink it (he has a password).
                    let back = try await Self.login(api, provider, as: "bob")
                    let me = try await api.call(.get, "/api/me", bearer: try #require(back.setCookies["agora_access"]))
                    #expect(me["id"] as? String == bob.accountID)
                    #expect(try await api.call(.delete, "/api/me/oauth/discord", bearer: bob.accessToken).status == .noContent)
                    #expect(((try await api.call(.get, "/api/me/oauth", bearer: bob.accessToken))["links"] as? [Any])?.isEmpty == true)

                    // A provider email the provider has not verified makes no account.
                    let unverified = try await Self.login(api, provider, as: "mallory")
                    #expect(unverified.headers[.location] == "/login?oauthError=profile_unusable")
                }
            }
        }
    }

    @Test func aLoggedInUserLinksFromTheAccountPage() async throws {
        try await LocalOAuthProvider.with { provider in
            try await provider.addUser("carol", id: "400000000000000005", username: "carol_d", email: "carol.other@example.com", verified: true)
            try await TestApp.withApplication(provider.environment) { app, _ in
                try await app.test(.router) { client in
                    let api = API(client: client)
                    let carol = try await api.register("carol")
                    let eve = try await api.register("eve")
                    #expect(try await api.call(.post, "/api/me/oauth/discord/link").status == .unauthorized)

                    let started = try await api.call(.post, "/api/me/oauth/discord/link", bearer: carol.accessToken)
                    let url = try #require(started["url"] as? String, "\(started.raw)")
                    let state = try #require(started.setCookies["agora_oauth"])
                    let linked = try await Self.finish(api, try await provider.authorize(url, as: "carol"), cookie: state)
                    #expect(linked.headers[.location] == "/account?linked=discord")
                    let links = try await api.call(.get, "/api/me/oauth", bearer: carol.accessToken)
                    #expect((links["links"] as? [[String: Any]])?.first?["provider"] as? String == "discord" && links["hasPassword"] as? Bool == true)

                    // The same Discord account cannot be linked to a second Agora account.
                    let other = try await api.call(.post, "/api/me/oauth/discord/link", bearer: eve.accessToken)
                    let taken = try await Self.finish(
                        api, try await provider.authorize(try #require(other["url"] as? String), as: "carol"), cookie: other.setCookies["agora_oauth"])
                    #expect(taken.headers[.location] == "/login?oauthError=already_linked")
                    // And a Discord login now reaches carol, not a new account for carol.other@example.com.
                    let back = try await Self.login(api, provider, as: "carol")
                    let me = try await api.call(.get, "/api/me", bearer: try #require(back.setCookies["agora_access"]))
                    #expect(me["id"] as? String == carol.accountID)
                    #expect(try await api.call(.delete, "/api/me/oauth/discord", bearer: eve.accessToken).code == "oauth_not_linked")
                }
            }
        }
    }
}
