import AgoraCore
import Foundation
import Hummingbird
import Testing

@Suite struct AgoraErrorTests {
    @Test(arguments: [
        (AgoraError.Kind.badRequest, 400, "bad_request"), (.unauthorized, 401, "unauthorized"), (.forbidden, 403, "forbidden"),
        (.notFound, 404, "not_found"), (.methodNotAllowed, 405, "method_not_allowed"), (.conflict, 409, "conflict"),
        (.payloadTooLarge, 413, "payload_too_large"),
        (.unsupportedMediaType, 415, "unsupported_media_type"), (.validation, 422, "validation_failed"), (.rateLimited, 429, "rate_limited"),
        (.internalError, 500, "internal_error"), (.unavailable, 503, "service_unavailable"),
    ])
    func eachKindHasOneStatusAndDefaultCode(kind: AgoraError.Kind, status: Int, code: String) {
        #expect(kind.status.code == status)
        #expect(kind.defaultCode == code)
        #expect(AgoraError.Kind(status: kind.status) == kind)
        #expect(AgoraError(kind, "x").code == code)
    }

    @Test func unknownStatusesFallIntoTheirClass() {
        #expect(AgoraError.Kind(status: .init(code: 418)) == .badRequest)
        #expect(AgoraError.Kind(status: .badGateway) == .internalError)
    }

    @Test func ownCodeWins() {
        let error = AgoraError(.conflict, code: "insufficient_stock", "Only 2 left of Lamp", fields: ["quantity": "at most 2"])
        #expect(error.code == "insufficient_stock")
        #expect(error.status == .conflict)
        #expect(error.description.contains("insufficient_stock"))
    }
}
