import ArgumentParser
import Foundation
import Logging
import NIOCore
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
    @Option(help: "Address to bind.") var bind: String = "0.0.0.0"
    @Option(help: "UDP port of worker 0; worker i listens on PORT+i.") var port: Int = 40000
    @Option(help: "Relay workers, each with its own UDP socket and event loop (1...64). Default: the number of cores.")
    var workers: Int = System.coreCount
    @Option(help: "The workers' UDP ports, comma-separated, one per worker (instead of --port + i).")
    var ports: String?
    @Option(help: "File holding the join API's bearer key; enables POST /v1/join and GET /v1/rooms on the admin port (--metrics).")
    var joinApiKeyFile: String?
    @Option(help: "On SIGTERM/SIGINT, how long to keep ticking rooms while clients leave before disconnecting them, in seconds (0...3600); a second signal skips the wait.")
    var drainTimeout: Double = 30
    @Option(help: "PEM certificate chain for the admin port: it then serves HTTPS (the join API needs it beyond loopback).")
    var adminTlsCert: String?
    @Option(help: "PEM private key of --admin-tls-cert.") var adminTlsKey: String?
    @Option(help: "Lifetime of tokens the join API mints, and of the seat each reserves, in seconds (5...86400).")
    var joinTokenSeconds: UInt64 = 30
    @Flag(help: "Bind [::] dual-stack (IPv6 and IPv4) instead of --bind.") var ipv6 = false
    @Option(name: .customLong("public-address"),
            help: "Address tokens name for worker 0 (repeatable); worker i is the same host at port+i. Default: the bind address, or 127.0.0.1:PORT for a wildcard bind.")
    var publicAddresses: [String] = []
    @Option(help: "Protocol id (decimal or 0x hex); must match the tokens.") var protocolID = ProtocolID(RelayServerOptions.defaultProtocolID)
    @Option(help: "Client slots of the process (1...4096), split across the workers.") var maxClients: Int = 256
    @Option(help: "Snapshots per second sent to every client (1...240).") var tickRate: Int = 60
    @Option(help: "Clients per room; the next one is denied with 'room full' (1...4096).") var roomCapacity: Int = 64
    @Option(help: "Largest entity state a client may send, in bytes (1...1024).") var stateSize: Int = 64
    @Option(help: "How long an ack may wait for a snapshot or event to ride on, in ms (0...500). Default: one tick period plus 4 ms.")
    var ackDelayMs: Double?
    @Option(help: "The admin port: Prometheus metrics at HOST:PORT/metrics (and the join API with --join-api-key-file), e.g. 127.0.0.1:9464 (off unless given).")
    var metrics: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: Logger.Level = .info
    @Option(help: "Log format: text, or json (one object per line: timestamp, level, label, message, source, metadata).")
    var logFormat: LogFormat = .text
    @OptionGroup(title: "Abuse limits") var limits: LimitOptions

    func run() async throws {
        CLILogging.bootstrap(level: logLevel, format: logFormat)
        let resolvedKey = try key.resolved()
        var options = RelayServerOptions(privateKey: resolvedKey.key)
        options.bindHost = ipv6 ? "::" : bind
        options.bindPort = port
        options.protocolID = protocolID.value
        options.maxClients = maxClients
        options.relay.tickRate = tickRate
        options.relay.roomCapacity = roomCapacity
        options.relay.maxStateSize = stateSize
        if let ackDelayMs {
            guard (0...500).contains(ackDelayMs) else { throw ValidationError("--ack-delay-ms must be 0...500, got \(ackDelayMs)") }
            options.relay.ackDelay = .microseconds(Int64(ackDelayMs * 1000))
        }
        limits.apply(to: &options.relay.limits)
        options.requestsPerSecondPerAddress = limits.requestsPerAddress
        options.requestBurstPerAddress = limits.requestBurst
        if let metrics {
            guard let address = NetcodeAddress(parsing: metrics) else { throw ValidationError.address("--metrics", metrics) }
            options.metricsHost = address.hostDescription
            options.metricsPort = Int(address.port)
        }
        options.publicAddresses = try publicAddresses.map { text in
            guard let a = NetcodeAddress(parsing: text) else { throw ValidationError.address("--public-address", text) }
            return a
        }
        options.adminTLSCertificateFile = adminTlsCert
        options.adminTLSKeyFile = adminTlsKey
        guard (0...3600).contains(drainTimeout) else { throw ValidationError("--drain-timeout must be 0...3600 seconds, got \(drainTimeout)") }
        let portList: [Int]? = try ports.map { text in
            try text.split(separator: ",").map { part in
                guard let port = Int(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--ports: '\(part)' is not a port number (1...65535)") }
                return port
            }
        }
        var join: JoinAPIOptions?
        if let joinApiKeyFile {
            let key: String
            do { key = try String(contentsOfFile: joinApiKeyFile, encoding: .utf8) } catch {
                throw ValidationError("--join-api-key-file: cannot read '\(joinApiKeyFile)': \(error.localizedDescription)")
            }
            var made = JoinAPIOptions(apiKey: Array(key.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
            made.tokenSeconds = joinTokenSeconds
            join = made
        }
        do { try RelayWorkerGroup.validate(options, count: workers, ports: portList, join: join) } catch {
            throw ValidationError(error.description)
        }
        let logger = Logger(label: "tickwire.serve")
        logger.notice("\(resolvedKey.description)")
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
            services: [.init(service: service, serviceName: "relay")], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do { try await group.run() } catch is CancellationError {}
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
