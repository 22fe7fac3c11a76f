import Foundation
import HTTPTypes
import NIOCore

/// The raw HTTP answers of the handshake, written before any HTTP handler is in the pipeline.
enum HandshakeResponse {
    /// `101 Switching Protocols` with the accept key (§4.2.2).
    static func switchingProtocols(_ accepted: WebSocketHandshake.Accepted) -> ByteBuffer {
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accepted.acceptKey)\r\n"
        if let subprotocol = accepted.subprotocol { head += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        if let extensions = accepted.extensions { head += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        return ByteBuffer(string: head + "\r\n")
    }

    /// Answers with `status` and a JSON body (or `body`), then closes the connection.
    static func refuse(
        _ channel: any Channel, status: HTTPResponse.Status, message: String, headers: HTTPFields = [:],
        body: ByteBuffer? = nil, contentType: String = "application/json"
    ) async throws {
        let payload = body ?? Self.jsonError(status: status, message: message)
        var head = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: \(contentType)\r\nContent-Length: \(payload.readableBytes)\r\nConnection: close\r\n"
        for field in headers { head += "\(field.name.rawName): \(field.value)\r\n" }
        var buffer = ByteBuffer(string: head + "\r\n")
        buffer.writeImmutableBuffer(payload)
        try await channel.writeAndFlush(buffer)
        try await channel.close()
    }

    static func jsonError(status: HTTPResponse.Status, message: String) -> ByteBuffer {
        let object: [String: Any] = ["statusCode": status.code, "error": status.reasonPhrase, "message": message]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }
}
