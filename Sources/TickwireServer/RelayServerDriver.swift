import Logging
import NIOCore
import TickwireProtocol
import TickwireRelay
import TickwireTransport

/// Owns the sans-IO relay core on one event loop and does its I/O: feeds it datagrams with the
/// current time, flushes its outbound queue once per read batch and per update, logs its events.
final class RelayServerDriver: DatagramEndpoint {
    var core: RelayServerCore
    var writer: DatagramBatchWriter?
    let clock: MonotonicClock
    let logger: Logger
    let updateInterval: Duration
    private(set) var lateUpdates: UInt64 = 0
    private var updateNumber: UInt64 = 0
    private var scheduled: Scheduled<Void>?
    private var stopped = false

    init(core: RelayServerCore, clock: MonotonicClock, updateInterval: Duration, logger: Logger) {
        self.core = core
        self.clock = clock
        self.updateInterval = updateInterval
        self.logger = logger
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
        core.receive(datagram, from: address, now: clock.now())
        if !core.events.isEmpty { logEvents() }
    }

    func readBatchComplete() { flush() }

    func flush() { writer?.write(&core.outbound) }

    /// Drift-free schedule: update n runs at origin + n × interval, never "sleep interval after the last".
    func scheduleNextUpdate(on eventLoop: any EventLoop) {
        guard !stopped else { return }
        updateNumber += 1
        let due = TickwireInstant(nanoseconds: updateNumber &* UInt64(updateInterval.nanosecondsClamped))
        let now = clock.now()
        if now > due + updateInterval {
            // More than a whole period behind: count it and rejoin the schedule instead of bursting.
            lateUpdates &+= 1
            updateNumber = now.nanoseconds / UInt64(updateInterval.nanosecondsClamped) + 1
        }
        let deadline = clock.deadline(TickwireInstant(nanoseconds: updateNumber &* UInt64(updateInterval.nanosecondsClamped)))
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            core.update(now: clock.now())
            logEvents()
            flush()
            scheduleNextUpdate(on: eventLoop)
        }
    }

    func shutdown() {
        stopped = true
        scheduled?.cancel()
        let count = core.netcode.connectedClientCount
        core.shutdown(now: clock.now())
        logEvents()
        flush()
        logger.info("disconnected all clients", metadata: ["clients": "\(count)"])
    }

    func stats() -> RelayServerStats {
        RelayServerStats(
            connectedClients: core.netcode.connectedClientCount, rooms: core.roomCount,
            netcode: core.netcode.counters, relay: core.counters, links: core.linkTotals,
            lateUpdates: lateUpdates, datagramsWritten: writer?.datagramsWritten ?? 0,
            bytesWritten: writer?.bytesWritten ?? 0)
    }

    private func logEvents() {
        for event in core.events {
            switch event {
            case .joined(let index, let clientID, let room, let address):
                logger.info("client joined", metadata: [
                    "client_id": "\(clientID)", "slot": "\(index)", "room": "\(room)", "address": "\(address)",
                ])
            case .left(let index, let clientID, let room, let reason):
                logger.info("client left", metadata: [
                    "client_id": "\(clientID)", "slot": "\(index)", "room": "\(room)", "reason": "\(reason.rawValue)",
                ])
            case .removed(let index, let clientID, let why):
                logger.warning("client removed", metadata: ["client_id": "\(clientID)", "slot": "\(index)", "why": "\(why)"])
            case .denied(let clientID, let address):
                logger.info("connection denied: server full", metadata: ["client_id": "\(clientID)", "address": "\(address)"])
            case .requestIgnored(let clientID, let address, let reason):
                let why = reason == .serverAddressNotInToken
                    ? "server address not in connect token (token names other servers; check --public-address)"
                    : reason.description
                logger.debug("connection request ignored: \(why)", metadata: [
                    "client_id": "\(clientID)", "address": "\(address)", "reason": "\(reason)",
                ])
            }
        }
        core.events.removeAll(keepingCapacity: true)
    }
}
