import TickwireProtocol

/// One direction of a trace as an impairment: a packet sent at virtual time `now` meets the fate
/// of the trace packet at the same offset in time.
///
/// * Trace time = `offset` + now × `timeScale` (2 plays the trace twice as fast; delays are kept
///   as recorded).
/// * A packet that falls between two trace packets takes the fate of the latest one sent at or
///   before its time (the link as last observed); one before the first trace packet takes the
///   first one's.
/// * Past the end the trace starts again when `loops`, else the last packet's fate holds.
///
/// There is nothing random in it: the same trace and options give the same fates.
public struct TraceReplay: Sendable, Equatable {
    /// Send offsets (ns from the first packet) and delays (ns; -1: lost), in send order.
    private let offsets: [Int64]
    private let delays: [Int64]
    /// One loop: the last offset plus the mean gap between packets.
    private let span: Int64
    public var loops: Bool
    public var timeScale: Double
    public var offset: Duration

    public init(_ packets: [NetworkTrace.Packet], loops: Bool = true, timeScale: Double = 1, offset: Duration = .zero) {
        let first = packets.first?.sentMicros ?? 0
        offsets = packets.map { ($0.sentMicros - first) * 1000 }
        delays = packets.map { $0.delayMicros.map { $0 * 1000 } ?? -1 }
        let last = offsets.last ?? 0
        span = last + (offsets.count > 1 ? last / Int64(offsets.count - 1) : 1_000_000)
        self.loops = loops
        self.timeScale = timeScale
        self.offset = offset
    }

    public var isEmpty: Bool { offsets.isEmpty }

    /// The delay a packet sent at `now` gets, or nil when it is lost.
    public func fate(at now: TickwireInstant) -> Duration? {
        guard !offsets.isEmpty else { return .zero }
        // (In Double first: any time scale, even a NaN one, gives a time, never a trap.)
        let scaled = Double(now.nanoseconds) * timeScale
        let bounded = scaled.isFinite ? min(max(scaled, 0), 9e18) : 0
        var t = offset.nanosecondsClamped &+ Int64(bounded)
        if loops, span > 0 { t = ((t % span) + span) % span }
        // The last packet sent at or before t.
        var low = 0
        var high = offsets.count
        while low < high {
            let mid = (low + high) / 2
            if offsets[mid] <= t { low = mid + 1 } else { high = mid }
        }
        let delay = delays[max(0, low - 1)]
        return delay < 0 ? nil : .nanoseconds(delay)
    }
}
