import Foundation
package import HTTPTypes
import Hummingbird
package import HummingbirdTesting
import Testing

/// A JSON response, decoded loosely for assertions.
package struct APIResponse {
    package var status: HTTPResponse.Status
    package var headers: HTTPFields
    package var body: [String: Any]
    package var raw: String

    package init(status: HTTPResponse.Status, headers: HTTPFields, body: [String: Any], raw: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.raw = raw
    }

    package subscript(key: String) -> Any? { body[key] }
    package var code: String? { body["code"] as? String }
    package var fields: [String: String] { body["fields"] as? [String: String] ?? [:] }

    /// `name=value` of each Set-Cookie, and whether it clears the cookie.
    package var setCookies: [String: String] {
        var cookies: [String: String] = [:]
        for line in headers[values: .setCookie] {
            let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            cookies[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        return cookies
    }

    package func setCookieLine(_ name: String) -> String? {
        headers[values: .setCookie].first { $0.hasPrefix(name + "=") }
    }
}

/// The router test client with JSON in and out.
package struct API: Sendable {
    package let client: any TestClientProtocol
    package init(client: any TestClientProtocol) { self.client = client }
    package static let origin = "http://localhost:8080"

    @discardableResult
    package func call(
        _ method: HTTPRequest.Method,
        _ path: String,
        json: [String: Any?]? = nil,
        bearer: String? = nil,
        cookies: [String: String] = [:],
        headers extra: HTTPFields = [:]
    ) async throws -> APIResponse {
        var headers = extra
        if let json {
            headers[.contentType] = "application/json"
            _ = json
        }
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        let body = try json.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0.mapValues { $0 ?? NSNull() })) }
        return try await client.execute(uri: path, method: method, headers: headers, body: body) { response in
            let raw = String(buffer: response.body)
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return APIResponse(status: response.status, headers: response.headers, body: object ?? [:], raw: raw)
        }
    }

    /// Registers an account and returns its grant (access token and refresh cookie).
    package func register(_ username: String, password: String = "correct horse battery") async throws -> Grant {
        let response = try await call(.post, "/api/auth/register", json: [
            "email": "\(username)@example.com", "username": username, "displayName": username.capitalized, "password": password,
        ])
        try #require(response.status == .created, "register \(username): \(response.raw)")
        return try Grant(response)
    }

    package func login(_ email: String, _ password: String = "correct horse battery") async throws -> APIResponse {
        try await call(.post, "/api/auth/login", json: ["email": email, "password": password])
    }
}

/// What a successful login or registration gave.
package struct Grant: Sendable {
    package var accessToken: String
    package var refreshToken: String
    package var accountID: String

    package init(_ response: APIResponse) throws {
        accessToken = try #require(response["accessToken"] as? String)
        refreshToken = try #require(response.setCookies["agora_refresh"])
        accountID = try #require((response["account"] as? [String: Any])?["id"] as? String)
    }
}

extension API {
    /// Uploads an image as the PWA's forms do (`multipart/form-data`, the file in part `field`): to a product's
    /// `/api/products/<id>/images`, or `PUT /api/me/avatar`.
    package func uploadImage(
        to path: String, method: HTTPRequest.Method = .post, bytes: [UInt8], filename: String = "photo.png", type: String = "image/png",
        bearer: String?, field: String = "image"
    ) async throws -> APIResponse {
        let boundary = "----agora-test-boundary-7MA4YWxkTrZu0gW"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(filename)\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
        body += bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        var headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(bytes: body)) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return APIResponse(status: response.status, headers: response.headers, body: object ?? [:], raw: String(buffer: response.body))
        }
    }
}
