// postgres-nio running `SELECT abalance FROM pgbench_accounts WHERE aid = $1` in `concurrency` loops, printing
// queries/s in the same format as `agora-bench postgres`.
//
//   PostgresNIOBench <host> <port> <user> <password> <database> <concurrency> <seconds>
import Foundation
import Logging
import PostgresNIO
import Synchronization

let arguments = CommandLine.arguments
guard arguments.count == 8, let port = Int(arguments[2]), let concurrency = Int(arguments[6]), let seconds = Double(arguments[7]) else {
    print("usage: PostgresNIOBench host port user password database concurrency seconds")
    exit(2)
}
let configuration = PostgresClient.Configuration(
    host: arguments[1], port: port, username: arguments[3], password: arguments[4], database: arguments[5], tls: .disable
)
var options = configuration
options.options.maximumConnections = concurrency
options.options.minimumConnections = concurrency
let client = PostgresClient(configuration: options, backgroundLogger: Logger(label: "bench"))

final class Counters: Sendable {
    let counting = Atomic<Bool>(false)
    let stopped = Atomic<Bool>(false)
    let completed = Atomic<Int>(0)
}

let counters = Counters()
let rate = try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await client.run() }
    for _ in 0..<concurrency {
        group.addTask {
            while !counters.stopped.load(ordering: .relaxed) {
                let aid = Int.random(in: 1...100_000)
                let rows = try await client.query("SELECT abalance FROM pgbench_accounts WHERE aid = \(aid)")
                for try await _ in rows.decode(Int.self) {}
                if counters.counting.load(ordering: .relaxed) { counters.completed.wrappingAdd(1, ordering: .relaxed) }
            }
        }
    }
    try await Task.sleep(for: .seconds(1))
    counters.counting.store(true, ordering: .relaxed)
    let started = ContinuousClock.now
    try await Task.sleep(for: .seconds(seconds))
    let done = counters.completed.load(ordering: .relaxed)
    let elapsed = ContinuousClock.now - started
    counters.stopped.store(true, ordering: .relaxed)
    group.cancelAll()
    return Double(done) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}
print("postgres-nio concurrency=\(concurrency) qps=\(Int(rate))")
