package import Logging

/// Metadata keys Agora adds to log lines, in one place so they stay consistent.
package enum LogKey: String, Sendable {
    case account = "agora.account_id"
    case order = "agora.order_id"
    case connection = "agora.ws.connection_id"
    case route = "http.route"
    case status = "http.status"
    case durationMs = "http.duration_ms"
}

extension Logger {
    /// Reads or sets Agora metadata by key.
    package subscript(agora key: LogKey) -> Logger.MetadataValue? {
        get { self[metadataKey: key.rawValue] }
        set { self[metadataKey: key.rawValue] = newValue }
    }
}
