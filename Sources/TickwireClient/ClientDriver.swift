import NIOCore
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireTransport

/// Owns a `NetcodeClient` and its `ChannelConnection` on one event loop: feeds them datagrams
/// and time, writes the channel packets each update, and turns what arrives into the async
/// API's events.
final class ClientDriver: DatagramEndpoint {
    var machine = NetcodeClient()
    var channels: ChannelConnection
    var writer: DatagramBatchWriter?
    let clock: MonotonicClock
    let events: AsyncStream<TickwireClientEvent>.Continuation
    var connectWaiter: CheckedContinuation<Void, any Error>?
    private var scheduled: Scheduled<Void>?
    let updateInterval: Duration
    let maxPacketsPerUpdate = 8
    private var packet: [UInt8]
    private(set) var malformedMessages: UInt64 = 0

    init(clock: MonotonicClock, events: AsyncStream<TickwireClientEvent>.Continuation, updateInterval: Duration,
         channelConfiguration: ChannelConfiguration) throws {
        self.clock = clock
        self.events = events
        self.updateInterval = updateInterval
        channels = try ChannelConnection(configuration: channelConfiguration)
        packet = [UInt8](repeating: 0, count: channelConfiguration.maxPacketSize)
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
        let now = clock.now()
        machine.receive(datagram, from: address, now: now) { payload in
            channels.receive(payload, now: now) { message in
                guard case .peerState(let from, let bytes)? = RelayMessage.decode(message) else {
                    malformedMessages &+= 1
                    return
                }
                events.yield(.state(from: from, payload: bytes))
            }
        }
        while let message = channels.receiveReliable({ RelayMessage.decode($0) }) {
            switch message {
            case .peerJoined(let id)?: events.yield(.peerJoined(clientID: id))
            case .peerLeft(let id, let reason)?: events.yield(.peerLeft(clientID: id, reason: Self.reason(reason)))
            case .event(let from, let payload)?: events.yield(.event(from: from, payload: payload))
            default: malformedMessages &+= 1
            }
        }
        stateChanged()
    }

    private static func reason(_ reason: RelayMessage.PeerLeftReason) -> TickwireClientEvent.PeerLeftReason {
        switch reason {
        case .disconnected: .disconnected
        case .timedOut: .timedOut
        case .removedByServer: .removedByServer
        }
    }

    func readBatchComplete() { flush() }

    func flush() { writer?.write(&machine.outbound) }

    func start(token: ConnectToken, on eventLoop: any EventLoop) {
        machine.connect(token: token, now: clock.now())
        tick(on: eventLoop)
    }

    private func tick(on eventLoop: any EventLoop) {
        let now = clock.now()
        machine.update(now: now)
        if machine.state == .connected { writeChannelPackets(now: now) }
        flush()
        stateChanged()
        guard machine.state.isConnecting || machine.state == .connected else { return }
        scheduled = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(updateInterval.nanosecondsClamped)) { [self] in
            tick(on: eventLoop)
        }
    }

    private func writeChannelPackets(now: TickwireInstant) {
        for _ in 0..<maxPacketsPerUpdate {
            let length = packet.withUnsafeMutableBytes { channels.writePacket(into: $0, now: now) }
            if length == 0 { break }
            let sent = packet.withUnsafeBytes { raw in
                (try? machine.sendPayload(UnsafeRawBufferPointer(rebasing: raw[0..<length]), now: now)) != nil
            }
            if !sent { break }
        }
        channels.endTick()
        channels.update(now: now)
    }

    func send(_ message: RelayMessage, reliable: Bool) throws(TickwireClientError) {
        guard machine.state == .connected else { throw .notConnected(machine.state) }
        let bytes = message.encoded()
        do {
            if reliable { try channels.sendReliable(bytes) } else { try channels.sendUnreliable(bytes) }
        } catch {
            throw .send(error)
        }
    }

    func disconnect() {
        machine.disconnect(now: clock.now())
        flush()
        stateChanged()
    }

    private func stateChanged() {
        let state = machine.state
        if state == .connected, let waiter = connectWaiter {
            connectWaiter = nil
            waiter.resume()
        }
        if !state.isConnecting && state != .connected {
            scheduled?.cancel()
            if let waiter = connectWaiter {
                connectWaiter = nil
                waiter.resume(throwing: TickwireClientError.connectFailed(state))
            }
            events.finish()
        }
    }

    func stats() -> TickwireClientStats {
        TickwireClientStats(
            state: machine.state, clientIndex: machine.clientIndex, maxClients: machine.maxClients,
            serverAddress: machine.serverAddress, counters: machine.counters, link: channels.stats,
            malformedMessages: malformedMessages)
    }
}
