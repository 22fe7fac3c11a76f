/// The one error type domains throw. Its HTTP rendering lives in `AgoraError+HTTP.swift`, and nowhere else.
///
/// `message` is shown to clients, so it must never carry SQL, tokens or a dependency's own error text.
public struct AgoraError: Error, Sendable, CustomStringConvertible {
    /// The class of failure; decides the HTTP status.
    public struct Kind: Hashable, Sendable {
        private enum Base: Hashable { case badRequest, unauthorized, forbidden, notFound, methodNotAllowed, conflict, payloadTooLarge, unsupportedMediaType, validation, rateLimited, internalError, unavailable }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The request is malformed (bad JSON, bad query parameter).
        public static let badRequest = Kind(.badRequest)
        /// No or invalid credentials.
        public static let unauthorized = Kind(.unauthorized)
        /// Authenticated, but not allowed.
        public static let forbidden = Kind(.forbidden)
        /// The resource does not exist (or the caller may not know it does).
        public static let notFound = Kind(.notFound)
        /// The path exists but not with this method.
        public static let methodNotAllowed = Kind(.methodNotAllowed)
        /// The request conflicts with current state (duplicate, out of stock).
        public static let conflict = Kind(.conflict)
        /// The body is larger than the configured limit.
        public static let payloadTooLarge = Kind(.payloadTooLarge)
        /// The body is of a type the endpoint does not accept (an upload that is not a supported image).
        public static let unsupportedMediaType = Kind(.unsupportedMediaType)
        /// Well-formed input that fails validation; see `fields`.
        public static let validation = Kind(.validation)
        /// Too many requests; see `retryAfter`.
        public static let rateLimited = Kind(.rateLimited)
        /// A bug: something we did not expect.
        public static let internalError = Kind(.internalError)
        /// A dependency (PostgreSQL, Redis) is unavailable.
        public static let unavailable = Kind(.unavailable)
    }

    /// The class of failure.
    public var kind: Kind
    /// A stable machine-readable code, e.g. `insufficient_stock`.
    public var code: String
    /// A sentence for people.
    public var message: String
    /// Per-field problems, for validation errors.
    public var fields: [String: String]
    /// Seconds after which a rate-limited client may retry.
    public var retryAfter: Int?
    /// Methods the path supports, for `methodNotAllowed`.
    public var allowedMethods: [String]
    /// Extra response headers, e.g. the `RateLimit-*` fields of a 429. Names must be valid header names.
    public var headers: [String: String]

    /// Makes an error.
    /// - Parameters:
    ///   - kind: decides the HTTP status.
    ///   - code: stable code for clients; defaults to the kind's generic code.
    ///   - message: safe to show to a client.
    public init(_ kind: Kind, code: String? = nil, _ message: String, fields: [String: String] = [:], retryAfter: Int? = nil, allowedMethods: [String] = [], headers: [String: String] = [:]) {
        self.kind = kind
        self.code = code ?? kind.defaultCode
        self.message = message
        self.fields = fields
        self.retryAfter = retryAfter
        self.allowedMethods = allowedMethods
        self.headers = headers
    }

    public var description: String { "AgoraError(\(code)): \(message)" }
}

extension AgoraError.Kind {
    /// The generic code of a kind, used when an error names no code of its own.
    public var defaultCode: String {
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
        default: "internal_error"
        }
    }
}
