import Logging
import ServiceLifecycle
import UnixSignals

/// A relay process's workers (and the placement reports behind the join API) as a
/// swift-service-lifecycle `Service`: it runs until the group's graceful shutdown (the first
/// SIGTERM or SIGINT), then drains
/// (`RelayWorkerGroup.drain`) until the clients have left or `drainTimeout` passes, and finally
/// disconnects whoever is left, cleanly. One of `skipSignals` during the drain (the second
/// signal), or cancellation of the group, cuts the drain short.
public struct RelayService: Service {
    public let workers: RelayWorkerGroup
    public let drainTimeout: Duration
    public let skipSignals: [UnixSignal]
    let logger: Logger

    public init(workers: RelayWorkerGroup, drainTimeout: Duration, skipSignals: [UnixSignal] = [], logger: Logger) {
        self.workers = workers
        self.drainTimeout = drainTimeout
        self.skipSignals = skipSignals
        self.logger = logger
    }

    public func run() async throws {
        // Returns at graceful shutdown; throws if the group is cancelled first.
        do { try await gracefulShutdown() } catch {
            logger.notice("cancelled before a graceful shutdown: disconnecting every client")
            try await workers.shutdown()
            return
        }
        logger.notice("shutdown requested: draining\(skipSignals.isEmpty ? "" : " (a second signal skips the wait)")")
        let (workers, timeout, signals) = (self.workers, drainTimeout, skipSignals)
        let left = await withTaskGroup(of: Int?.self) { group in
            group.addTask { await workers.drain(timeout: timeout) }
            if !signals.isEmpty {
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: signals) { return nil }
                    return nil
                }
            }
            var remaining = 0
            while let result = await group.next() {
                guard let result else { group.cancelAll(); continue }  // the second signal: stop draining
                remaining = result
                group.cancelAll()
            }
            return remaining
        }
        logger.notice("disconnecting the remaining clients", metadata: ["clients": "\(left)"])
        try await workers.shutdown()
    }
}

/// The admin port (metrics, health, readiness, the join API) as a `Service`: it serves until the
/// group's graceful shutdown reaches it, then closes. Listed before `RelayService` in the group,
/// it is shut down after it (ServiceGroup goes in reverse order), so it answers (`/readyz` 503,
/// joins `draining`, metrics) all through the drain.
public struct AdminEndpointService: Service {
    public let workers: RelayWorkerGroup

    public init(workers: RelayWorkerGroup) { self.workers = workers }

    public func run() async throws {
        try? await gracefulShutdown()
        try await workers.closeAdmin()
    }
}
