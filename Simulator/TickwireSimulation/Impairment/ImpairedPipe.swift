import Foundation
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
        /// Of `lost`: dropped in a burst (bad state), by a full bandwidth queue, during an outage.
        public var lostInBurst: UInt64 = 0
        public var lostToQueue: UInt64 = 0
        public var lostToOutage: UInt64 = 0
    }

    /// A time the link is down: everything sent in it is lost.
    public struct Outage: Sendable, Equatable {
        public var start: TickwireInstant
        public var end: TickwireInstant
        public init(start: TickwireInstant, end: TickwireInstant) {
            self.start = start
            self.end = end
        }
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
    private var burstBad = false
    private var linkFreeAt = TickwireInstant.zero
    /// Scheduled outages, and a switch for outages decided as the run goes.
    public var outages: [Outage] = []
    public var isDown = false
    /// When set, every packet sent is logged here with its fate (its delay, or lost), as a trace
    /// direction: what a replay did, to compare with what was recorded.
    public var fateLog: [NetworkTrace.Packet]?

    public init(profile: ImpairmentProfile, seed: UInt64) {
        self.profile = profile
        random = SplitMix64(seed: seed)
    }

    public var packetsInFlight: Int { inFlight.count - head }

    public mutating func send(_ bytes: [UInt8], now: TickwireInstant) {
        counters.sent &+= 1
        if isDown || outages.contains(where: { now >= $0.start && now < $0.end }) {
            counters.lost &+= 1
            counters.lostToOutage &+= 1
            log(now, nil, bytes.count)
            return
        }
        if let trace = profile.trace {
            guard let delay = trace.fate(at: now) else {
                counters.lost &+= 1
                log(now, nil, bytes.count)
                return
            }
            log(now, delay, bytes.count)
            insert(InFlight(deliverAt: now + delay, serial: serial, bytes: bytes))
            serial &+= 1
            return
        }
        if let burst = profile.burstLoss {
            burstBad = burstBad ? !random.chance(burst.badToGood) : random.chance(burst.goodToBad)
            if random.chance(burstBad ? burst.badLoss : burst.goodLoss) {
                counters.lost &+= 1
                if burstBad { counters.lostInBurst &+= 1 }
                log(now, nil, bytes.count)
                return
            }
        }
        if random.chance(profile.loss) {
            counters.lost &+= 1
            log(now, nil, bytes.count)
            return
        }
        var departure = now
        if let rate = profile.bandwidthBytesPerSecond, rate > 0 {
            let start = max(now, linkFreeAt)
            guard start - now <= profile.maxQueueDelay else {
                counters.lost &+= 1
                counters.lostToQueue &+= 1
                log(now, nil, bytes.count)
                return
            }
            // Serialisation time, with IPv4 + UDP headers counted.
            linkFreeAt = start + .nanoseconds(Int64(bytes.count + 28) * 1_000_000_000 / Int64(rate))
            departure = linkFreeAt
        }
        schedule(bytes, now: departure, sentAt: now)
        if random.chance(profile.duplicate) {
            counters.duplicated &+= 1
            schedule(bytes, now: departure, sentAt: nil)
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

    private mutating func log(_ now: TickwireInstant, _ delay: Duration?, _ size: Int) {
        guard fateLog != nil else { return }
        fateLog!.append(NetworkTrace.Packet(
            sentMicros: Int64(now.nanoseconds / 1000), delayMicros: delay.map { $0.nanosecondsClamped / 1000 }, size: size))
    }

    /// `sentAt`: log the packet's fate as sent then (nil: a duplicate, not logged).
    private mutating func schedule(_ bytes: [UInt8], now: TickwireInstant, sentAt: TickwireInstant?) {
        var delay = profile.latency.nanosecondsClamped
        let jitter = profile.jitter.nanosecondsClamped
        if jitter > 0 {
            switch profile.jitterModel {
            case .uniform: delay += Int64.random(in: -jitter...jitter, using: &random)
            case .normal: delay += Int64((random.nextNormal() * Double(jitter)).clamped(to: -3 * Double(jitter)...3 * Double(jitter)))
            }
        }
        if random.chance(profile.reorder) {
            counters.reordered &+= 1
            let extra = profile.reorderDelay.nanosecondsClamped
            if extra > 0 { delay += Int64.random(in: 1...extra, using: &random) }
        }
        let entry = InFlight(deliverAt: now + .nanoseconds(max(0, delay)), serial: serial, bytes: bytes)
        serial &+= 1
        if let sentAt { log(sentAt, entry.deliverAt - sentAt, bytes.count) }
        insert(entry)
    }

    private mutating func insert(_ entry: InFlight) {
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

extension SplitMix64 {
    /// A standard normal draw (Box-Muller).
    mutating func nextNormal() -> Double {
        let u1 = max(nextUnit(), 1e-12)
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}


extension Double {
    fileprivate func clamped(to range: ClosedRange<Double>) -> Double { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
