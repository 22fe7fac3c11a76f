import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// What a server's HTTP/1 pipeline made of a byte stream: the requests it completed, and the error that ended it.
///
/// The pipeline is Hummingbird's (`HTTP1Channel.setup`): NIO's `HTTPRequestDecoder` without pipelining assistance
/// or error handling, then `HTTP1ToHTTPServerCodec` into Swift HTTP Types, in an `EmbeddedChannel`.
struct DecodedRequests: Equatable {
    /// One request as a handler would see it: the request target and every body byte, in order.
    struct Request: Equatable {
        var head: HTTPRequest
        var target: String
        var body: [UInt8]
    }

    var requests: [Request] = []
    /// A head whose body has not ended (a truncated upload, say).
    var pending: Request?
    /// The decoder's error, as text (the error types differ in what they conform to).
    var failure: String?

    /// Feeds `stream[..<split]`, then the rest, then closes the input.
    init(_ stream: ArraySlice<UInt8>, split: Int) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        do {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        } catch {
            preconditionFailure("cannot build the pipeline: \(error)")
        }
        for chunk in [stream.prefix(split), stream.dropFirst(split)] where !chunk.isEmpty {
            do {
                try channel.writeInbound(ByteBuffer(bytes: chunk))
                try self.drain(channel)
            } catch {
                self.failure = "\(error)"
                try? self.drain(channel)
                return
            }
        }
    }

    private mutating func drain(_ channel: EmbeddedChannel) throws {
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            switch part {
            case .head(let head):
                precondition(self.pending == nil, "a head arrived before the previous request ended")
                self.pending = Request(head: head, target: head.path ?? "", body: [])
            case .body(let buffer):
                // A body can follow a head the codec refused (it reports the error and passes the rest on).
                self.pending?.body += buffer.readableBytesView
            case .end:
                if let request = self.pending { self.requests.append(request) }
                self.pending = nil
            }
        }
    }
}
