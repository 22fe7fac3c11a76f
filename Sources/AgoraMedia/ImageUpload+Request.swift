package import AgoraCore
import HTTPTypes
package import Hummingbird
import NIOCore

extension ImageUpload {
    /// The bytes of the one image a request uploads: `multipart/form-data` with a field named `image` (product images,
    /// dispute photos). What they are is checked after (`validate`).
    /// - Throws: 415 `multipart_required` for any other body; 422 `image_required` without the field; the parser's
    ///   400 for a malformed form; 413 past the request's upload limit.
    package static func imageBytes(of request: Request, context: some RequestContext, limit: Int) async throws -> [UInt8] {
        guard let contentType = request.headers[.contentType], let boundary = MultipartFormData.boundary(fromContentType: contentType) else {
            throw AgoraError(.unsupportedMediaType, code: "multipart_required", "Send the image as multipart/form-data with a field named 'image'")
        }
        let body = try await request.body.collect(upTo: limit)
        let form = try MultipartFormData(body: Array(body.readableBytesView), boundary: boundary)
        guard let part = form.part(named: "image") else {
            throw AgoraError(.validation, code: "image_required", "The form has no field named 'image'", fields: ["image": "is required"])
        }
        return part.body
    }
}
