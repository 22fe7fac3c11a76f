import AgoraCore
import AgoraMedia
import Foundation
import NIOCore
import Testing

@Suite struct MultipartFormDataTests {
    static let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"

    /// A body the way Chrome sends a form with two text fields and a file.
    static func browserBody(file: [UInt8]) -> [UInt8] {
        let b = boundary
        var body = Array("--\(b)\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nWalnut desk lamp\r\n".utf8)
        body += Array("--\(b)\r\nContent-Disposition: form-data; name=\"price\"\r\n\r\n12.50\r\n".utf8)
        body += Array("--\(b)\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"lamp.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(b)--\r\n".utf8)
        return body
    }

    static func parse(_ body: String, boundary: String = "XyZ", limits: MultipartFormData.Limits = .init()) throws(AgoraError)
        -> [MultipartFormData.Part]
    {
        try MultipartFormData.parse(body: Array(body.utf8), boundary: boundary, limits: limits)
    }

    /// Checks that `body` is refused as invalid multipart, with `reason` in the message.
    static func expectInvalid(_ body: String, boundary: String = "XyZ", limits: MultipartFormData.Limits = .init(), reason: String) {
        let error = #expect(throws: AgoraError.self) { try parse(body, boundary: boundary, limits: limits) }
        #expect(error?.code == "invalid_multipart")
        #expect(error?.kind == .badRequest)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    @Test func browserFormWithFileAndFields() throws {
        // Binary content holding CR, LF, dashes and the boundary text without a line break before it.
        let file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 13, 10, 26, 10, 0, 0xFF, 13, 10, 45, 45] + Array("--\(Self.boundary)".utf8) + [0, 13]
        let form = try MultipartFormData(body: Self.browserBody(file: file), boundary: Self.boundary)
        #expect(form.parts.map(\.name) == ["title", "price", "photo"])
        #expect(form.part(named: "title")?.text == "Walnut desk lamp")
        #expect(form.part(named: "title")?.filename == nil)
        #expect(form.part(named: "price")?.text == "12.50")
        let photo = try #require(form.part(named: "photo"))
        #expect(photo.filename == "lamp.png")
        #expect(photo.contentType == "image/png")
        #expect(photo.body == file)
    }

    @Test func byteBufferGivesTheSameParts() throws {
        let body = Self.browserBody(file: Array(0...255))
        let fromBuffer = try MultipartFormData.parse(body: ByteBuffer(bytes: body), boundary: Self.boundary)
        #expect(fromBuffer == (try MultipartFormData.parse(body: body, boundary: Self.boundary)))
    }

    @Test func crlfInsideContentIsKept() throws {
        let parts = try Self.parse("--XyZ\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nline one\r\nline two\r\n\r\n\r\n--XyZ--")
        #expect(parts.first?.text == "line one\r\nline two\r\n\r\n")
    }

    @Test func boundaryLikeBytesThatAreNotDelimitersStayInContent() throws {
        // `--XyZ` followed by other text on its line, and `--XyZ` not at a line start, are content (RFC 2046 §5.1.1).
        let content = "a\r\n--XyZabc\r\nb --XyZ\r\n\r\n--XyZ-x"
        let parts = try Self.parse("--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\(content)\r\n--XyZ--")
        #expect(parts.count == 1)
        #expect(parts.first?.text == content)
    }

    @Test func preambleEpilogueAndTransportPaddingAreIgnored() throws {
        let body = "This is a preamble.\r\n--XyZ  \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--XyZ--\r\nepilogue --XyZ junk"
        let parts = try Self.parse(body)
        #expect(parts.map(\.name) == ["a", "b"])
        #expect(parts.map(\.text) == ["1", ""])
    }

    @Test func contentDispositionParameters() throws {
        let body = """
            --XyZ\r\nCONTENT-DISPOSITION: Form-Data ; NAME="a \\"q\\" b";filename="C:\\\\Users\\\\me\\\\ph;oto.jpg"\r\n\
            content-type:  image/jpeg \r\n\r\nx\r\n\
            --XyZ\r\nContent-Disposition: form-data; name="n"; filename="fallback.txt"; filename*=UTF-8''na%C3%AFve.png\r\n\r\ny\r\n--XyZ--
            """
        let parts = try Self.parse(body)
        #expect(parts[0].name == "a \"q\" b")
        #expect(parts[0].filename == "ph;oto.jpg")
        #expect(parts[0].contentType == "image/jpeg")
        #expect(parts[1].filename == "naïve.png")
    }

    @Test func missingFinalBoundaryIsRefused() {
        Self.expectInvalid("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", reason: "closing boundary")
        Self.expectInvalid("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XyZ", reason: "closing boundary")
    }

    @Test func malformedBodiesAreRefused() {
        Self.expectInvalid("no delimiters at all", reason: "no boundary")
        Self.expectInvalid("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n", reason: "inside a part's headers")
        Self.expectInvalid("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", reason: "no Content-Disposition")
        Self.expectInvalid("--XyZ\r\n\r\nx\r\n--XyZ--", reason: "no Content-Disposition")
        Self.expectInvalid("--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--", reason: "not form-data")
        Self.expectInvalid("--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--XyZ--", reason: "no field name")
        Self.expectInvalid("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--", reason: "malformed")
        Self.expectInvalid("--XyZ\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nx\r\n--XyZ--", reason: "folded")
        Self.expectInvalid("--XyZ\r\nContent-Disposition form-data\r\n\r\nx\r\n--XyZ--", reason: "no colon")
        Self.expectInvalid("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ--", boundary: "", reason: "boundary")
    }

    @Test func limitsAreEnforced() {
        let field = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n"
        Self.expectInvalid(String(repeating: field, count: 3) + "--XyZ--", limits: .init(maxParts: 2), reason: "more than 2 parts")
        let longHeader = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: \(String(repeating: "p", count: 200))\r\n\r\nx\r\n--XyZ--"
        Self.expectInvalid(longHeader, limits: .init(maxHeaderBytes: 100), reason: "longer than 100 bytes")
        #expect(MultipartFormData.Limits().maxParts == 20)
        #expect(MultipartFormData.Limits().maxHeaderBytes == 8192)
    }

    @Test func boundaryFromContentType() {
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data; boundary=----WebKitFormBoundaryabc") == "----WebKitFormBoundaryabc")
        #expect(MultipartFormData.boundary(fromContentType: "Multipart/Form-Data; charset=utf-8; BOUNDARY=xyz") == "xyz")
        let quoted = "multipart/form-data; boundary=\"gc0p4Jq0M2Yt08j34c0p:b y\""
        #expect(MultipartFormData.boundary(fromContentType: quoted) == "gc0p4Jq0M2Yt08j34c0p:b y")
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data") == nil)
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data; boundary=\"\"") == nil)
        #expect(MultipartFormData.boundary(fromContentType: "multipart/mixed; boundary=abc") == nil)
        #expect(MultipartFormData.boundary(fromContentType: "application/json") == nil)
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data; boundary=\(String(repeating: "a", count: 70))") != nil)
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data; boundary=\(String(repeating: "a", count: 71))") == nil)
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data; boundary=\"ends with space \"") == nil)
    }

    @Test func quotedBoundaryParsesItsBody() throws {
        let contentType = "multipart/form-data; boundary=\"simple boundary\""
        let boundary = try #require(MultipartFormData.boundary(fromContentType: contentType))
        let body = "--simple boundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nok\r\n--simple boundary--"
        let parts = try Self.parse(body, boundary: boundary)
        #expect(parts.first?.text == "ok")
    }

    // Speed is measured by scripts/bench-media.sh, not asserted here: a wall-clock bound fails on a busy machine.
    @Test func aFiveMebibyteUploadParsesWhole() throws {
        // 64 KiB of noise repeated: incompressible-looking content without generating 5 Mi random bytes in debug.
        let noise = (0..<65536).map { _ in UInt8.random(in: 0...255) }
        var file: [UInt8] = []
        for _ in 0..<80 { file += noise }
        let body = Self.browserBody(file: file)
        let parts = try MultipartFormData.parse(body: body, boundary: Self.boundary)
        #expect(parts.last?.body == file)
    }
}
