import DequeModule
import TickwireProtocol

/// Snapshot interpolation for rendering: presents the room at the estimated server time minus
/// an adaptive delay, as the two snapshots that bracket that moment and a blend factor.
///
/// * Server time: each snapshot gives a sample of `server time − local arrival time`; the largest
///   of the last 64 (the least delayed arrival) is the offset estimate, so jitter does not drag
///   the estimate around.
/// * Delay: `delayTicks` tick intervals plus `jitterMultiplier` × the smoothed arrival jitter
///   (how much arrival spacing departs from server spacing).
/// * When the render time is past the newest snapshot the sample extrapolates from the newest
///   two (blend > 1) for up to `maxExtrapolation`, then holds the newest; before the oldest it
///   holds the oldest. Each case is counted so a game can tell how smooth its view was.
public struct InterpolationBuffer: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var tickRate: Int
        public var delayTicks: Double = 2
        public var jitterMultiplier: Double = 2
        public var maxExtrapolation: Duration = .milliseconds(100)
        public var capacity = 32

        public init(tickRate: Int) { self.tickRate = max(1, tickRate) }
        public var tickInterval: Duration { .nanoseconds(1_000_000_000 / Int64(tickRate)) }
    }

    public enum Mode: String, Equatable, Sendable {
        case interpolating, extrapolating, holding
    }

    public struct Sample: Equatable, Sendable {
        public var mode: Mode
        public var from: RoomSnapshot
        public var to: RoomSnapshot
        /// 0 at `from`, 1 at `to`; above 1 when extrapolating.
        public var blend: Double
        /// The server time presented.
        public var renderTime: Duration
    }

    public struct Counters: Sendable, Equatable {
        public var interpolated: UInt64 = 0
        public var extrapolated: UInt64 = 0
        public var held: UInt64 = 0
        /// Snapshots older than the render time on arrival: never shown.
        public var arrivedTooLate: UInt64 = 0
    }

    public var configuration: Configuration
    /// Oldest first. A deque: dropping the oldest as each new one arrives moves nothing.
    public private(set) var snapshots: Deque<RoomSnapshot> = []
    public private(set) var counters = Counters()
    public var jitter: Duration { .nanoseconds(jitterNanoseconds) }
    /// The smoothed arrival jitter, kept in nanoseconds: `Duration` arithmetic splits seconds
    /// from attoseconds in 128 bits on every snapshot.
    private var jitterNanoseconds: Int64 = 0
    private var offsets: [Int64] = []
    private var nextOffset = 0
    private var lastArrival: (local: Int64, server: Int64)?
    private var lastRender: Duration?

    public init(configuration: Configuration) { self.configuration = configuration }

    /// Estimated server time minus local time, once a snapshot has arrived.
    public var offset: Duration? { offsets.max().map { .nanoseconds($0) } }

    public var delay: Duration {
        configuration.tickInterval * configuration.delayTicks + jitter * configuration.jitterMultiplier
    }

    /// The server's schedule time now, as seen from here (lags the server by the fastest one-way delay).
    public func estimatedServerTime(at now: TickwireInstant) -> Duration? {
        offset.map { .nanoseconds(Int64(clamping: now.nanoseconds)) + $0 }
    }

    /// The server tick due now, by the estimate.
    public func estimatedServerTick(at now: TickwireInstant) -> UInt64? {
        estimatedServerTime(at: now).map { UInt64(max(0, $0 / configuration.tickInterval)) }
    }

    public mutating func insert(_ snapshot: RoomSnapshot, receivedAt now: TickwireInstant) {
        let local = Int64(clamping: now.nanoseconds)
        let server = snapshot.serverTime.nanosecondsClamped
        if offsets.count < 64 { offsets.append(server - local) } else { offsets[nextOffset] = server - local }
        nextOffset = (nextOffset + 1) % 64
        if let last = lastArrival, server > last.server {
            let departure = Double(abs((local - last.local) - (server - last.server)))
            let smoothed = Double(jitterNanoseconds)
            // Server times come from the wire: keep the estimate inside Int64 whatever they say.
            jitterNanoseconds = Int64(min(smoothed + (departure - smoothed) / 16, 9.0e18))
        }
        if lastArrival.map({ server > $0.server }) ?? true { lastArrival = (local, server) }
        if let rendered = lastRender, server < rendered.nanosecondsClamped { counters.arrivedTooLate &+= 1 }
        if snapshots.last.map({ $0.tick < snapshot.tick }) ?? true {
            // The usual case, the newest tick yet: no search through the buffer.
            snapshots.append(snapshot)
        } else {
            guard !snapshots.contains(where: { $0.tick == snapshot.tick }) else { return }
            let position = snapshots.firstIndex { $0.tick > snapshot.tick } ?? snapshots.count
            snapshots.insert(snapshot, at: position)
        }
        if snapshots.count > configuration.capacity { snapshots.removeFirst(snapshots.count - configuration.capacity) }
    }

    /// What to show at local time `now`; nil before any snapshot arrived.
    public mutating func sample(at now: TickwireInstant) -> Sample? {
        guard let newest = snapshots.last, let serverNow = estimatedServerTime(at: now) else { return nil }
        let render = serverNow - delay
        lastRender = render
        if render < snapshots[0].serverTime {
            counters.held &+= 1
            return Sample(mode: .holding, from: snapshots[0], to: snapshots[0], blend: 0, renderTime: render)
        }
        if render >= newest.serverTime {
            if snapshots.count >= 2, render - newest.serverTime <= configuration.maxExtrapolation {
                let previous = snapshots[snapshots.count - 2]
                counters.extrapolated &+= 1
                return Sample(mode: .extrapolating, from: previous, to: newest,
                              blend: Self.fraction(render - previous.serverTime, newest.serverTime - previous.serverTime),
                              renderTime: render)
            }
            counters.held &+= 1
            return Sample(mode: .holding, from: newest, to: newest, blend: 0, renderTime: render)
        }
        let upper = snapshots.firstIndex { $0.serverTime > render }!
        let from = snapshots[upper - 1], to = snapshots[upper]
        counters.interpolated &+= 1
        return Sample(mode: .interpolating, from: from, to: to,
                      blend: Self.fraction(render - from.serverTime, to.serverTime - from.serverTime), renderTime: render)
    }

    private static func fraction(_ part: Duration, _ whole: Duration) -> Double {
        let w = Double(whole.nanosecondsClamped)
        return w > 0 ? Double(part.nanosecondsClamped) / w : 0
    }
}
