import Foundation
import TickwireServer
import TickwireTransport

/// `tickwire bench capacity`: the relay's CPU per client-second against the ceiling of the same
/// crypto and syscalls with no relay logic, measured in one run on the same machine.
public enum CapacityBench {
    public struct Configuration: Sendable {
        public var clients = 500
        public var roomSize = 8
        public var seconds = 60.0
        public var ceilingSeconds = 10.0
        public var tickRate = 60
        public var stateRate = 20.0
        public var eventRate = 2.0
        public var relayCore: Int? = 0
        public var swarmCores: String? = "1"
        public var swarmWorkers: Int?
        public var clientAckDelayMs: Double = 0
        public var workers = 1
        /// SCHED_FIFO priority for the measured threads of both phases (the ceiling's server
        /// thread, the relay's loop threads); nil: the ordinary scheduler for both.
        public var realtimePriority: Int?
        public var executable: String
        public init(executable: String) { self.executable = executable }
    }

    /// The figures, as the JSON report names them.
    public struct Report: Codable, Sendable {
        public var clients: Int
        public var roomSize: Int
        public var tickRate: Int
        public var stateRate: Double
        public var clientAckDelayMs: Double
        public var seconds: Double
        public var ceilingUsPerClientS: Double
        public var relayUsPerClientS: Double
        public var ratio: Double
        public var packetsInPerClientS: Double
        public var packetsOutPerClientS: Double
        public var ceilingPacketsInPerClientS: Double
        public var ceilingPacketsOutPerClientS: Double
        public var meanDatagramOutBytes: Double
        public var meanDatagramInBytes: Double
        public var tickP50Ms: Double
        public var tickP99Ms: Double
        public var tickMaxMs: Double
        /// The send part of the relay's ticks (the rest is its core's update).
        public var tickSendP50Ms: Double
        public var tickSendP99Ms: Double
        /// Thread CPU time of the relay's ticks and of the ceiling's: the tick's wall time less
        /// the time other threads (of this machine's other tenants too) held its core.
        public var tickCPUP50Ms: Double
        public var tickCPUP99Ms: Double
        public var ceilingTickCPUP50Ms: Double
        public var ceilingTickCPUP99Ms: Double
        /// Thread CPU time of the relay's ticks less that of their sends: its core's own work.
        public var tickUpdateCPUP50Ms: Double
        public var tickUpdateCPUP99Ms: Double
        /// Milliseconds a second the measured threads waited, runnable, while something else held
        /// their core (other tenants, kernel threads), and how often a second they were switched
        /// out so: what the tick's wall time has and its CPU time lacks. Nil where the kernel keeps
        /// no such figures.
        public var relayWaitMsPerS: Double?
        public var relayPreemptionsPerS: Double?
        public var ceilingWaitMsPerS: Double?
        public var ceilingPreemptionsPerS: Double?
        /// Snapshots and reliable resends the relay sent per client-second (packets out less
        /// snapshots is what events, acks and resends cost in packets of their own or beside them).
        public var snapshotsPerClientS: Double
        public var resendsPerClientS: Double
        public var lateTicks: UInt64
        /// How often the relay's host woke its core (ticks included).
        public var updatesPerSecond: Double
        /// Datagrams the ceiling loop could not open or send: anything but 0 means its figures are wrong.
        public var ceilingOpenFailures: UInt64
        /// Threads of other processes busy during the relay phase (at least 0.5 ms a second),
        /// busiest first: what may have kept the relay off its core.
        public var otherThreads: [BusyThread] = []
        public var ceilingTickSendP50Ms: Double
        public var ceilingTickSendP99Ms: Double
        /// The relay's tick p99 (send included) over the ceiling's per-tick send p99.
        public var tickP99OverCeiling: Double
        public var rssBytesPerClient: Double?
        public var relayPinned: Bool
        /// The SCHED_FIFO priority both phases' measured threads ran at; nil: the ordinary scheduler.
        public var realtimePriority: Int?
        /// False when bots left during the window or the swarm's checks failed: the load was not
        /// what was asked for, and the per-client figures describe a different run.
        public var valid: Bool
        public var clientsRequested: Int
        public var clientsAtEnd: Int
        public var swarmPassed: Bool?
        public var swarmRttP99Ms: Double?
        public var swarmStalenessP99Ms: Double?
        public var swarmConnectedAtEnd: Int?
        public var workers: Int
        /// Each worker's clients (mean over the window) and CPU µs per client-second.
        public var workerClients: [Int]
        public var workerUsPerClientS: [Double]

        enum CodingKeys: String, CodingKey {
            case clients, roomSize = "room_size", tickRate = "tick_rate", stateRate = "state_rate", seconds
            case clientAckDelayMs = "client_ack_delay_ms"
            case ceilingUsPerClientS = "ceiling_us_per_client_s", relayUsPerClientS = "relay_us_per_client_s", ratio
            case packetsInPerClientS = "packets_in_per_client_s", packetsOutPerClientS = "packets_out_per_client_s"
            case ceilingPacketsInPerClientS = "ceiling_packets_in_per_client_s", ceilingPacketsOutPerClientS = "ceiling_packets_out_per_client_s"
            case meanDatagramOutBytes = "mean_datagram_out_bytes", meanDatagramInBytes = "mean_datagram_in_bytes"
            case tickP50Ms = "tick_p50_ms", tickP99Ms = "tick_p99_ms", tickMaxMs = "tick_max_ms"
            case tickSendP50Ms = "tick_send_p50_ms", tickSendP99Ms = "tick_send_p99_ms"
            case tickCPUP50Ms = "tick_cpu_p50_ms", tickCPUP99Ms = "tick_cpu_p99_ms"
            case ceilingTickCPUP50Ms = "ceiling_tick_cpu_p50_ms", ceilingTickCPUP99Ms = "ceiling_tick_cpu_p99_ms"
            case tickUpdateCPUP50Ms = "tick_update_cpu_p50_ms", tickUpdateCPUP99Ms = "tick_update_cpu_p99_ms"
            case relayWaitMsPerS = "relay_wait_ms_per_s", relayPreemptionsPerS = "relay_preemptions_per_s"
            case ceilingWaitMsPerS = "ceiling_wait_ms_per_s", ceilingPreemptionsPerS = "ceiling_preemptions_per_s"
            case snapshotsPerClientS = "snapshots_per_client_s", resendsPerClientS = "resends_per_client_s", lateTicks = "late_ticks", updatesPerSecond = "updates_per_second"
            case ceilingOpenFailures = "ceiling_open_failures"
            case otherThreads = "other_threads"
            case ceilingTickSendP50Ms = "ceiling_tick_send_p50_ms", ceilingTickSendP99Ms = "ceiling_tick_send_p99_ms"
            case tickP99OverCeiling = "tick_p99_over_ceiling"
            case rssBytesPerClient = "rss_bytes_per_client", relayPinned = "relay_pinned", valid
            case realtimePriority = "realtime_priority"
            case clientsRequested = "clients_requested", clientsAtEnd = "clients_at_end"
            case swarmPassed = "swarm_passed", swarmRttP99Ms = "swarm_rtt_p99_ms", swarmStalenessP99Ms = "swarm_staleness_p99_ms"
            case swarmConnectedAtEnd = "swarm_connected_at_end"
            case workers, workerClients = "worker_clients", workerUsPerClientS = "worker_us_per_client_s"
        }

        public func table() -> String {
            func f(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }
            var lines = [
                "capacity: \(clients) clients in rooms of \(roomSize), \(tickRate) Hz ticks, \(f(stateRate, 0)) Hz states, client ack delay \(f(clientAckDelayMs, 0)) ms, \(f(seconds, 0)) s, "
                    + (realtimePriority.map { "measured threads under SCHED_FIFO \($0)" } ?? "ordinary scheduling"),
                "                              ceiling      relay",
                "CPU µs per client-second  \(f(ceilingUsPerClientS).leftPad(10)) \(f(relayUsPerClientS).leftPad(10))   ratio \(f(ratio, 2))",
                "packets in per client-s   \(f(ceilingPacketsInPerClientS).leftPad(10)) \(f(packetsInPerClientS).leftPad(10))",
                "packets out per client-s  \(f(ceilingPacketsOutPerClientS).leftPad(10)) \(f(packetsOutPerClientS).leftPad(10))",
                "tick p50 ms (send incl.)  \(f(ceilingTickSendP50Ms, 3).leftPad(10)) \(f(tickP50Ms, 3).leftPad(10))",
                "tick p99 ms (send incl.)  \(f(ceilingTickSendP99Ms, 3).leftPad(10)) \(f(tickP99Ms, 3).leftPad(10))   relay/ceiling \(f(tickP99OverCeiling, 2))",
                "tick send p50/p99 ms      \(f(ceilingTickSendP50Ms, 3).leftPad(10)) \(f(tickSendP50Ms, 3).leftPad(10)) / \(f(tickSendP99Ms, 3))   (the relay's rest is its core's update)",
                "tick CPU time p50 ms      \(f(ceilingTickCPUP50Ms, 3).leftPad(10)) \(f(tickCPUP50Ms, 3).leftPad(10))   (wall time less preemption)",
                "tick CPU time p99 ms      \(f(ceilingTickCPUP99Ms, 3).leftPad(10)) \(f(tickCPUP99Ms, 3).leftPad(10))   relay/ceiling \(f(ceilingTickCPUP99Ms > 0 ? tickCPUP99Ms / ceilingTickCPUP99Ms : 0, 2))",
                "tick update CPU p50/p99 ms            \(f(tickUpdateCPUP50Ms, 3).leftPad(10)) / \(f(tickUpdateCPUP99Ms, 3))   (the relay's tick less its send: the core's own work)",
                "relay: \(f(snapshotsPerClientS)) snapshots and \(f(resendsPerClientS, 2)) reliable resends per client-second",
                "relay: tick max \(f(tickMaxMs, 3)) ms, late ticks \(lateTicks), \(f(updatesPerSecond, 0)) wakes a second, datagrams out \(f(meanDatagramOutBytes, 0)) B and in \(f(meanDatagramInBytes, 0)) B on average",
            ]
            if let relayWait = relayWaitMsPerS, let relayPreemptions = relayPreemptionsPerS,
               let ceilingWait = ceilingWaitMsPerS, let ceilingPreemptions = ceilingPreemptionsPerS {
                lines.append("kept off the core, ms/s (switches/s)  \(f(ceilingWait, 2)) (\(f(ceilingPreemptions))) \(f(relayWait, 2)) (\(f(relayPreemptions)))   (runnable, another thread on the core)")
            }
            if let relayWait = relayWaitMsPerS {
                let named = otherThreads.map { "\($0.name) \(f($0.msPerSecond, 1)) (core \($0.lastCore))" }
                lines.append("other processes' busy threads in the relay phase, ms/s (last core): "
                    + (named.isEmpty ? "none at 0.5 or more" : named.joined(separator: ", "))
                    + (relayWait >= 1 ? "   (the relay was kept off its core \(f(relayWait, 2)) ms/s)" : ""))
            }
            if let rss = rssBytesPerClient { lines.append("relay RSS per client: \(f(rss / 1024)) KiB") }
            if workers > 1 {
                let each = zip(workerClients, workerUsPerClientS).enumerated().map { i, w in "worker \(i): \(w.0) clients, \(f(w.1)) µs" }
                lines.append("relay workers (CPU per client-second each): " + each.joined(separator: "; "))
            }
            if let passed = swarmPassed {
                lines.append("swarm: checks \(passed ? "passed" : "FAILED"), \(swarmConnectedAtEnd ?? 0) connected at the end, RTT p99 \(f(swarmRttP99Ms ?? 0)) ms, staleness p99 \(f(swarmStalenessP99Ms ?? 0)) ms")
            } else {
                lines.append("swarm: no report")
            }
            if !valid {
                lines.append("NOT VALID: \(clientsAtEnd) of \(clientsRequested) bots connected at the end or the swarm's checks failed; the load was not what was asked (is the swarm's core saturated? try fewer clients or more --swarm-cores)")
            }
            if ceilingOpenFailures > 0 { lines.append("CEILING NOT VALID: \(ceilingOpenFailures) datagrams did not open or send") }
            if !relayPinned { lines.append("note: the relay's thread could not be pinned to a core; figures are noisier") }
            return lines.joined(separator: "\n")
        }
    }

    public static func run(
        _ configuration: Configuration, log: @escaping @Sendable (String) -> Void, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> Report {
        log("phase 2 (relay) first, so the ceiling can use the relay's own datagram sizes")
        let relay = try await RelayCapacityRun.run(
            RelayCapacityRun.Configuration(
                clients: configuration.clients, roomSize: configuration.roomSize, seconds: configuration.seconds,
                tickRate: configuration.tickRate, stateRate: configuration.stateRate, eventRate: configuration.eventRate,
                relayCore: configuration.relayCore, swarmCores: configuration.swarmCores, swarmWorkers: configuration.swarmWorkers,
                clientAckDelayMs: configuration.clientAckDelayMs, workers: configuration.workers,
                realtimePriority: configuration.realtimePriority, executable: configuration.executable),
            log: log, progress: progress)
        guard relay.clients > 0, relay.datagramsOut > 0 else { throw BenchError("no bot connected to the relay; nothing was measured") }
        let netcodeOverhead = Double(CeilingLoop.overheadBytes)
        let meanOut = relay.meanDatagramOutBytes
        let meanIn = relay.meanDatagramInBytes
        log(String(format: "phase 1 (ceiling): %d clients, %.0f B out and %.0f B in per datagram, %.0f s", relay.clients, meanOut, meanIn, configuration.ceilingSeconds))
        let ceiling = try CeilingLoop.run(CeilingLoop.Configuration(
            clients: relay.clients, tickRate: configuration.tickRate, stateRate: configuration.stateRate,
            outboundPayloadBytes: max(1, Int(meanOut - netcodeOverhead)), inboundPayloadBytes: max(1, Int(meanIn - netcodeOverhead)),
            seconds: configuration.ceilingSeconds, serverCore: configuration.relayCore, realtimePriority: configuration.realtimePriority,
            loadCore: configuration.swarmCores.flatMap { Int($0.split(separator: "-").first ?? "") }))

        return Report(configuration: configuration, relay: relay, ceiling: ceiling)
    }
}

extension CapacityBench.Report {
    /// The figures of one run: the relay phase's and the ceiling's measurements, per client-second
    /// and against each other.
    init(configuration: CapacityBench.Configuration, relay: RelayCapacityRun.Result, ceiling: CeilingLoop.Result) {
        func micros(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }
        func millis(_ d: Duration) -> Double { micros(d) / 1000 }
        let relayClientSeconds = Double(relay.clients) * relay.seconds
        let ceilingClientSeconds = Double(relay.clients) * ceiling.seconds
        let ceilingUs = micros(ceiling.cpu) / ceilingClientSeconds
        let relayUs = micros(relay.cpu) / relayClientSeconds
        let ceilingP99 = millis(ceiling.tickSend.quantile(0.99))
        var rss: Double?
        if let before = relay.residentBytesBefore, let after = relay.residentBytesAfter {
            rss = Double(after - before) / Double(relay.clients)
        }
        self.init(
            clients: relay.clients, roomSize: configuration.roomSize, tickRate: configuration.tickRate, stateRate: configuration.stateRate,
            clientAckDelayMs: configuration.clientAckDelayMs, seconds: relay.seconds, ceilingUsPerClientS: ceilingUs, relayUsPerClientS: relayUs, ratio: ceilingUs / relayUs,
            packetsInPerClientS: Double(relay.datagramsIn) / relayClientSeconds,
            packetsOutPerClientS: Double(relay.datagramsOut) / relayClientSeconds,
            ceilingPacketsInPerClientS: Double(ceiling.datagramsReceived) / ceilingClientSeconds,
            ceilingPacketsOutPerClientS: Double(ceiling.datagramsSent) / ceilingClientSeconds,
            meanDatagramOutBytes: relay.meanDatagramOutBytes, meanDatagramInBytes: relay.meanDatagramInBytes,
            tickP50Ms: millis(relay.ticks.quantile(0.5)), tickP99Ms: millis(relay.ticks.quantile(0.99)), tickMaxMs: millis(relay.ticks.max),
            tickSendP50Ms: millis(relay.tickSends.quantile(0.5)), tickSendP99Ms: millis(relay.tickSends.quantile(0.99)),
            tickCPUP50Ms: millis(relay.tickCPU.quantile(0.5)), tickCPUP99Ms: millis(relay.tickCPU.quantile(0.99)),
            ceilingTickCPUP50Ms: millis(ceiling.tickCPU.quantile(0.5)), ceilingTickCPUP99Ms: millis(ceiling.tickCPU.quantile(0.99)),
            tickUpdateCPUP50Ms: millis(relay.tickUpdateCPU.quantile(0.5)), tickUpdateCPUP99Ms: millis(relay.tickUpdateCPU.quantile(0.99)),
            relayWaitMsPerS: relay.waits.map { millis($0.waiting) / relay.seconds },
            relayPreemptionsPerS: relay.waits.map { Double($0.preemptions) / relay.seconds },
            ceilingWaitMsPerS: ceiling.waits.map { millis($0.waiting) / ceiling.seconds },
            ceilingPreemptionsPerS: ceiling.waits.map { Double($0.preemptions) / ceiling.seconds },
            snapshotsPerClientS: Double(relay.snapshotsSent) / relayClientSeconds, resendsPerClientS: Double(relay.reliableResends) / relayClientSeconds,
            lateTicks: relay.lateTicks, updatesPerSecond: Double(relay.updates) / relay.seconds,
            ceilingOpenFailures: ceiling.openFailures + ceiling.sendErrors,
            ceilingTickSendP50Ms: millis(ceiling.tickSend.quantile(0.5)), ceilingTickSendP99Ms: ceilingP99,
            tickP99OverCeiling: ceilingP99 > 0 ? millis(relay.ticks.quantile(0.99)) / ceilingP99 : 0,
            rssBytesPerClient: rss, relayPinned: relay.pinned && ceiling.pinned, realtimePriority: configuration.realtimePriority,
            valid: relay.clientsAtStart == configuration.clients && relay.clientsAtEnd == configuration.clients && relay.swarm?.passed == true,
            clientsRequested: configuration.clients, clientsAtEnd: relay.clientsAtEnd,
            swarmPassed: relay.swarm?.passed, swarmRttP99Ms: relay.swarm?.aggregate.rttMs.p99,
            swarmStalenessP99Ms: relay.swarm?.aggregate.stalenessMs.p99, swarmConnectedAtEnd: relay.swarm?.aggregate.botsConnectedAtEnd,
            workers: configuration.workers, workerClients: relay.workers.map(\.clients),
            workerUsPerClientS: relay.workers.map { $0.clients > 0 ? micros($0.cpu) / (Double($0.clients) * relay.seconds) : 0 })
        otherThreads = relay.otherThreads
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
