import TickwireProtocol

/// One direction of a simulated link: packets go in with the send time and come out when their
/// (impaired) delivery time has passed, in delivery-time order, ties in send order.
public struct ImpairedPipe: Sendable {
    public struct Counters: Sendable, Equatable {
        public var sent: UInt64 = 0
        public var lost: UInt64 = 0
        public var duplicated: UInt64 = 0
        public var reordered: UInt64 = 0
        public var delivered: UInt64 = 0
    }

    private struct InFlight: Sendable {
        var deliverAt: TickwireInstant
        var serial: UInt64
        var bytes: [UInt8]
    }

    public var profile: ImpairmentProfile
    public private(set) var counters = Counters()
    private var random: SplitMix64
    private var inFlight: [InFlight] = []
    private var serial: UInt64 = 0
    private var head = 0

    public init(profile: ImpairmentProfile, seed: UInt64) {
        self.profile = profile
        random = SplitMix64(seed: seed)
    }

    public var packetsInFlight: Int { inFlight.count - head }

    public mutating func send(_ bytes: [UInt8], now: TickwireInstant) {
        counters.sent &+= 1
        if random.chance(profile.loss) {
            counters.lost &+= 1
            return
        }
        schedule(bytes, now: now)
        if random.chance(profile.duplicate) {
            counters.duplicated &+= 1
            schedule(bytes, now: now)
        }
    }

    public mutating func send(_ bytes: UnsafeRawBufferPointer, now: TickwireInstant) { send(Array(bytes), now: now) }

    /// The next packet due at or before `now`, if any.
    public mutating func receive(now: TickwireInstant) -> [UInt8]? {
        guard head < inFlight.count, inFlight[head].deliverAt <= now else { return nil }
        let bytes = inFlight[head].bytes
        head += 1
        if head > 1024, head * 2 > inFlight.count {
            inFlight.removeFirst(head)
            head = 0
        }
        counters.delivered &+= 1
        return bytes
    }

    /// When the next packet becomes due.
    public var nextDelivery: TickwireInstant? { head < inFlight.count ? inFlight[head].deliverAt : nil }

    private mutating func schedule(_ bytes: [UInt8], now: TickwireInstant) {
        var delay = profile.latency.nanosecondsClamped
        let jitter = profile.jitter.nanosecondsClamped
        if jitter > 0 { delay += Int64.random(in: -jitter...jitter, using: &random) }
        if random.chance(profile.reorder) {
            counters.reordered &+= 1
            let extra = profile.reorderDelay.nanosecondsClamped
            if extra > 0 { delay += Int64.random(in: 1...extra, using: &random) }
        }
        let entry = InFlight(deliverAt: now + .nanoseconds(max(0, delay)), serial: serial, bytes: bytes)
        serial &+= 1
        // Binary search for the first entry due strictly later: keeps send order among equal times.
        var low = head
        var high = inFlight.count
        while low < high {
            let mid = (low + high) / 2
            if inFlight[mid].deliverAt <= entry.deliverAt { low = mid + 1 } else { high = mid }
        }
        inFlight.insert(entry, at: low)
    }
}
