import AgoraPool
import Logging
import Synchronization
import Testing

/// An in-memory connection: the pool's own logic is what is under test here. The real libpq and hiredis
/// connections go through the same pool in the AgoraPostgres and AgoraRedis integration tests.
final class FakeConnection: PoolableConnection {
    let id: Int
    let alive = Atomic<Bool>(true)
    let reusable = Atomic<Bool>(true)
    init(id: Int) { self.id = id }
    func checkAlive() -> Bool { alive.load(ordering: .relaxed) }
    var isReusable: Bool { reusable.load(ordering: .relaxed) }
}

final class Usage: Sendable {
    let inUse = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}

struct PoolError: Error, Equatable {
    var reason: String
}

final class Factory: Sendable {
    let opened = Atomic<Int>(0)
    let failNext = Atomic<Bool>(false)
    func make() throws -> FakeConnection {
        if failNext.exchange(false, ordering: .relaxed) { throw PoolError(reason: "refused") }
        return FakeConnection(id: opened.wrappingAdd(1, ordering: .relaxed).newValue)
    }
}

func makePool(capacity: Int, timeout: Duration = .seconds(5), factory: Factory) -> BlockingPool<FakeConnection> {
    BlockingPool(
        capacity: capacity,
        checkoutTimeout: timeout,
        errors: .init(timeout: { _ in PoolError(reason: "timeout") }, closed: { PoolError(reason: "closed") }),
        logger: Logger(label: "test"),
        connect: { try factory.make() }
    )
}

@Suite struct BlockingPoolTests {
    @Test func reusesIdleConnectionsAndOpensLazily() async throws {
        let factory = Factory()
        let pool = makePool(capacity: 4, factory: factory)
        let first = try await pool.withConnection { $0.id }
        let second = try await pool.withConnection { $0.id }
        #expect(first == second)
        #expect(factory.opened.load(ordering: .relaxed) == 1)
        await pool.close()
    }

    @Test func neverOpensMoreThanCapacityAndServesEveryWaiter() async throws {
        let factory = Factory()
        // Served, not fast: a generous checkout timeout, since on two cores at the suite's busiest moment a waiter
        // once waited over 5 s.
        let pool = makePool(capacity: 3, timeout: .seconds(60), factory: factory)
        let usage = Usage()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await pool.withConnection { _ in
                        let now = usage.inUse.wrappingAdd(1, ordering: .relaxed).newValue
                        usage.peak.max(now, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(1))
                        usage.inUse.wrappingSubtract(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(usage.peak.load(ordering: .relaxed) <= 3)
        #expect(factory.opened.load(ordering: .relaxed) <= 3)
        let stats = pool.statistics
        #expect(stats.open == 3 && stats.leased == 0 && stats.waiting == 0 && stats.opened == 3 && stats.capacity == 3)
        await pool.close()
    }

    @Test func waiterTimesOutWithTheLibrarysError() async throws {
        let pool = makePool(capacity: 1, timeout: .milliseconds(100), factory: Factory())
        try await pool.withConnection { _ in
            await #expect(throws: PoolError(reason: "timeout")) { try await pool.withConnection { _ in } }
        }
        #expect(pool.statistics.waiting == 0)
        await pool.close()
    }

    @Test func cancelledWaiterLeavesTheQueue() async throws {
        let pool = makePool(capacity: 1, factory: Factory())
        try await pool.withConnection { _ in
            let waiter = Task { try await pool.withConnection { _ in } }
            while pool.statistics.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(pool.statistics.waiting == 0)
        }
        #expect(pool.statistics.leased == 0)
        await pool.close()
    }

    @Test func deadOrUnreusableConnectionsAreReplaced() async throws {
        let factory = Factory()
        let pool = makePool(capacity: 1, factory: factory)
        let first = try await pool.withConnection { connection in
            connection.alive.store(false, ordering: .relaxed)  // dies while idle
            return connection.id
        }
        let second = try await pool.withConnection { connection in
            connection.reusable.store(false, ordering: .relaxed)  // e.g. left mid-transaction
            return connection.id
        }
        let third = try await pool.withConnection { $0.id }
        #expect(Set([first, second, third]).count == 3)
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test func failedConnectGivesItsSlotBack() async throws {
        let factory = Factory()
        let pool = makePool(capacity: 1, factory: factory)
        factory.failNext.store(true, ordering: .relaxed)
        await #expect(throws: PoolError(reason: "refused")) { try await pool.withConnection { _ in } }
        #expect(pool.statistics.open == 0)
        #expect(try await pool.withConnection { _ in true })
        await pool.close()
    }

    @Test func closeFailsWaitersAndLaterCallers() async throws {
        let pool = makePool(capacity: 1, factory: Factory())
        let holder = Task { try await pool.withConnection { _ in try await Task.sleep(for: .milliseconds(300)) } }
        while pool.statistics.leased == 0 { try await Task.sleep(for: .milliseconds(1)) }
        let waiter = Task { try await pool.withConnection { _ in } }
        while pool.statistics.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
        await pool.close()
        await #expect(throws: PoolError(reason: "closed")) { try await waiter.value }
        await #expect(throws: PoolError(reason: "closed")) { try await pool.withConnection { _ in } }
        try await holder.value
    }
}
