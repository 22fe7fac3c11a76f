import Foundation
import HTTPTypes
import Hummingbird

/// The two session cookies. Both `HttpOnly` (no script can read them), `SameSite=Lax` and, unless turned off for
/// plain-HTTP development (`AGORA_COOKIE_SECURE=false`), `Secure`.
package struct AuthCookies: Sendable {
    /// The access token, sent with every request (`Path=/`).
    package static let access = "agora_access"
    /// The refresh token, sent only to `/api/auth` (refresh and logout), so ordinary requests never carry it.
    package static let refresh = "agora_refresh"
    static let refreshPath = "/api/auth"

    let secure: Bool
    let refreshLifetime: Duration

    package init(secure: Bool, refreshLifetime: Duration) {
        self.secure = secure
        self.refreshLifetime = refreshLifetime
    }

    /// Set-Cookie headers for a new grant.
    func set(_ grant: AuthService.Grant) -> HTTPFields {
        let accessAge = grant.accessLifetime
        var fields = HTTPFields()
        fields.append(HTTPField(name: .setCookie, value: cookie(Self.access, grant.accessToken, maxAge: accessAge, path: "/").description))
        fields.append(HTTPField(name: .setCookie, value: cookie(Self.refresh, grant.refreshToken, maxAge: Int(refreshLifetime.components.seconds), path: Self.refreshPath).description))
        return fields
    }

    /// Set-Cookie headers that make the browser drop both cookies.
    func cleared() -> HTTPFields {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .setCookie, value: cookie(Self.access, "", maxAge: 0, path: "/").description))
        fields.append(HTTPField(name: .setCookie, value: cookie(Self.refresh, "", maxAge: 0, path: Self.refreshPath).description))
        return fields
    }

    /// Set-Cookie for a new access token only (after a role change).
    func setAccess(_ token: String, expiresAt: Date) -> HTTPFields {
        let age = max(0, Int(expiresAt.timeIntervalSinceNow.rounded(.down)))
        return [.setCookie: cookie(Self.access, token, maxAge: age, path: "/").description]
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int, path: String) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: secure, httpOnly: true, sameSite: .lax)
    }
}
