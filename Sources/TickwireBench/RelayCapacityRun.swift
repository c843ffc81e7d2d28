import Foundation
import Logging
import NIOPosix
import TickwireCrypto
import TickwireProtocol
import TickwireRelay
import TickwireServer
import TickwireSimulation
import TickwireTransport

/// Phase 2 of the capacity benchmark: a real relay core (the one `tickwire serve` runs) on its
/// I/O thread pinned to the relay's core, loaded by a `tickwire swarm` child process pinned to
/// the other cores. Its loop thread's CPU time, datagrams and tick durations are read over a
/// window that starts once every bot is connected and has settled.
///
/// With `workers` > 1 the relay is `tickwire serve --workers N` in process: worker i on its own
/// loop pinned to core relayCore + i (mod cores), rooms placed by the join API, which the swarm
/// asks for every bot's token. Figures are summed over the workers, and given per worker.
public enum RelayCapacityRun {
    public struct Configuration: Sendable {
        public var clients: Int
        public var roomSize: Int
        public var seconds: Double
        public var warmupSeconds: Double = 3
        public var tickRate = 60
        public var stateRate = 20.0
        public var eventRate = 2.0
        public var relayCore: Int?
        /// Cores the swarm may use, e.g. "1" or "1-3"; nil: unpinned.
        public var swarmCores: String?
        public var swarmWorkers: Int?
        public var clientAckDelayMs: Double = 0
        /// Relay workers (I/O threads, one UDP socket each).
        public var workers = 1
        /// SCHED_FIFO priority of the relay's loop threads (`serve --realtime-priority`); nil: the ordinary scheduler.
        public var realtimePriority: Int?
        /// The `tickwire` executable to run the swarm with.
        public var executable: String
    }

    /// One worker's share of the window.
    public struct WorkerShare: Sendable {
        public var clients: Int
        public var cpu: Duration
    }

    public struct Result: Sendable {
        public var clients: Int
        public var clientsAtStart: Int
        public var clientsAtEnd: Int
        public var seconds: Double
        public var cpu: Duration
        public var datagramsIn: UInt64
        public var datagramsOut: UInt64
        public var bytesIn: UInt64
        public var bytesOut: UInt64
        public var ticks: DurationHistogram
        /// The send part of each tick (its datagrams written to the socket).
        public var tickSends: DurationHistogram
        /// Each tick's thread CPU time (its wall time less preemption).
        public var tickCPU: DurationHistogram
        /// Each tick's thread CPU time less its send's: the relay core's own work in the tick.
        public var tickUpdateCPU: DurationHistogram
        /// The loop threads' time runnable but kept off their cores over the window, summed (nil
        /// where the kernel keeps no such figures).
        public var waits: SchedulerWaits?
        /// Reliable records sent again, and snapshots sent, over the window (what the packets out carried).
        public var reliableResends: UInt64
        public var snapshotsSent: UInt64
        public var lateTicks: UInt64
        public var updates: UInt64
        public var residentBytesBefore: Int?
        public var residentBytesAfter: Int?
        public var swarm: SwarmReport?
        public var swarmExitCode: Int32
        public var pinned: Bool
        public var workers: [WorkerShare]
        /// Threads of other processes that used CPU in the window (the machine's own, other
        /// tenants'), busiest first: what may have held the relay's core.
        public var otherThreads: [BusyThread] = []

        /// The relay's datagrams' mean size each way (in: 100 B when none came).
        public var meanDatagramOutBytes: Double { datagramsOut == 0 ? 0 : Double(bytesOut) / Double(datagramsOut) }
        public var meanDatagramInBytes: Double { datagramsIn == 0 ? 100 : Double(bytesIn) / Double(datagramsIn) }
    }

    /// `log` gets the phases; `progress`, a line to show in place while waiting (connections, the measured seconds).
    public static func run(
        _ configuration: Configuration, log: @Sendable (String) -> Void, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> Result {
        let key = SecureRandom.bytes(32)
        var options = RelayServerOptions(privateKey: key)
        options.bindHost = "127.0.0.1"
        options.bindPort = 0
        options.maxClients = min(NetcodeServerConfiguration.maxClientsLimit, configuration.clients + 16)
        options.relay.tickRate = configuration.tickRate
        options.relay.roomCapacity = max(configuration.roomSize, 2)
        options.realtimePriority = configuration.realtimePriority
        var logger = Logger(label: "tickwire.bench.relay")
        logger.logLevel = .error
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.workers)
        do {
            let result = try await measure(configuration, options: options, key: key, group: group, logger: logger, log: log, progress: progress)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func measure(
        _ configuration: Configuration, options: RelayServerOptions, key: [UInt8], group: MultiThreadedEventLoopGroup,
        logger: Logger, log: @Sendable (String) -> Void, progress: @Sendable (String) -> Void
    ) async throws -> Result {
        var options = options
        var join: JoinAPIOptions?
        let joinKey = SecureRandom.bytes(24).map { String(format: "%02x", $0) }.joined()
        let keyURL = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-bench-join-\(getpid()).key")
        defer { try? FileManager.default.removeItem(at: keyURL) }
        if configuration.workers > 1 {
            options.metricsHost = "127.0.0.1"
            options.metricsPort = 0
            options.maxClients = min(NetcodeServerConfiguration.maxClientsLimit, configuration.clients + 16 * configuration.workers)
            join = JoinAPIOptions(apiKey: Array(joinKey.utf8))
            join?.tokenSeconds = 600
            try Data(joinKey.utf8).write(to: keyURL)
        }
        let relay = try await RelayWorkerGroup.start(options: options, count: configuration.workers, join: join, group: group, logger: logger)
        let hosts = relay.workers
        let cores = ThreadResources.availableCores()
        var pinned = true
        for (index, host) in hosts.enumerated() {
            let core = configuration.relayCore.map { ($0 + index) % max(cores, 1) }
            pinned = try await host.onLoopThread { core.map { ThreadResources.pin(toCore: $0) } ?? false } && pinned
        }
        let residentBefore = ThreadResources.residentBytes()
        func snapshot() async throws -> [RelayServerStats] {
            var all: [RelayServerStats] = []
            for host in hosts { all.append(try await host.stats()) }
            return all
        }
        func sum(_ stats: [RelayServerStats], _ read: (RelayServerStats) -> UInt64) -> UInt64 { stats.reduce(0) { $0 + read($1) } }

        let joinsPerSecond = 250.0
        let swarmSeconds = Double(configuration.clients) / joinsPerSecond + configuration.warmupSeconds + configuration.seconds + 8
        let reportURL = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-bench-swarm-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: reportURL) }
        var arguments = [configuration.executable, "swarm"]
        if let admin = relay.adminChannel?.localAddress?.port, join != nil {
            arguments += ["--join-api", "http://127.0.0.1:\(admin)", "--join-api-key-file", keyURL.path]
        } else {
            arguments += ["--server", "127.0.0.1:\(hosts[0].localAddress.port ?? 0)"]
        }
        arguments += [
            "--bots", "\(configuration.clients)", "--bots-per-room", "\(configuration.roomSize)",
            "--seconds", String(format: "%.1f", swarmSeconds), "--joins-per-second", "\(Int(joinsPerSecond))",
            "--state-rate", "\(configuration.stateRate)", "--event-rate", "\(configuration.eventRate)",
            "--report", reportURL.path,
        ]
        if let workers = configuration.swarmWorkers { arguments += ["--workers", "\(workers)"] }
        arguments += ["--client-ack-delay-ms", "\(configuration.clientAckDelayMs)"]
        let process = Process()
        if let cores = configuration.swarmCores, FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cores] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
        }
        var environment = ProcessInfo.processInfo.environment
        environment["TICKWIRE_PRIVATE_KEY"] = key.map { String(format: "%02x", $0) }.joined()
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        // The swarm's errors go to a file (a pipe nobody drains could fill and stop the swarm).
        let errorsURL = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-bench-swarm-\(getpid()).err")
        _ = FileManager.default.createFile(atPath: errorsURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorsURL) }
        process.standardError = try FileHandle(forWritingTo: errorsURL)
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Wait for every bot to connect (or give up after the joins should have finished, plus slack).
        let connectDeadline = ContinuousClock.now + .seconds(Double(configuration.clients) / joinsPerSecond + 20)
        var connected = 0
        while ContinuousClock.now < connectDeadline, process.isRunning {
            connected = Int(sum(try await snapshot()) { UInt64($0.connectedClients) })
            progress("relay: \(connected) of \(configuration.clients) bots connected")
            if connected >= configuration.clients { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        guard process.isRunning else {
            let text = (try? String(contentsOf: errorsURL, encoding: .utf8)) ?? ""
            throw BenchError("the swarm exited before the measurement: \(text.suffix(400))")
        }
        log("relay: \(connected) of \(configuration.clients) bots connected; settling \(configuration.warmupSeconds) s")
        try await Task.sleep(for: .seconds(configuration.warmupSeconds))

        for host in hosts { _ = try await host.takeTickDurations() }
        /// `read` on each worker's loop thread, in worker order.
        func onEachLoop<T: Sendable>(_ read: @escaping @Sendable () -> T) async throws -> [T] {
            var all: [T] = []
            for host in hosts { all.append(try await host.onLoopThread(read)) }
            return all
        }
        // Outside the CPU readings: reading every thread's /proc files takes some milliseconds.
        let censusStart = ThreadCensus.take()
        let waitsStart = try await onEachLoop { ThreadResources.schedulerWaits() }
        let cpuStart = try await onEachLoop { ThreadResources.cpuTime() }
        let before = try await snapshot()
        let windowStart = ContinuousClock.now
        log("relay: measuring \(configuration.seconds) s on \(hosts.count) worker\(hosts.count == 1 ? "" : "s")")
        let measureEnd = ContinuousClock.now + .seconds(configuration.seconds)
        while ContinuousClock.now < measureEnd {
            let left = measureEnd - ContinuousClock.now
            progress(String(format: "relay: measuring, %.0f of %.0f s left", left.secondsDouble, configuration.seconds))
            try await Task.sleep(for: min(left, .seconds(1)))
        }
        let cpuEnd = try await onEachLoop { ThreadResources.cpuTime() }
        let waitsEnd = try await onEachLoop { ThreadResources.schedulerWaits() }
        let after = try await snapshot()
        let censusEnd = ThreadCensus.take()
        var ticks = DurationHistogram()
        var tickSends = DurationHistogram()
        var tickCPU = DurationHistogram()
        var tickUpdateCPU = DurationHistogram()
        for host in hosts {
            let taken = try await host.takeTickDurations()
            ticks.merge(taken.ticks)
            tickSends.merge(taken.sends)
            tickCPU.merge(taken.cpu)
            tickUpdateCPU.merge(taken.updateCPU)
        }
        let window = ContinuousClock.now - windowStart
        let residentAfter = ThreadResources.residentBytes()
        let connectedBefore = Int(sum(before) { UInt64($0.connectedClients) })
        let connectedAfter = Int(sum(after) { UInt64($0.connectedClients) })
        let shares = hosts.indices.map { i in
            WorkerShare(clients: (before[i].connectedClients + after[i].connectedClients) / 2, cpu: cpuEnd[i] - cpuStart[i])
        }

        log("relay: waiting for the swarm's report")
        let exitDeadline = ContinuousClock.now + .seconds(swarmSeconds + 30)
        while process.isRunning, ContinuousClock.now < exitDeadline { try await Task.sleep(for: .milliseconds(200)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let swarm = (try? Data(contentsOf: reportURL)).flatMap { try? JSONDecoder().decode(SwarmReport.self, from: $0) }
        try await relay.shutdown()

        var result = Result(
            // Per-client figures divide by the clients actually connected over the window.
            clients: (connectedBefore + connectedAfter) / 2,
            clientsAtStart: connectedBefore, clientsAtEnd: connectedAfter,
            seconds: Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18,
            cpu: shares.reduce(Duration.zero) { $0 + $1.cpu },
            datagramsIn: sum(after, \.datagramsRead) - sum(before, \.datagramsRead),
            datagramsOut: sum(after, \.datagramsWritten) - sum(before, \.datagramsWritten),
            bytesIn: sum(after, \.bytesRead) - sum(before, \.bytesRead), bytesOut: sum(after, \.bytesWritten) - sum(before, \.bytesWritten),
            ticks: ticks, tickSends: tickSends, tickCPU: tickCPU, tickUpdateCPU: tickUpdateCPU,
            waits: zip(waitsStart, waitsEnd).reduce(SchedulerWaits.zero as SchedulerWaits?) { sum, pair in
                guard let sum, let start = pair.0, let end = pair.1 else { return nil }
                return sum + (end - start)
            },
            reliableResends: sum(after, \.links.counters.reliableResends) &- sum(before, \.links.counters.reliableResends),
            snapshotsSent: sum(after, \.snapshots.snapshots) &- sum(before, \.snapshots.snapshots),
            lateTicks: sum(after, \.lateTicks) - sum(before, \.lateTicks), updates: sum(after, \.updates) - sum(before, \.updates),
            residentBytesBefore: residentBefore, residentBytesAfter: residentAfter,
            swarm: swarm, swarmExitCode: process.terminationStatus, pinned: pinned, workers: shares)
        result.otherThreads = ThreadCensus.busiest(
            from: censusStart, to: censusEnd, seconds: result.seconds, excluding: [getpid(), process.processIdentifier])
        return result
    }
}
