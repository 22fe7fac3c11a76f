import AgoraCrypto
import AgoraPush
import Foundation
import Testing

/// The payload encryption of RFC 8291, the VAPID header of RFC 8292, the endpoint allowlist and the messages.
struct WebPushCipherTests {
    static func b64(_ text: String) throws -> [UInt8] { try #require(Base64.decode(text, url: true)) }

    /// RFC 8291, Appendix A: with its keys and salt, the body is the one the RFC prints, byte for byte.
    @Test func rfc8291AppendixA() throws {
        let server = try P256Key(privateKey: try Self.b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
        #expect(Base64.encode(server.publicKey, url: true, padding: false)
            == "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8")
        let subscriber = try P256Key(privateKey: try Self.b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
        let auth = try Self.b64("BTBZMqHH6r4Tts7J_aSIgg")
        let body = try WebPushCipher.encrypt(
            Array("When I grow up, I want to be a watermelon".utf8), subscriberKey: subscriber.publicKey, authSecret: auth, serverKey: server,
            salt: try Self.b64("DGv6ra1nlYgDCS1FRnbzlw")
        )
        #expect(Base64.encode(body, url: true, padding: false) == """
            DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVP\
            TpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN
            """)
        #expect(String(decoding: try WebPushCipher.decrypt(body, subscriber: subscriber, authSecret: auth), as: UTF8.self)
            == "When I grow up, I want to be a watermelon")
    }

    @Test func freshKeysAndSaltsEveryTimeAndOnlyTheSubscriberDecrypts() throws {
        let subscriber = try P256Key.generate()
        let auth = SecureRandom.bytes(16)
        let payload = Array(#"{"title":"New order"}"#.utf8)
        let one = try WebPushCipher.encrypt(payload, subscriberKey: subscriber.publicKey, authSecret: auth)
        let two = try WebPushCipher.encrypt(payload, subscriberKey: subscriber.publicKey, authSecret: auth)
        #expect(one != two && one.prefix(16) != two.prefix(16))
        #expect(try WebPushCipher.decrypt(one, subscriber: subscriber, authSecret: auth) == payload)
        #expect(throws: WebPushCipher.Error.malformed) { try WebPushCipher.decrypt(one, subscriber: subscriber, authSecret: SecureRandom.bytes(16)) }
        #expect(throws: WebPushCipher.Error.malformed) { try WebPushCipher.decrypt(one, subscriber: try P256Key.generate(), authSecret: auth) }
        #expect(throws: WebPushCipher.Error.payloadTooLarge) {
            try WebPushCipher.encrypt([UInt8](repeating: 0x41, count: WebPushCipher.maxPayload + 1), subscriberKey: subscriber.publicKey, authSecret: auth)
        }
        #expect(throws: WebPushCipher.Error.invalidSubscription) {
            try WebPushCipher.encrypt(payload, subscriberKey: Array(subscriber.publicKey.dropLast()), authSecret: auth)
        }
    }

    @Test func theVAPIDHeaderCarriesAnES256TokenForTheEndpointsOrigin() throws {
        let vapid = VAPID(key: try P256Key.generate(), subject: "mailto:ops@agora.example")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let header = try vapid.authorization(audience: "https://fcm.googleapis.com", now: now)
        #expect(header.hasPrefix("vapid t=") && header.hasSuffix(",k=\(vapid.publicKey)"))
        let token = String(header.dropFirst("vapid t=".count).prefix { $0 != "," })
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        #expect(String(decoding: try Self.b64(parts[0]), as: UTF8.self) == #"{"typ":"JWT","alg":"ES256"}"#)
        let claims = try #require(try JSONSerialization.jsonObject(with: Data(try Self.b64(parts[1]))) as? [String: Any])
        #expect(claims["aud"] as? String == "https://fcm.googleapis.com" && claims["sub"] as? String == "mailto:ops@agora.example")
        #expect(claims["exp"] as? Int == 1_800_000_000 + 12 * 3600)
        #expect(P256.verify(signature: try Self.b64(parts[2]), for: Array("\(parts[0]).\(parts[1])".utf8), publicKey: vapid.key.publicKey))
        // At most 24 hours, whatever is asked.
        let long = try vapid.authorization(audience: "https://a.example", now: now, lifetime: 7 * 86_400)
        let longClaims = try Self.b64(String(long.dropFirst("vapid t=".count).split(separator: ".")[1]))
        #expect((try JSONSerialization.jsonObject(with: Data(longClaims)) as? [String: Any])?["exp"] as? Int == 1_800_000_000 + 86_400)
    }

    @Test func onlyPushServicesAreEndpoints() throws {
        var settings = PushSettings()
        func allowed(_ url: String) -> Bool { URLComponents(string: url).map(settings.allows) ?? false }
        #expect(allowed("https://fcm.googleapis.com/fcm/send/abc:def"))
        #expect(allowed("https://updates.push.services.mozilla.com/wpush/v2/gAAAA"))
        #expect(allowed("https://web.push.apple.com/QGm"))
        #expect(!allowed("http://fcm.googleapis.com/fcm/send/abc"), "https only")
        #expect(!allowed("https://evil.example/fcm.googleapis.com"))
        #expect(!allowed("https://fcm.googleapis.com.evil.example/x"))
        #expect(!allowed("https://push.services.mozilla.com.evil/x") && !allowed("https://xpush.services.mozilla.com/x"))
        #expect(!allowed("https://127.0.0.1/x") && !allowed("https://user@fcm.googleapis.com/x"))
        settings.allowedHosts = ["127.0.0.1"]
        settings.allowHTTP = true
        #expect(allowed("http://127.0.0.1:9999/push/1"))
    }

    @Test func messagesSayWhatHappenedAndWhereToLook() throws {
        let seller = UUID()
        let buyer = UUID()
        let order = #"{"orderId":"6F9619FF-8B86-D011-B42D-00C04FC964FF","total":25000,"currency":"ZAR","sellerId":"\#(seller.uuidString)","buyerId":"\#(buyer.uuidString)","status":"shipped","carrier":"PostNet"}"#
        let paid = try #require(PushMessage.render(kind: "order", data: order, recipient: seller))
        #expect(paid.title == "New order" && paid.body == "ZAR 250.00 paid: ready to ship" && paid.url == "/sell/orders")
        let shipped = try #require(PushMessage.render(kind: "order_status", data: order, recipient: buyer))
        #expect(shipped.body == "Your order has shipped with PostNet" && shipped.url == "/orders/6f9619ff-8b86-d011-b42d-00c04fc964ff")
        let message = try #require(PushMessage.render(kind: "message", data: #"{"conversationId":"ABC","preview":"Is it still for sale?"}"#, recipient: seller))
        #expect(message.body == "Is it still for sale?" && message.url == "/chat/abc")
        #expect(PushMessage.render(kind: "like", data: "{}", recipient: seller) == nil)
        #expect(PushMessage.render(kind: "order", data: "[1,2]", recipient: seller) == nil)
    }
}
