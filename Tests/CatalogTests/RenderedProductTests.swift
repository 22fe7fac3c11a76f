import AgoraCore
import Foundation
import Testing

@testable import Catalog

struct RenderedProductTests {
    static let sample = #"""
        {"id":"8E4C0D4E-3E1A-4C1B-9C55-0C8A4A3B2F10","slug":"mug-350-ml-8e4c0d4e3e1a","seller":{"id":"1D1C2E0A-5B7E-4C44-8F6A-2B9E3A6C7D81","username":"ana",
         "displayName":"Ana \"the\" seller\nline two","avatarUrl":null},"category":null,"title":"Mug, 350 ml","description":"Glazed {ochre}",
         "price":{"amount":24900,"currency":"ZAR"},"condition":"new","tags":["mug"],"available":3,"type":"physical","location":{"lat":-33.9,"lng":18.4},
         "images":[],"status":"published","likeCount":2,"viewCount":7,"publishedAt":"2026-12-02T10:00:00Z","createdAt":"2026-12-02T09:00:00Z",
         "updatedAt":"2026-12-02T10:00:00Z"}
        """#

    func product() throws -> Product {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(Product.self, from: Data(Self.sample.utf8))
    }

    func object(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test(arguments: [nil, true, false] as [Bool?])
    func splicedJSONIsWhatCodableWouldHaveWritten(liked: Bool?) throws {
        var product = try product()
        let rendered = try RenderedProduct(product)
        product.likedByMe = liked
        let expected = try RenderedProduct.encoder.encode(product)
        #expect(try object(rendered.json(likedByMe: liked)) == object(Array(expected)))
    }

    /// Every optional present and absent, odd strings, fractional seconds and coordinates: the hand-written JSON must
    /// be what `JSONEncoder` writes.
    @Test(arguments: [false, true])
    func theWriterAgreesWithCodable(full: Bool) throws {
        var product = try product()
        product.createdAt = Date(timeIntervalSince1970: 1_780_000_000.999_9)
        product.updatedAt = Date(timeIntervalSince1970: 946_684_800.5)
        product.title = "Tab\there, quote \" back\\slash / slash, \u{1} control, emoji 🧉, é"
        if full {
            product.category = CategoryRef(id: UUID(), slug: "kitchen", name: "Kitchen & more")
            product.seller.avatarUrl = "https://example.com/a.png?x=1&y=2"
            product.images = [ProductImage(id: UUID(), url: "/media/ab.png", width: 640, height: 480, contentType: "image/png")]
            product.stock = 12
            product.lowStockThreshold = 0
            product.likedByMe = true
            product.location = GeoPoint(lat: -33, lng: 18.000001)
        } else {
            product.location = nil
            product.publishedAt = nil
            product.tags = []
        }
        let expected = try RenderedProduct.encoder.encode(product)
        #expect(try object(ProductJSONWriter.render(product)) == object(Array(expected)))
    }

    @Test func aPageRendersAsItsCodableForm() throws {
        var liked = try product()
        liked.likedByMe = true
        for page in [ProductPage(items: [try product(), liked], nextCursor: "abc"), ProductPage(items: [], nextCursor: nil)] {
            #expect(try object(ProductJSONWriter.render(page)) == object(Array(try RenderedProduct.encoder.encode(page))))
        }
    }

    @Test func pagesSurviveTheCacheFormAndRenderAsOneObject() throws {
        let item = try RenderedProduct(try product())
        let page = RenderedPage(items: [item, item], nextCursor: "eyJpZCI6IngifQ")
        let restored = try #require(RenderedPage(cacheValue: page.cacheValue))
        #expect(restored == page)
        let body = try object(restored.json(liked: [item.id]))
        let items = try #require(body["items"] as? [NSDictionary])
        #expect(items.count == 2 && items.allSatisfy { $0["likedByMe"] as? Bool == true })
        #expect(body["nextCursor"] as? String == "eyJpZCI6IngifQ")
        let empty = try #require(RenderedPage(cacheValue: RenderedPage(items: [], nextCursor: nil).cacheValue))
        #expect(try object(empty.json(liked: nil)) == ["items": [], "nextCursor": NSNull()])
        #expect(RenderedPage(cacheValue: Array("cursor\nnot a line".utf8)) == nil)
    }
}
