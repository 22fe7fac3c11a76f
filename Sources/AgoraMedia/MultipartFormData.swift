package import AgoraCore
package import NIOCore

/// A `multipart/form-data` body (RFC 7578, framed as in RFC 2046 §5.1), split into its parts.
///
/// The whole body is parsed in memory: the request body limit has bounded it before it gets here, and an image has
/// to be in memory anyway to be sniffed and stored.
package struct MultipartFormData: Sendable {
    /// One part of a form: a text field or a file.
    package struct Part: Sendable, Equatable {
        /// The field name, from `Content-Disposition: form-data; name="…"`.
        package var name: String
        /// The file name the client sent, cut to its last path component (old browsers send a whole Windows path).
        /// Only for display: never decide a file's type or a storage path from it.
        package var filename: String?
        /// The part's declared `Content-Type`, as sent. As untrusted as `filename`.
        package var contentType: String?
        /// The content, byte for byte (RFC 7578 §4.7 retires transfer encodings, so there is nothing to decode).
        package var body: [UInt8]

        /// Makes a part.
        /// - Parameters:
        ///   - name: the form field name.
        ///   - filename: the client's file name, for file fields.
        ///   - contentType: the declared media type.
        ///   - body: the content.
        package init(name: String, filename: String? = nil, contentType: String? = nil, body: [UInt8]) {
            self.name = name
            self.filename = filename
            self.contentType = contentType
            self.body = body
        }

        /// The content as UTF-8 text, for ordinary fields (invalid sequences become U+FFFD).
        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Bounds on what the parser accepts, so a hostile body costs bounded work and memory.
    package struct Limits: Sendable {
        /// The most parts a form may have. A product form has a handful of fields and a few images; 20 leaves room.
        package var maxParts: Int
        /// The most bytes of headers one part may have. Real parts send two short headers; 8 KiB fits long names.
        package var maxHeaderBytes: Int

        /// Makes limits.
        /// - Parameters:
        ///   - maxParts: the most parts a form may have.
        ///   - maxHeaderBytes: the most header bytes per part, not counting the blank line that ends them.
        package init(maxParts: Int = 20, maxHeaderBytes: Int = 8 * 1024) {
            self.maxParts = maxParts
            self.maxHeaderBytes = maxHeaderBytes
        }
    }

    /// The parts, in the order they were sent.
    package var parts: [Part]

    /// Wraps parts that are already split.
    package init(parts: [Part]) {
        self.parts = parts
    }

    /// Parses a body.
    /// - Parameters:
    ///   - body: the request body.
    ///   - boundary: the boundary from the request's `Content-Type` (see `boundary(fromContentType:)`).
    ///   - limits: bounds on parts and headers.
    /// - Throws: `AgoraError(.badRequest, code: "invalid_multipart")` saying what is wrong.
    package init(body: [UInt8], boundary: String, limits: Limits = .init()) throws(AgoraError) {
        self.parts = try Self.parse(body: body, boundary: boundary, limits: limits)
    }

    /// The first part called `name`.
    package func part(named name: String) -> Part? {
        parts.first { $0.name == name }
    }

    /// Splits `body` into its parts.
    /// - Parameters:
    ///   - body: the request body.
    ///   - boundary: the boundary from the request's `Content-Type`.
    ///   - limits: bounds on parts and headers.
    /// - Throws: `AgoraError(.badRequest, code: "invalid_multipart")` saying what is wrong.
    package static func parse(body: [UInt8], boundary: String, limits: Limits = .init()) throws(AgoraError) -> [Part] {
        let result = body.withUnsafeBufferPointer { bytes in
            Result { () throws(AgoraError) in try MultipartParser(bytes: bytes, boundary: boundary, limits: limits).parse() }
        }
        return try result.get()
    }

    /// Splits `body` into its parts, reading the buffer in place.
    /// - Parameters:
    ///   - body: the request body, as collected by Hummingbird.
    ///   - boundary: the boundary from the request's `Content-Type`.
    ///   - limits: bounds on parts and headers.
    /// - Throws: `AgoraError(.badRequest, code: "invalid_multipart")` saying what is wrong.
    package static func parse(body: ByteBuffer, boundary: String, limits: Limits = .init()) throws(AgoraError) -> [Part] {
        let result = body.withUnsafeReadableBytes { raw in
            raw.withMemoryRebound(to: UInt8.self) { bytes in
                Result { () throws(AgoraError) in try MultipartParser(bytes: bytes, boundary: boundary, limits: limits).parse() }
            }
        }
        return try result.get()
    }

    /// The error every malformed body gets; `reason` says what is wrong, for the client's developer.
    static func invalid(_ reason: String) -> AgoraError {
        AgoraError(.badRequest, code: "invalid_multipart", "The multipart body is malformed: \(reason)")
    }
}
