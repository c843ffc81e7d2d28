import NIOCore
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireTransport

/// Owns a `RelayClientCore` on one `DatagramLoop`: feeds it datagrams and time, wakes it at the
/// core's next deadline (a keep-alive, a resend, an ack due, a state or event queued), no sooner
/// than `updateInterval` after its last update, and turns what it reports into the async API's
/// events.
final class ClientDriver: DatagramEndpoint {
    var core: RelayClientCore
    var writer: DatagramBatchWriter?
    let clock: MonotonicClock
    let events: AsyncStream<TickwireClientEvent>.Continuation
    var connectWaiter: CheckedContinuation<RelayMessage.Welcome, any Error>?
    /// The connect attempt was given up (cancelled or timed out) before it started.
    private var abandoned: (any Error)?
    private var finished = false
    /// Why the connection ended, once it has.
    private(set) var endReason: TickwireClientEvent.DisconnectReason?
    private var scheduled: Scheduled<Void>?
    /// When the scheduled wake is (nil: none scheduled).
    private var scheduledWake: TickwireInstant?
    private var lastUpdate = TickwireInstant.zero
    private weak var eventLoop: (any EventLoop)?
    let updateInterval: Duration
    /// Updates run, for tests and stats.
    private(set) var updates: UInt64 = 0

    init(clock: MonotonicClock, events: AsyncStream<TickwireClientEvent>.Continuation, updateInterval: Duration) throws {
        self.clock = clock
        self.events = events
        self.updateInterval = updateInterval
        // Protocol version 1 fixes the channel sizes (PROTOCOL.md 5.1); the relay's own limits
        // arrive in the welcome.
        core = try RelayClientCore()
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
        core.receive(datagram, from: address, now: clock.now())
        forwardEvents()
    }

    /// Flushes the replies, and wakes earlier when what was read gave the core work sooner
    /// (an ack owed).
    func readBatchComplete() {
        flush()
        scheduleWake()
    }

    func flush() { writer?.write(&core.outbound) }

    func start(token: ConnectToken, on eventLoop: any EventLoop, timeout: Duration) {
        self.eventLoop = eventLoop
        if let abandoned {
            connectWaiter?.resume(throwing: abandoned)
            connectWaiter = nil
            finish(nil)
            return
        }
        core.connect(token: token, now: clock.now())
        forwardEvents()
        update()
        eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(timeout.nanosecondsClamped)) { [self] in
            abandonConnect(with: TickwireClientError.timedOut(after: timeout))
        }
    }

    /// Gives up a connect still waiting for its welcome: leaves (disconnect packets if the
    /// netcode connection was made) and fails the waiter with `error`.
    func abandonConnect(with error: any Error) {
        guard let waiter = connectWaiter else {
            if eventLoop == nil { abandoned = error }  // before `start`: it fails at once
            return
        }
        connectWaiter = nil
        core.disconnect(now: clock.now())
        flush()
        core.events.removeAll()
        scheduled?.cancel()
        waiter.resume(throwing: error)
        finish(nil)
    }

    /// Ends the event stream, with `.disconnected(reason)` as its last event when given.
    private func finish(_ reason: TickwireClientEvent.DisconnectReason?) {
        guard !finished else { return }
        finished = true
        endReason = reason ?? .byClient
        if let reason { events.yield(.disconnected(reason)) }
        events.finish()
    }

    /// Something was queued (a state, an event): wake for it.
    func queued() { scheduleWake() }

    private func update() {
        scheduledWake = nil
        lastUpdate = clock.now()
        updates &+= 1
        core.update(now: lastUpdate)
        flush()
        forwardEvents()
        scheduleWake()
    }

    /// Wakes at the core's next deadline, no sooner than `updateInterval` after the last update,
    /// unless a wake no later than that is already scheduled.
    private func scheduleWake() {
        guard let eventLoop, let wake = core.hostWake(lastUpdate: lastUpdate, minimumInterval: updateInterval) else { return }
        if let current = scheduledWake, current <= wake { return }
        scheduled?.cancel()
        scheduledWake = wake
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: clock.deadline(wake)) { [self] in update() }
    }

    private func forwardEvents() {
        guard !core.events.isEmpty else { return }
        let happened = core.events
        core.events.removeAll()
        for event in happened {
            switch event {
            case .joined(let welcome):
                connectWaiter?.resume(returning: welcome)
                connectWaiter = nil
            case .denied(let reason):
                connectWaiter?.resume(throwing: TickwireClientError.denied(.init(reason, serverVersion: core.otherProtocolVersion)))
                connectWaiter = nil
            case .peerJoined(let id, let entity): events.yield(.peerJoined(clientID: id, entityID: entity))
            case .peerLeft(let id, let reason): events.yield(.peerLeft(clientID: id, reason: Self.reason(reason)))
            case .event(let from, let payload): events.yield(.event(from: from, payload: payload))
            case .refused(let reason): events.yield(.refused(TickwireClientEvent.from(reason)))
            case .ended(let state):
                scheduled?.cancel()
                connectWaiter?.resume(throwing: TickwireClientError.connectFailed(.init(state)))
                connectWaiter = nil
                finish(TickwireClientEvent.from(state))
            }
        }
    }

    private static func reason(_ reason: RelayMessage.PeerLeftReason) -> TickwireClientEvent.PeerLeftReason {
        switch reason {
        case .disconnected: .disconnected
        case .timedOut: .timedOut
        case .removedByServer: .removedByServer
        }
    }

    func disconnect() {
        core.disconnect(now: clock.now())
        flush()
        core.events.removeAll()  // its own `.ended`: the reason is this call
        scheduled?.cancel()
        finish(.byClient)
    }

    var connectionState: TickwireClient.ConnectionState {
        if let endReason { return .disconnected(endReason) }
        return core.netcode.state == .connected ? .connected : .connecting
    }

    func interpolate() -> InterpolationBuffer.Sample? { core.sample(at: clock.now()) }

    func stats() -> TickwireClientStats {
        let now = clock.now()
        let snapshots = core.decoder.counters
        let interpolation = core.interpolation.counters
        return TickwireClientStats(
            isConnected: core.netcode.state == .connected, link: .init(core.channels.stats),
            malformedMessages: core.counters.malformedMessages,
            snapshots: .init(decoded: snapshots.decoded, duplicates: snapshots.duplicates,
                             missingBaseline: snapshots.missingBaseline, malformed: snapshots.malformed),
            interpolation: .init(interpolated: interpolation.interpolated, extrapolated: interpolation.extrapolated,
                                 held: interpolation.held, arrivedTooLate: interpolation.arrivedTooLate),
            interpolationDelay: core.interpolation.delay,
            estimatedServerTick: core.interpolation.estimatedServerTick(at: now), latestTick: core.latestSnapshot?.tick)
    }
}
