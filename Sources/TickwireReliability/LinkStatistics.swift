import TickwireProtocol

/// Round-trip time as TCP estimates it (RFC 6298): a smoothed mean and mean deviation, updated
/// by every newly acknowledged packet. The deviation is what Tickwire reports as jitter.
struct RoundTripEstimator {
    private(set) var smoothed: Double = 0
    private(set) var deviation: Double = 0
    private(set) var minimum: Double = .infinity
    private(set) var latest: Double = 0
    private(set) var samples: UInt64 = 0

    mutating func add(sample seconds: Double) {
        latest = seconds
        minimum = min(minimum, seconds)
        if samples == 0 {
            smoothed = seconds
            deviation = seconds / 2
        } else {
            deviation += (abs(smoothed - seconds) - deviation) / 4
            smoothed += (seconds - smoothed) / 8
        }
        samples &+= 1
    }

    /// How long to wait for an ack before sending a reliable message again.
    func resendInterval(initial: Duration, minimum lower: Duration, maximum upper: Duration) -> Duration {
        guard samples > 0 else { return initial }
        let seconds = smoothed + 4 * deviation
        return min(max(.nanoseconds(Int64(seconds * 1e9)), lower), upper)
    }
}

/// A rate in kilobits per second measured over fixed windows and smoothed between them.
struct BandwidthMeter {
    // Widest first: 32 bytes a meter, not 40 (a connection holds three, touched every tick).
    // Times in integer nanoseconds: `Duration` arithmetic and comparisons are 128-bit calls into
    // the standard library, three meters a client every tick.
    private var windowBytes = 0
    private(set) var kbps: Double = 0
    private var windowStart: UInt64 = 0
    private var started = false
    private var hasRate = false
    static let windowNanoseconds: UInt64 = 250_000_000
    static let smoothing = 0.25

    mutating func add(bytes: Int, now: TickwireInstant) {
        roll(now: now)
        windowBytes += bytes
    }

    mutating func roll(now: TickwireInstant) {
        guard started else {
            (windowStart, started) = (now.nanoseconds, true)
            return
        }
        guard now.nanoseconds >= windowStart else { return }
        let elapsed = now.nanoseconds - windowStart
        guard elapsed >= Self.windowNanoseconds else { return }
        let rate = Double(windowBytes) * 8 / 1000 / (Double(elapsed) / 1e9)
        kbps = hasRate ? kbps + (rate - kbps) * Self.smoothing : rate
        hasRate = true
        windowStart = now.nanoseconds
        windowBytes = 0
    }
}

/// Packet loss as an exponentially weighted share of settled packets. A sent packet is settled
/// once the peer's acks have moved 32 past it (its ack bit can no longer arrive) or its record is
/// reused; it counts as lost if no ack covered it by then.
struct LossEstimator {
    private(set) var fraction: Double = 0
    private var settled: UInt64 = 0
    private(set) var lost: UInt64 = 0
    static let smoothing = 1.0 / 64

    mutating func settle(acked: Bool) {
        let sample: Double = acked ? 0 : 1
        if !acked { lost &+= 1 }
        // Plain mean for the first packets, then the moving average, so early figures are not biased to 0.
        settled &+= 1
        let weight = max(Self.smoothing, 1 / Double(settled))
        fraction += (sample - fraction) * weight
    }
}
