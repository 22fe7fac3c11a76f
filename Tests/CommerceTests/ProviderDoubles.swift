import AgoraApp
import AgoraCore
import AgoraTestSupport
import Commerce
import Foundation
import HTTPTypes
import Logging
import Notifications
import Synchronization

/// The simulated provider, except that refunds go through `refund` below: payment sessions and webhooks are the
/// real ones, so an order is placed and paid through the router, then cancelled through `CommerceServices` that
/// uses this double. Named `simulated`, so it serves orders the real simulated provider opened.
struct RefundDouble: PaymentProvider {
    let base: SimulatedProvider
    let refunds: @Sendable (RefundRequest) async throws -> RefundResult

    var name: String { base.name }
    var signatureHeader: String { base.signatureHeader }
    func startPayment(_ request: PaymentRequest, logger: Logger) async throws -> PaymentSession { try await base.startPayment(request, logger: logger) }
    func parseWebhook(payload: [UInt8], signature: String?, now: Date) throws -> PaymentEvent? {
        try base.parseWebhook(payload: payload, signature: signature, now: now)
    }
    func refund(_ request: RefundRequest, logger: Logger) async throws -> RefundResult { try await refunds(request) }
    func cancelSession(_ sessionID: String, logger: Logger) async throws { try await base.cancelSession(sessionID, logger: logger) }
}

/// A refund call that does not return until the test releases it.
final class RefundGate: Sendable {
    private struct State {
        var entered = false
        var released = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Called by the provider double: signals that the call began, then waits for `release`.
    func pass() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                state.entered = true
                if state.released { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    var isEntered: Bool { state.withLock { $0.entered } }

    func release() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits (polling) until a call is inside the provider.
    func waitUntilEntered(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isEntered {
            guard ContinuousClock.now < deadline else { throw RefundGateTimeout() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

struct RefundGateTimeout: Error {}

/// Records every refund request; fails while `failing` says so.
final class RefundRecorder: Sendable {
    struct Refused: Error {}
    let requests = Mutex<[RefundRequest]>([])
    let failing = Mutex(true)

    func refund(_ request: RefundRequest) throws -> RefundResult {
        requests.withLock { $0.append(request) }
        guard !failing.withLock({ $0 }) else { throw Refused() }
        return RefundResult(id: "re_test_\(requests.withLock { $0.count })", status: "succeeded")
    }
}

extension AgoraServices {
    /// The app's commerce service with other providers.
    func commerce(with providers: [any PaymentProvider]) -> CommerceServices {
        CommerceServices(
            db: commerce.db, events: commerce.events, vault: commerce.vault, settings: commerce.settings,
            providers: PaymentProviders(providers, checkoutProvider: commerce.providers.checkoutProvider),
            contacts: commerce.contacts, directory: commerce.directory, mailer: commerce.mailer
        )
    }
}

extension Shop {
    /// The `admin_alert` notices of `admin`, once at least one is there. The app's own relay may be mid-batch with
    /// the event (it claims with SKIP LOCKED), so this relays and looks again until the notice has committed.
    func adminAlerts(of admin: Grant, timeout: Duration = .seconds(10)) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while true {
            try await services.notificationRelay.relayOnce()
            let notices = try await api.call(.get, "/api/notifications", bearer: admin.accessToken)
            let alerts = (notices["items"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "admin_alert" }
            if !alerts.isEmpty || ContinuousClock.now >= deadline { return alerts }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
