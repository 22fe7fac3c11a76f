import HTTPTypes

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
}

/// Every request has an id: the caller's `X-Request-Id` when it is sane, else Hummingbird's generated one.
/// The id is in every log line of the request (`hb.request.id`), in error bodies, and echoed in the response
/// (`EdgeMiddleware`).
enum RequestIDs {
    /// 1–128 characters of `A-Z a-z 0-9 - _ . :`; anything else could forge log lines or headers, so it is replaced.
    static func isAcceptable(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E || c == 0x3A
            }
    }
}
