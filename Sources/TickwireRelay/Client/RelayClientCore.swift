import TickwireProtocol
import TickwireReliability

/// The client side of the relay as a sans-IO machine: a netcode client, its channels, the
/// snapshot decoder and the interpolation buffer. The async `TickwireClient` and the simulator's
/// bots both run this; time is always passed in.
///
/// Connecting has two steps: netcode connects, then the relay answers with `welcome` (the
/// client's entity id, the tick rate, the state size) or `denied` (for example `roomFull`).
/// `phase` says where it stands; `events` collects what happened for the owner to drain.
public struct RelayClientCore {
    public enum Phase: Equatable, Sendable {
        case idle
        case connecting
        case joined(RelayMessage.Welcome)
        case denied(RelayMessage.DenyReason)
        /// netcode ended: disconnected, timed out, denied by a full server, token problems.
        case ended(NetcodeClientState)
    }

    public enum Event: Equatable, Sendable {
        case joined(RelayMessage.Welcome)
        case denied(RelayMessage.DenyReason)
        case peerJoined(clientID: UInt64, entityID: UInt16)
        case peerLeft(clientID: UInt64, reason: RelayMessage.PeerLeftReason)
        case event(from: UInt64, payload: [UInt8])
        /// The relay did not pass on an event of ours (said at most once a second).
        case refused(RelayMessage.RefusalReason)
        case ended(NetcodeClientState)
    }

    public struct Counters: Sendable, Equatable {
        /// Messages from the server in no known format: dropped.
        public var malformedMessages: UInt64 = 0
        public var resyncRequests: UInt64 = 0
    }

    public private(set) var netcode = NetcodeClient()
    public private(set) var channels: ChannelConnection

    /// Starts logging this client's packets (`PacketLog`): what a trace recorder needs.
    public mutating func logPackets() { channels.packetLog = PacketLog() }
    public private(set) var decoder: SnapshotDecoder
    public private(set) var interpolation: InterpolationBuffer
    public private(set) var phase: Phase = .idle
    /// The protocol version of a server whose welcome this client could not read (it was denied
    /// `.unsupportedProtocol` and left).
    public private(set) var otherProtocolVersion: UInt16?

    /// Connecting or joined: the phases in which `update` has work and a host keeps waking it.
    public var isActive: Bool {
        switch phase {
        case .connecting, .joined: true
        case .idle, .denied, .ended: false
        }
    }
    public private(set) var latestSnapshot: RoomSnapshot?
    public private(set) var counters = Counters()
    public var events: [Event] = []
    public let maxPacketsPerUpdate = 8
    private var packet: [UInt8]
    private var snapshotMessages: [UInt8] = []
    private var snapshotSpans: [Range<Int>] = []
    private var resyncAsked: TickwireInstant?
    /// A state message being framed (kind byte and payload), reused.
    private var stateFrame: [UInt8] = []

    /// The client's default ack delay when it sends no states at a steady pace: none, a snapshot
    /// is acked by the next update.
    public static let defaultAckDelay: Duration = .zero
    /// While states go out at a steady interval no longer than this, an owed ack waits for the
    /// next state (a quarter interval late at most) and rides on it instead of leaving alone.
    public static let statePacedAckLimit: Duration = .nanoseconds(statePacedAckLimitNanoseconds)
    private static var statePacedAckLimitNanoseconds: Int64 { 100_000_000 }

    /// Acks wait for the next state when states go at a steady pace (see `statePacedAckLimit`).
    public let pacesAcksWithStates: Bool
    /// A state was queued since the last update.
    private var stateQueued = false
    private var lastStateSent: TickwireInstant?
    /// The interval between states, smoothed (nanoseconds).
    private var stateInterval: Int64?

    /// `ackDelay` replaces `channels.maxAckDelay`: how long an ack may wait for a state or event
    /// to ride on (zero acks every snapshot with a packet of its own, unless `pacesAcksWithStates`
    /// holds it for a state due soon).
    public init(
        channels configuration: ChannelConfiguration = ChannelConfiguration(), ackDelay: Duration = RelayClientCore.defaultAckDelay,
        pacesAcksWithStates: Bool = true
    ) throws(ChannelConfigurationError) {
        self.pacesAcksWithStates = pacesAcksWithStates
        var configuration = configuration
        // The server acks snapshots per packet: every snapshot that arrives must be decoded,
        // even one overtaken by a newer packet, or the server may use it as a baseline we lack.
        configuration.deliverStaleUnreliable = true
        configuration.maxAckDelay = ackDelay
        channels = try ChannelConnection(configuration: configuration)
        decoder = SnapshotDecoder(maxStateSize: RelayConfiguration.stateSizes.upperBound)
        interpolation = InterpolationBuffer(configuration: .init(tickRate: 60))
        packet = [UInt8](repeating: 0, count: configuration.maxPacketSize)
    }

    public var outbound: OutboundQueue {
        get { netcode.outbound }
        _modify { yield &netcode.outbound }
    }
    /// Whether datagrams wait in `outbound`, without copying the queue (as `outbound.isEmpty`
    /// read through this getter would, retaining its buffers).
    public var hasOutbound: Bool { !netcode.outbound.isEmpty }

    public var welcome: RelayMessage.Welcome? {
        if case .joined(let welcome) = phase { return welcome }
        return nil
    }

    public mutating func connect(token: ConnectToken, now: TickwireInstant) {
        netcode.connect(token: token, now: now)
        phase = .connecting
        followNetcode()
    }

    public mutating func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, now: TickwireInstant) {
        snapshotMessages.removeAll(keepingCapacity: true)
        snapshotSpans.removeAll(keepingCapacity: true)
        netcode.receive(datagram, from: address, now: now) { payload in
            channels.receive(payload, now: now) { message in
                snapshotSpans.append(snapshotMessages.count..<snapshotMessages.count + message.count)
                snapshotMessages.append(contentsOf: message)
            }
        }
        while let message = channels.receiveReliable({ RelayMessage.decode($0) }) {
            guard let message else {
                counters.malformedMessages &+= 1
                continue
            }
            handle(message, now: now)
        }
        for span in snapshotSpans { decodeSnapshot(span, now: now) }
        followNetcode()
    }

    public mutating func receive(_ datagram: [UInt8], from address: NetcodeAddress, now: TickwireInstant) {
        datagram.withUnsafeBytes { receive($0, from: address, now: now) }
    }

    /// The earliest instant at which `update` has work without new input: a keep-alive, a
    /// timeout, a connection request resend, a reliable resend, an ack that waited its delay, or
    /// now when a state or event was queued since the last update. nil: nothing until new input.
    /// (Read on a copy of the core, for inspection; a host asks `hostWake`, which reads in place.)
    public var nextDeadline: TickwireInstant? {
        var core = self
        return core.pollDeadline()
    }

    /// `nextDeadline`, read in place (see `hostWake`). The connection's poll says now while
    /// unreliable messages are queued.
    private mutating func pollDeadline() -> TickwireInstant? {
        guard var deadline = netcode.pollTimeout() else { return nil }
        guard netcode.state == .connected else { return deadline }
        if stateQueued { return .zero }
        if let channel = channels.pollTimeout() { deadline = min(deadline, channel) }
        return deadline
    }

    /// When a host should next call `update`: `nextDeadline`, but no sooner than `minimumInterval`
    /// after its last update (a host batches what is queued between updates); nil once there is
    /// nothing to wake for (not connecting or joined). Every shell wakes by this rule.
    ///
    /// `mutating` though it changes nothing, as quinn-proto's `poll_timeout` takes `&mut self`, so
    /// that the core and its parts are read where they are: a non-mutating call on a core held in
    /// memory (a swarm asks each of its hundreds of cores every 10 ms) is handed a copy of it on
    /// the stack, and `nextDeadline` copies its netcode client and connection in turn, 2.5 KB a call.
    public mutating func hostWake(lastUpdate: TickwireInstant, minimumInterval: Duration) -> TickwireInstant? {
        guard isActive, let deadline = pollDeadline() else { return nil }
        return max(deadline, lastUpdate + minimumInterval)
    }

    /// Keep-alives and timeouts, then the queued messages' packets.
    public mutating func update(now: TickwireInstant) {
        netcode.update(now: now)
        if netcode.state == .connected {
            if stateQueued { noteStateSent(now: now) }
            for _ in 0..<maxPacketsPerUpdate {
                let length = packet.withUnsafeMutableBytes { channels.writePacket(into: $0, now: now) }
                if length == 0 { break }
                let sent = packet.withUnsafeBytes { raw in
                    (try? netcode.sendPayload(UnsafeRawBufferPointer(rebasing: raw[0..<length]), now: now)) != nil
                }
                if !sent { break }
            }
            channels.endTick()
            // Static, on the two fields it reads: as a method it took a copy of the whole core
            // (1.5 KB, every update).
            channels.ackHold = pacesAcksWithStates ? Self.nextStateDue(now: now, last: lastStateSent, interval: stateInterval) : nil
            channels.update(now: now)
        }
        followNetcode()
    }

    private mutating func noteStateSent(now: TickwireInstant) {
        stateQueued = false
        if let last = lastStateSent {
            let sample = (now - last).nanosecondsClamped
            // Small changes are smoothed; a pause or a new pace is taken at once.
            if let interval = stateInterval, sample <= 2 * interval, 2 * sample >= interval {
                stateInterval = interval + (sample - interval) / 8
            } else {
                stateInterval = sample
            }
        }
        lastStateSent = now
    }

    /// When the next state is expected, a quarter interval late at most, while states keep a
    /// steady pace within `statePacedAckLimit`; else nil.
    private static func nextStateDue(now: TickwireInstant, last: TickwireInstant?, interval: Int64?) -> TickwireInstant? {
        // In nanoseconds: `Duration` arithmetic is 128-bit, and this runs every update.
        guard let last, let interval, interval > 0, interval <= statePacedAckLimitNanoseconds,
              now.nanoseconds <= last.nanoseconds || now.nanoseconds - last.nanoseconds <= UInt64(2 * interval)
        else { return nil }
        return last.adding(nanoseconds: UInt64(interval + interval / 4))
    }

    /// netcode's keep-alives and timeouts only: nothing from the channels goes out, not even
    /// acks. For load tools that model a client holding its slot without taking part.
    public mutating func updateNetcodeOnly(now: TickwireInstant) {
        netcode.update(now: now)
        followNetcode()
    }

    /// Sends `payload` as one netcode payload exactly as given, bypassing the channels: for
    /// tests and the simulator's hostile bots, which craft packets a correct client never
    /// sends. False when not connected or the size is outside 1...1200 bytes.
    @discardableResult
    public mutating func sendRawPayload(_ payload: [UInt8], now: TickwireInstant) -> Bool {
        (try? netcode.sendPayload(payload, now: now)) != nil
    }

    /// Queues a relay message without this client's own limits (event size, state size): for
    /// tests and hostile bots that check what the relay does with what a correct client refuses.
    public mutating func sendUnchecked(_ message: RelayMessage, reliable: Bool) throws(ChannelSendError) {
        let bytes = message.encoded()
        if reliable { try channels.sendReliable(bytes) } else { try channels.sendUnreliable(bytes) }
    }

    public mutating func disconnect(now: TickwireInstant) {
        netcode.disconnect(now: now)
        followNetcode()
    }

    /// An event, reliably and in order, to the whole room. Throws `.eventTooLarge` above the
    /// relay's `welcome.maxEventBytes`, which the relay would refuse.
    public mutating func sendEvent(_ payload: [UInt8]) throws(RelayClientError) {
        try checkEventSize(payload)
        try send(.eventToRoom(payload: payload), reliable: true)
    }

    /// An event, reliably and in order, to one client of the room.
    public mutating func sendEvent(_ payload: [UInt8], to clientID: UInt64) throws(RelayClientError) {
        try checkEventSize(payload)
        try send(.eventToClient(clientID: clientID, payload: payload), reliable: true)
    }

    private func checkEventSize(_ payload: [UInt8]) throws(RelayClientError) {
        if let limit = welcome?.maxEventBytes, payload.count > Int(limit) {
            throw .eventTooLarge(size: payload.count, limit: Int(limit))
        }
    }

    /// This client's entity state, unreliably: the server keeps the newest.
    public mutating func sendState(_ payload: [UInt8]) throws(RelayClientError) {
        var failure: RelayClientError?
        payload.withUnsafeBytes { raw in
            do throws(RelayClientError) { try sendState(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Sends the entity's state from caller-owned memory, framed in a reused buffer: no allocation.
    public mutating func sendState(_ payload: UnsafeRawBufferPointer) throws(RelayClientError) {
        if let limit = welcome?.maxStateSize, payload.count > Int(limit) {
            throw .stateTooLarge(size: payload.count, limit: Int(limit))
        }
        guard welcome != nil else { throw .notJoined(phase) }
        stateFrame.removeAll(keepingCapacity: true)
        stateFrame.append(RelayMessage.Kind.state)
        stateFrame.append(contentsOf: payload)
        var failure: ChannelSendError?
        stateFrame.withUnsafeBytes { raw in
            do throws(ChannelSendError) { try channels.sendUnreliable(raw) } catch { failure = error }
        }
        if let failure { throw .send(failure) }
        stateQueued = true
    }

    /// What to render now (see `InterpolationBuffer`).
    public mutating func sample(at now: TickwireInstant) -> InterpolationBuffer.Sample? { interpolation.sample(at: now) }

    private mutating func send(_ message: RelayMessage, reliable: Bool) throws(RelayClientError) {
        guard welcome != nil else { throw .notJoined(phase) }
        let bytes = message.encoded()
        do {
            if reliable { try channels.sendReliable(bytes) } else { try channels.sendUnreliable(bytes) }
        } catch {
            throw .send(error)
        }
    }

    /// (Internal for tests: a welcome in another version cannot come from this build's relay.)
    mutating func handle(_ message: RelayMessage, now: TickwireInstant) {
        switch message {
        case .welcome(let welcome):
            phase = .joined(welcome)
            interpolation.configuration.tickRate = max(1, Int(welcome.tickRate))
            events.append(.joined(welcome))
        case .denied(let reason):
            phase = .denied(reason)
            events.append(.denied(reason))
        case .welcomeInOtherVersion(let version, _):
            guard case .connecting = phase else { return }
            otherProtocolVersion = version
            phase = .denied(.unsupportedProtocol)
            events.append(.denied(.unsupportedProtocol))
            // Leave now rather than linger until the relay times this client out.
            netcode.disconnect(now: now)
        case .peerJoined(let id, let entity): events.append(.peerJoined(clientID: id, entityID: entity))
        case .peerLeft(let id, let reason): events.append(.peerLeft(clientID: id, reason: reason))
        case .event(let from, let payload): events.append(.event(from: from, payload: payload))
        case .refused(let reason): events.append(.refused(reason))
        default: counters.malformedMessages &+= 1
        }
    }

    private mutating func decodeSnapshot(_ span: Range<Int>, now: TickwireInstant) {
        let outcome = snapshotMessages.withUnsafeBytes { decoder.decode(UnsafeRawBufferPointer(rebasing: $0[span])) }
        switch outcome {
        case .decoded(let tick, let micros):
            if channels.packetLog != nil { channels.packetLog!.noteServerTime(micros) }
            guard let view = decoder.view(tick: tick) else { return }
            let snapshot = RoomSnapshot(tick: tick, serverTimeMicros: micros, view: view)
            if latestSnapshot.map({ tick > $0.tick }) ?? true { latestSnapshot = snapshot }
            interpolation.insert(snapshot, receivedAt: now)
        case .missingBaseline:
            // Ask once per second at most; the server then sends a full snapshot.
            if resyncAsked.map({ now - $0 >= .seconds(1) }) ?? true, welcome != nil {
                resyncAsked = now
                counters.resyncRequests &+= 1
                _ = try? channels.sendReliable(RelayMessage.resync.encoded())
            }
        case .duplicate, .malformed:
            break
        }
    }

    private mutating func followNetcode() {
        let state = netcode.state
        guard !state.isConnecting, state != .connected else { return }
        switch phase {
        case .connecting, .joined:
            phase = .ended(state)
            events.append(.ended(state))
        case .denied, .idle, .ended:
            break
        }
    }
}

public enum RelayClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not in a room yet (or any more).
    case notJoined(RelayClientCore.Phase)
    /// The message was refused (too large, or the reliable queue is full); nothing was queued.
    case send(ChannelSendError)
    case stateTooLarge(size: Int, limit: Int)
    /// Over the relay's event size limit (`Welcome.maxEventBytes`); nothing was queued.
    case eventTooLarge(size: Int, limit: Int)

    public var description: String {
        switch self {
        case .notJoined(let phase): "not in a room (\(phase))"
        case .send(let error): "message refused: \(error)"
        case .stateTooLarge(let size, let limit): "state of \(size) bytes is over the room's limit of \(limit) bytes"
        case .eventTooLarge(let size, let limit): "event of \(size) bytes is over the relay's limit of \(limit) bytes"
        }
    }
}
