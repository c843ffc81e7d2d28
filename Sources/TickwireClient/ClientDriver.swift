import NIOCore
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireTransport

/// Owns a `RelayClientCore` on one event loop: feeds it datagrams and time, runs its update
/// every `updateInterval`, and turns what it reports into the async API's events.
final class ClientDriver: DatagramEndpoint {
    var core: RelayClientCore
    var writer: DatagramBatchWriter?
    let clock: MonotonicClock
    let events: AsyncStream<TickwireClientEvent>.Continuation
    var connectWaiter: CheckedContinuation<RelayMessage.Welcome, any Error>?
    private var scheduled: Scheduled<Void>?
    let updateInterval: Duration

    init(clock: MonotonicClock, events: AsyncStream<TickwireClientEvent>.Continuation, updateInterval: Duration,
         channelConfiguration: ChannelConfiguration) throws {
        self.clock = clock
        self.events = events
        self.updateInterval = updateInterval
        core = try RelayClientCore(channels: channelConfiguration)
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
        core.receive(datagram, from: address, now: clock.now())
        forwardEvents()
    }

    func readBatchComplete() { flush() }

    func flush() { writer?.write(&core.outbound) }

    func start(token: ConnectToken, on eventLoop: any EventLoop) {
        core.connect(token: token, now: clock.now())
        forwardEvents()
        update(on: eventLoop)
    }

    private func update(on eventLoop: any EventLoop) {
        core.update(now: clock.now())
        flush()
        forwardEvents()
        switch core.phase {
        case .connecting, .joined: break
        case .idle, .denied, .ended: return
        }
        scheduled = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(updateInterval.nanosecondsClamped)) { [self] in
            update(on: eventLoop)
        }
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
                connectWaiter?.resume(throwing: TickwireClientError.denied(reason))
                connectWaiter = nil
            case .peerJoined(let id, let entity): events.yield(.peerJoined(clientID: id, entityID: entity))
            case .peerLeft(let id, let reason): events.yield(.peerLeft(clientID: id, reason: Self.reason(reason)))
            case .event(let from, let payload): events.yield(.event(from: from, payload: payload))
            case .refused(let reason): events.yield(.refused(reason))
            case .ended(let state):
                scheduled?.cancel()
                connectWaiter?.resume(throwing: TickwireClientError.connectFailed(state))
                connectWaiter = nil
                events.finish()
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
        forwardEvents()
        scheduled?.cancel()
        events.finish()
    }

    func interpolate() -> InterpolationBuffer.Sample? { core.sample(at: clock.now()) }

    func stats() -> TickwireClientStats {
        let now = clock.now()
        return TickwireClientStats(
            state: core.netcode.state, clientIndex: core.netcode.clientIndex, maxClients: core.netcode.maxClients,
            serverAddress: core.netcode.serverAddress, counters: core.netcode.counters, link: core.channels.stats,
            malformedMessages: core.counters.malformedMessages, snapshots: core.decoder.counters,
            interpolation: core.interpolation.counters, interpolationDelay: core.interpolation.delay,
            estimatedServerTick: core.interpolation.estimatedServerTick(at: now), latestTick: core.latestSnapshot?.tick)
    }
}
