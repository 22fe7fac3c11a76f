@testable import Commerce
import Foundation
import Testing

/// The HTTP/1.1 response framing of `HTTPSClient`, from bytes delivered in awkward pieces.
struct HTTPResponseReaderTests {
    /// Serves `bytes` `pieceSize` at a time, then the end of the stream.
    final class Pieces {
        var bytes: [UInt8]
        let pieceSize: Int
        init(_ text: String, pieceSize: Int) {
            self.bytes = Array(text.utf8)
            self.pieceSize = pieceSize
        }
        func read(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
            let count = min(pieceSize, buffer.count, bytes.count)
            buffer.copyBytes(from: bytes.prefix(count))
            bytes.removeFirst(count)
            return count
        }
    }

    func read(_ text: String, maxBody: Int = 1 << 20) throws(HTTPClientError) -> HTTPSClient.Response {
        var last = HTTPSClient.Response(status: 0, headers: [], body: [])
        // Whole, one byte at a time, and in pieces that straddle the CRLFs.
        for pieceSize in [1 << 16, 1, 3, 7] {
            let pieces = Pieces(text, pieceSize: pieceSize)
            var reader = HTTPResponseReader(maxBodyBytes: maxBody) { (buffer) throws(HTTPClientError) -> Int in pieces.read(buffer) }
            last = try reader.readResponse()
        }
        return last
    }

    func failure(_ text: String, maxBody: Int = 1 << 20) -> HTTPClientError? {
        do {
            _ = try read(text, maxBody: maxBody)
            return nil
        } catch {
            return error
        }
    }

    @Test func contentLengthFramesTheBody() throws {
        let response = try read("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length:  13 \r\nRequest-Id: req_1\r\n\r\n{\"id\":\"cs_1\"}extra")
        #expect(response.status == 201)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"id":"cs_1"}"#)
        #expect(response.header("CONTENT-TYPE") == "application/json" && response.header("request-id") == "req_1")
        #expect(response.headers.map(\.name) == ["Content-Type", "content-length", "Request-Id"])
    }

    @Test func chunkedBodiesAreDecodedWithExtensionsAndTrailers() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;name=\"v\"\r\n, world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
        let response = try read(text)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello, world0123456789")
        // Bare LF line ends are read too.
        let bare = try read("HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n3\nabc\n0\n\n")
        #expect(bare.body == Array("abc".utf8))
    }

    @Test func aBodyWithoutFramingRunsToTheEndOfTheStream() throws {
        let response = try read("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it\r\nuntil close")
        #expect(String(decoding: response.body, as: UTF8.self) == "all of it\r\nuntil close")
        let empty = try read("HTTP/1.1 204 No Content\r\nX: y\r\n\r\n")
        #expect(empty.status == 204 && empty.body.isEmpty)
    }

    @Test func interimResponsesAreSkipped() throws {
        let response = try read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")
        #expect(response.status == 400 && response.body == Array("{}".utf8) && response.header("Link") == nil)
    }

    @Test func responsesLargerThanTheCapAreRefused() {
        let body = String(repeating: "x", count: 100)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n\(body)", maxBody: 99)?.kind == .responseTooLarge)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n\(body)", maxBody: 100) == nil)
        #expect(failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n32\r\n\(body.prefix(50))\r\n32\r\n\(body.prefix(50))\r\n0\r\n\r\n", maxBody: 99)?.kind == .responseTooLarge)
        #expect(failure("HTTP/1.1 200 OK\r\n\r\n\(body)", maxBody: 99)?.kind == .responseTooLarge)
        // A chunk size announcing more than the cap is refused before it is read.
        #expect(failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFF\r\n", maxBody: 99)?.kind == .responseTooLarge)
        // An endless header.
        #expect(failure("HTTP/1.1 200 OK\r\nX: \(String(repeating: "y", count: 70_000))\r\n\r\n")?.kind == .responseTooLarge)
    }

    @Test func brokenResponsesAreProtocolViolations() {
        for text in [
            "",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            "HTTP/1.1 200 OK\r\nContent-Len",
            "SMTP 220 hello\r\n\r\n",
            "HTTP/2 200\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
            "HTTP/1.1 200 OK\r\n folded: no\r\n\r\n",
            "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            // We ask for no content coding, and decode none.
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ] {
            #expect(failure(text)?.kind == .protocolViolation, "\(text.debugDescription)")
        }
        // Equal repeated lengths are one length.
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nab") == nil)
    }

    @Test func theRequestHeadIsHTTP11WithConnectionClose() throws {
        let client = try HTTPSClient(baseURL: "https://api.example.com/base/")
        #expect(client.usesTLS && client.host == "api.example.com" && client.port == 443 && client.basePath == "/base")
        let head = try client.head(.post, "/v1/refunds", headers: [.init("Authorization", "Bearer k"), .init("Idempotency-Key", "r-1")], bodyCount: 12)
        #expect(String(decoding: head, as: UTF8.self) == [
            "POST /base/v1/refunds HTTP/1.1", "Host: api.example.com", "Connection: close", "Content-Length: 12",
            "Authorization: Bearer k", "Idempotency-Key: r-1", "User-Agent: Agora", "", "",
        ].joined(separator: "\r\n"))
        let plain = try HTTPSClient(baseURL: "http://[::1]:8080")
        #expect(!plain.usesTLS && plain.host == "::1" && plain.port == 8080 && plain.basePath == "")
        let get = try plain.head(.get, "/x?y=1", headers: [.init("User-Agent", "test")], bodyCount: 0)
        #expect(String(decoding: get, as: UTF8.self) == "GET /x?y=1 HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\nUser-Agent: test\r\n\r\n")
    }

    @Test func requestsThatCouldSmuggleAreRefused() throws {
        let client = try HTTPSClient(baseURL: "https://api.example.com")
        for headers: [HTTPSClient.Header] in [
            [.init("X", "a\r\nInjected: yes")], [.init("X", "a\nb")], [.init("Bad Name", "v")], [.init("", "v")],
            [.init("Content-Length", "5")], [.init("host", "evil")], [.init("Transfer-Encoding", "chunked")],
        ] {
            #expect(throws: HTTPClientError.self) { try client.head(.post, "/", headers: headers, bodyCount: 0) }
        }
        #expect(throws: HTTPClientError.self) { try client.head(.get, "/a b", headers: [], bodyCount: 0) }
        #expect(throws: HTTPClientError.self) { try client.head(.get, "relative", headers: [], bodyCount: 0) }
        for url in ["ftp://h", "https://", "https://u:p@h", "https://h/?q=1", "https://h/#f", "not a url"] {
            #expect(throws: HTTPClientError.self, "\(url)") { try HTTPSClient(baseURL: url) }
        }
    }
}
