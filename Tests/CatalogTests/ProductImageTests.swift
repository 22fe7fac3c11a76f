import AgoraApp
import AgoraDemo
import AgoraMedia
import AgoraPostgres
import AgoraTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.tags(.integration), .enabled(if: TestServices.isConfigured))
struct ProductImageTests {
    func upload(_ api: API, _ product: String, bytes: [UInt8], filename: String, type: String, bearer: String, field: String = "image") async throws -> APIResponse {
        try await api.uploadImage(to: "/api/products/\(product)/images", bytes: bytes, filename: filename, type: type, bearer: bearer, field: field)
    }

    @Test func uploadsAreSniffedStoredOrderedAndServedWithLongCacheHeaders() async throws {
        let dataDir = NSTemporaryDirectory() + TestServices.uniqueName("agora-media")
        try await TestApp.withApplication(["AGORA_DATA_DIR": dataDir, "AGORA_MAX_IMAGES_PER_PRODUCT": "3"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let bob = try await market.seller("bob")
                let product = try #require(try await market.product(alice)["id"] as? String)
                let png = PNGEncoder.encode(DemoArt.render(width: 64, height: 48, seed: 7, initials: "AG"))

                // A text file renamed .jpg and declared image/jpeg is refused by its bytes, and nothing is stored.
                let fake = try await upload(market.api, product, bytes: Array("GIF89a? no: <script>alert(1)</script>".utf8), filename: "cat.jpg", type: "image/jpeg", bearer: alice.accessToken)
                #expect(fake.status == .unsupportedMediaType && fake.code == "unsupported_image_type")
                let files = { (FileManager.default.enumerator(atPath: dataDir + "/media")?.allObjects as? [String] ?? []).filter { $0.contains(".") } }
                #expect(files().isEmpty)
                // Someone else's product: 404, nothing stored.
                #expect(try await upload(market.api, product, bytes: png, filename: "a.png", type: "image/png", bearer: bob.accessToken).status == .notFound)
                #expect(files().isEmpty)
                // Wrong field name, and not multipart at all.
                #expect(try await upload(market.api, product, bytes: png, filename: "a.png", type: "image/png", bearer: alice.accessToken, field: "file").code == "image_required")
                #expect(try await market.api.call(.post, "/api/products/\(product)/images", json: ["image": "x"], bearer: alice.accessToken).code == "multipart_required")

                var ids: [String] = []
                for _ in 0..<3 {
                    let added = try await upload(market.api, product, bytes: png, filename: "photo.PNG", type: "application/octet-stream", bearer: alice.accessToken)
                    #expect(added.status == .created, "\(added.raw)")
                    let images = try #require(added["images"] as? [[String: Any]])
                    ids.append(try #require(images.last?["id"] as? String))
                    #expect(images.last?["width"] as? Int == 64 && images.last?["contentType"] as? String == "image/png")
                }
                #expect(files().count == 3)
                let fourth = try await upload(market.api, product, bytes: png, filename: "4.png", type: "image/png", bearer: alice.accessToken)
                #expect(fourth.status == .conflict && fourth.code == "too_many_images")
                #expect(files().count == 3)  // the file of a refused upload is removed again

                // Served with the sniffed type and a year of immutable caching.
                let detail = try await market.api.call(.get, "/api/products/\(product)")
                let url = try #require(((detail["images"] as? [[String: Any]])?.first?["url"] as? String))
                #expect(url.hasPrefix("/media/") && url.hasSuffix(".png"))
                try await client.execute(uri: url, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "image/png")
                    #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                    // What is served is the cleaned image (re-encoded by libvips), the same picture and size.
                    let served = Array(response.body.readableBytesView)
                    #expect(ImageFormat.sniff(served) == SniffedImage(format: .png, width: 64, height: 48))
                }

                // Reorder: must name each image once.
                #expect(try await market.api.call(.put, "/api/products/\(product)/images", json: ["order": [ids[0]]], bearer: alice.accessToken).fields["order"] != nil)
                let reordered = try await market.api.call(.put, "/api/products/\(product)/images", json: ["order": Array(ids.reversed())], bearer: alice.accessToken)
                #expect((reordered["images"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ids.reversed())

                // Delete: the others close ranks and the file goes.
                let deleted = try await market.api.call(.delete, "/api/products/\(product)/images/\(ids[1])", bearer: alice.accessToken)
                #expect((deleted["images"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[2], ids[0]])
                #expect(files().count == 2)
                #expect(try await market.api.call(.delete, "/api/products/\(product)/images/\(ids[1])", bearer: alice.accessToken).status == .notFound)
                let positions = try await services.db.query("SELECT position FROM product_images ORDER BY position", logger: TestServices.logger)
                #expect(try positions.map { try $0.decode("position", as: Int.self) } == [0, 1])
            }
        }
    }

    @Test func aPhonePhotoIsStoredUprightWithoutItsGPSAndWithThumbnails() async throws {
        let dataDir = NSTemporaryDirectory() + TestServices.uniqueName("agora-media")
        let fixtures = try await ImageCheck.fixtures()
        try await TestApp.withApplication(["AGORA_DATA_DIR": dataDir, "AGORA_IMAGE_THUMBNAIL_WIDTHS": "320,480,960"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let product = try #require(try await market.product(alice)["id"] as? String)
                let added = try await upload(market.api, product, bytes: try #require(fixtures["gps.jpg"]), filename: "IMG_0001.JPG", type: "image/jpeg", bearer: alice.accessToken)
                #expect(added.status == .created, "\(added.raw)")
                let image = try #require((added["images"] as? [[String: Any]])?.first)
                // 1200x800 stored sideways with EXIF orientation 6: upright, 800x1200.
                #expect(image["width"] as? Int == 800 && image["height"] as? Int == 1200)
                let url = try #require(image["url"] as? String)
                let thumbnails = try #require(image["thumbnails"] as? [[String: Any]])
                // 960 is not narrower than the image; 320 and 480 are.
                #expect(thumbnails.compactMap { $0["width"] as? Int } == [320, 480])
                let stem = url.dropFirst("/media/".count).prefix(32)
                #expect(thumbnails.compactMap { $0["url"] as? String } == ["/media/\(stem)-320.webp", "/media/\(stem)-480.webp"])

                // Served, and Pillow finds no metadata in any of them.
                for (path, format, width) in [(url, "JPEG", 800), ("/media/\(stem)-320.webp", "WEBP", 320), ("/media/\(stem)-480.webp", "WEBP", 480)] {
                    let bytes = try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .ok)
                        return Array(response.body.readableBytesView)
                    }
                    let report = try await ImageCheck.inspect(bytes)
                    #expect(report.format == format && report.width == width, "\(path): \(report)")
                    #expect(report.exifTags == 0 && !report.gps && report.comment.isEmpty && report.telltales.isEmpty, "\(path): \(report)")
                }
                // The listing carries the same thumbnails (a cached path of its own).
                let listing = try await market.api.call(.get, "/api/products?seller=alice")
                let listed = (listing["items"] as? [[String: Any]])?.first?["images"] as? [[String: Any]]
                #expect((listed?.first?["thumbnails"] as? [[String: Any]])?.count == 2)

                // Deleting the image deletes its thumbnails too.
                let files = { (FileManager.default.enumerator(atPath: dataDir + "/media")?.allObjects as? [String] ?? []).filter { $0.contains(".") } }
                #expect(files().count == 3)
                let imageID = try #require(image["id"] as? String)
                let deleted = try await market.api.call(.delete, "/api/products/\(product)/images/\(imageID)", bearer: alice.accessToken)
                #expect(deleted.status == .ok, "\(deleted.raw)")
                #expect(files().isEmpty)

                // A photo cut off in the middle: its header is fine, decoding is not. 422, nothing stored.
                let cut = try await upload(market.api, product, bytes: try #require(fixtures["cut.jpg"]), filename: "cut.jpg", type: "image/jpeg", bearer: alice.accessToken)
                #expect(cut.status == .unprocessableContent && cut.code == "image_unreadable", "\(cut.raw)")
                #expect(files().isEmpty)
            }
        }
    }

    @Test func anOversizedUploadIsRefusedBeforeItIsRead() async throws {
        try await TestApp.withApplication(["AGORA_MAX_IMAGE_SIZE": "2048"]) { app, services in
            try await app.test(.router) { client in
                let market = Market(api: API(client: client), services: services)
                let alice = try await market.seller("alice")
                let product = try #require(try await market.product(alice)["id"] as? String)
                let big = try await upload(market.api, product, bytes: Array(repeating: 0x42, count: 100_000), filename: "big.png", type: "image/png", bearer: alice.accessToken)
                #expect(big.status == .contentTooLarge)
            }
        }
    }
}
