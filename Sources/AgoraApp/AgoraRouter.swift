import AgoraCore
package import Hummingbird
import NIOCore
import Synchronization

/// A `Router` that also knows which methods each path supports, so an unsupported method gets 405 with `Allow`
/// rather than Hummingbird's 404.
///
/// Every route is recorded a second time, under GET, in a shadow router whose responder answers with the methods
/// of that path. Matching a request against it reuses Hummingbird's own path matching (parameters, wildcards),
/// so the two can never disagree about which path a URL is.
final class AgoraRouter<Context: RequestContext>: RouterMethods, HTTPResponderBuilder {
    let router: Router<Context>
    let methods: RouteMethods<Context>
    private let shadow = Router(context: Context.self)
    private var allowed: [String: AllowedMethods] = [:]

    init(context: Context.Type) {
        router = Router(context: context)
        methods = RouteMethods()
    }

    @discardableResult
    func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        router.on(path, method: method, responder: responder)
        let key = path.description
        if let existing = allowed[key] {
            existing.insert(method)
        } else {
            let methods = AllowedMethods(method)
            allowed[key] = methods
            shadow.get(path) { _, _ in
                Response(status: .noContent, headers: [.allow: methods.list.map(\.rawValue).joined(separator: ",")])
            }
        }
        return self
    }

    @discardableResult
    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }

    /// Every route registered so far, as `GET /api/products/:id` is written in its `*Routes.swift`.
    var routes: [RegisteredRoute] {
        router.routes.map { RegisteredRoute(method: $0.method, path: $0.path.description) }
    }

    func buildResponder() -> RouterResponder<Context> {
        methods.install(shadow.buildResponder())
        return router.buildResponder()
    }
}

/// One route of the router: what the API document (Public/openapi.json) must describe.
package struct RegisteredRoute: Sendable, Hashable, CustomStringConvertible {
    /// The method it answers.
    package let method: HTTPRequest.Method
    /// The path pattern, with `:name` parameters.
    package let path: String
    package var description: String { "\(method) \(path)" }
}

/// Answers "which methods does this path support?" once the router is built.
final class RouteMethods<Context: RequestContext>: Sendable {
    private let responder = Mutex<RouterResponder<Context>?>(nil)

    fileprivate func install(_ responder: RouterResponder<Context>) {
        self.responder.withLock { $0 = responder }
    }

    /// The methods registered for the request's path (empty when no route has that path).
    func allowedMethods(for request: Request, context: Context) async -> [HTTPRequest.Method] {
        guard let responder = responder.withLock({ $0 }) else { return [] }
        var head = request.head
        head.method = .get
        let probe = Request(head: head, body: .init(buffer: ByteBuffer()))
        guard let response = try? await responder.respond(to: probe, context: context), let allow = response.headers[.allow] else { return [] }
        return allow.split(separator: ",").compactMap { HTTPRequest.Method(String($0)) }
    }
}

/// The methods of one path; grows while routes are added, read-only once the server runs.
private final class AllowedMethods: Sendable {
    private let methods: Mutex<[HTTPRequest.Method]>
    init(_ first: HTTPRequest.Method) { methods = Mutex([first]) }
    func insert(_ method: HTTPRequest.Method) { methods.withLock { if !$0.contains(method) { $0.append(method) } } }
    var list: [HTTPRequest.Method] { methods.withLock { $0 } }
}
