import Testing

@testable import AgoraWebSocket

/// The negotiation of RFC 7692 §5 and §7.1 as pure functions: what the server answers to each offer, and what our
/// client accepts from a server.
@Suite struct DeflateNegotiationTests {
    private let defaults = PerMessageDeflateConfiguration()

    private func answer(_ offers: String..., configuration: PerMessageDeflateConfiguration = PerMessageDeflateConfiguration()) -> String? {
        PerMessageDeflate.accept(offers: offers, configuration: configuration)?.1
    }

    @Test func aBrowsersOfferIsAcceptedWithoutContextTakeoverEitherWay() throws {
        // What Chromium and Firefox send.
        let (agreed, header) = try #require(PerMessageDeflate.accept(offers: ["permessage-deflate; client_max_window_bits"], configuration: defaults))
        #expect(header == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        #expect(agreed == PerMessageDeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15))
    }

    @Test func withContextTakeoverConfiguredTheAnswerIsBare() {
        let context = PerMessageDeflateConfiguration(serverNoContextTakeover: false, clientNoContextTakeover: false)
        #expect(answer("permessage-deflate", configuration: context) == "permessage-deflate")
        // A client asking for no server context gets it whatever the configuration.
        #expect(answer("permessage-deflate; server_no_context_takeover", configuration: context) == "permessage-deflate; server_no_context_takeover")
        #expect(answer("permessage-deflate; client_no_context_takeover", configuration: context) == "permessage-deflate; client_no_context_takeover")
    }

    @Test func aRequestedServerWindowIsHonouredAndNamed() throws {
        let context = PerMessageDeflateConfiguration(serverNoContextTakeover: false, clientNoContextTakeover: false)
        let (agreed, header) = try #require(PerMessageDeflate.accept(offers: ["permessage-deflate; server_max_window_bits=10"], configuration: context))
        #expect(header == "permessage-deflate; server_max_window_bits=10")
        #expect(agreed.serverMaxWindowBits == 10)
        // Our own smaller window is named even when the client did not ask.
        let small = PerMessageDeflateConfiguration(serverMaxWindowBits: 11, serverNoContextTakeover: false, clientNoContextTakeover: false)
        #expect(answer("permessage-deflate", configuration: small) == "permessage-deflate; server_max_window_bits=11")
        // And the smaller of the two wins.
        #expect(answer("permessage-deflate; server_max_window_bits=13", configuration: small) == "permessage-deflate; server_max_window_bits=11")
        #expect(answer("permessage-deflate; server_max_window_bits=9", configuration: small) == "permessage-deflate; server_max_window_bits=9")
    }

    @Test func anEightBitServerWindowIsDeclinedSinceZlibCannotCompressWithIt() {
        #expect(answer("permessage-deflate; server_max_window_bits=8") == nil)
        // The next offer, in the client's order of preference, is taken instead.
        #expect(answer("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9") != nil)
        #expect(answer("permessage-deflate; server_max_window_bits=8", "permessage-deflate") == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func theClientWindowIsNamedOnlyWhenTheClientOfferedTheParameter() throws {
        let small = PerMessageDeflateConfiguration(clientMaxWindowBits: 10, serverNoContextTakeover: false, clientNoContextTakeover: false)
        // Not offered: must not appear (§7.1.2.2), and the client compresses with up to 15 bits.
        let (plain, plainHeader) = try #require(PerMessageDeflate.accept(offers: ["permessage-deflate"], configuration: small))
        #expect(plainHeader == "permessage-deflate")
        #expect(plain.clientMaxWindowBits == 15)
        // Offered without a value: the server names its choice.
        #expect(answer("permessage-deflate; client_max_window_bits", configuration: small) == "permessage-deflate; client_max_window_bits=10")
        // Offered with a value: at most that.
        #expect(answer("permessage-deflate; client_max_window_bits=9", configuration: small) == "permessage-deflate; client_max_window_bits=9")
        #expect(answer("permessage-deflate; client_max_window_bits=12", configuration: small) == "permessage-deflate; client_max_window_bits=10")
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits",  // needs a value
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",  // leading zero
        "permessage-deflate; server_max_window_bits=1a",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; server_no_context_takeover=1",  // no value allowed
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",  // twice
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11",
        "permessage-deflate; x-unknown",
        "permessage-deflate; server_max_window_bits=\"10",  // unterminated quote
        "permessage-deflate; server_max_window_bits=\"1 0\"",  // not a token once unquoted
        "x-webkit-deflate-frame",
    ])
    func malformedOrUnknownOffersAreDeclined(offer: String) {
        #expect(answer(offer) == nil)
    }

    @Test func quotedValuesAndSpacingAndCaseAreRead() {
        let context = PerMessageDeflateConfiguration(serverNoContextTakeover: false, clientNoContextTakeover: false)
        #expect(answer("Permessage-Deflate ;  Server_Max_Window_Bits = \"12\"", configuration: context) == "permessage-deflate; server_max_window_bits=12")
        // Several header fields are one list, and empty list elements are allowed.
        #expect(answer("foo, ,bar; a=1", "permessage-deflate", configuration: context) == "permessage-deflate")
    }

    @Test func theExtensionHeaderParserKeepsOrderAndParameters() throws {
        // An escaped quote unquotes to `q"`, which is not a token (§9.1), so the header is refused as a whole.
        #expect(WebSocketExtension.parse(["b; z=\"q\\\"\""]) == nil)
        let simple = try #require(WebSocketExtension.parse(["a; x=1; y", "b; z=\"q\""]))
        #expect(simple == [WebSocketExtension(name: "a", parameters: [("x", "1"), ("y", nil)]), WebSocketExtension(name: "b", parameters: [("z", "q")])])
        #expect(WebSocketExtension.parse(["a b"]) == nil)
        #expect(WebSocketExtension.parse(["a; =1"]) == nil)
    }

    // MARK: Our client

    @Test func ourClientsOfferAndWhatItAcceptsBack() throws {
        #expect(PerMessageDeflate.offer(defaults) == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits")
        let agreed = try #require(try PerMessageDeflate.confirm(response: ["permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10"], offered: defaults))
        #expect(agreed == PerMessageDeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 10))
        #expect(try PerMessageDeflate.confirm(response: [], offered: defaults) == nil)
    }

    @Test(arguments: [
        "permessage-deflate",  // dropped the server_no_context_takeover we asked for
        "permessage-deflate; server_no_context_takeover; client_max_window_bits",  // no value in a response
        "permessage-deflate; server_no_context_takeover; x=1",
        "x-other",
        "permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover",  // two answers
    ])
    func ourClientFailsOnAnAnswerItMustNotAccept(response: String) {
        #expect(throws: WebSocketError.self) { try PerMessageDeflate.confirm(response: [response], offered: defaults) }
    }
}
