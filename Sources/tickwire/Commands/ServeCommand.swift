import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals
import TickwireProtocol
import TickwireRelay
import TickwireServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a relay server until SIGINT/SIGTERM, then disconnect every client cleanly.")

    @OptionGroup var key: KeyOptions
    @Option(help: "A configuration file (.yaml, .yml or .json) with any of these options by name, e.g. `max-clients: 512`. Flags win over TICKWIRE_* environment variables, which win over the file.")
    var config: String?
    @Flag(help: "Print the effective configuration, each value with its source (never the key), and exit.")
    var printConfig = false
    @Option(help: "Address to bind (default 0.0.0.0).") var bind: String?
    @Option(help: "UDP port of worker 0 (0...65535, default 40000); worker i listens on PORT+i.") var port: Int?
    @Option(help: "Relay workers, each with its own UDP socket and event loop (1...64). Default: the number of cores.")
    var workers: Int?
    @Option(help: "The workers' UDP ports, comma-separated, one per worker (instead of --port + i).")
    var ports: String?
    @Option(help: "File holding the join API's bearer key; enables POST /v1/join and GET /v1/rooms on the admin port (--metrics).")
    var joinApiKeyFile: String?
    @Option(help: "On SIGTERM/SIGINT, how long to keep ticking rooms while clients leave before disconnecting them, in seconds (0...3600, default 30); a second signal skips the wait.")
    var drainTimeout: Double?
    @Option(help: "PEM certificate chain for the admin port: it then serves HTTPS (the join API needs it beyond loopback).")
    var adminTlsCert: String?
    @Option(help: "PEM private key of --admin-tls-cert.") var adminTlsKey: String?
    @Option(help: "Lifetime of tokens the join API mints, and of the seat each reserves, in seconds (5...86400, default 30).")
    var joinTokenSeconds: Int?
    @Option(help: "A fleet's shared room directory, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require] (the password may come from PGPASSWORD): the join API places rooms on any live relay of the fleet. Needs --join-api-key-file; every relay of the fleet uses the same key.")
    var directory: String?
    @Option(help: "This relay's id in the fleet directory (default: random per start).") var relayId: String?
    @Option(help: "Seconds without a heartbeat after which the fleet takes a relay out of placement and releases its rooms (1...300, default 5).")
    var heartbeatTimeout: Double?
    @Flag(help: "Run as an Agones GameServer: read the address and ports from the SDK sidecar (localhost:$AGONES_SDK_HTTP_PORT, default 9358), say ready, ping health while the ticks run, keep the rooms List, host rooms an allocation assigns, shut down when idle. Needs --join-api-key-file.")
    var agones = false
    @Option(help: "With --agones: seconds with no room, after having had some, before asking Agones to shut the server down (1...86400, default 60).")
    var agonesIdleShutdown: Double?
    @Flag(help: "Bind [::] dual-stack (IPv6 and IPv4) instead of --bind.") var ipv6 = false
    @Option(name: .customLong("public-address"),
            help: "Address tokens name for worker 0 (repeatable); worker i is the same host at port+i. Default: the bind address, or 127.0.0.1:PORT for a wildcard bind.")
    var publicAddresses: [String] = []
    @Option(help: "Protocol id (decimal or 0x hex; default 0x\(String(RelayServerOptions.defaultProtocolID, radix: 16))); must match the tokens.")
    var protocolID: String?
    @Option(help: "Client slots of the process (1...4096, default 256), split across the workers.") var maxClients: Int?
    @Option(help: "Snapshots per second sent to every client (1...240, default 60).") var tickRate: Int?
    @Option(help: "Clients per room (1...4096, default 64); the next one is denied with 'room full'.") var roomCapacity: Int?
    @Option(help: "Largest entity state a client may send, in bytes (1...1024, default 64).") var stateSize: Int?
    @Option(help: "How long an ack may wait for a snapshot or event to ride on, in ms (0...500). Default: one tick period plus 4 ms.")
    var ackDelayMs: Double?
    @Option(help: "How long a relayed event may wait for the next snapshot to ride on before it is sent alone, in ms (0...500). Default: one tick period, at most 20 ms.")
    var relayDelayMs: Double?
    @Option(help: "After reading its socket, how long the relay waits before reading it again, in ms (0...20, default 1); it always reads right before a tick. 0: read each datagram as it arrives.")
    var readIntervalMs: Double?
    @Option(help: "Run each worker's tick loop under SCHED_FIFO at this priority (1...99), so other processes on its core cannot preempt a tick; needs CAP_SYS_NICE or `ulimit -r`. Off unless given.")
    var realtimePriority: Int?
    @Option(help: "The admin port: Prometheus metrics at HOST:PORT/metrics (and the join API with --join-api-key-file), e.g. 127.0.0.1:9464 (off unless given).")
    var metrics: String?
    @Option(help: "Log level: trace, debug, info (default), notice, warning, error, critical.") var logLevel: String?
    @Option(help: "Log format: text (default), or json (one object per line: timestamp, level, label, message, source, metadata).")
    var logFormat: String?
    @OptionGroup(title: "Abuse limits") var limits: LimitOptions

    /// The options given on the command line, by name, as text.
    var givenFlags: [String: [String]] {
        var flags = limits.given
        func put(_ name: String, _ value: (some CustomStringConvertible)?) { if let value { flags[name] = [value.description] } }
        put("key", key.keyHex)
        put("key-file", key.keyFile)
        put("bind", bind)
        put("port", port)
        put("workers", workers)
        put("ports", ports)
        put("join-api-key-file", joinApiKeyFile)
        put("drain-timeout", drainTimeout)
        put("admin-tls-cert", adminTlsCert)
        put("admin-tls-key", adminTlsKey)
        put("join-token-seconds", joinTokenSeconds)
        put("directory", directory)
        put("relay-id", relayId)
        put("heartbeat-timeout", heartbeatTimeout)
        if ipv6 { flags["ipv6"] = ["true"] }
        if agones { flags["agones"] = ["true"] }
        put("agones-idle-shutdown", agonesIdleShutdown)
        if !publicAddresses.isEmpty { flags["public-address"] = publicAddresses }
        put("protocol-id", protocolID)
        put("max-clients", maxClients)
        put("tick-rate", tickRate)
        put("room-capacity", roomCapacity)
        put("state-size", stateSize)
        put("ack-delay-ms", ackDelayMs)
        put("relay-delay-ms", relayDelayMs)
        put("read-interval-ms", readIntervalMs)
        put("realtime-priority", realtimePriority)
        put("metrics", metrics)
        put("log-level", logLevel)
        put("log-format", logFormat)
        return flags
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try await ServeSettings(
            flags: givenFlags, environment: environment, configFile: config ?? environment["TICKWIRE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 })
        if printConfig {
            print(settings.printed())
            return
        }
        let level = try settings.parsed("log-level", "one of trace, debug, info, notice, warning, error, critical") { Logger.Level(rawValue: $0) } ?? .info
        let format = try settings.parsed("log-format", "text or json") { LogFormat(rawValue: $0) } ?? .text
        CLILogging.bootstrap(level: level, format: format)
        let resolvedKey = try ServeKey.resolve(settings)
        var options = RelayServerOptions(privateKey: resolvedKey.key)
        options.bindHost = try settings.bool("ipv6") ? "::" : (settings.string("bind") ?? "0.0.0.0")
        let port = try settings.int("port", in: 0...65535) ?? 40000
        options.bindPort = port
        options.protocolID = try settings.parsed("protocol-id", "a protocol id in decimal or 0x hex") { ProtocolID(argument: $0)?.value }
            ?? RelayServerOptions.defaultProtocolID
        options.maxClients = try settings.int("max-clients", in: 1...4096) ?? 256
        options.relay.tickRate = try settings.int("tick-rate", in: 1...240) ?? 60
        options.relay.roomCapacity = try settings.int("room-capacity", in: 1...4096) ?? 64
        options.relay.maxStateSize = try settings.int("state-size", in: 1...1024) ?? 64
        if let ackDelayMs = try settings.double("ack-delay-ms", in: 0...500) {
            options.relay.ackDelay = .microseconds(Int64(ackDelayMs * 1000))
        }
        if let relayDelayMs = try settings.double("relay-delay-ms", in: 0...500) {
            options.relay.relayDelay = .microseconds(Int64(relayDelayMs * 1000))
        }
        if let readIntervalMs = try settings.double("read-interval-ms", in: 0...20) {
            options.readInterval = .microseconds(Int64(readIntervalMs * 1000))
        }
        options.realtimePriority = try settings.int("realtime-priority", in: 1...99)
        try LimitOptions.apply(settings, to: &options.relay.limits)
        options.requestsPerSecondPerAddress = try settings.double("requests-per-address", in: 0.001...1e9) ?? options.requestsPerSecondPerAddress
        options.requestBurstPerAddress = try settings.double("request-burst", in: 1...1e9) ?? options.requestBurstPerAddress
        if let address = try settings.parsed("metrics", "HOST:PORT, e.g. 127.0.0.1:9464", { NetcodeAddress(parsing: $0) }) {
            options.metricsHost = address.hostDescription
            options.metricsPort = Int(address.port)
        }
        options.publicAddresses = try settings.list("public-address").map { text in
            guard let a = NetcodeAddress(parsing: text) else {
                throw ValidationError("\(settings.source("public-address")!): public-address must be IP:PORT, got '\(text)'")
            }
            return a
        }
        options.adminTLSCertificateFile = settings.string("admin-tls-cert")
        options.adminTLSKeyFile = settings.string("admin-tls-key")
        let drainTimeout = try settings.double("drain-timeout", in: 0...3600) ?? 30
        let workers = try settings.int("workers", in: 1...64) ?? System.coreCount
        let portList: [Int]? = try settings.parsed("ports", "comma-separated port numbers (1...65535)") { text in
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            return parts.contains(nil) ? nil : parts.map { $0! }
        }
        var join: JoinAPIOptions?
        if let joinApiKeyFile = settings.string("join-api-key-file") {
            let key: String
            do { key = try String(contentsOfFile: joinApiKeyFile, encoding: .utf8) } catch {
                throw ValidationError("\(settings.source("join-api-key-file")!): join-api-key-file: cannot read '\(joinApiKeyFile)': \(error.localizedDescription)")
            }
            var made = JoinAPIOptions(apiKey: Array(key.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
            made.tokenSeconds = UInt64(try settings.int("join-token-seconds", in: 5...86_400) ?? 30)
            made.directoryURL = settings.string("directory")
            made.relayID = settings.string("relay-id")
            made.heartbeatTimeoutSeconds = try settings.double("heartbeat-timeout", in: 1...300) ?? 5
            join = made
        } else if settings.string("directory") != nil {
            throw ValidationError("\(settings.source("directory")!): directory needs join-api-key-file: the fleet places rooms through the join API")
        }
        do { try RelayWorkerGroup.validate(options, count: workers, ports: portList, join: join) } catch {
            throw ValidationError(error.description)
        }
        let logger = Logger(label: "tickwire.serve")
        logger.notice("\(resolvedKey.description)")
        var agonesLifecycle: AgonesLifecycle?
        if try settings.bool("agones") {
            guard join != nil else {
                throw ValidationError("\(settings.source("agones")!): agones needs join-api-key-file: rooms are placed and tokens minted by the join API")
            }
            let idle = try settings.double("agones-idle-shutdown", in: 1...86_400) ?? 60
            let sdk = AgonesSDK(port: AgonesSDK.port(environment: environment), group: MultiThreadedEventLoopGroup.singleton)
            let server: AgonesSDK.GameServer
            do { server = try await AgonesLifecycle.waitForGameServer(sdk: sdk, timeout: .seconds(60), logger: logger) } catch {
                throw CLIError("--agones: \(error)")
            }
            do { options.workerPublicAddresses = try AgonesLifecycle.workerAddresses(server, workers: workers) } catch {
                throw CLIError("--agones: \(error.description)")
            }
            logger.notice("agones: GameServer at \(server.address), ports \(server.ports.map(\.port))")
            agonesLifecycle = AgonesLifecycle(sdk: sdk, idleShutdown: .milliseconds(Int64(idle * 1000)), logger: logger)
        }
        if let config = settings.configFile { logger.info("configuration file \(config) read (flags > TICKWIRE_* environment > file > defaults)") }
        let host: RelayWorkerGroup
        do {
            host = try await RelayWorkerGroup.start(options: options, count: workers, ports: portList, join: join, logger: logger)
        } catch let error as RelayServerOptionsError {
            throw CLIError(error.description)
        } catch {
            throw CLIError("cannot bind \(options.bindHost):\(port): \(error) (is another server on this port? try --port)")
        }
        if workers > 1 && join == nil {
            logger.notice("\(workers) workers and no join API: each worker admits the rooms its tokens name, so the address a token names picks the worker (add --join-api-key-file to have rooms placed)")
        }
        // swift-service-lifecycle: the first SIGTERM/SIGINT shuts down gracefully (the drain); a
        // second one cuts the drain short.
        let service = RelayService(
            workers: host, drainTimeout: .milliseconds(Int64(drainTimeout * 1000)), skipSignals: [.sigterm, .sigint], logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: AdminEndpointService(workers: host), serviceName: "admin"), .init(service: service, serviceName: "relay")],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let roomsCapacity = min(1000, options.maxClients)
        let agonesTask = agonesLifecycle.map { [host] lifecycle in
            Task { await lifecycle.run(group: host, roomsCapacity: roomsCapacity) }
        }
        do { try await group.run() } catch is CancellationError {}
        agonesTask?.cancel()
        for (index, worker) in host.workers.enumerated() {
            guard let stats = try? await worker.stats() else { continue }
            logger.info("stopped", metadata: [
                "worker": "\(index)",
                "packets_in": "\(stats.netcode.packetsReceived)", "packets_out": "\(stats.netcode.packetsSent)",
                "dropped": "\(stats.netcode.dropped.total)", "ticks": "\(stats.ticks)", "late_ticks": "\(stats.lateTicks)",
                "skipped_ticks": "\(stats.skippedTicks)",
            ])
        }
    }
}
