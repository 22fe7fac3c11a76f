package import Foundation

/// Settings of Web Push; every one is an `AGORA_PUSH_…` or `AGORA_VAPID_…` variable (README "Web Push").
package struct PushSettings: Sendable {
    /// Hosts a subscription's endpoint may name (`AGORA_PUSH_HOSTS`): the browsers' push services by default. A name
    /// starting with `*.` matches its subdomains. Anything else is refused, so a client cannot make the server post
    /// to an address of its choosing (an internal service, say).
    package var allowedHosts: [String] = [
        "fcm.googleapis.com", "*.push.services.mozilla.com", "*.notify.windows.com", "web.push.apple.com", "*.push.apple.com",
    ]
    /// Whether `http://` endpoints are accepted (`AGORA_PUSH_ALLOW_HTTP`, false): only for a local push service.
    package var allowHTTP = false
    /// Subscriptions (devices) per account (`AGORA_PUSH_MAX_SUBSCRIPTIONS`, 10); the oldest goes when a new one passes it.
    package var maxSubscriptionsPerAccount = 10
    /// How long a push service keeps a push for a device that is offline (`AGORA_PUSH_TTL`, 86,400 s).
    package var ttl = 86_400
    /// Attempts before a push is given up (`AGORA_PUSH_MAX_ATTEMPTS`, 8), with a backoff doubling from 5 s.
    package var maxAttempts = 8
    /// How often the dispatcher looks for pushes when no NOTIFY woke it (`AGORA_PUSH_DISPATCH_MS`, 5 s): the safety
    /// net for a notification lost while its listener reconnected.
    package var interval: Duration = .seconds(5)
    /// Whether this instance runs a dispatcher (`AGORA_PUSH_DISPATCH`, true); tests that drive it by hand turn it off.
    package var isDispatcherEnabled = true
    /// Pushes claimed at once (`AGORA_PUSH_BATCH`, 50).
    package var batchSize = 50
    /// The push service's answer must come within this (`AGORA_PUSH_TIMEOUT_MS`, 10 s).
    package var timeout: Duration = .seconds(10)

    package init() {}

    /// Whether `url` may be a subscription's endpoint under these settings.
    package func allows(endpoint url: URLComponents) -> Bool {
        guard let scheme = url.scheme?.lowercased(), scheme == "https" || (allowHTTP && scheme == "http"),
            let host = url.host?.lowercased(), !host.isEmpty, url.user == nil, url.password == nil, url.fragment == nil
        else { return false }
        return allowedHosts.contains { pattern in
            let pattern = pattern.lowercased()
            if pattern.hasPrefix("*.") { return host.hasSuffix(String(pattern.dropFirst())) && host.count > pattern.count - 1 }
            return host == pattern
        }
    }

    /// The backoff before attempt `attempt + 1`: 5 s doubling, at most an hour.
    package static func backoff(after attempt: Int) -> Duration {
        .seconds(min(3600, 5 << min(max(attempt - 1, 0), 10)))
    }
}
