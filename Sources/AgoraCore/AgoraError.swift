/// The one error type domains throw. Its HTTP rendering lives in `AgoraError+HTTP.swift`, and nowhere else.
///
/// `message` is shown to clients, so it must never carry SQL, tokens or a dependency's own error text.
package struct AgoraError: Error, Sendable, CustomStringConvertible {
    /// The class of failure; decides the HTTP status. A plain enum: every switch over it is exhaustive, so a new kind
    /// does not compile until it has its status and code.
    package enum Kind: Hashable, Sendable, CaseIterable {
        /// The request is malformed (bad JSON, bad query parameter).
        case badRequest
        /// No or invalid credentials.
        case unauthorized
        /// Authenticated, but not allowed.
        case forbidden
        /// The resource does not exist (or the caller may not know it does).
        case notFound
        /// The path exists but not with this method.
        case methodNotAllowed
        /// The request conflicts with current state (duplicate, out of stock).
        case conflict
        /// The body is larger than the configured limit.
        case payloadTooLarge
        /// The body is of a type the endpoint does not accept (an upload that is not a supported image).
        case unsupportedMediaType
        /// Well-formed input that fails validation; see `fields`.
        case validation
        /// Too many requests; see `retryAfter`.
        case rateLimited
        /// A bug: something we did not expect.
        case internalError
        /// A dependency (PostgreSQL, Redis) is unavailable.
        case unavailable
    }

    /// The class of failure.
    package var kind: Kind
    /// A stable machine-readable code, e.g. `insufficient_stock`.
    package var code: String
    /// A sentence for people.
    package var message: String
    /// Per-field problems, for validation errors.
    package var fields: [String: String]
    /// Seconds after which a rate-limited client may retry.
    package var retryAfter: Int?
    /// Methods the path supports, for `methodNotAllowed`.
    package var allowedMethods: [String]
    /// Extra response headers, e.g. the `RateLimit-*` fields of a 429. Names must be valid header names.
    package var headers: [String: String]

    /// Makes an error.
    /// - Parameters:
    ///   - kind: decides the HTTP status.
    ///   - code: stable code for clients; defaults to the kind's generic code.
    ///   - message: safe to show to a client.
    package init(_ kind: Kind, code: String? = nil, _ message: String, fields: [String: String] = [:], retryAfter: Int? = nil, allowedMethods: [String] = [], headers: [String: String] = [:]) {
        self.kind = kind
        self.code = code ?? kind.defaultCode
        self.message = message
        self.fields = fields
        self.retryAfter = retryAfter
        self.allowedMethods = allowedMethods
        self.headers = headers
    }

    package var description: String { "AgoraError(\(code)): \(message)" }
}

extension AgoraError.Kind {
    /// The generic code of a kind, used when an error names no code of its own.
    package var defaultCode: String {
        switch self {
        case .badRequest: "bad_request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .conflict: "conflict"
        case .payloadTooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .validation: "validation_failed"
        case .rateLimited: "rate_limited"
        case .unavailable: "service_unavailable"
        case .internalError: "internal_error"
        }
    }
}
