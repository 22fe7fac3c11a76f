import AgoraNet
import ArgumentParser
import Commerce
import Foundation

/// Commerce's outbound HTTPS client (the one `StripeProvider` calls Stripe with) against the fake Stripe API of the
/// tests (`Tests/interop/fake_stripe_api.py`, over TLS with its CA file): `requests` calls one after another, then
/// `requests` at once, `runs` times. scripts/bench-https-client.sh starts the fake and runs this.
struct HTTPSClientBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "https-client", abstract: "Sequential and concurrent calls through Commerce's HTTPS client to a fake Stripe API.")
    @Option(help: "Base URL of the fake Stripe API.") var url: String
    @Option(help: "PEM file of the roots to trust (the fake's self-signed certificate).") var caFile: String?
    @Option(help: "The secret key the fake expects.") var key = "sk_test_bench"
    @Option(help: "Calls per run, both sequential and concurrent.") var requests = 50
    @Option(help: "Runs; medians over them are printed.") var runs = 5

    func run() async throws {
        let client = try HTTPSClient(baseURL: url, caFile: caFile)
        let headers = [HTTPSClient.Header("Authorization", "Bearer \(key)"), HTTPSClient.Header("Stripe-Version", "2024-06-20")]
        // GET of a session: a small JSON answer, as most Stripe calls get.
        let call: @Sendable () async throws -> Double = {
            let started = ContinuousClock.now
            let response = try await client.send(.get, "/v1/checkout/sessions/cs_test_bench", headers: headers)
            guard response.status == 200 else { throw ValidationError("the fake answered \(response.status)") }
            return Self.seconds(ContinuousClock.now - started)
        }
        for _ in 0..<5 { _ = try await call() }  // warm-up

        var sequentialLatencies: [Double] = []
        var sequentialRuns: [Double] = []
        var concurrentLatencies: [Double] = []
        var concurrentRuns: [Double] = []
        for _ in 0..<max(1, runs) {
            var started = ContinuousClock.now
            for _ in 0..<requests { sequentialLatencies.append(try await call()) }
            sequentialRuns.append(Self.seconds(ContinuousClock.now - started))

            started = ContinuousClock.now
            concurrentLatencies += try await withThrowingTaskGroup(of: Double.self) { group in
                for _ in 0..<requests { group.addTask { try await call() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            concurrentRuns.append(Self.seconds(ContinuousClock.now - started))
        }
        let n = requests
        print("https-client \(url), \(n) calls per run, \(runs) runs (medians)")
        for (name, latencies, totals) in [("sequential", sequentialLatencies, sequentialRuns), ("concurrent", concurrentLatencies, concurrentRuns)] {
            let total = Self.median(totals)
            print(String(
                format: "%@: call %.2f ms, p90 %.2f ms, max %.2f ms; %d calls in %.0f ms (%.0f calls/s)",
                name, Self.median(latencies) * 1000, Self.percentile(latencies, 0.9) * 1000, (latencies.max() ?? 0) * 1000, n, total * 1000,
                Double(n) / total))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}
