import HTTPTypes

/// Headers every response carries: no MIME sniffing, no framing, a strict referrer policy and a CSP that fits the
/// PWA (same-origin scripts, WebSocket to the same host).
///
/// A route that sets its own `Content-Security-Policy` keeps it: served images carry `default-src 'none'; sandbox`,
/// stricter than the app's, and replacing it would let an uploaded file opened directly run as a page of this origin.
enum SecurityHeaders {
    /// The fields, built (and their values checked) once: they go on every response.
    private static let nosniff = HTTPField(name: .xContentTypeOptions, value: "nosniff")
    private static let noFraming = HTTPField(name: .xFrameOptions, value: "DENY")
    private static let referrer = HTTPField(name: .referrerPolicy, value: "strict-origin-when-cross-origin")
    private static let policy = HTTPField(name: .contentSecurityPolicy, value: contentSecurityPolicy)

    /// Sets the three fixed fields (replacing a route's own) and the CSP unless the route set one.
    static func apply(to headers: inout HTTPFields) {
        set(nosniff, in: &headers)
        set(noFraming, in: &headers)
        set(referrer, in: &headers)
        if !headers.contains(.contentSecurityPolicy) {
            headers.append(policy)
        }
    }

    /// `headers[name] = value`: a field no route set (the usual case) is appended prebuilt; one a route set is
    /// replaced as the subscript replaces it.
    private static func set(_ field: HTTPField, in headers: inout HTTPFields) {
        if headers.contains(field.name) {
            headers[field.name] = field.value
        } else {
            headers.append(field)
        }
    }
}

/// No inline script or style anywhere (the PWA has none: every handler is attached from a module), nothing from
/// another origin, no framing, forms and the service worker only to this origin. `connect-src 'self'` covers the
/// WebSocket on the same host (CSP level 3). Built once: it goes on every response.
let contentSecurityPolicy = [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
    "font-src 'self'", "manifest-src 'self'", "worker-src 'self'", "form-action 'self'", "frame-ancestors 'none'",
    "base-uri 'self'", "object-src 'none'",
].joined(separator: "; ")

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
