package import Hummingbird

extension Request {
    /// `limit` and `cursor` of a paginated list: `limit` from 1 to `maxLimit` (422 otherwise), `defaultLimit` when
    /// absent; an empty `cursor` is no cursor.
    package func pagination(defaultLimit: Int, maxLimit: Int) throws(AgoraError) -> (limit: Int, cursor: String?) {
        let parameters = uri.queryParameters
        var limit = defaultLimit
        if let raw = parameters.get("limit") {
            guard let value = Int(raw), (1...maxLimit).contains(value) else {
                throw AgoraError(.validation, "Some query parameters are not valid", fields: ["limit": "must be from 1 to \(maxLimit)"])
            }
            limit = value
        }
        return (limit, parameters.get("cursor").flatMap { $0.isEmpty ? nil : $0 })
    }
}
