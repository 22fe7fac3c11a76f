package import AgoraCore
import Foundation

/// The CSRF defence for cookie-authenticated requests: an unsafe request carrying our cookies must come from one
/// of our own origins (`AGORA_ALLOWED_ORIGINS`).
///
/// Browsers send `Origin` with every cross-origin request and with same-origin POST, PUT, PATCH and DELETE, and a
/// page cannot forge it; `Referer` is the fallback for the rare browser that omits `Origin`. A cookie-borne request
/// with neither is refused. Requests with a Bearer token need no check: a foreign page cannot make the browser add
/// one.
package struct OriginPolicy: Sendable {
    private let allowed: Set<String>

    /// - Parameter allowedOrigins: e.g. `["https://agora.example", "http://localhost:8080"]`.
    package init(allowedOrigins: [String]) {
        allowed = Set(allowedOrigins.compactMap(Self.normalize))
    }

    /// Whether `origin` (an `Origin` header value) is one of ours.
    package func allows(origin: String) -> Bool {
        guard let normalized = Self.normalize(origin) else { return false }
        return allowed.contains(normalized)
    }

    /// Checks an unsafe cookie-authenticated request.
    /// - Throws: 403 `origin_not_allowed`.
    package func check(origin: String?, referer: String?) throws(AgoraError) {
        if let origin {
            guard allows(origin: origin) else { throw Self.refused }
            return
        }
        guard let referer, let url = URL(string: referer), let scheme = url.scheme, let host = url.host else { throw Self.refused }
        let port = url.port.map { ":\($0)" } ?? ""
        guard allows(origin: "\(scheme)://\(host)\(port)") else { throw Self.refused }
    }

    /// Checks a request that may carry an `Origin`: refused only if it names a foreign one (login and
    /// registration, which non-browser clients call without it).
    package func checkIfPresent(origin: String?) throws(AgoraError) {
        if let origin, !allows(origin: origin) { throw Self.refused }
    }

    private static var refused: AgoraError {
        AgoraError(.forbidden, code: "origin_not_allowed", "This request must come from the Agora app itself")
    }

    /// `scheme://host[:port]`, lower-cased, with default ports dropped; nil for `null` and non-http(s) origins.
    package static func normalize(_ origin: String) -> String? {
        guard let url = URL(string: origin.trimmingCharacters(in: .whitespaces)), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host?.lowercased(), !host.isEmpty
        else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        let port = url.port.flatMap { $0 == defaultPort ? nil : ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)"
    }
}
