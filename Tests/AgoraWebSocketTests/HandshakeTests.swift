import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import AgoraWebSocket

private func head(_ text: String) throws -> RequestHead {
    guard case .head(let head, _) = RequestHeadParser.parse(ByteBuffer(string: text)) else {
        Issue.record("not a complete head: \(text)")
        throw CancellationError()
    }
    return head
}

private func handshake(_ lines: [String], method: String = "GET", version: String = "HTTP/1.1") throws -> RequestHead {
    try head("\(method) /ws?ticket=abc HTTP/1.1".replacingOccurrences(of: "HTTP/1.1", with: version) + "\r\n" + lines.joined(separator: "\r\n") + "\r\n\r\n")
}

private let good = ["Host: example.com", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]

@Suite struct RequestHeadParserTests {
    @Test func parsesPathQueryHeadersAndCookies() throws {
        let parsed = try head("GET /ws?ticket=t1&x=2 HTTP/1.1\r\nHost: a\r\nCookie: agora_access=tok; theme=dark\r\nCookie: other=1\r\n\r\n")
        #expect(parsed.method == "GET" && parsed.path == "/ws" && parsed.query == "ticket=t1&x=2")
        #expect(parsed.cookies == ["agora_access": "tok", "theme": "dark", "other": "1"])
        #expect(parsed.values("host") == ["a"])
    }

    @Test func needsTheBlankLineAndReportsTheHeadLength() {
        #expect(RequestHeadParser.parse(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n")) == .incomplete)
        guard case .head(_, let length) = RequestHeadParser.parse(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n\r\nEXTRA")) else {
            Issue.record("expected a head")
            return
        }
        #expect(length == "GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8.count)
    }

    @Test(arguments: ["GET /\r\n\r\n", "GET / HTTP/1.1\r\n folded: x\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "GET / HTTP/1.1\r\nnocolon\r\n\r\n"])
    func malformedHeadsAreRecognised(text: String) {
        #expect(RequestHeadParser.parse(ByteBuffer(string: text)) == .malformed)
    }
}

@Suite struct HandshakeTests {
    @Test func rfcExampleIsAccepted() throws {
        // RFC 6455 §1.3.
        let result = WebSocketHandshake.validate(try handshake(good))
        #expect(result == .success(.init(acceptKey: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", subprotocol: nil)))
    }

    @Test func connectionAndUpgradeAreCaseInsensitiveTokenLists() throws {
        var lines = good
        lines[1] = "Upgrade: WebSocket"
        lines[2] = "Connection: keep-alive, UPGRADE"
        #expect(throws: Never.self) { try WebSocketHandshake.validate(try handshake(lines)).get() }
    }

    @Test(arguments: [
        (0, "POST"), (1, "HTTP/1.0"),
    ])
    func wrongMethodOrVersionIs400(index: Int, value: String) throws {
        let request = index == 0 ? try handshake(good, method: value) : try handshake(good, version: value)
        guard case .failure(let failure) = WebSocketHandshake.validate(request) else { Issue.record("accepted"); return }
        #expect(failure.status == .badRequest)
    }

    @Test func aHandshakeWithoutUpgradeIs426NamingWebSocketAndVersion13() throws {
        // RFC 6455 §4.2.1: Connection: Upgrade and a key but no Upgrade header is refused, and 426 says what to upgrade to.
        let lines = ["Host: example.com", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
        guard case .failure(let failure) = WebSocketHandshake.validate(try handshake(lines)) else { Issue.record("accepted"); return }
        #expect(failure.status == .upgradeRequired)
        #expect(failure.headers[HTTPField.Name("Upgrade")!] == "websocket")
        #expect(failure.headers[.secWebSocketVersion] == "13")
    }

    @Test(arguments: [
        ["Host: example.com", "Upgrade: websocket", "Connection: keep-alive", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"],
        ["Host: example.com", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"],
        ["Host: example.com", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: c2hvcnQ=", "Sec-WebSocket-Version: 13"],
        ["Host: example.com", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: not base64!!", "Sec-WebSocket-Version: 13"],
        ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"],
    ])
    func missingOrBadHeadersAre400(lines: [String]) throws {
        guard case .failure(let failure) = WebSocketHandshake.validate(try handshake(lines)) else { Issue.record("accepted"); return }
        #expect(failure.status == .badRequest)
        #expect(!failure.message.isEmpty)
    }

    @Test func otherVersionsAre426NamingVersion13() throws {
        var lines = good
        lines[4] = "Sec-WebSocket-Version: 8"
        guard case .failure(let failure) = WebSocketHandshake.validate(try handshake(lines)) else { Issue.record("accepted"); return }
        #expect(failure.status == .upgradeRequired)
        #expect(failure.headers[.secWebSocketVersion] == "13")
    }

    @Test func subprotocolIsTheServersFirstChoiceThatTheClientOffers() throws {
        let request = try handshake(good + ["Sec-WebSocket-Protocol: chat.v1, agora.v2"])
        #expect(try WebSocketHandshake.validate(request, subprotocols: ["agora.v2", "chat.v1"]).get().subprotocol == "agora.v2")
        #expect(try WebSocketHandshake.validate(request, subprotocols: ["other"]).get().subprotocol == nil)
    }
}

@Suite struct CloseStateMachineTests {
    @Test func serverEchoesAPeerCloseAndClosesTCP() {
        var machine = CloseStateMachine(isClient: false)
        let echo = machine.receivedClose(code: 1000)
        #expect(echo == .sendClose(code: 1000, reason: "", closeTCP: true))
        #expect(!machine.isOpen)
        let second = machine.receivedClose(code: 1000)
        #expect(second == .none)
    }

    @Test func clientEchoesAndWaitsForTheServerToCloseTCP() {
        var machine = CloseStateMachine(isClient: true)
        let echo = machine.receivedClose(code: nil)
        #expect(echo == .sendClose(code: nil, reason: "", closeTCP: false))
    }

    @Test func ourCloseThenTheirsClosesTCPOnTheServer() {
        var machine = CloseStateMachine(isClient: false)
        let ours = machine.close(code: 1001, reason: "bye")
        let again = machine.close(code: 1000, reason: "again")
        let theirs = machine.receivedClose(code: 1001)
        #expect(ours == .sendClose(code: 1001, reason: "bye", closeTCP: false))
        #expect(again == .none)
        #expect(theirs == .closeTCP)
    }

    @Test func failingSendsTheCodeOnceThenDrops() {
        var machine = CloseStateMachine(isClient: false)
        let first = machine.fail(code: 1002, reason: "bad")
        let second = machine.fail(code: 1007, reason: "worse")
        #expect(first == .sendClose(code: 1002, reason: "bad", closeTCP: true))
        #expect(second == .none)
        var closing = CloseStateMachine(isClient: false)
        _ = closing.close(code: 1000, reason: "")
        let failedWhileClosing = closing.fail(code: 1002, reason: "bad")
        #expect(failedWhileClosing == .closeTCP)
    }
}

@Suite struct TokenBucketTests {
    @Test func allowsTheBurstThenTheRate() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(rate: 10, burst: 3, now: start)
        var taken: [Bool] = []
        for _ in 0..<4 { taken.append(bucket.take(now: start)) }
        #expect(taken == [true, true, true, false])
        taken = [
            bucket.take(now: start + .milliseconds(100)),  // one token per 100 ms
            bucket.take(now: start + .milliseconds(150)),
            bucket.take(now: start + .seconds(10)),
        ]
        #expect(taken == [true, false, true])
    }
}
