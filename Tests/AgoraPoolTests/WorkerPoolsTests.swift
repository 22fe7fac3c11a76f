import AgoraPool
import Foundation
import NIOPosix
import Synchronization
import Testing

/// Work that holds its thread until released.
final class StuckWork: Sendable {
    let release = Atomic<Bool>(false)
    let started = Atomic<Int>(0)
}

/// Each kind of blocking work has threads of its own: filling one pool delays nothing in the others.
@Suite(.timeLimit(.minutes(1)))
struct WorkerPoolsTests {
    @Test func aFullFilesPoolDoesNotDelayHashing() async throws {
        let pools = WorkerPools(.init(hashing: 1, files: 2))
        let state = StuckWork()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Four stuck disk writes: two hold the file threads, two queue behind them.
            for _ in 0..<4 {
                group.addTask {
                    try await pools.files.runIfActive {
                        state.started.wrappingAdd(1, ordering: .relaxed)
                        while !state.release.load(ordering: .relaxed) { usleep(1000) }
                    }
                }
            }
            while state.started.load(ordering: .relaxed) < 2 { try await Task.sleep(for: .milliseconds(5)) }
            let clock = ContinuousClock()
            let hashing = try await clock.measure { _ = try await pools.hashing.runIfActive { 1 + 1 } }
            // The stuck work never ends until released below, so a shared pool would never run this at all; the bound
            // is only wide enough for a full parallel run on two cores (which once took 1.15 s to schedule it).
            #expect(hashing < .seconds(10))
            #expect(state.started.load(ordering: .relaxed) == 2, "the files pool has two threads")
            state.release.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        try await pools.shutdown()
    }

    @Test func shutDownPoolsRefuseWork() async throws {
        let pools = WorkerPools(.init(hashing: 1, files: 1))
        try await pools.shutdown()
        for pool in [pools.hashing, pools.files] {
            await #expect(throws: (any Error).self) { try await pool.runIfActive { 0 } }
        }
    }
}
