import AgoraApp
import AgoraTestSupport
import Foundation
import HTTPTypes
import Testing

/// A product's topic tells followers what HTTP tells them, and only while they may see the product.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ProductTopicTests {
    @Test func liveUpdatesShowAvailabilityNotStockAndAnUnpublishedProductDropsItsFollowers() async throws {
        try await Cluster.with(2, ["AGORA_RELAY_INTERVAL_MS": "50", "AGORA_PRODUCT_UPDATE_INTERVAL_MS": "0"]) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let market = Market(api: a.api, services: a.services)
            let seller = try await market.seller("topicseller")
            let buyer = try await b.api.register("topicbuyer")
            let product = try #require(try await market.product(seller, ["stock": 5])["id"] as? String)
            let buyerSocket = try await TestSocket.resuming(port: b.port, token: buyer.accessToken, after: 0)
            let sellerSocket = try await TestSocket.resuming(port: a.port, token: seller.accessToken, after: 0)
            for (socket, id) in [(buyerSocket, "sb"), (sellerSocket, "ss")] {
                _ = try await socket.expect("ack", skipping: ["presence"])
                try socket.send(["type": "subscribe", "id": id, "data": ["topic": "product:\(product)"]])
                _ = try await socket.expect("ack", skipping: ["presence"])
            }

            // Exact stock is the seller's; the topic carries what every product page shows.
            #expect(try await a.api.call(.patch, "/api/products/\(product)", json: ["stock": 7], bearer: seller.accessToken).status == .ok)
            let update = try await buyerSocket.expect("product:updated", skipping: ["presence"])
            #expect(update.data["available"] as? Int == 7 && update.data["stock"] == nil, "\(update)")
            let shown = try await b.api.call(.get, "/api/products/\(product)", bearer: buyer.accessToken)
            #expect(shown["available"] as? Int == 7 && shown["stock"] == nil)

            // Unpublished: the buyer loses the topic (told so), the seller keeps following their own product.
            #expect(try await a.api.call(.post, "/api/products/\(product)/unpublish", bearer: seller.accessToken).status == .ok)
            let revoked = try await buyerSocket.expect("error", skipping: ["presence", "product:updated"])
            #expect(revoked.data["code"] as? String == "topic_revoked" && revoked.data["topic"] as? String == "product:\(product)", "\(revoked)")
            #expect(try await a.api.call(.patch, "/api/products/\(product)", json: ["price": ["amount": 4321, "currency": "ZAR"]], bearer: seller.accessToken).status == .ok)
            var sellerSaw = false
            while !sellerSaw {
                let message = try await sellerSocket.expect("product:updated", skipping: ["presence"])
                sellerSaw = (message.data["price"] as? [String: Any])?["amount"] as? Int == 4321
            }
            // The buyer heard nothing more of it: its next message is the answer to a ping sent after the change.
            try buyerSocket.send(["type": "ping", "id": "after"])
            #expect(try await buyerSocket.expect("ack", skipping: ["presence"])["id"] as? String == "after")
            // And it cannot follow it again.
            try buyerSocket.send(["type": "subscribe", "id": "again", "data": ["topic": "product:\(product)"]])
            #expect(try await buyerSocket.expect("error", skipping: ["presence"])["id"] as? String == "again")
            buyerSocket.close()
            sellerSocket.close()
        }
    }
}
