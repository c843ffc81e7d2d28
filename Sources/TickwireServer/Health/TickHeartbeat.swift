import NIOConcurrencyHelpers
import TickwireProtocol

/// When a worker's tick loop last ticked, readable from any thread: the health check must not
/// ask the loop itself, which is what may be stuck.
public final class TickHeartbeat: Sendable {
    private let last = NIOLockedValueBox<TickwireInstant?>(nil)

    public init() {}

    func beat(_ now: TickwireInstant) { last.withLockedValue { $0 = now } }

    public var lastTick: TickwireInstant? { last.withLockedValue { $0 } }
}

/// `/healthz`: every worker's tick loop has ticked recently. A pure function of the heartbeats and
/// the time, so the thresholds are tested without stalling anything.
public enum TickHealth {
    /// How long a worker may go without a tick and still count as alive: 10 tick periods, and at
    /// least 500 ms (a late tick on a busy machine is not a stuck loop).
    public static func staleAfter(tickRate: Int) -> Duration {
        max(.milliseconds(500), .nanoseconds(10 * 1_000_000_000 / Int64(max(1, tickRate))))
    }

    /// Nil when healthy; otherwise why not, naming the first stuck worker. `ages`: how long ago
    /// each worker last ticked (nil: never).
    public static func problem(ages: [Duration?], tickRate: Int) -> String? {
        let limit = staleAfter(tickRate: tickRate)
        for (worker, age) in ages.enumerated() {
            guard let age else { return "worker \(worker) has not ticked yet" }
            if age > limit {
                return "worker \(worker) has not ticked for \(Int(age.millisecondsDouble)) ms (limit \(Int(limit.millisecondsDouble)) ms)"
            }
        }
        return nil
    }
}
