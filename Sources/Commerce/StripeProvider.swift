import AgoraCore
package import AgoraNet
package import Foundation
package import Logging

/// Stripe Checkout as a `PaymentProvider`, through Stripe's REST API (https://docs.stripe.com/api).
///
/// - `startPayment` creates a Checkout Session (`POST /v1/checkout/sessions`) for the order's lines, with the order id
///   as `client_reference_id` and as metadata of the session and of its PaymentIntent, so every webhook names it;
/// - `parseWebhook` verifies `Stripe-Signature` (`StripeWebhookSignature`) and reads the events Agora acts on;
/// - `refund` creates a Refund of the PaymentIntent (`POST /v1/refunds`);
/// - `cancelSession` expires an open session (`POST /v1/checkout/sessions/{id}/expire`).
///
/// Calls are form-encoded (`StripeForm`), authenticated with the secret key as a bearer token, pinned to
/// `apiVersion`, and made with `HTTPSClient`, which holds no thread while Stripe answers. The secret key never appears
/// in an error, a log line or this value's description.
package struct StripeProvider: PaymentProvider {
    /// The API version every call asks for (`Stripe-Version`), so responses and webhooks keep the shape read here.
    package static let apiVersion = "2024-06-20"
    /// Stripe accepts a session's `expires_at` from 30 minutes to 24 hours after its creation; these margins keep a
    /// request in that window despite clock skew and the time the request takes.
    static let earliestExpiry: Int64 = 30 * 60 + 60
    static let latestExpiry: Int64 = 24 * 3600 - 60

    package var name: String { "stripe" }

    let secretKey: String
    let signature: StripeWebhookSignature
    let client: HTTPSClient
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - secretKey: the API secret key (`sk_live_…`, `sk_test_…`) or a restricted key (`rk_…`).
    ///   - webhookSecret: the webhook endpoint's signing secret (`whsec_…`).
    ///   - apiBaseURL: where the API is; `http://` only to this machine (a test double or a local proxy).
    ///   - caFile: PEM roots to trust instead of the system's.
    ///   - timeout: bounds connecting, and then the whole exchange, of each call.
    ///   - now: the clock `expires_at` is computed from.
    /// - Throws: `HTTPClientError` `.invalidRequest` for an API URL that cannot be used, `.tls` for a CA file that
    ///   cannot be read.
    package init(
        secretKey: String, webhookSecret: String, apiBaseURL: String = "https://api.stripe.com", caFile: String? = nil,
        timeout: Duration = .seconds(30), now: @escaping @Sendable () -> Date = { Date() }
    ) throws(HTTPClientError) {
        let client = try HTTPSClient(baseURL: apiBaseURL, caFile: caFile, connectTimeout: min(timeout, .seconds(10)), timeout: timeout)
        guard client.usesTLS || Self.isLoopback(client.host) else {
            throw HTTPClientError(.invalidRequest, "the Stripe API URL must be https:// (http:// only to this machine)")
        }
        self.secretKey = secretKey
        self.signature = StripeWebhookSignature(secret: webhookSecret)
        self.client = client
        self.now = now
    }

    // MARK: Payment sessions

    package func startPayment(_ request: PaymentRequest, logger: Logger) async throws -> PaymentSession {
        let form = try checkoutForm(request)
        let response = try await call(
            .post, "/v1/checkout/sessions", form: form, idempotencyKey: "checkout-\(Self.text(request.orderID))",
            operation: "open a checkout session", logger: logger)
        struct Session: Decodable {
            var id: String
            var url: String?
        }
        guard let session = try? JSONDecoder().decode(Session.self, from: Data(response.body)), let url = session.url else {
            throw Self.unreadable("open a checkout session", response, logger: logger)
        }
        logger.debug("Stripe checkout session opened", metadata: ["stripe.session": "\(session.id)", "order": "\(Self.text(request.orderID))"])
        return PaymentSession(id: session.id, url: url)
    }

    /// The form of `POST /v1/checkout/sessions` for `request`.
    func checkoutForm(_ request: PaymentRequest) throws -> StripeForm {
        guard !request.lines.isEmpty, request.lines.allSatisfy({ $0.quantity > 0 }) else {
            throw AgoraError(.internalError, code: "invalid_payment_request", "The order has no lines to pay for")
        }
        guard Self.sum(request.lines) == request.total else {
            // Stripe charges the sum of the lines: a mismatch would charge something other than the order's total.
            throw AgoraError(.internalError, code: "payment_amount_mismatch", "The order's lines do not add up to its total")
        }
        let order = StripeForm.Value.string(Self.text(request.orderID))
        let currency = StripeForm.Value.string(request.currency.lowercased())
        var form = StripeForm([
            .init("mode", "payment"),
            .init("client_reference_id", order),
            .init("metadata", .object([.init("order_id", order)])),
            .init("payment_intent_data", .object([.init("metadata", .object([.init("order_id", order)]))])),
            .init(
                "line_items",
                .list(
                    request.lines.map { line in
                        .object([
                            .init(
                                "price_data",
                                .object([
                                    .init("currency", currency),
                                    .init("product_data", .object([.init("name", .string(line.name))])),
                                    .init("unit_amount", .integer(line.unitAmount)),
                                ])),
                            .init("quantity", .integer(Int64(line.quantity))),
                        ])
                    })),
            .init("success_url", .string(request.successURL)),
            .init("cancel_url", .string(request.cancelURL)),
        ])
        if let email = request.buyerEmail, !email.isEmpty { form.append("customer_email", .string(email)) }
        form.append("expires_at", .integer(expiresAt(request.expiresAt)))
        return form
    }

    /// What the lines add up to; nil if that overflows.
    static func sum(_ lines: [PaymentRequest.Line]) -> Int64? {
        var total: Int64 = 0
        for line in lines {
            let (amount, overflow) = line.unitAmount.multipliedReportingOverflow(by: Int64(line.quantity))
            guard !overflow else { return nil }
            let (next, overflowed) = total.addingReportingOverflow(amount)
            guard !overflowed else { return nil }
            total = next
        }
        return total
    }

    /// `wanted` in Unix seconds, moved into the window Stripe accepts from now.
    func expiresAt(_ wanted: Date) -> Int64 {
        let current = now().timeIntervalSince1970
        let earliest = Int64(current.rounded(.up)) + Self.earliestExpiry
        let latest = Int64(current.rounded(.down)) + Self.latestExpiry
        let seconds = wanted.timeIntervalSince1970
        guard seconds.isFinite, seconds > Double(earliest) else { return earliest }
        guard seconds < Double(latest) else { return latest }
        return Int64(seconds.rounded(.down))
    }

    package func cancelSession(_ sessionID: String, logger: Logger) async throws {
        let path = "/v1/checkout/sessions/\(try Self.pathComponent(sessionID))/expire"
        let response = try await send(.post, path, form: StripeForm(), idempotencyKey: nil, operation: "expire a checkout session", logger: logger)
        if (200..<300).contains(response.status) {
            logger.debug("Stripe checkout session expired", metadata: ["stripe.session": "\(sessionID)"])
        } else if (400..<500).contains(response.status) && response.status != 401 && response.status != 403 && response.status != 429 {
            // Already expired or completed (or unknown): nothing left to close.
            let error = StripeErrorBody.decode(response.body)
            logger.debug(
                "Stripe did not expire the checkout session",
                metadata: ["stripe.session": "\(sessionID)", "stripe.status": "\(response.status)", "stripe.message": "\(redacted(error?.message ?? ""))"])
        } else {
            throw failure(response, operation: "expire a checkout session", logger: logger)
        }
    }

    // MARK: Refunds

    package func refund(_ request: RefundRequest, logger: Logger) async throws -> RefundResult {
        let paymentIntent: String
        if let reference = request.paymentReference, !reference.isEmpty {
            paymentIntent = reference
        } else if let sessionID = request.sessionID, !sessionID.isEmpty {
            paymentIntent = try await sessionPaymentIntent(sessionID, logger: logger)
        } else {
            throw AgoraError(.internalError, code: "payment_reference_missing", "The payment to refund is not known")
        }
        let form = StripeForm([
            .init("payment_intent", .string(paymentIntent)),
            .init("amount", .integer(request.amount)),
            .init("metadata", .object([.init("order_id", .string(Self.text(request.orderID)))])),
        ])
        let response = try await call(.post, "/v1/refunds", form: form, idempotencyKey: request.idempotencyKey, operation: "refund", logger: logger)
        struct Refund: Decodable {
            var id: String
            var status: String?
        }
        guard let refund = try? JSONDecoder().decode(Refund.self, from: Data(response.body)) else {
            throw Self.unreadable("refund", response, logger: logger)
        }
        let status = refund.status ?? ""
        guard status == "succeeded" || status == "pending" else {
            logger.warning("Stripe refund not accepted", metadata: ["stripe.refund": "\(refund.id)", "stripe.refund_status": "\(status)"])
            throw AgoraError(.unavailable, code: "payment_provider_error", "The payment provider did not accept the refund (status \(status))")
        }
        logger.debug("Stripe refund created", metadata: ["stripe.refund": "\(refund.id)", "stripe.refund_status": "\(status)"])
        return RefundResult(id: refund.id, status: status)
    }

    /// The PaymentIntent of a completed session (`GET /v1/checkout/sessions/{id}`), for a refund whose payment
    /// reference was never recorded.
    func sessionPaymentIntent(_ sessionID: String, logger: Logger) async throws -> String {
        let path = "/v1/checkout/sessions/\(try Self.pathComponent(sessionID))"
        let response = try await call(.get, path, form: nil, idempotencyKey: nil, operation: "look up a checkout session", logger: logger)
        struct Session: Decodable { var payment_intent: String? }
        guard let session = try? JSONDecoder().decode(Session.self, from: Data(response.body)) else {
            throw Self.unreadable("look up a checkout session", response, logger: logger)
        }
        guard let intent = session.payment_intent, !intent.isEmpty else {
            throw AgoraError(.internalError, code: "payment_reference_missing", "The checkout session has no payment to refund")
        }
        return intent
    }

    // MARK: Calls

    /// Sends a call and returns its 2xx response; anything else is thrown as `payment_provider_error` (4xx) or
    /// `payment_provider_unavailable` (5xx, 429, no response).
    func call(
        _ method: HTTPSClient.Method, _ path: String, form: StripeForm?, idempotencyKey: String?, operation: String, logger: Logger
    ) async throws -> HTTPSClient.Response {
        let response = try await send(method, path, form: form, idempotencyKey: idempotencyKey, operation: operation, logger: logger)
        guard (200..<300).contains(response.status) else { throw failure(response, operation: operation, logger: logger) }
        return response
    }

    /// Sends a call and returns its response, whatever the status; a failure to get one is thrown as
    /// `payment_provider_unavailable`.
    func send(
        _ method: HTTPSClient.Method, _ path: String, form: StripeForm?, idempotencyKey: String?, operation: String, logger: Logger
    ) async throws -> HTTPSClient.Response {
        var headers = [
            HTTPSClient.Header("Authorization", "Bearer \(secretKey)"),
            HTTPSClient.Header("Stripe-Version", Self.apiVersion),
            HTTPSClient.Header("Accept", "application/json"),
            HTTPSClient.Header("User-Agent", "Agora"),
        ]
        if form != nil { headers.append(HTTPSClient.Header("Content-Type", "application/x-www-form-urlencoded")) }
        if let idempotencyKey { headers.append(HTTPSClient.Header("Idempotency-Key", idempotencyKey)) }
        let body = Array((form?.encoded ?? "").utf8)
        do {
            let response = try await client.send(method, path, headers: headers, body: body)
            logger.debug(
                "Stripe API call",
                metadata: [
                    "stripe.operation": "\(operation)", "stripe.status": "\(response.status)",
                    "stripe.request_id": "\(response.header("Request-Id") ?? "")",
                ])
            return response
        } catch where error.kind == .cancelled {
            throw CancellationError()
        } catch {
            // The client's messages name the host and the reason, never a header.
            logger.warning("Stripe cannot be reached", metadata: ["stripe.operation": "\(operation)", "error": "\(redacted(error.message))"])
            throw AgoraError(.unavailable, code: "payment_provider_unavailable", "The payment provider cannot be reached; try again later")
        }
    }

    /// The error of a non-2xx response. Stripe's own message goes to the log only (with any key in it redacted);
    /// the error names the operation and Stripe's stable error type and code.
    func failure(_ response: HTTPSClient.Response, operation: String, logger: Logger) -> AgoraError {
        let body = StripeErrorBody.decode(response.body)
        logger.warning(
            "Stripe refused a request",
            metadata: [
                "stripe.operation": "\(operation)", "stripe.status": "\(response.status)", "stripe.error_type": "\(body?.type ?? "")",
                "stripe.error_code": "\(body?.code ?? "")", "stripe.message": "\(redacted(body?.message ?? ""))",
                "stripe.request_id": "\(response.header("Request-Id") ?? "")",
            ])
        if response.status >= 500 || response.status == 429 {
            return AgoraError(.unavailable, code: "payment_provider_unavailable", "The payment provider is unavailable; try again later")
        }
        let reasons = [body?.type, body?.code, body?.declineCode].compactMap { $0 }.filter { !$0.isEmpty && $0.allSatisfy(Self.isCodeCharacter) }
        let detail = reasons.isEmpty ? "" : " (\(reasons.joined(separator: ", ")))"
        return AgoraError(.unavailable, code: "payment_provider_error", "The payment provider refused to \(operation)\(detail)")
    }

    static func unreadable(_ operation: String, _ response: HTTPSClient.Response, logger: Logger) -> AgoraError {
        logger.warning("Stripe's response is unreadable", metadata: ["stripe.operation": "\(operation)", "stripe.status": "\(response.status)"])
        return AgoraError(.unavailable, code: "payment_provider_error", "The payment provider's answer to \(operation) is unreadable")
    }

    /// `text` with the secret key, and anything that looks like a Stripe secret, blanked out.
    func redacted(_ text: String) -> String {
        var result = secretKey.isEmpty ? text : text.replacingOccurrences(of: secretKey, with: "[redacted]")
        for prefix in ["sk_", "rk_", "whsec_"] {
            var searchStart = result.startIndex
            while let found = result.range(of: prefix, range: searchStart..<result.endIndex) {
                let end = result[found.upperBound...].firstIndex { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "*") } ?? result.endIndex
                result.replaceSubrange(found.lowerBound..<end, with: "[redacted]")
                searchStart = result.index(found.lowerBound, offsetBy: "[redacted]".count)
            }
        }
        return result
    }

    // MARK: Helpers

    /// A UUID as Agora writes it everywhere: lower-case.
    static func text(_ id: UUID) -> String { id.uuidString.lowercased() }

    /// A Stripe id as one path segment: letters, digits and `_` only (`cs_test_a1B2…`).
    static func pathComponent(_ id: String) throws -> String {
        guard !id.isEmpty, id.count <= 255, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw AgoraError(.badRequest, code: "invalid_session_id", "Not a Stripe id")
        }
        return id
    }

    static func isCodeCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_")
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension StripeProvider: CustomStringConvertible, CustomReflectable {
    /// Where the provider calls, without the key.
    package var description: String { "StripeProvider(\(client.usesTLS ? "https" : "http")://\(client.host):\(client.port)\(client.basePath))" }
    /// `dump` and debuggers show the description only, not the secret key or the signing secret.
    package var customMirror: Mirror { Mirror(self, children: ["api": description], displayStyle: .struct) }
}

/// Stripe's error response: `{"error": {"type": …, "code": …, "message": …}}`.
struct StripeErrorBody: Decodable {
    var type: String?
    var code: String?
    var declineCode: String?
    var message: String?

    enum CodingKeys: String, CodingKey {
        case type, code, message
        case declineCode = "decline_code"
    }

    static func decode(_ body: [UInt8]) -> StripeErrorBody? {
        struct Envelope: Decodable { var error: StripeErrorBody }
        return (try? JSONDecoder().decode(Envelope.self, from: Data(body)))?.error
    }
}
