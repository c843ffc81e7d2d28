import NIOCore
import TickwireProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maps the system's monotonic clock onto `TickwireInstant`s starting near zero, and remembers the
/// wall-clock time of that origin for token expiry.
public struct MonotonicClock: Sendable {
    public let origin: NIODeadline
    public let unixTimeAtOrigin: UInt64

    public init() {
        origin = .now()
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        unixTimeAtOrigin = UInt64(ts.tv_sec)
    }

    public func now() -> TickwireInstant { instant(NIODeadline.now()) }

    public func instant(_ deadline: NIODeadline) -> TickwireInstant {
        let delta = deadline.uptimeNanoseconds &- origin.uptimeNanoseconds
        return TickwireInstant(nanoseconds: deadline.uptimeNanoseconds >= origin.uptimeNanoseconds ? delta : 0)
    }

    public func deadline(_ instant: TickwireInstant) -> NIODeadline {
        .uptimeNanoseconds(origin.uptimeNanoseconds &+ instant.nanoseconds)
    }

    /// Current Unix time in seconds (wall clock).
    public static func unixSeconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec)
    }
}
