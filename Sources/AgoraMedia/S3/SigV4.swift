import AgoraCrypto
package import Foundation

/// AWS Signature Version 4 for S3: the `Authorization` header of a request, or the query of a presigned URL.
///
/// Only what an object store needs: header names are signed lower-cased and trimmed, the path is used as given
/// (already percent-encoded once; S3 does not encode it a second time), and the query is sorted and encoded with
/// RFC 3986's unreserved set. HMAC-SHA-256 and SHA-256 come from OpenSSL through `AgoraCrypto`.
package struct SigV4Signer: Sendable {
    /// An access key: its id travels with every request, the secret never does.
    package struct Credentials: Sendable {
        package var accessKeyID: String
        package var secretAccessKey: String

        package init(accessKeyID: String, secretAccessKey: String) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }
    }

    /// The hash S3 accepts in place of the body's when the body is not signed (presigned URLs).
    package static let unsignedPayload = "UNSIGNED-PAYLOAD"

    package let credentials: Credentials
    package let region: String
    package let service: String

    package init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The header fields to add to a request: `x-amz-date`, `x-amz-content-sha256` and `Authorization`.
    /// - Parameters:
    ///   - method: e.g. `GET`.
    ///   - path: the request path, percent-encoded, starting with `/`.
    ///   - query: the query's names and values, not encoded.
    ///   - headers: every other field to sign, `host` among them (names in any case).
    ///   - payloadHash: the body's SHA-256 in lowercase hex.
    ///   - date: the signing time; S3 refuses a request more than 15 minutes off its clock.
    package func authorization(
        method: String, path: String, query: [(String, String)] = [], headers: [(String, String)], payloadHash: String, date: Date
    ) -> [(String, String)] {
        let stamp = Self.timestamp(date)
        var signed = headers.map { ($0.0.lowercased(), Self.trimmed($0.1)) }
        signed.append(("x-amz-content-sha256", payloadHash))
        signed.append(("x-amz-date", stamp))
        signed.sort { $0.0 < $1.0 }
        let names = signed.map(\.0).joined(separator: ";")
        let canonical = [
            method, path, Self.canonicalQuery(query), signed.map { "\($0.0):\($0.1)\n" }.joined(), names, payloadHash,
        ].joined(separator: "\n")
        let signature = sign(canonical, stamp: stamp)
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(stamp)),SignedHeaders=\(names),Signature=\(signature)"
        return [("x-amz-content-sha256", payloadHash), ("x-amz-date", stamp), ("Authorization", authorization)]
    }

    /// The query of a presigned URL (`X-Amz-Algorithm=…&…&X-Amz-Signature=…`), encoded, signing only `host`.
    /// - Parameters:
    ///   - method: e.g. `GET`.
    ///   - path: the request path, percent-encoded, starting with `/`.
    ///   - host: the `Host` the URL will be fetched with (`name` or `name:port`).
    ///   - query: other query parameters the URL carries, not encoded.
    ///   - expires: seconds the URL stays valid, 1...604800.
    ///   - date: the signing time.
    package func presignedQuery(method: String, path: String, host: String, query: [(String, String)] = [], expires: Int, date: Date) -> String {
        let stamp = Self.timestamp(date)
        var parameters = query
        parameters.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        parameters.append(("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(stamp))"))
        parameters.append(("X-Amz-Date", stamp))
        parameters.append(("X-Amz-Expires", String(expires)))
        parameters.append(("X-Amz-SignedHeaders", "host"))
        let canonical = [method, path, Self.canonicalQuery(parameters), "host:\(Self.trimmed(host))\n", "host", Self.unsignedPayload]
            .joined(separator: "\n")
        return Self.canonicalQuery(parameters) + "&X-Amz-Signature=" + sign(canonical, stamp: stamp)
    }

    // MARK: The algorithm

    /// `date/region/service/aws4_request`.
    func scope(_ stamp: String) -> String { "\(stamp.prefix(8))/\(region)/\(service)/aws4_request" }

    /// The hex signature of a canonical request made at `stamp`.
    func sign(_ canonicalRequest: String, stamp: String) -> String {
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope(stamp), SHA256.hexDigest(Array(canonicalRequest.utf8))].joined(separator: "\n")
        var key = HMACSHA256.authenticationCode(for: Array(stamp.prefix(8).utf8), key: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [region, service, "aws4_request"] { key = HMACSHA256.authenticationCode(for: Array(part.utf8), key: key) }
        return Hex.encode(HMACSHA256.authenticationCode(for: Array(stringToSign.utf8), key: key))
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    package static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let fields: [Int] = [c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0, c.second ?? 0]
        let two = fields.map { (value: Int) -> String in value < 10 ? "0" + String(value) : String(value) }
        return String(c.year ?? 1970) + two[0] + two[1] + "T" + two[2] + two[3] + two[4] + "Z"
    }

    /// Sorted by name, then value; each encoded with `encode`.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { (pair) -> String in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// Percent-encodes every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`), hex in upper case; with
    /// `keepSlash`, `/` too (for paths).
    package static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// Leading and trailing spaces removed and inner runs of spaces made one, as SigV4 canonicalizes header values.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
