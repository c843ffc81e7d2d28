/// A point on a monotonic timeline, in nanoseconds since an arbitrary origin.
///
/// The core never reads a clock: every input takes `now: TickwireInstant`. Production shells
/// derive it from the system's monotonic clock; simulations advance a virtual clock.
public struct TickwireInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = TickwireInstant(nanoseconds: 0)

    public static func seconds(_ s: Double) -> TickwireInstant {
        TickwireInstant(nanoseconds: UInt64(max(0, s) * 1e9))
    }

    public static func milliseconds(_ ms: UInt64) -> TickwireInstant {
        TickwireInstant(nanoseconds: ms &* 1_000_000)
    }

    /// Seconds since the origin, for reporting only.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (lhs: TickwireInstant, rhs: TickwireInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: TickwireInstant, rhs: Duration) -> TickwireInstant {
        let delta = rhs.nanosecondsClamped
        if delta >= 0 {
            let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(UInt64(delta))
            return TickwireInstant(nanoseconds: overflow ? .max : sum)
        } else {
            let magnitude = delta.magnitude
            return TickwireInstant(nanoseconds: lhs.nanoseconds > magnitude ? lhs.nanoseconds - magnitude : 0)
        }
    }

    /// `self` plus `nanoseconds`, saturating. The cheap form of `+` for hot loops: adding a
    /// `Duration` splits it into seconds and attoseconds (128-bit arithmetic) every time.
    @inlinable
    public func adding(nanoseconds: UInt64) -> TickwireInstant {
        let (sum, overflow) = self.nanoseconds.addingReportingOverflow(nanoseconds)
        return TickwireInstant(nanoseconds: overflow ? .max : sum)
    }

    /// Seconds from `earlier` to `self` (negative if `earlier` is later), without building a `Duration`.
    @inlinable
    public func seconds(since earlier: TickwireInstant) -> Double {
        Double(Int64(bitPattern: nanoseconds &- earlier.nanoseconds)) / 1e9
    }

    public static func - (lhs: TickwireInstant, rhs: TickwireInstant) -> Duration {
        if lhs.nanoseconds >= rhs.nanoseconds {
            return .nanoseconds(Int64(clamping: lhs.nanoseconds - rhs.nanoseconds))
        }
        return .nanoseconds(-Int64(clamping: rhs.nanoseconds - lhs.nanoseconds))
    }

    public var description: String { "t+\(Double(nanoseconds) / 1e6)ms" }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to `Int64`.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (fromSeconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = fromSeconds.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }

    /// The duration in seconds as a `Double`, for statistics and reports.
    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    public var millisecondsDouble: Double { secondsDouble * 1000 }

    /// The duration in whole nanoseconds, clamped to 0...`UInt64.max`: for `TickwireInstant.adding(nanoseconds:)`.
    public var nonNegativeNanoseconds: UInt64 { UInt64(max(0, nanosecondsClamped)) }
}
