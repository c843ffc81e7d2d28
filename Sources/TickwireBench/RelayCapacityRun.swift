import Foundation
import Logging
import NIOPosix
import TickwireCrypto
import TickwireProtocol
import TickwireRelay
import TickwireServer
import TickwireSimulation
import TickwireTransport

/// Phase 2 of the capacity benchmark: a real relay core (the one `tickwire serve` runs) on one
/// event loop pinned to the relay's core, loaded by a `tickwire swarm` child process pinned to
/// the other cores. Its loop thread's CPU time, datagrams and tick durations are read over a
/// window that starts once every bot is connected and has settled.
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
        /// The `tickwire` executable to run the swarm with.
        public var executable: String
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
        public var lateTicks: UInt64
        public var updates: UInt64
        public var residentBytesBefore: Int?
        public var residentBytesAfter: Int?
        public var swarm: SwarmReport?
        public var swarmExitCode: Int32
        public var pinned: Bool
    }

    public static func run(_ configuration: Configuration, log: @Sendable (String) -> Void) async throws -> Result {
        let key = SecureRandom.bytes(32)
        var options = RelayServerOptions(privateKey: key)
        options.bindHost = "127.0.0.1"
        options.bindPort = 0
        options.maxClients = min(NetcodeServerConfiguration.maxClientsLimit, configuration.clients + 16)
        options.relay.tickRate = configuration.tickRate
        options.relay.roomCapacity = max(configuration.roomSize, 2)
        var logger = Logger(label: "tickwire.bench.relay")
        logger.logLevel = .error
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = try await measure(configuration, options: options, key: key, group: group, logger: logger, log: log)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func measure(
        _ configuration: Configuration, options: RelayServerOptions, key: [UInt8], group: MultiThreadedEventLoopGroup,
        logger: Logger, log: @Sendable (String) -> Void
    ) async throws -> Result {
        let host = try await RelayServerHost.start(options: options, group: group, logger: logger)
        let relayCore = configuration.relayCore
        let pinned = try await host.onLoopThread { relayCore.map { ThreadResources.pin(toCore: $0) } ?? false }
        let residentBefore = ThreadResources.residentBytes()

        let joinsPerSecond = 250.0
        let swarmSeconds = Double(configuration.clients) / joinsPerSecond + configuration.warmupSeconds + configuration.seconds + 8
        let reportURL = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-bench-swarm-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: reportURL) }
        var arguments = [
            configuration.executable, "swarm", "--server", "127.0.0.1:\(host.localAddress.port ?? 0)",
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
            connected = try await host.stats().connectedClients
            if connected >= configuration.clients { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        guard process.isRunning else {
            let text = (try? String(contentsOf: errorsURL, encoding: .utf8)) ?? ""
            throw BenchError("the swarm exited before the measurement: \(text.suffix(400))")
        }
        log("relay: \(connected) of \(configuration.clients) bots connected; settling \(configuration.warmupSeconds) s")
        try await Task.sleep(for: .seconds(configuration.warmupSeconds))

        _ = try await host.takeTickDurations()
        let cpuStart = try await host.onLoopThread { ThreadResources.cpuTime() }
        let before = try await host.stats()
        let windowStart = ContinuousClock.now
        log("relay: measuring \(configuration.seconds) s")
        try await Task.sleep(for: .seconds(configuration.seconds))
        let cpuEnd = try await host.onLoopThread { ThreadResources.cpuTime() }
        let after = try await host.stats()
        let ticks = try await host.takeTickDurations()
        let window = ContinuousClock.now - windowStart
        let residentAfter = ThreadResources.residentBytes()

        log("relay: waiting for the swarm's report")
        let exitDeadline = ContinuousClock.now + .seconds(swarmSeconds + 30)
        while process.isRunning, ContinuousClock.now < exitDeadline { try await Task.sleep(for: .milliseconds(200)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let swarm = (try? Data(contentsOf: reportURL)).flatMap { try? JSONDecoder().decode(SwarmReport.self, from: $0) }
        try await host.shutdown()

        return Result(
            // Per-client figures divide by the clients actually connected over the window.
            clients: (before.connectedClients + after.connectedClients) / 2,
            clientsAtStart: before.connectedClients, clientsAtEnd: after.connectedClients,
            seconds: Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18,
            cpu: cpuEnd - cpuStart,
            datagramsIn: after.datagramsRead - before.datagramsRead, datagramsOut: after.datagramsWritten - before.datagramsWritten,
            bytesIn: after.bytesRead - before.bytesRead, bytesOut: after.bytesWritten - before.bytesWritten,
            ticks: ticks, lateTicks: after.lateTicks - before.lateTicks, updates: after.updates - before.updates,
            residentBytesBefore: residentBefore, residentBytesAfter: residentAfter,
            swarm: swarm, swarmExitCode: process.terminationStatus, pinned: pinned)
    }
}
