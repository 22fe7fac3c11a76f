import AgoraCore
import Hummingbird
import Logging

/// One access-log line and the request metrics for every request (`EdgeMiddleware` calls it with the response it
/// sends, rendered errors included). The path is logged without its query string, which may carry tokens.
struct AccessLog: Sendable {
    let metrics: AgoraMetrics

    func record(_ request: Request, _ response: Response, elapsed: Duration, context: some RequestContext) {
        let route = Self.routeLabel(context.endpointPath, status: response.status)
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        // The metadata goes with the call rather than through `logger[...] = ...`: swift-log's StreamLogHandler formats
        // all of a logger's metadata again on every set, which was an eighth of the server's CPU on `GET /health`.
        context.logger.info("\(request.method) \(request.uri.path)", metadata: [
            LogKey.route.rawValue: .string(route),
            LogKey.status.rawValue: .stringConvertible(response.status.code),
            LogKey.durationMs.rawValue: .string(Self.milliseconds(elapsed)),
        ])
    }

    /// The route pattern, so metrics have one series per endpoint rather than per URL.
    static func routeLabel(_ endpoint: String?, status: HTTPResponse.Status) -> String {
        switch endpoint {
        case nil, "NotFound": status.code < 400 ? "static" : "unmatched"
        case let endpoint?: endpoint
        }
    }

    /// Milliseconds with two decimals ("0.42", "1234.50"), from whole microseconds rounded half up; integer
    /// arithmetic, where `String(format: "%.2f")` went through Foundation's formatter on every request.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let microseconds = max(0, seconds) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        let hundredths = (microseconds + 5) / 10
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
