import AgoraCore
import Foundation
import Hummingbird
import Logging

/// One access-log line and the request metrics for every request.
///
/// Sits outside `ErrorMiddleware`, so it sees the status of rendered errors too. The path is logged without its
/// query string, which may carry tokens.
struct ObservabilityMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: AgoraMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let route = Self.routeLabel(context.endpointPath, status: response.status)
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        let milliseconds = Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000
        var logger = context.logger
        logger[agora: .route] = .string(route)
        logger[agora: .status] = .stringConvertible(response.status.code)
        logger[agora: .durationMs] = .string(String(format: "%.2f", milliseconds))
        logger.info("\(request.method) \(request.uri.path)")
        return response
    }

    /// The route pattern, so metrics have one series per endpoint rather than per URL.
    static func routeLabel(_ endpoint: String?, status: HTTPResponse.Status) -> String {
        switch endpoint {
        case nil, "NotFound": status.code < 400 ? "static" : "unmatched"
        case let endpoint?: endpoint
        }
    }
}
