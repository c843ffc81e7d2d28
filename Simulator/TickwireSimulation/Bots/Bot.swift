import Foundation
import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// A scripted player. It drives a `RelayClientCore` it is handed (in virtual time or over real
/// sockets alike) and checks what comes back.
///
/// * It moves its entity along a seeded random walk and sends the state at `stateRate`; each state
///   starts with its send time and a sequence number.
/// * It sends numbered reliable events to the room at `eventRate`, each with its send time.
/// * It checks that events from every other bot arrive exactly once and in order, and measures
///   event delivery latency, snapshot inter-arrival, the staleness of every entity it sees
///   (now − the send time carried in that entity's state), and RTT.
public struct Bot: Sendable {
    public let clientID: UInt64
    public let room: String
    public var behaviour: BotBehaviour
    /// False: the bot keeps sending state but stops sending events (a drain period before checks).
    public var sendsEvents = true
    /// The core's events of the current step (kept to reuse their storage).
    private var heard: [RelayClientCore.Event] = []
    private var stateBytes: [UInt8] = []
    private var random: SplitMix64
    private var position: (x: Double, y: Double) = (0, 0)
    private var heading = 0.0
    private var nextStateAt: TickwireInstant
    private var nextEventAt: TickwireInstant
    private var stateSequence: UInt32 = 0
    private var lastRTTSample: TickwireInstant

    public let startedAt: TickwireInstant
    public private(set) var joinedAt: TickwireInstant?
    public private(set) var ended: (at: TickwireInstant, reason: String)?
    public private(set) var eventsSent: UInt32 = 0
    public private(set) var lastEventSentAt: TickwireInstant?
    /// The bot was told to leave (as opposed to losing its connection).
    public var leftOnPurpose = false
    /// Per sender: the first and the last event sequence heard.
    public private(set) var heardFrom: [UInt64: (first: UInt32, last: UInt32)] = [:]
    public private(set) var eventsReceived: UInt64 = 0
    public private(set) var duplicateEvents: UInt64 = 0
    public private(set) var outOfOrderEvents: UInt64 = 0
    public private(set) var peersLeft: [(clientID: UInt64, reason: RelayMessage.PeerLeftReason)] = []
    /// Events of ours the relay said it did not pass on, by reason.
    public private(set) var refusals: [RelayMessage.RefusalReason: Int] = [:]
    /// Send times in other members' events and states that lie in the future or before this
    /// run: bytes from the network are untrusted, so they are counted, not measured.
    public private(set) var implausibleTimestamps: UInt64 = 0
    public private(set) var eventLatency = LatencyRecorder()
    /// Each entity's staleness in every snapshot observed, the recorded samples and the staged ones.
    public var staleness: LatencyRecorder { stagedStaleness.added(to: recordedStaleness) }
    private var recordedStaleness = LatencyRecorder()
    /// Staleness samples not yet in `recordedStaleness` and `recentStaleness`: a snapshot's few
    /// samples go here and into the two histograms a batch at a time.
    private var stagedStaleness = StagedSamples()
    /// The same two over the whole run in coarse buckets, for the report's histograms.
    public var eventLatencyBuckets: WindowHistogram { takenEventLatency.merging(recentEventLatency) }
    public var stalenessBuckets: WindowHistogram {
        var all = takenStaleness.merging(recentStaleness)
        stagedStaleness.forEach { all.record(milliseconds: $0) }
        return all
    }
    /// The same two since the last `takeRecent`, for per-second series, and before it: each
    /// sample is recorded once, in the recent window, and moves to the taken ones with it.
    private var recentEventLatency = WindowHistogram()
    private var recentStaleness = WindowHistogram()
    private var takenEventLatency = WindowHistogram()
    private var takenStaleness = WindowHistogram()
    /// The time between snapshots observed, recorded and staged (staged as `stagedStaleness` is).
    public var snapshotInterArrival: LatencyRecorder { stagedGaps.added(to: recordedInterArrival) }
    private var recordedInterArrival = LatencyRecorder()
    private var stagedGaps = StagedSamples()
    public private(set) var rtt = LatencyRecorder()
    private var lastSnapshotTick: UInt32?
    private var lastSnapshotAt: TickwireInstant?

    public init(clientID: UInt64, room: String, behaviour: BotBehaviour, seed: UInt64, now: TickwireInstant) {
        self.clientID = clientID
        self.room = room
        self.behaviour = behaviour
        random = SplitMix64(seed: seed ^ clientID &* 0x9E37_79B9_7F4A_7C15)
        position = (random.nextUnit() * 100, random.nextUnit() * 100)
        heading = random.nextUnit() * 2 * Double.pi
        startedAt = now
        // Spread the bots' send times so they do not all fire on the same update.
        nextStateAt = now + Self.interval(behaviour.stateRate) * random.nextUnit()
        nextEventAt = now + Self.interval(behaviour.eventRate) * random.nextUnit()
        lastRTTSample = now
    }

    private static func interval(_ rate: Double) -> Duration { rate > 0 ? .nanoseconds(Int64(1e9 / rate)) : .seconds(3600) }

    public var isJoined: Bool { joinedAt != nil && ended == nil }

    /// When the bot next sends on its own (a state or an event), for a host that wakes it then
    /// (`VirtualRelay.Client.actsAt`); nil before it is joined and after it ended.
    public var nextActionAt: TickwireInstant? {
        guard isJoined else { return nil }
        guard sendsEvents, behaviour.eventRate > 0 else { return nextStateAt }
        return min(nextStateAt, nextEventAt)
    }
    public var connectTime: Duration? { joinedAt.map { $0 - startedAt } }

    /// Adds the staleness and event latency samples since the last call to `staleness` and
    /// `events`, and starts a new window.
    public mutating func takeRecent(staleness: inout WindowHistogram, events: inout WindowHistogram) {
        recordStagedStaleness()
        staleness.merge(recentStaleness)
        events.merge(recentEventLatency)
        takenStaleness.merge(recentStaleness)
        takenEventLatency.merge(recentEventLatency)
        recentStaleness.reset()
        recentEventLatency.reset()
    }

    /// The bot could not even start connecting (e.g. its backend refused a token).
    public mutating func fail(_ reason: String, now: TickwireInstant) {
        if ended == nil { ended = (now, reason) }
    }

    /// Call after each update of the bot's core: reads what it heard, then acts.
    public mutating func step(_ core: inout RelayClientCore, now: TickwireInstant) {
        // Swap the events out so that clearing them reuses their storage instead of copying it.
        swap(&heard, &core.events)
        for event in heard { observe(event, now: now) }
        heard.removeAll(keepingCapacity: true)
        // The core's stored properties, read directly: its computed ones (`welcome`), and any
        // method taking the core whole, are handed a copy of it (1.5 KB) on the stack.
        observeSnapshot(core.latestSnapshot, now: now)
        guard case .joined(let welcome) = core.phase, ended == nil else { return }
        if now >= nextStateAt {
            nextStateAt = nextStateAt + Self.interval(behaviour.stateRate)
            if nextStateAt < now { nextStateAt = now + Self.interval(behaviour.stateRate) }
            move()
            writeState(now: now, limit: Int(welcome.maxStateSize))
            stateBytes.withUnsafeBytes { raw in _ = try? core.sendState(raw) }
        }
        if sendsEvents, behaviour.eventRate > 0, now >= nextEventAt {
            nextEventAt = nextEventAt + Self.interval(behaviour.eventRate)
            if nextEventAt < now { nextEventAt = now + Self.interval(behaviour.eventRate) }
            if (try? core.sendEvent(makeEvent(now: now))) != nil {
                eventsSent += 1
                lastEventSentAt = now
            }
        }
        if now - lastRTTSample >= .seconds(1), core.channels.stats.counters.packetsAcked > 0 {
            lastRTTSample = now
            rtt.record(milliseconds: core.channels.stats.rttMilliseconds)
        }
    }

    private mutating func observe(_ event: RelayClientCore.Event, now: TickwireInstant) {
        switch event {
        case .joined:
            joinedAt = now
        case .denied(let reason):
            ended = (now, "denied: \(reason)")
        case .ended(let state):
            if ended == nil { ended = (now, Self.reason(state)) }
        case .peerLeft(let id, let reason):
            peersLeft.append((id, reason))
        case .peerJoined:
            break
        case .refused(let reason):
            refusals[reason, default: 0] += 1
        case .event(let from, let payload):
            guard payload.count >= 12 else { return }
            let sequence = payload.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
            let sentAt = payload.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt64.self) }.littleEndian
            eventsReceived += 1
            if let age = age(of: sentAt, now: now) {
                eventLatency.record(milliseconds: age)
                recentEventLatency.record(milliseconds: age)
            }
            if let seen = heardFrom[from] {
                if sequence <= seen.last { duplicateEvents += 1; return }
                if sequence != seen.last + 1 { outOfOrderEvents += 1 }
                heardFrom[from] = (seen.first, sequence)
            } else {
                heardFrom[from] = (sequence, sequence)
            }
        }
    }

    private mutating func observeSnapshot(_ latest: RoomSnapshot?, now: TickwireInstant) {
        guard let snapshot = latest, snapshot.tick != lastSnapshotTick else { return }
        if let last = lastSnapshotAt {
            if stagedGaps.isFull {
                stagedGaps.forEach { recordedInterArrival.record(milliseconds: $0) }
                stagedGaps.removeAll()
            }
            stagedGaps.append(Double((now - last).nanosecondsClamped) / 1e6)
        }
        lastSnapshotTick = snapshot.tick
        lastSnapshotAt = now
        snapshot.forEachEntity { _, _, state in
            guard state.count >= 8 else { return }
            let sentAt = state.loadUnaligned(as: UInt64.self).littleEndian
            if let age = age(of: sentAt, now: now) {
                if stagedStaleness.isFull { recordStagedStaleness() }
                stagedStaleness.append(age)
            }
        }
    }

    /// Records the staged staleness samples (see `stagedStaleness`).
    private mutating func recordStagedStaleness() {
        stagedStaleness.forEach { age in
            recordedStaleness.record(milliseconds: age)
            recentStaleness.record(milliseconds: age)
        }
        stagedStaleness.removeAll()
    }

    /// Milliseconds from a send time another member wrote to `now`, or nil (counted) when that
    /// time cannot be true: after now, or before this bot started.
    private mutating func age(of sentAt: UInt64, now: TickwireInstant) -> Double? {
        guard sentAt <= now.nanoseconds, sentAt >= startedAt.nanoseconds &- min(startedAt.nanoseconds, 3_600_000_000_000) else {
            implausibleTimestamps &+= 1
            return nil
        }
        return Double(now.nanoseconds - sentAt) / 1e6
    }

    private mutating func move() {
        heading += (random.nextUnit() - 0.5) * 0.6
        let step = behaviour.speed / max(1, behaviour.stateRate)
        position.x += step * cos(heading)
        position.y += step * sin(heading)
    }

    /// Writes the next state into `stateBytes` (reused: sending a state allocates nothing).
    private mutating func writeState(now: TickwireInstant, limit: Int) {
        stateSequence &+= 1
        stateBytes.removeAll(keepingCapacity: true)
        stateBytes.append(contentsOf: repeatElement(UInt8(truncatingIfNeeded: clientID), count: min(limit, behaviour.stateSize)))
        stateBytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: now.nanoseconds.littleEndian, toByteOffset: 0, as: UInt64.self)
            if raw.count >= 16 {
                raw.storeBytes(of: Float(position.x).bitPattern.littleEndian, toByteOffset: 8, as: UInt32.self)
                raw.storeBytes(of: Float(position.y).bitPattern.littleEndian, toByteOffset: 12, as: UInt32.self)
            }
        }
    }

    private func makeEvent(now: TickwireInstant) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: behaviour.eventSize)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: eventsSent.littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: now.nanoseconds.littleEndian, toByteOffset: 4, as: UInt64.self)
        }
        return bytes
    }

    static func reason(_ state: NetcodeClientState) -> String {
        switch state {
        case .connectionTimedOut: "timed_out"
        case .disconnected: "disconnected"
        case .connectionDenied: "server_full"
        case .connectTokenExpired: "token_expired"
        case .invalidConnectToken: "invalid_token"
        case .connectionRequestTimedOut, .connectionResponseTimedOut: "connect_timed_out"
        default: "\(state)"
        }
    }
}

/// Samples held in a bot's own memory until a batch is full, then recorded together. A swarm's
/// bots are cold between visits, and a histogram costs a cache miss or two per sample recorded
/// into it; batched, a miss is shared by a batch's samples.
struct StagedSamples {
    private var samples = InlineArray<32, Double>(repeating: 0)
    private var count = 0

    var isFull: Bool { count == samples.count }

    /// Stages `sample`; the caller records and removes a full batch first.
    mutating func append(_ sample: Double) {
        precondition(!isFull, "record and remove a full batch before staging more")
        samples[count] = sample
        count += 1
    }

    func forEach(_ body: (Double) -> Void) {
        for k in 0..<count { body(samples[k]) }
    }

    /// `recorder` with the staged samples recorded too (what was recorded and what waits, together).
    func added(to recorder: LatencyRecorder) -> LatencyRecorder {
        var all = recorder
        forEach { all.record(milliseconds: $0) }
        return all
    }

    mutating func removeAll() { count = 0 }
}
