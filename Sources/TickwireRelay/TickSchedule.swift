import TickwireProtocol

/// A fixed-rate, drift-free tick schedule: tick n is due at `start + n × period` (period in
/// whole nanoseconds, the remainder carried so that 60 Hz stays 60 Hz over hours), never "one
/// period after the last tick ran".
///
/// `poll(now:)` returns the tick to run. A tick that starts more than half a period after the
/// deadline of the tick that was due is counted late. When whole periods were missed (the process stalled), the missed ticks are
/// not run in a burst: the schedule moves to the newest due tick and counts the ones it passed
/// over as skipped. Both counts are reported, nothing is skipped silently.
public struct TickSchedule: Sendable {
    public let rate: Int
    public let start: TickwireInstant
    /// The next tick number to run.
    public private(set) var next: UInt64 = 0
    public private(set) var lateTicks: UInt64 = 0
    public private(set) var skippedTicks: UInt64 = 0
    /// How far behind its deadline the last tick ran.
    public private(set) var lastLateness: Duration = .zero

    public init(rate: Int, start: TickwireInstant) {
        precondition(rate >= 1 && rate <= 1000, "tick rate must be 1...1000 Hz")
        self.rate = rate
        self.start = start
    }

    public var period: Duration { .nanoseconds(1_000_000_000 / Int64(rate)) }

    /// When tick `n` is due.
    public func deadline(of n: UInt64) -> TickwireInstant {
        let r = UInt64(rate)
        let (seconds, remainder) = n.quotientAndRemainder(dividingBy: r)
        return TickwireInstant(nanoseconds: start.nanoseconds &+ seconds &* 1_000_000_000 &+ remainder &* 1_000_000_000 / r)
    }

    public var nextDeadline: TickwireInstant { deadline(of: next) }

    /// The tick due at `now`, if any; the schedule then moves past it.
    public mutating func poll(now: TickwireInstant) -> UInt64? {
        guard now >= deadline(of: next) else { return nil }
        // The newest tick whose deadline has passed.
        let elapsed = now.nanoseconds - start.nanoseconds
        var due = elapsed / 1_000_000_000 * UInt64(rate) + (elapsed % 1_000_000_000) * UInt64(rate) / 1_000_000_000
        while deadline(of: due) > now { due -= 1 }
        while due + 1 > due, deadline(of: due + 1) <= now { due += 1 }
        // Lateness is measured from the deadline of the tick that should have run.
        lastLateness = now - deadline(of: next)
        if lastLateness > period / 2 { lateTicks &+= 1 }
        if due > next { skippedTicks &+= due - next }
        next = due + 1
        return due
    }
}
