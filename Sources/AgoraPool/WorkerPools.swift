package import NIOPosix
import ServiceLifecycle

/// The threads of an instance's blocking work, one pool per kind, so that slow work of one kind never delays another.
///
/// Each pool bounds how much of its kind of work runs at once, and work beyond that queues in its own pool only:
/// - `hashing`: bcrypt, pure CPU (a quarter of a second per hash at cost 12); as many threads as cores, since more
///   would only slice the same cores thinner.
/// - `files`: local disk I/O (uploaded images, the development mailbox); short, but a slow disk must not stall logins.
///
/// Before, these and the SMTP sessions shared `NIOThreadPool.singleton` (one thread per core): two SMTP sessions to a
/// server that did not answer held every thread, and logins waited for their timeouts. SMTP now runs on SwiftNIO and
/// needs no thread while it waits.
///
/// Run as a service: the threads start when the pools are made (so a command that never runs the service group can
/// still use them) and stop when the service group shuts down, after the services that use them. Add it first, since
/// a service group stops its services in the reverse order.
package final class WorkerPools: Service {
    /// Threads per pool.
    package struct Sizes: Sendable, Equatable {
        package var hashing: Int
        package var files: Int
        package var images: Int

        /// - Parameters:
        ///   - hashing: bcrypt threads (`AGORA_BCRYPT_THREADS`, the number of cores).
        ///   - files: disk I/O threads (`AGORA_FILE_THREADS`, 4).
        ///   - images: image decoding and encoding threads (`AGORA_IMAGE_THREADS`, the number of cores).
        package init(hashing: Int, files: Int, images: Int = 1) {
            self.hashing = hashing
            self.files = files
            self.images = images
        }
    }

    package let sizes: Sizes
    /// CPU-bound password hashing.
    package let hashing: NIOThreadPool
    /// Blocking file reads and writes.
    package let files: NIOThreadPool
    /// CPU-bound image cleaning and thumbnails (libvips).
    package let images: NIOThreadPool

    /// Makes and starts the pools.
    package init(_ sizes: Sizes) {
        precondition(sizes.hashing > 0 && sizes.files > 0 && sizes.images > 0, "every pool needs a thread")
        self.sizes = sizes
        hashing = NIOThreadPool(numberOfThreads: sizes.hashing)
        files = NIOThreadPool(numberOfThreads: sizes.files)
        images = NIOThreadPool(numberOfThreads: sizes.images)
        for pool in [hashing, files, images] { pool.start() }
    }

    /// Waits for the service group to shut down, then stops the threads once the work in hand is done.
    package func run() async throws {
        // Cancellation ends the wait as well: either way the threads must stop.
        try? await gracefulShutdown()
        try await shutdown()
    }

    /// Stops the threads once the work in hand is done; queued work fails. For commands that do not run `run()`.
    package func shutdown() async throws {
        for pool in [hashing, files, images] { try await pool.shutdownGracefully() }
    }
}
