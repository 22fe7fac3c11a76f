import AgoraCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The RFC 2046 §5.1.1 framing of a multipart body, over bytes borrowed for one `parse()`.
///
/// A body is `preamble, dash-boundary, (CRLF part, CRLF dash-boundary)*, "--", epilogue`. A dash-boundary is only a
/// delimiter when it starts a line and is followed by `--` or by optional spaces and a CRLF; anything else that
/// merely looks like one belongs to the content.
struct MultipartParser {
    /// What a delimiter does: open another part, whose headers start at `next`, or close the body.
    enum Delimiter: Equatable {
        case open(next: Int)
        case close
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let dashBoundary: [UInt8]
    /// CRLF + dash-boundary: every delimiter but one opening the body starts with it.
    let delimiter: [UInt8]
    let limits: MultipartFormData.Limits
    let boundary: String

    init(bytes: UnsafeBufferPointer<UInt8>, boundary: String, limits: MultipartFormData.Limits) {
        self.bytes = bytes
        self.boundary = boundary
        self.dashBoundary = Array("--\(boundary)".utf8)
        self.delimiter = [13, 10] + dashBoundary
        self.limits = limits
    }

    func parse() throws(AgoraError) -> [MultipartFormData.Part] {
        guard MultipartFormData.isValidBoundary(boundary) else {
            throw MultipartFormData.invalid("the boundary must be 1 to 70 characters of the RFC 2046 set")
        }
        var state: Delimiter
        if bytes.starts(with: dashBoundary), let first = classify(end: dashBoundary.count) {
            state = first  // no preamble
        } else if let (_, first) = nextDelimiter(from: 0) {
            state = first
        } else {
            throw MultipartFormData.invalid("no boundary line was found")
        }
        var parts: [MultipartFormData.Part] = []
        while case .open(let start) = state {
            guard parts.count < limits.maxParts else { throw MultipartFormData.invalid("more than \(limits.maxParts) parts") }
            let (headerEnd, contentStart) = try headerSection(from: start)
            let headers = try PartHeaders(lines: UnsafeBufferPointer(rebasing: bytes[start..<headerEnd]))
            guard let (contentEnd, next) = nextDelimiter(from: contentStart) else {
                throw MultipartFormData.invalid("the body ends before its closing boundary")
            }
            let body = Array(UnsafeBufferPointer(rebasing: bytes[contentStart..<contentEnd]))
            parts.append(.init(name: headers.name, filename: headers.filename, contentType: headers.contentType, body: body))
            state = next
        }
        // Whatever follows the close delimiter is epilogue, which RFC 2046 says to ignore.
        return parts
    }

    /// The end of a part's headers (just past the last header's CRLF) and the start of its content (past the blank line).
    private func headerSection(from start: Int) throws(AgoraError) -> (headerEnd: Int, contentStart: Int) {
        // A part without headers cannot carry the Content-Disposition a form part needs (RFC 7578 §4.2).
        if start + 1 < bytes.count, bytes[start] == 13, bytes[start + 1] == 10 {
            throw MultipartFormData.invalid("a part has no Content-Disposition header")
        }
        // Only search as far as the limit allows, so a body without blank lines is not scanned to its end per part.
        let windowEnd = min(bytes.count, start + limits.maxHeaderBytes + 4)
        let window = UnsafeBufferPointer(rebasing: bytes[start..<windowEnd])
        guard let end = Self.firstIndex(of: [13, 10, 13, 10], in: window, from: 0) else {
            if windowEnd < bytes.count { throw MultipartFormData.invalid("a part's headers are longer than \(limits.maxHeaderBytes) bytes") }
            throw MultipartFormData.invalid("the body ends inside a part's headers")
        }
        return (start + end + 2, start + end + 4)
    }

    /// The next real delimiter at or after `from`: where its CRLF starts, and what it does.
    func nextDelimiter(from: Int) -> (start: Int, Delimiter)? {
        var position = from
        while let at = Self.firstIndex(of: delimiter, in: bytes, from: position) {
            if let kind = classify(end: at + delimiter.count) { return (at, kind) }
            position = at + 1  // boundary-like bytes inside the content: keep looking
        }
        return nil
    }

    /// What follows a dash-boundary that ends at `end`, or nil if those bytes are not a delimiter after all.
    func classify(end: Int) -> Delimiter? {
        if end + 1 < bytes.count, bytes[end] == UInt8(ascii: "-"), bytes[end + 1] == UInt8(ascii: "-") { return .close }
        var i = end
        // RFC 2046 lets a sender pad a delimiter line with spaces or tabs ("transport padding").
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 { i += 1 }
        if i + 1 < bytes.count, bytes[i] == 13, bytes[i + 1] == 10 { return .open(next: i + 2) }
        return nil
    }

    /// The first index at or after `from` where `needle` starts.
    ///
    /// `memchr` jumps to each candidate first byte and `memcmp` checks it, so content is scanned at memory speed
    /// instead of a Swift loop per byte (which matters in debug builds, and for 5 MiB images in any build).
    static func firstIndex(of needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let base = haystack.baseAddress, !needle.isEmpty else { return nil }
        let count = haystack.count
        let length = needle.count
        return needle.withUnsafeBufferPointer { needleBytes -> Int? in
            guard let needleBase = needleBytes.baseAddress else { return nil }
            var position = from
            while position + length <= count {
                guard let hit = memchr(base + position, Int32(needleBytes[0]), count - length + 1 - position) else { return nil }
                let at = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, needleBase, length) == 0 { return at }
                position = at + 1
            }
            return nil
        }
    }
}
