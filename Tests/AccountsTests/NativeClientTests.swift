import AgoraApp
import AgoraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Clients that are not the PWA: a native app keeps its refresh token itself (no cookie), and a web client on
/// another origin calls the API through CORS.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct NativeClientTests {
    static let delivery = HTTPField.Name("Agora-Token-Delivery")!

    @Test func aClientWithoutCookiesKeepsItsRefreshTokenWithTheSameRotationAndReuseDetection() async throws {
        try await TestApp.withApplication(["AGORA_RATE_LIMITS": "false"]) { app, _ in
            try await app.test(.router) { client in
                let api = API(client: client)
                _ = try await api.register("nativeuser")
                let login = try await api.call(
                    .post, "/api/auth/login", json: ["email": "nativeuser@example.com", "password": "correct horse battery", "device": "Pixel 8"],
                    headers: [Self.delivery: "body"])
                #expect(login.status == .ok, "\(login.raw)")
                #expect(login.setCookies.isEmpty, "no cookie for a client that keeps its tokens")
                let first = try #require(login["refreshToken"] as? String)
                let access = try #require(login["accessToken"] as? String)
                #expect(try await api.call(.get, "/api/me", bearer: access)["username"] as? String == "nativeuser")
                #expect(try await api.call(.post, "/api/auth/login", json: ["email": "nativeuser@example.com", "password": "correct horse battery"],
                                           headers: [Self.delivery: "carrier pigeon"]).code == "invalid_token_delivery")

                // Refresh in the body: a new pair, no cookie, no Origin needed.
                let refreshed = try await api.call(.post, "/api/auth/refresh", json: ["refreshToken": first])
                #expect(refreshed.status == .ok && refreshed.setCookies.isEmpty, "\(refreshed.raw)")
                let second = try #require(refreshed["refreshToken"] as? String)
                #expect(second != first)
                // The old token presented again: the whole family ends, the new token with it.
                let replay = try await api.call(.post, "/api/auth/refresh", json: ["refreshToken": first])
                #expect(replay.status == .unauthorized && replay.code == "refresh_token_reused", "\(replay.raw)")
                #expect(try await api.call(.post, "/api/auth/refresh", json: ["refreshToken": second]).status == .unauthorized)
                for junk in ["", "x", String(repeating: "a", count: 5000)] {
                    #expect(try await api.call(.post, "/api/auth/refresh", json: ["refreshToken": junk]).status == .unauthorized, "\(junk.prefix(10))")
                }
                // A token that is not a string is refused, never taken as "no token" (which would fall back to a cookie).
                #expect(try await api.call(.post, "/api/auth/logout", json: ["refreshToken": nil], bearer: access).status == .badRequest)
                #expect(try await api.call(.post, "/api/auth/refresh", json: ["refreshToken": 42]).status == .badRequest)
                // A NUL in the token is refused by the JSON decoder, before any token is looked at.
                let nul = try await api.call(.post, "/api/auth/refresh", json: ["refreshToken": "a\u{0}b"])
                #expect(nul.status == .unprocessableContent && nul.code == "invalid_text", "\(nul.status) \(nul.raw)")

                // Registration can ask the same; logout takes the token in the body.
                let registered = try await api.call(
                    .post, "/api/auth/register",
                    json: ["email": "nativetwo@example.com", "username": "nativetwo", "displayName": "Two", "password": "correct horse battery"],
                    headers: [Self.delivery: "body"])
                #expect(registered.status == .created && registered.setCookies.isEmpty)
                let token = try #require(registered["refreshToken"] as? String)
                #expect(try await api.call(.post, "/api/auth/logout", json: ["refreshToken": token]).status == .noContent)
                #expect(try await api.call(.post, "/api/auth/refresh", json: ["refreshToken": token]).status == .unauthorized)
                // The browser's flow is unchanged: cookies, and no refresh token in the body.
                let browser = try await api.call(.post, "/api/auth/login", json: ["email": "nativetwo@example.com", "password": "correct horse battery"])
                #expect(browser["refreshToken"] == nil && browser.setCookies["agora_refresh"] != nil)
            }
        }
    }

    @Test func listedWebOriginsGetCORSWithCredentialsAndOthersGetNothing() async throws {
        let app = "https://app.example"
        try await TestApp.withApplication(["AGORA_RATE_LIMITS": "false", "AGORA_CORS_ORIGINS": "\(app), https://shop.example:8443"]) { server, _ in
            try await server.test(.router) { client in
                let api = API(client: client)
                // A preflight from a listed origin is answered before routing, and cached for AGORA_CORS_MAX_AGE.
                let preflight = try await api.call(
                    .options, "/api/cart/items",
                    headers: [.origin: app, .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "authorization, content-type"])
                #expect(preflight.status == .noContent, "\(preflight.raw)")
                #expect(preflight.headers[.accessControlAllowOrigin] == app && preflight.headers[.accessControlAllowCredentials] == "true")
                #expect(preflight.headers[.accessControlMaxAge] == "600")
                #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
                #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
                // Another origin: refused, and nothing that would let its page read anything.
                let foreign = try await api.call(.options, "/api/cart/items", headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"])
                #expect(foreign.status == .forbidden && foreign.headers[.accessControlAllowOrigin] == nil)

                // Ordinary requests: the listed origin (any spelling of it) may read the answer; others may not.
                let listed = try await api.call(.get, "/api/products", headers: [.origin: "https://SHOP.example:8443"])
                #expect(listed.status == .ok && listed.headers[.accessControlAllowOrigin] == "https://SHOP.example:8443")
                #expect(listed.headers[.vary]?.contains("Origin") == true && listed.headers[.accessControlExposeHeaders]?.contains("Location") == true)
                let other = try await api.call(.get, "/api/products", headers: [.origin: "https://evil.example"])
                #expect(other.status == .ok && other.headers[.accessControlAllowOrigin] == nil)
                // An error answer carries the headers too, so the page can read why.
                let refused = try await api.call(.get, "/api/me", headers: [.origin: app])
                #expect(refused.status == .unauthorized && refused.headers[.accessControlAllowOrigin] == app)

                // With credentials: a listed origin passes the cookie CSRF check, a foreign one does not.
                let grant = try await api.register("corsuser")
                let cookies = ["agora_access": grant.accessToken]
                let mine = try await api.call(.post, "/api/cart/items", json: ["productId": UUID().uuidString], cookies: cookies, headers: [.origin: app])
                #expect(mine.code != "origin_not_allowed", "\(mine.raw)")
                let theirs = try await api.call(
                    .post, "/api/cart/items", json: ["productId": UUID().uuidString], cookies: cookies, headers: [.origin: "https://evil.example"])
                #expect(theirs.status == .forbidden && theirs.code == "origin_not_allowed")
            }
        }
        // None listed (the default): no CORS header at all, and a preflight goes to the router (405).
        try await TestApp.withApplication(["AGORA_RATE_LIMITS": "false"]) { server, _ in
            try await server.test(.router) { client in
                let api = API(client: client)
                let plain = try await api.call(.get, "/api/products", headers: [.origin: app])
                #expect(plain.headers[.accessControlAllowOrigin] == nil)
                let preflight = try await api.call(.options, "/api/products", headers: [.origin: app, .accessControlRequestMethod: "GET"])
                #expect(preflight.headers[.accessControlAllowOrigin] == nil && preflight.status.code >= 400)
            }
        }
    }
}
