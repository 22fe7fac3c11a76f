import HTTPTypes
import Hummingbird

/// Headers every response carries: no MIME sniffing, no framing, a strict referrer policy and a CSP that fits the
/// PWA (same-origin scripts, WebSocket to the same host).
///
/// A route that sets its own `Content-Security-Policy` keeps it: served images carry `default-src 'none'; sandbox`,
/// stricter than the app's, and replacing it would let an uploaded file opened directly run as a page of this origin.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "strict-origin-when-cross-origin"
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        }
        return response
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
