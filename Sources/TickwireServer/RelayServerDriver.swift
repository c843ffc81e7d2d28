import Logging
import NIOCore
import TickwireProtocol
import TickwireRelay
import TickwireTransport

/// Owns the sans-IO relay core on one event loop and does its I/O: feeds it datagrams with the
/// current time, wakes it at the core's next deadline (its drift-free tick, or a resend,
/// keep-alive or timeout before it), flushes its outbound queue once per read batch and per
/// update, logs its events and times its ticks. Between ticks it updates no more often than
/// `updateInterval`, however fast events arrive: they are relayed at most that late.
final class RelayServerDriver: DatagramEndpoint {
    var core: RelayServerCore
    var writer: DatagramBatchWriter?
    /// The socket the core's datagrams come from: read right before each update.
    var socket: UDPSocket?
    let clock: MonotonicClock
    let logger: Logger
    let updateInterval: Duration
    private(set) var lastTickDuration: Duration = .zero
    private(set) var maxTickDuration: Duration = .zero
    /// Every tick's duration (send included) since the last `resetTickDurations()`.
    private(set) var tickDurations = DurationHistogram()
    /// The send part of each of those ticks (writing its datagrams to the socket).
    private(set) var tickSendDurations = DurationHistogram()
    /// The thread CPU time of each of those ticks: their wall time less any time the thread was
    /// preempted (what the tick costs, apart from what else runs on its core).
    private(set) var tickCPUDurations = DurationHistogram()
    /// The thread CPU time of each of those ticks less that of its send: the core's own work
    /// (snapshots, acks, sealing), apart from the kernel's.
    private(set) var tickUpdateCPUDurations = DurationHistogram()
    private(set) var datagramsRead: UInt64 = 0
    private(set) var bytesRead: UInt64 = 0
    /// Fed tick durations as they happen and the stats once a second.
    var metrics: RelayMetrics?
    private var lastMetricsPush = TickwireInstant.zero
    private var scheduled: Scheduled<Void>?
    /// When the scheduled wake is.
    private var scheduledWake = TickwireInstant.zero
    private var lastUpdate = TickwireInstant.zero
    /// Updates run (ticks and the updates between them), for stats.
    private(set) var updates: UInt64 = 0
    private weak var eventLoop: (any EventLoop)?
    private var stopped = false
    /// Beats at every tick, for the health check (read from other threads).
    let heartbeat = TickHeartbeat()
    /// Debug hook: no update runs before this instant (a stuck tick loop, for health tests).
    var stalledUntil: TickwireInstant?
    /// Request-drop lines (debug level) are capped so a flood cannot flood the log.
    private var dropLog = LogRateLimiter(linesPerSecond: 10)

    init(core: RelayServerCore, clock: MonotonicClock, updateInterval: Duration, logger: Logger) {
        var core = core
        core.netcode.reportsRequestDrops = logger.logLevel <= .debug
        self.core = core
        self.clock = clock
        self.updateInterval = updateInterval
        self.logger = logger
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
        datagramsRead &+= 1
        bytesRead &+= UInt64(datagram.count)
        core.receive(datagram, from: address, now: clock.now())
        if !core.events.isEmpty { logEvents() }
    }

    func willReceive(from address: NetcodeAddress) {
        core.prefetch(from: address)
    }

    /// Flushes the replies, and wakes earlier when what was read gave the core work sooner than
    /// its scheduled wake (events to relay).
    func readBatchComplete() {
        flush()
        guard !stopped, let eventLoop, wakeTime() < scheduledWake else { return }
        scheduled?.cancel()
        scheduleNextUpdate(on: eventLoop)
    }

    /// The core's next deadline, no sooner than `updateInterval` after the last update unless a
    /// tick is due first.
    private func wakeTime() -> TickwireInstant {
        min(core.nextTickDeadline, max(core.nextDeadline, lastUpdate + updateInterval))
    }

    func flush() { writer?.write(&core.outbound) }

    private func scheduleStalled(until: TickwireInstant, on eventLoop: any EventLoop) {
        scheduledWake = until
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: clock.deadline(until)) { [self] in
            scheduleNextUpdate(on: eventLoop)
        }
    }

    /// Wakes at `wakeTime()`. The tick deadlines come from the core's schedule (start + n ×
    /// period), so nothing accumulates.
    func scheduleNextUpdate(on eventLoop: any EventLoop) {
        guard !stopped else { return }
        self.eventLoop = eventLoop
        let wake = wakeTime()
        scheduledWake = wake
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: clock.deadline(wake)) { [self] in
            if let until = stalledUntil {
                guard clock.now() >= until else { return scheduleStalled(until: until, on: eventLoop) }
                stalledUntil = nil
            }
            // Datagrams that arrived since the last read (the socket is read at most every
            // `readInterval`) are read first, so the update and its tick see them.
            if let socket { socket.loop.readNow(socket) }
            let ticksBefore = core.counters.ticks
            let started = ContinuousClock.now
            let startedCPU = ThreadResources.cpuTime()
            lastUpdate = clock.now()
            updates &+= 1
            // A tick's datagrams go out a sendmmsg batch at a time as the core builds them.
            var drained = Duration.zero
            var drainedCPU = Duration.zero
            core.update(now: lastUpdate, drainingEvery: writer == nil ? 0 : DatagramBatchWriter.batchSize) { queue in
                let began = ContinuousClock.now
                let beganCPU = ThreadResources.cpuTime()
                writer?.write(&queue)
                drainedCPU += ThreadResources.cpuTime() - beganCPU
                drained += ContinuousClock.now - began
            }
            let updated = ContinuousClock.now
            let ticked = core.counters.ticks != ticksBefore
            let updatedCPU = ticked ? ThreadResources.cpuTime() : .zero
            flush()
            if ticked {
                // A tick's duration includes sending what it wrote: that is most of its cost.
                let sent = ContinuousClock.now
                let took = sent - started
                lastTickDuration = took
                maxTickDuration = max(maxTickDuration, took)
                tickDurations.record(took)
                tickSendDurations.record(sent - updated + drained)
                tickCPUDurations.record(ThreadResources.cpuTime() - startedCPU)
                tickUpdateCPUDurations.record(updatedCPU - startedCPU - drainedCPU)
                metrics?.recordTick(took)
                heartbeat.beat(lastUpdate)
            }
            if let metrics, clock.now() - lastMetricsPush >= .seconds(1) {
                lastMetricsPush = clock.now()
                metrics.record(stats())
            }
            logEvents()
            scheduleNextUpdate(on: eventLoop)
        }
    }

    func resetTickDurations() {
        tickDurations = DurationHistogram()
        tickSendDurations = DurationHistogram()
        tickCPUDurations = DurationHistogram()
        tickUpdateCPUDurations = DurationHistogram()
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
            snapshots: core.snapshotTotals, tickRate: core.configuration.tickRate, ticks: core.counters.ticks,
            lateTicks: core.schedule.lateTicks, skippedTicks: core.schedule.skippedTicks,
            lastTickDuration: lastTickDuration, maxTickDuration: maxTickDuration,
            datagramsRead: datagramsRead, bytesRead: bytesRead,
            datagramsWritten: writer?.datagramsWritten ?? 0, bytesWritten: writer?.bytesWritten ?? 0,
            datagramsNotSent: writer?.datagramsDropped ?? 0, updates: updates)
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
            case .removed(let index, let clientID, let reason, let detail):
                logger.warning("client removed", metadata: [
                    "client_id": "\(clientID)", "slot": "\(index)", "reason": "\(reason.rawValue)", "detail": "\(detail)",
                ])
            case .eventRefused(let index, let clientID, let reason):
                // At most once a second per client: every refusal is counted in the metrics.
                logger.notice("event refused", metadata: ["client_id": "\(clientID)", "slot": "\(index)", "reason": "\(reason.label)"])
            case .roomFull(let index, let clientID, let room):
                logger.info("client denied: room full", metadata: ["client_id": "\(clientID)", "slot": "\(index)", "room": "\(room)"])
            case .roomNotHosted(let index, let clientID, let room):
                logger.info("client denied: room not hosted by this worker", metadata: [
                    "client_id": "\(clientID)", "slot": "\(index)", "room": "\(room)",
                ])
            case .denied(let clientID, let address):
                logger.info("connection denied: server full", metadata: ["client_id": "\(clientID)", "address": "\(address)"])
            case .requestIgnored(let clientID, let address, let reason):
                let why = reason == .serverAddressNotInToken
                    ? "server address not in connect token (token names other servers; check --public-address)"
                    : reason.description
                logger.debug("connection request ignored: \(why)", metadata: [
                    "client_id": "\(clientID)", "address": "\(address)", "reason": "\(reason)",
                ])
            case .requestDropped(let address, let reason):
                switch dropLog.admit(now: clock.now()) {
                case .log(let suppressed):
                    var metadata: Logger.Metadata = ["address": "\(address)", "reason": "\(reason)"]
                    if suppressed > 0 { metadata["suppressed_before"] = "\(suppressed)" }
                    logger.debug("connection request dropped: \(reason)", metadata: metadata)
                case .suppress:
                    break
                }
            }
        }
        core.events.removeAll(keepingCapacity: true)
    }
}
