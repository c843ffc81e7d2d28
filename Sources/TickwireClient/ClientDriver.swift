import NIOCore
import TickwireProtocol
import TickwireTransport

/// Owns a `NetcodeClient` on one event loop: feeds it datagrams and time, flushes what it sends,
/// and turns its state changes into the async API's continuations and streams.
final class ClientDriver: DatagramEndpoint {
    var machine = NetcodeClient()
    var writer: DatagramBatchWriter?
    let clock: MonotonicClock
    let payloads: AsyncStream<[UInt8]>.Continuation
    var connectWaiter: CheckedContinuation<Void, any Error>?
    private var scheduled: Scheduled<Void>?
    let updateInterval: Duration

    init(clock: MonotonicClock, payloads: AsyncStream<[UInt8]>.Continuation, updateInterval: Duration) {
        self.clock = clock
        self.payloads = payloads
        self.updateInterval = updateInterval
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
        machine.receive(datagram, from: address, now: clock.now()) { payloads.yield(Array($0)) }
        stateChanged()
    }

    func readBatchComplete() { flush() }

    func flush() { writer?.write(&machine.outbound) }

    func start(token: ConnectToken, on eventLoop: any EventLoop) {
        machine.connect(token: token, now: clock.now())
        tick(on: eventLoop)
    }

    private func tick(on eventLoop: any EventLoop) {
        machine.update(now: clock.now())
        flush()
        stateChanged()
        guard machine.state.isConnecting || machine.state == .connected else { return }
        scheduled = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(updateInterval.nanosecondsClamped)) { [self] in
            tick(on: eventLoop)
        }
    }

    func send(_ payload: [UInt8]) throws(TickwireClientError) {
        do {
            try machine.sendPayload(payload, now: clock.now())
        } catch {
            switch error {
            case .notConnected: throw .notConnected(machine.state)
            case .payloadSize(let n): throw .payloadSize(n)
            }
        }
        flush()
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
            payloads.finish()
        }
    }

    func stats() -> TickwireClientStats {
        TickwireClientStats(
            state: machine.state, clientIndex: machine.clientIndex, maxClients: machine.maxClients,
            serverAddress: machine.serverAddress, counters: machine.counters)
    }
}
