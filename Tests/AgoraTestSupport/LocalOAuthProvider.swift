import AgoraNet
package import Foundation
import Testing

/// `Tests/interop/oauth_provider.py` as a child process: an OAuth 2 authorization server built on authlib, shaped like
/// Discord's (authorization code with PKCE, a `/users/@me` endpoint), for the login tests.
package final class LocalOAuthProvider: Sendable {
    package let port: Int
    package let clientID: String
    package let clientSecret: String

    private init(port: Int, clientID: String, clientSecret: String) {
        self.port = port
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    package var base: String { "http://127.0.0.1:\(port)" }

    /// Starts the provider (a browser that comes without `user=` consents as `defaultUser`), runs `body`, stops it.
    package static func with<R>(defaultUser: String? = nil, _ body: (LocalOAuthProvider) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-oauth"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let clientID = "agora-test-client"
        let clientSecret = "secret-" + UUID().uuidString
        var arguments = ["--client-id", clientID, "--client-secret", clientSecret]
        if let defaultUser { arguments += ["--default-user", defaultUser] }
        return try await PythonServer.with("Tests/interop/oauth_provider.py", arguments, in: directory, name: "the local OAuth provider (authlib)") { port in
            try await body(LocalOAuthProvider(port: port, clientID: clientID, clientSecret: clientSecret))
        }
    }

    /// The settings that make an Agora instance use this provider as "discord".
    package var environment: [String: String] {
        [
            "AGORA_OAUTH_DISCORD_CLIENT_ID": clientID, "AGORA_OAUTH_DISCORD_CLIENT_SECRET": clientSecret,
            "AGORA_OAUTH_DISCORD_AUTHORIZE_URL": "\(base)/oauth2/authorize", "AGORA_OAUTH_DISCORD_TOKEN_URL": "\(base)/api/oauth2/token",
            "AGORA_OAUTH_DISCORD_USER_URL": "\(base)/api/users/@me",
        ]
    }

    /// Tells the provider about a user (its id, username, email and whether the email is verified).
    package func addUser(_ name: String, id: String, username: String, email: String?, verified: Bool) async throws {
        var user: [String: Any] = ["id": id, "username": username, "verified": verified]
        if let email { user["email"] = email }
        let client = try HTTPSClient(baseURL: base)
        let body = try JSONSerialization.data(withJSONObject: [name: user])
        let response = try await client.send(.post, "/control/users", headers: [.init("Content-Type", "application/json")], body: Array(body))
        try #require(response.status == 200, "the provider did not take the user: \(response.status)")
    }

    /// What the provider answers a browser at `authorizeURL` (as consented by `user`): the redirect back to Agora.
    package func authorize(_ authorizeURL: String, as user: String) async throws -> URLComponents {
        var components = try #require(URLComponents(string: authorizeURL))
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "user", value: user)]
        let path = components.percentEncodedPath + "?" + (components.percentEncodedQuery ?? "")
        let response = try await HTTPSClient(baseURL: base).send(.get, path)
        let location = try #require(response.header("Location"), "the provider did not redirect (\(response.status))")
        return try #require(URLComponents(string: location))
    }
}
