import AgoraApp
import AgoraDemo
import AgoraMedia
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Media on an S3-compatible store (moto, signatures checked): instances share images without sharing a disk.
@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct SharedMediaTests {
    @Test func anImageUploadedThroughOneInstanceIsServedByAnotherAndDeletedForAll() async throws {
        try await LocalS3.with { s3 in
            try await Cluster.with(2, s3.environment(prefix: "media/")) { nodes in
                let dataDir = try #require(nodes[0].environment["AGORA_DATA_DIR"])
                let market = Market(api: nodes[0].api, services: nodes[0].services)
                let alice = try await market.seller("alice")
                let product = try #require(try await market.product(alice)["id"] as? String)
                let png = PNGEncoder.encode(DemoArt.render(width: 64, height: 48, seed: 3, initials: "S3"))
                let added = try await nodes[0].api.uploadImage(to: "/api/products/\(product)/images", bytes: png, bearer: alice.accessToken)
                #expect(added.status == .created, "\(added.raw)")
                let image = try #require((added["images"] as? [[String: Any]])?.last)
                let url = try #require(image["url"] as? String)
                let imageID = try #require(image["id"] as? String)

                // Nothing landed on the local disk; the bucket holds the cleaned image (what every instance serves).
                #expect(!FileManager.default.fileExists(atPath: dataDir + "/media"))
                let key = try #require(MediaKey(validating: String(url.dropFirst("/media/".count))))
                let direct = try S3MediaStorage(
                    settings: .init(
                        endpoint: s3.endpoint, bucket: "agora-media", credentials: .init(accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey),
                        prefix: "media/"))
                let stored = try #require(try await direct.get(key)?.bytes)
                #expect(ImageFormat.sniff(stored) == SniffedImage(format: .png, width: 64, height: 48))
                // Both instances serve the same bytes, with the same headers, and a single byte range.
                for node in nodes {
                    try await node.api.client.execute(uri: url, method: .get) { response in
                        #expect(response.status == .ok)
                        #expect(response.headers[.contentType] == "image/png")
                        #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                        #expect(Array(buffer: response.body) == stored)
                    }
                    try await node.api.client.execute(uri: url, method: .get, headers: [.range: "bytes=0-7"]) { response in
                        #expect(response.status == .partialContent)
                        #expect(response.headers[.contentRange] == "bytes 0-7/\(stored.count)")
                        #expect(Array(buffer: response.body) == Array(stored[0..<8]))
                    }
                }

                // Deleted through the other instance: gone from the store, a 404 on both.
                let deleted = try await nodes[1].api.call(.delete, "/api/products/\(product)/images/\(imageID)", bearer: alice.accessToken)
                #expect(deleted.status == .ok || deleted.status == .noContent, "\(deleted.raw)")
                try await waitUntil { try await direct.get(key) == nil }
                for node in nodes {
                    try await node.api.client.execute(uri: url, method: .get) { response in #expect(response.status == .notFound) }
                }
            }
        }
    }

    /// Polls `condition` for up to 10 s (a replaced file is deleted after the commit, off the request).
    func waitUntil(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
