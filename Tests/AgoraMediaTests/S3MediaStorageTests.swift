import AgoraDemo
import AgoraMedia
import AgoraTestSupport
import Foundation
import Testing

/// AWS Signature V4 against the examples AWS publishes for S3 (computed by AWS, and by botocore).
@Suite struct SigV4Tests {
    static let signer = SigV4Signer(
        credentials: .init(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), region: "us-east-1")
    static let may24 = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    @Test func getObjectWithARange() {
        let headers = Self.signer.authorization(
            method: "GET", path: "/test.txt", headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
            payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", date: Self.may24)
        #expect(headers.first { $0.0 == "x-amz-date" }?.1 == "20130524T000000Z")
        #expect(
            headers.first { $0.0 == "Authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test func putObjectSignsTheBodyHash() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let headers = Self.signer.authorization(
            method: "PUT", path: "/test%24file.text",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ],
            payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", date: Self.may24)
        #expect(headers.first { $0.0 == "Authorization" }?.1.hasSuffix("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd") == true)
    }

    @Test func presignedGet() {
        let query = Self.signer.presignedQuery(method: "GET", path: "/test.txt", host: "examplebucket.s3.amazonaws.com", expires: 86400, date: Self.may24)
        #expect(
            query
                == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )
    }

    @Test func encodingKeepsOnlyTheUnreservedSet() {
        #expect(SigV4Signer.encode("a b/c~d_e.f-g+h=é") == "a%20b%2Fc~d_e.f-g%2Bh%3D%C3%A9")
        #expect(SigV4Signer.encode("media/3f.png", keepSlash: true) == "media/3f.png")
    }

    @Test(arguments: [
        ("bytes=0-99", ByteRange.from(0, through: 99)), ("bytes=100-", .from(100, through: nil)), ("bytes=-5", .suffix(5)),
    ])
    func singleRangesParse(header: String, range: ByteRange) {
        #expect(ByteRange(header: header) == range)
        #expect(ByteRange(header: range.header) == range)
    }

    @Test(arguments: ["bytes=0-1,4-5", "items=0-1", "bytes=5-1", "bytes=-0", "bytes=-", "bytes=x-1", "bytes=99999999999999999999-", ""])
    func otherRangesAreIgnored(header: String) {
        #expect(ByteRange(header: header) == nil)
    }

    @Test func rangesResolveAgainstTheFile() {
        #expect(ByteRange.from(0, through: 9).resolved(size: 5) == 0..<5)
        #expect(ByteRange.from(5, through: nil).resolved(size: 5) == nil)
        #expect(ByteRange.suffix(10).resolved(size: 4) == 0..<4)
        #expect(ByteRange.suffix(2).resolved(size: 4) == 2..<4)
    }
}

/// `S3MediaStorage` against moto's S3 server with authentication on: every request below was signed, and the
/// signature recomputed by botocore and found equal, or the store would have refused it.
@Suite(.serialized) struct S3MediaStorageTests {
    static func storage(_ s3: LocalS3, bucket: String = "agora-media", secret: String? = nil, prefix: String = "", createBucket: Bool = false)
        throws -> S3MediaStorage
    {
        try S3MediaStorage(
            settings: .init(
                endpoint: s3.endpoint, bucket: bucket, credentials: .init(accessKeyID: s3.accessKeyID, secretAccessKey: secret ?? s3.secretAccessKey),
                prefix: prefix, timeout: .seconds(20), createBucket: createBucket))
    }

    @Test func putGetRangeDeletePresign() async throws {
        try await LocalS3.with { s3 in
            let storage = try Self.storage(s3, prefix: "media/")
            let key = MediaKey.random(format: .png)
            let png = DemoArt.png(title: "Linen tote", width: 64, height: 48)
            #expect(try await storage.get(key) == nil)
            try await storage.put(png, key: key, contentType: "image/png")
            #expect(try await storage.get(key) == StoredMedia(bytes: png, contentType: "image/png"))

            let head = try #require(try await storage.get(key, range: .from(0, through: 7)))
            #expect(head.bytes == Array(png[0..<8]))
            #expect(head.offsets == 0..<8)
            #expect(head.totalSize == png.count)
            let tail = try #require(try await storage.get(key, range: .suffix(4)))
            #expect(tail.bytes == Array(png.suffix(4)))
            #expect(tail.offsets == (png.count - 4)..<png.count)
            let beyond = try #require(try await storage.get(key, range: .from(png.count, through: nil)))
            #expect(beyond.offsets == nil)
            #expect(beyond.bytes.isEmpty)

            // Replaced in place: readers see the new bytes.
            let other = DemoArt.png(title: "Other", width: 40, height: 40)
            try await storage.put(other, key: key, contentType: "image/png")
            #expect(try await storage.get(key)?.bytes == other)

            try await storage.delete(key)
            #expect(try await storage.get(key) == nil)
            try await storage.delete(key)  // a retried delete succeeds
            #expect(try await storage.get(key, range: .from(0, through: 1)) == nil)

            await #expect(throws: MediaStorageError.self) {
                try await storage.put([1, 2, 3], key: MediaKey.random(format: .png), contentType: "text/html")
            }
            // A wrong secret is refused by the store; its reason reaches the log line, the secret does not.
            let error = await #expect(throws: MediaStorageError.self) {
                try await Self.storage(s3, secret: "not-the-secret").put([1, 2, 3], key: MediaKey.random(format: .png), contentType: "image/png")
            }
            #expect(error?.description.contains("SignatureDoesNotMatch") == true)
            #expect(error?.description.contains("not-the-secret") == false)

            // Presigned URLs: botocore computes the same signature, and the check is real.
            var settings = storage.settings
            settings.publicEndpoint = "https://media.example.com"
            let url = try #require(try S3MediaStorage(settings: settings).directURL(for: key))
            #expect(url.hasPrefix("https://media.example.com/agora-media/media/\(key)?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
            #expect(url.contains("X-Amz-Expires=900"))
            #expect(try await s3.presignedProblem(url) == nil)
            #expect(try await s3.presignedProblem(url, secret: "other") != nil)
            #expect(try await s3.presignedProblem(url.replacingOccurrences(of: key.rawValue, with: MediaKey.random(format: .webp).rawValue)) != nil)
        }
    }

    @Test func aMissingBucketIsMadeOnlyWhenAllowed() async throws {
        try await LocalS3.with(bucket: nil) { s3 in
            let key = MediaKey.random(format: .png)
            let refused = await #expect(throws: MediaStorageError.self) {
                try await Self.storage(s3, bucket: "fresh-bucket").put([1, 2, 3], key: key, contentType: "image/png")
            }
            #expect(refused?.description.contains("NoSuchBucket") == true)
            let storage = try Self.storage(s3, bucket: "fresh-bucket", createBucket: true)
            try await storage.put([1, 2, 3], key: key, contentType: "image/png")
            #expect(try await storage.get(key)?.bytes == [1, 2, 3])
            try await storage.createBucketIfMissing()  // again: already ours, not an error
        }
    }

    @Test func virtualHostedStyleNamesTheBucketInTheHost() throws {
        let storage = try S3MediaStorage(
            settings: .init(
                endpoint: "https://s3.eu-west-1.amazonaws.com", bucket: "agora-media", region: "eu-west-1",
                credentials: .init(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret"), pathStyle: false))
        let key = try #require(MediaKey(validating: "0123456789abcdef0123456789abcdef.jpg"))
        let url = try #require(storage.directURL(for: key, at: SigV4Tests.may24))
        #expect(url.hasPrefix("https://agora-media.s3.eu-west-1.amazonaws.com/0123456789abcdef0123456789abcdef.jpg?"))
        #expect(url.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Feu-west-1%2Fs3%2Faws4_request"))
    }

    @Test func settingsAreChecked() {
        let good = S3MediaStorage.Settings(endpoint: "http://127.0.0.1:9000", bucket: "agora-media", credentials: .init(accessKeyID: "a", secretAccessKey: "b"))
        #expect(good.problems.isEmpty)
        var bad = good
        bad.bucket = "Bad_Bucket"
        bad.endpoint = "ftp://x"
        bad.prefix = "/abs"
        bad.credentials = .init(accessKeyID: "", secretAccessKey: "")
        #expect(bad.problems.count == 4)
    }
}
