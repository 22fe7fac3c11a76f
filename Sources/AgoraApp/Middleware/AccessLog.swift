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
        // The metadata goes with the call rather than through `logger[...] = ...`: swift-log's StreamLogHandler formats
        // all of a logger's metadata again on every set, which was an eighth of the server's CPU on `GET /health`.
        context.logger.info("\(request.method) \(request.uri.path)", metadata: [
            LogKey.route.rawValue: .string(route),
            LogKey.status.rawValue: .stringConvertible(response.status.code),
            LogKey.durationMs.rawValue: .string(String(format: "%.2f", milliseconds)),
        ])
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
