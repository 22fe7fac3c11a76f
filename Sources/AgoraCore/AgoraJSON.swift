package import Foundation

/// The one JSON configuration of Agora, for HTTP bodies and for the realtime socket alike.
///
/// Dates are ISO 8601 in whole seconds (`2026-12-06T03:41:08Z`); ids are UUIDs as Swift writes them (upper case, the
/// form every response and event has always used, and the form PostgreSQL's `chat_message_event` writes too); money
/// and counters are integers (`Money` is minor units and a currency); slashes are not escaped. Both objects are safe
/// to share between threads: they are configured once, here, and never changed.
package enum AgoraJSON {
    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }()

    package static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// `value` as JSON text.
    package static func text(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
