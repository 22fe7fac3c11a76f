package import Accounts
import Foundation

/// Login providers (`AGORA_OAUTH_DISCORD_*`). Discord is on when its client id and secret are set; its endpoints are
/// Discord's unless overridden, so any OAuth 2 provider of the same shape can stand in (the tests' local provider).
package struct OAuthSettings: Sendable {
    package var providers: [OAuthLogin.Provider]
    /// How long a started login (its state and PKCE verifier), or a link waiting for a password, stays usable.
    package var stateLifetime: Duration
    /// Bounds each call to a provider.
    package var timeout: Duration

    /// Safe to log: no secrets.
    var summary: String { providers.isEmpty ? "none" : providers.map(\.name).joined(separator: ",") }

    static func read(
        env: [String: String],
        string: (String, String) -> String,
        int: (String, Int, ClosedRange<Int>) -> Int,
        problem: (String) -> Void
    ) -> OAuthSettings {
        var providers: [OAuthLogin.Provider] = []
        let id = string("AGORA_OAUTH_DISCORD_CLIENT_ID", "")
        let secret = string("AGORA_OAUTH_DISCORD_CLIENT_SECRET", "")
        if !id.isEmpty || !secret.isEmpty {
            if id.isEmpty || secret.isEmpty {
                problem("AGORA_OAUTH_DISCORD_CLIENT_ID and AGORA_OAUTH_DISCORD_CLIENT_SECRET go together")
            } else {
                var discord = OAuthLogin.Provider.discord(clientID: id, clientSecret: secret)
                discord.authorizeURL = string("AGORA_OAUTH_DISCORD_AUTHORIZE_URL", discord.authorizeURL)
                discord.tokenURL = string("AGORA_OAUTH_DISCORD_TOKEN_URL", discord.tokenURL)
                discord.userURL = string("AGORA_OAUTH_DISCORD_USER_URL", discord.userURL)
                discord.scopes = string("AGORA_OAUTH_DISCORD_SCOPES", discord.scopes)
                discord.displayName = string("AGORA_OAUTH_DISCORD_NAME", discord.displayName)
                discord.caFile = env["AGORA_OAUTH_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
                for (key, url) in [("AUTHORIZE", discord.authorizeURL), ("TOKEN", discord.tokenURL), ("USER", discord.userURL)] {
                    guard let parts = URLComponents(string: url), ["https", "http"].contains(parts.scheme?.lowercased() ?? ""), parts.host?.isEmpty == false
                    else {
                        problem("AGORA_OAUTH_DISCORD_\(key)_URL must be an http(s) URL, got '\(url)'")
                        continue
                    }
                }
                providers.append(discord)
            }
        }
        return OAuthSettings(
            providers: providers,
            stateLifetime: .seconds(int("AGORA_OAUTH_STATE_SECONDS", 600, 60...3600)),
            timeout: .seconds(int("AGORA_OAUTH_TIMEOUT_SECONDS", 10, 1...60))
        )
    }
}
