import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Prometheus
import TickwireDirectory
import TickwirePlacement
import TickwireProtocol
import TickwireRelay

/// The join API's settings: its bearer key and the tokens it mints.
public struct JoinAPIOptions: Sendable {
    /// The bearer key requests must carry (at least 16 bytes).
    public var apiKey: [UInt8]
    /// Lifetime of minted tokens, and of the seat each reserves.
    public var tokenSeconds: UInt64 = 30
    /// The tokens' timeout: seconds of silence before either side drops the connection.
    public var timeoutSeconds: Int32 = 5
    /// How long an empty room stays placed on its worker.
    public var emptyRoomGraceSeconds: Double = 30
    /// A fleet's shared directory (`postgres://…`): rooms are placed on any live relay of the
    /// fleet. Nil: this process's own in-memory directory.
    public var directoryURL: String?
    /// This relay's id in the fleet directory (default: a random one per start).
    public var relayID: String?
    /// A relay silent for this long is taken out of the fleet's placement.
    public var heartbeatTimeoutSeconds: Double = 5

    public init(apiKey: [UInt8]) { self.apiKey = apiKey }
}

/// A relay process: `count` workers, each a complete relay (netcode server, challenge key, rooms,
/// tick schedule) with its own UDP socket on its own event loop, sharing nothing on the hot path.
/// With a join API, rooms are placed on workers by an in-memory `RoomDirectory` and each worker
/// hosts only the rooms placed on it; without one, each worker admits any room its tokens name.
public final class RelayWorkerGroup: Sendable {
    public let workers: [RelayServerHost]
    public let directory: (any RoomDirectory)?
    public let adminChannel: (any Channel)?
    private let reporter: Task<Void, Never>?
    private let drainingFlag: NIOLockedValueBox<Bool>
    private let logger: Logger

    private init(workers: [RelayServerHost], directory: (any RoomDirectory)?, adminChannel: (any Channel)?, reporter: Task<Void, Never>?,
                 draining: NIOLockedValueBox<Bool>, logger: Logger) {
        self.workers = workers
        self.directory = directory
        self.adminChannel = adminChannel
        self.reporter = reporter
        self.drainingFlag = draining
        self.logger = logger
    }

    public var isDraining: Bool { drainingFlag.withLockedValue { $0 } }

    /// `/healthz`: nil while every worker's tick loop has ticked recently, else which one has not.
    public static func healthProblem(_ workers: [RelayServerHost]) -> String? {
        TickHealth.problem(ages: workers.map(\.timeSinceLastTick), tickRate: workers.first?.tickRate ?? 60)
    }

    /// Drains: refuses new clients and joins (`/readyz` 503), keeps ticking the rooms until every
    /// client has left or `timeout` passes, or the calling task is cancelled (a second signal).
    /// Returns the clients still connected (the caller then shuts down, which disconnects them
    /// cleanly).
    public func drain(timeout: Duration) async -> Int {
        drainingFlag.withLockedValue { $0 = true }
        // Out of the fleet's placement: other relays place no new rooms here.
        await directory?.drain()
        for worker in workers { try? await worker.stopAdmitting() }
        var remaining = await connectedClients()
        logger.notice("draining: refusing new clients and joins", metadata: ["clients": "\(remaining)", "timeout_s": "\(timeout.secondsDouble)"])
        let end = ContinuousClock.now + timeout
        var lastLogged = ContinuousClock.now
        while remaining > 0, ContinuousClock.now < end, !Task.isCancelled {
            if ContinuousClock.now - lastLogged >= .seconds(5) {
                lastLogged = ContinuousClock.now
                logger.notice("draining", metadata: ["clients": "\(remaining)"])
            }
            try? await Task.sleep(for: .milliseconds(100))
            remaining = await connectedClients()
        }
        if remaining == 0 {
            logger.notice("drain complete: every client left")
        } else if Task.isCancelled {
            logger.notice("drain cut short (a second signal)", metadata: ["clients": "\(remaining)"])
        } else {
            logger.notice("drain timed out", metadata: ["clients": "\(remaining)"])
        }
        return remaining
    }

    /// Clients connected to every worker.
    public func connectedClients() async -> Int {
        var total = 0
        for worker in workers { total += (try? await worker.stats().connectedClients) ?? 0 }
        return total
    }

    /// The options of worker `index` of `count`: its port (`ports[index]`, or the base port plus
    /// the index; 0 stays 0), its share of `maxClients`, and its public addresses (each given
    /// address's port plus the index, unless `ports` lists the ports and no address was given).
    public static func workerOptions(_ options: RelayServerOptions, index: Int, count: Int, ports: [Int]?) -> RelayServerOptions {
        var worker = options
        worker.bindPort = ports?[index] ?? (options.bindPort == 0 ? 0 : options.bindPort + index)
        worker.maxClients = options.maxClients / count + (index < options.maxClients % count ? 1 : 0)
        worker.publicAddresses = options.publicAddresses.map { address in
            var moved = address
            moved.port = UInt16(clamping: Int(address.port) + index)
            return moved
        }
        if let list = options.workerPublicAddresses, list.indices.contains(index) { worker.publicAddresses = [list[index]] }
        worker.metricsHost = nil
        return worker
    }

    public static func validate(_ options: RelayServerOptions, count: Int, ports: [Int]?, join: JoinAPIOptions?) throws(RelayServerOptionsError) {
        guard (1...64).contains(count) else { throw .invalid("--workers must be 1...64, got \(count)") }
        if let ports {
            guard ports.count == count else { throw .invalid("--ports lists \(ports.count) ports for \(count) workers; give one per worker") }
            if let bad = ports.first(where: { !(1...65535).contains($0) }) { throw .invalid("--ports: each port must be 1...65535, got \(bad)") }
            guard Set(ports).count == ports.count else { throw .invalid("--ports: each worker needs its own port, got \(ports)") }
        } else if options.bindPort != 0, options.bindPort + count - 1 > 65535 {
            throw .invalid("--port \(options.bindPort) + \(count) workers runs past 65535; lower --port or use --ports")
        }
        guard options.maxClients >= count else { throw .invalid("--max-clients (\(options.maxClients)) is split across workers: give at least one per worker (\(count))") }
        if let join {
            guard join.apiKey.count >= 16 else { throw .invalid("the join API key must be at least 16 bytes; make one with `tickwire keygen`") }
            guard let host = options.metricsHost else {
                throw .invalid("the join API is served on the admin port: give --metrics HOST:PORT (e.g. 127.0.0.1:9464)")
            }
            let loopback = NetcodeAddress(parsing: host, defaultPort: 1)?.isLoopback == true
            guard loopback || options.adminTLSCertificateFile != nil else {
                throw .invalid("the join API hands out connect tokens, which carry keys: on \(host) (not loopback) it needs TLS; give --admin-tls-cert and --admin-tls-key, or bind --metrics to 127.0.0.1")
            }
            guard (5...86_400).contains(join.tokenSeconds) else { throw .invalid("--join-token-seconds must be 5...86400, got \(join.tokenSeconds)") }
        }
        guard (options.adminTLSCertificateFile == nil) == (options.adminTLSKeyFile == nil) else {
            throw .invalid("give both --admin-tls-cert and --admin-tls-key, or neither")
        }
        if options.adminTLSCertificateFile != nil, options.metricsHost == nil {
            throw .invalid("--admin-tls-cert is for the admin port: give --metrics HOST:PORT too")
        }
        try options.validate()
    }

    /// The admin port's TLS context from the PEM files, or nil without them.
    public static func adminTLS(_ options: RelayServerOptions) throws(RelayServerOptionsError) -> NIOSSLContext? {
        guard let certificateFile = options.adminTLSCertificateFile, let keyFile = options.adminTLSKeyFile else { return nil }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
            throw .invalid("--admin-tls-cert \(certificateFile): not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw .invalid("--admin-tls-cert \(certificateFile): no certificate in the file") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw .invalid("--admin-tls-key: not a readable PEM private key (\(error))")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw .invalid("--admin-tls-cert and --admin-tls-key do not make a TLS context (does the key match the certificate?): \(error)")
        }
    }

    public static func start(
        options: RelayServerOptions, count: Int, ports: [Int]? = nil, join: JoinAPIOptions? = nil,
        group: MultiThreadedEventLoopGroup = .singleton, logger: Logger = Logger(label: "tickwire.server")
    ) async throws -> RelayWorkerGroup {
        try validate(options, count: count, ports: ports, join: join)
        let tls = try adminTLS(options)
        let perWorker = (0..<count).map { workerOptions(options, index: $0, count: count, ports: ports) }
        let registry = PrometheusCollectorRegistry()
        var workers: [RelayServerHost] = []
        do {
            for index in 0..<count {
                var workerLogger = logger
                if count > 1 { workerLogger[metadataKey: "worker"] = "\(index)" }
                let worker = try await RelayServerHost.start(
                    options: perWorker[index], group: group,
                    loopName: count > 1 ? "tickwire-w\(index)" : "tickwire-relay", logger: workerLogger,
                    metrics: options.metricsHost == nil ? nil : RelayMetrics(registry: registry, worker: count > 1 ? index : nil),
                    hostsPlacedRoomsOnly: join != nil)
                workers.append(worker)
            }
        } catch {
            for worker in workers { try? await worker.shutdown() }
            throw error
        }
        let draining = NIOLockedValueBox(false)
        var directory: (any RoomDirectory)?
        var service: JoinService?
        if let join {
            do {
                directory = try await makeDirectory(join, options: options, workers: workers, capacities: perWorker.map(\.maxClients), logger: logger)
            } catch {
                for worker in workers { try? await worker.shutdown() }
                throw error
            }
            service = JoinService(
                directory: directory!,
                workers: workers.map { worker in JoinService.Worker(addresses: worker.publicAddresses) { try await worker.host(room: $0) } },
                apiKey: join.apiKey, privateKey: options.privateKey, protocolID: options.protocolID,
                tokenSeconds: join.tokenSeconds, timeoutSeconds: join.timeoutSeconds,
                draining: { draining.withLockedValue { $0 } }, relayID: directory?.fleetRelayID)
        }
        var adminChannel: (any Channel)?
        if let host = options.metricsHost {
            do {
                adminChannel = try await MetricsEndpoint.start(
                    host: host, port: options.metricsPort, metrics: workers.first?.metrics, join: service,
                    status: MetricsEndpoint.Status(
                        health: { [workers] in healthProblem(workers) },
                        readiness: { draining.withLockedValue { $0 } ? "draining" : nil }),
                    tls: tls, group: group)
            } catch {
                for worker in workers { try? await worker.shutdown() }
                throw RelayServerOptionsError.invalid("could not serve the admin port on \(host):\(options.metricsPort): \(error); pick another --metrics address")
            }
            let port = adminChannel?.localAddress?.port ?? options.metricsPort
            logger.info("admin at \(tls == nil ? "http" : "https")://\(host):\(port): /metrics, /healthz, /readyz\(service != nil ? ", POST /v1/join, GET /v1/rooms" : "")")
        }
        let reporter = directory.map { directory in
            Task { [workers] in
                await withTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { await Self.report(workers: workers, to: directory, logger: logger) }
                    if let fleet = directory as? PostgresRoomDirectory {
                        tasks.addTask { await fleet.listenForClaims { await Self.hostClaimed(workers: workers, directory: fleet, logger: logger) } }
                    }
                }
            }
        }
        return RelayWorkerGroup(workers: workers, directory: directory, adminChannel: adminChannel, reporter: reporter,
                                draining: draining, logger: logger)
    }

    /// The process's own directory, or the fleet's in PostgreSQL (connected, migrated, this relay
    /// registered).
    private static func makeDirectory(
        _ join: JoinAPIOptions, options: RelayServerOptions, workers: [RelayServerHost], capacities: [Int], logger: Logger
    ) async throws -> any RoomDirectory {
        guard let url = join.directoryURL else {
            let table = PlacementTable(workerCapacities: capacities, roomCapacity: options.relay.roomCapacity, emptyGrace: join.emptyRoomGraceSeconds)
            return InMemoryRoomDirectory(table: table)
        }
        let configuration: PostgresClient.Configuration
        do { configuration = try DirectoryURL.configuration(url, environment: ProcessInfo.processInfo.environment) } catch {
            throw RelayServerOptionsError.invalid("\(error)")
        }
        var directoryLogger = logger
        directoryLogger[metadataKey: "directory"] = "\(DirectoryURL.redacted(url))"
        let fleet = PostgresRoomDirectory(
            configuration: configuration, relayID: join.relayID ?? "relay-" + String(UInt64.random(in: 1...UInt64.max), radix: 36),
            workers: zip(workers, capacities).map { PostgresRoomDirectory.Worker(address: $0.publicAddresses[0].description, capacity: $1) },
            roomCapacity: options.relay.roomCapacity, emptyGrace: join.emptyRoomGraceSeconds,
            heartbeatTimeout: join.heartbeatTimeoutSeconds, logger: directoryLogger)
        do { try await fleet.start() } catch {
            await fleet.stop()
            throw RelayServerOptionsError.invalid("could not use the room directory \(DirectoryURL.redacted(url)): \(String(reflecting: error))")
        }
        logger.info("joined the fleet's room directory", metadata: ["relay": "\(fleet.relayID)", "directory": "\(DirectoryURL.redacted(url))"])
        return fleet
    }

    /// Once a second: a heartbeat, each worker's clients, tick load and members go to the
    /// directory, and rooms the directory releases stop being hosted. Every 100 ms in between,
    /// rooms other relays of a fleet placed here are hosted (a join elsewhere waits for that).
    private static func report(workers: [RelayServerHost], to directory: any RoomDirectory, logger: Logger) async {
        var lastReport = ContinuousClock.now - .seconds(2)
        while !Task.isCancelled {
            await hostClaimed(workers: workers, directory: directory, logger: logger)
            guard ContinuousClock.now - lastReport >= .seconds(1) else {
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            lastReport = ContinuousClock.now
            let now = Date().timeIntervalSince1970
            await directory.heartbeat(now: now)
            for (index, worker) in workers.enumerated() {
                guard let report = try? await worker.placementReport() else { continue }
                await directory.report(worker: index, connected: report.connected, tickLoad: report.tickLoad, members: report.members, now: now)
            }
            for (room, worker) in await directory.expire(now: now) where workers.indices.contains(worker) {
                try? await workers[worker].release(room: room)
                logger.debug("room released", metadata: ["room": "\(room)", "worker": "\(worker)"])
            }
        }
    }

    /// Hosts the rooms other relays of the fleet placed on this one, and says so in the directory.
    private static func hostClaimed(workers: [RelayServerHost], directory: any RoomDirectory, logger: Logger) async {
        for (room, worker) in await directory.claimedRooms() where workers.indices.contains(worker) {
            do {
                try await workers[worker].host(room: room)
                await directory.markHosted(room: room)
            } catch {
                logger.warning("could not host a room placed here", metadata: ["room": "\(room)", "error": "\(error)"])
            }
        }
    }

    /// Disconnects every client of every worker cleanly, then closes the sockets and the admin
    /// port; a fleet's relay leaves the directory first (its rooms are released at once).
    public func shutdown() async throws {
        reporter?.cancel()
        if let fleet = directory as? PostgresRoomDirectory { await fleet.stop() }
        for worker in workers { try await worker.shutdown() }
        try await closeAdmin()
    }

    /// Closes the admin port (once; later calls do nothing).
    public func closeAdmin() async throws {
        guard let adminChannel, adminChannel.isActive else { return }
        try? await adminChannel.close()
    }
}
