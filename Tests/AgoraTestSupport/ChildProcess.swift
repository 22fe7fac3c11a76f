import Foundation
import Synchronization

/// Runs a program to completion without blocking a thread of the cooperative pool, which the in-process server's
/// handlers need while the program talks to them: the exit arrives through `terminationHandler`, not `waitUntilExit`.
package enum ChildProcess {
    package struct Outcome: Sendable {
        package var status: Int32
        /// Standard output and standard error, interleaved as written.
        package var output: String
        package var timedOut: Bool
    }

    package static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration) async throws -> Outcome {
        // A file rather than a pipe: a chatty child cannot fill a pipe buffer nobody is reading and stall.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("agora-child-\(UUID().uuidString).log")
        try Data().write(to: log)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle

        let timedOut = Atomic(false)
        let status = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                    do {
                        try process.run()
                    } catch {
                        process.terminationHandler = nil
                        continuation.resume(throwing: error)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            while let next = try await group.next() {
                if let status = next {
                    group.cancelAll()
                    return status
                }
                // Timed out: SIGTERM, then keep waiting for the exit the handler reports. (Foundation reports an exit
                // only once every process holding the child's descriptors is gone; our scripts start none of their own.)
                timedOut.store(true, ordering: .relaxed)
                if process.isRunning { process.terminate() }
            }
            return -1
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? "(output unreadable)"
        return Outcome(status: status, output: output, timedOut: timedOut.load(ordering: .relaxed))
    }
}
