package import Foundation

/// What an account may do. Ordered: an admin can do what a seller can, a seller what a buyer can.
package enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case buyer, seller, admin

    private var rank: Int {
        switch self {
        case .buyer: 0
        case .seller: 1
        case .admin: 2
        }
    }

    package static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// The authenticated caller of a request, as `AuthMiddleware` found it in a verified access token.
package struct Identity: Sendable, Equatable {
    /// How the access token reached us; cookie-borne credentials need a CSRF check on unsafe methods.
    package enum Transport: Sendable, Equatable { case bearer, cookie, ticket }

    package var accountID: UUID
    package var role: Role
    /// The session (refresh-token family) the access token was issued for.
    package var sessionID: String
    package var transport: Transport

    package init(accountID: UUID, role: Role, sessionID: String, transport: Transport) {
        self.accountID = accountID
        self.role = role
        self.sessionID = sessionID
        self.transport = transport
    }
}

/// Why a request that presented credentials is nonetheless anonymous; `requireIdentity()` reports it.
package enum AuthFailure: Error, Sendable, Equatable {
    case expired, invalid, revoked

    var error: AgoraError {
        switch self {
        case .expired: AgoraError(.unauthorized, code: "token_expired", "The access token has expired; refresh it")
        case .invalid: AgoraError(.unauthorized, code: "invalid_token", "The access token is not valid")
        case .revoked: AgoraError(.unauthorized, code: "session_revoked", "The session has ended; log in again")
        }
    }
}
