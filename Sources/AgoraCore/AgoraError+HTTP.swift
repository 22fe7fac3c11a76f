import Foundation
import HTTPTypes
package import Hummingbird

// The one place that turns errors into HTTP statuses and bodies.

extension AgoraError.Kind {
    /// The HTTP status of a kind.
    package var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .validation: .unprocessableContent
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    /// The kind an HTTP status stands for, for errors Hummingbird raises itself (404, 400, 413): the kind with that
    /// status, else the generic kind of the status's class.
    package init(status: HTTPResponse.Status) {
        self = Self.allCases.first { $0.status == status } ?? (status.code < 500 ? .badRequest : .internalError)
    }
}

/// The JSON body of every error response.
package struct ErrorBody: Codable, Sendable, Equatable {
    package var statusCode: Int
    package var error: String
    package var code: String
    package var message: String
    package var path: String
    package var timestamp: String
    package var requestId: String
    package var fields: [String: String]?

    package init(statusCode: Int, error: String, code: String, message: String, path: String, timestamp: String, requestId: String, fields: [String: String]?) {
        self.statusCode = statusCode
        self.error = error
        self.code = code
        self.message = message
        self.path = path
        self.timestamp = timestamp
        self.requestId = requestId
        self.fields = fields
    }
}

extension AgoraError: HTTPResponseError {
    package var status: HTTPResponse.Status { kind.status }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorBody(
            statusCode: status.code,
            error: status.reasonPhrase,
            code: code,
            message: message,
            path: request.uri.path,
            timestamp: Date.now.formatted(.iso8601),
            requestId: context.id,
            fields: fields.isEmpty ? nil : fields
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if !allowedMethods.isEmpty { headers[.allow] = allowedMethods.joined(separator: ", ") }
        for (name, value) in self.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(body))))
    }
}
