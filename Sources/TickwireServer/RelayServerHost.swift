import Dispatch
import Logging
import NIOCore
import NIOPosix
import TickwireProtocol
import TickwireRelay
import TickwireTransport

/// A running relay server: one UDP socket on a `DatagramLoop` of its own (one thread), with the
/// relay core on that loop. Its metrics endpoint, if any, runs on the NIO group.
public final class RelayServerHost: Sendable {
    public let socket: UDPSocket
    /// The relay's thread: every call on the core runs there.
    public let loop: DatagramLoop
    public var localAddress: SocketAddress { socket.localAddress }
    /// The addresses connect tokens must name for this server.
    public let publicAddresses: [NetcodeAddress]
    private let driver: NIOLoopBound<RelayServerDriver>
    /// The Prometheus registry and the HTTP channel serving it, when metrics are on.
    public let metrics: RelayMetrics?
    public let metricsChannel: (any Channel)?
    /// When the tick loop last ticked (readable from any thread, for `/healthz`).
    public let heartbeat: TickHeartbeat
    public let tickRate: Int
    private let clock: MonotonicClock

    /// How long ago the tick loop last ticked (nil: not yet). Any thread.
    public var timeSinceLastTick: Duration? { heartbeat.lastTick.map { clock.now() - $0 } }

    private init(socket: UDPSocket, publicAddresses: [NetcodeAddress], driver: NIOLoopBound<RelayServerDriver>,
                 metrics: RelayMetrics?, metricsChannel: (any Channel)?, heartbeat: TickHeartbeat, tickRate: Int, clock: MonotonicClock) {
        self.heartbeat = heartbeat
        self.clock = clock
        self.tickRate = tickRate
        self.metrics = metrics
        self.metricsChannel = metricsChannel
        self.socket = socket
        self.loop = socket.loop
        self.publicAddresses = publicAddresses
        self.driver = driver
    }

    /// Starts one relay on a new `DatagramLoop` thread (`loopName` names it); `group` serves its
    /// metrics endpoint.
    ///
    /// A worker of a process with several passes its shared `metrics` (labelled with its index; the
    /// process serves them) and `hostsPlacedRoomsOnly` when a join API places its rooms.
    public static func start(
        options: RelayServerOptions, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        loopName: String = "tickwire-relay",
        logger: Logger = Logger(label: "tickwire.server"), challengeKey: [UInt8]? = nil,
        metrics workerMetrics: RelayMetrics? = nil, hostsPlacedRoomsOnly: Bool = false
    ) async throws -> RelayServerHost {
        try options.validate()
        let loop = try DatagramLoop(name: loopName)
        do {
            if let priority = options.realtimePriority {
                do { try await loop.submit { try ThreadResources.useRealtimePriority(priority) }.get() } catch {
                    throw RelayServerOptionsError.invalid("--realtime-priority \(priority): \(error)")
                }
            }
            return try await start(options: options, loop: loop, group: group, logger: logger, challengeKey: challengeKey,
                                   metrics: workerMetrics, hostsPlacedRoomsOnly: hostsPlacedRoomsOnly)
        } catch {
            await loop.stop()
            throw error
        }
    }

    private static func start(
        options: RelayServerOptions, loop: DatagramLoop, group: any EventLoopGroup, logger: Logger, challengeKey: [UInt8]?,
        metrics workerMetrics: RelayMetrics?, hostsPlacedRoomsOnly: Bool
    ) async throws -> RelayServerHost {
        let clock = MonotonicClock()
        // The core must know its own address, which depends on the port actually bound (port 0
        // picks one): bind with a core for a provisional address, then replace it before any
        // update runs. Nothing can connect in between, since no token names the provisional address.
        var configuration = NetcodeServerConfiguration(
            protocolID: options.protocolID, privateKey: options.privateKey, maxClients: options.maxClients,
            serverAddresses: [.ipv4(127, 0, 0, 1, port: 1)], challengeKey: challengeKey ?? SecureRandomKey.make())
        configuration.requestsPerSecondPerAddress = options.requestsPerSecondPerAddress
        configuration.requestBurstPerAddress = options.requestBurstPerAddress
        let provisional = configuration
        let (driver, socket, heartbeat) = try await loop.submit {
            let core = try RelayServerCore(
                netcode: try NetcodeServer(configuration: provisional, unixTimeAtInstantZero: clock.unixTimeAtOrigin),
                configuration: options.relay)
            let driver = RelayServerDriver(core: core, clock: clock, updateInterval: options.updateInterval, logger: logger)
            let socket = try loop.bind(host: options.bindHost, port: options.bindPort, endpoint: driver, readInterval: options.readInterval)
            driver.socket = socket
            return (NIOLoopBound(driver, eventLoop: loop), socket, driver.heartbeat)
        }.get()
        let port = UInt16(socket.localAddress.port ?? options.bindPort)
        let publicAddresses = options.resolvedPublicAddresses(boundPort: port)
        let dualStack = options.bindHost.contains(":")
        configuration.serverAddresses = publicAddresses
        let final = configuration
        var metrics: RelayMetrics? = workerMetrics
        var metricsChannel: (any Channel)?
        if workerMetrics == nil, let host = options.metricsHost {
            let made = RelayMetrics()
            do {
                metricsChannel = try await MetricsEndpoint.start(host: host, port: options.metricsPort, metrics: made, group: group)
            } catch {
                await socket.close()
                throw RelayServerOptionsError.invalid("could not serve metrics on \(host):\(options.metricsPort): \(error); pick another --metrics address")
            }
            metrics = made
        }
        let chosenMetrics = metrics
        try await loop.submit {
            driver.value.metrics = chosenMetrics
            driver.value.core = try RelayServerCore(
                netcode: try NetcodeServer(configuration: final, unixTimeAtInstantZero: clock.unixTimeAtOrigin),
                configuration: options.relay, start: clock.now())
            if hostsPlacedRoomsOnly { driver.value.core.hostPlacedRoomsOnly() }
            driver.value.writer = DatagramBatchWriter(socket: socket, mapIPv4ToIPv6: dualStack)
            driver.value.scheduleNextUpdate(on: loop)
        }.get()
        logger.info("relay listening", metadata: [
            "bind": "\(socket.localAddress)",
            "token_addresses": "\(publicAddresses.map(\.description).joined(separator: ","))",
            "max_clients": "\(options.maxClients)", "tick_rate": "\(options.relay.tickRate)",
            "room_capacity": "\(options.relay.roomCapacity)", "state_size": "\(options.relay.maxStateSize)",
            "protocol_id": "0x\(String(options.protocolID, radix: 16))",
        ])
        if let metricsChannel {
            logger.info("metrics at http://\(options.metricsHost!):\(metricsChannel.localAddress?.port ?? options.metricsPort)/metrics")
        }
        return RelayServerHost(socket: socket, publicAddresses: publicAddresses, driver: driver,
                               metrics: metrics, metricsChannel: metricsChannel, heartbeat: heartbeat, tickRate: options.relay.tickRate, clock: clock)
    }

    public func stats() async throws -> RelayServerStats {
        try await loop.submit { self.driver.value.stats() }.get()
    }

    /// The durations of the ticks since the last call (send included), of their sends, their
    /// thread CPU time and that of their updates (send excluded), for benchmarks.
    public func takeTickDurations() async throws -> TickDurations {
        try await loop.submit {
            let driver = self.driver.value
            let taken = TickDurations(
                ticks: driver.tickDurations, sends: driver.tickSendDurations, cpu: driver.tickCPUDurations,
                updateCPU: driver.tickUpdateCPUDurations)
            driver.resetTickDurations()
            return taken
        }.get()
    }

    /// `takeTickDurations()`'s histograms.
    public struct TickDurations: Sendable {
        /// Each tick, wall time, its send included.
        public var ticks: DurationHistogram
        /// Each tick's send (its datagrams written to the socket), wall time.
        public var sends: DurationHistogram
        /// Each tick's thread CPU time.
        public var cpu: DurationHistogram
        /// Each tick's thread CPU time less its send's: the core's own work.
        public var updateCPU: DurationHistogram
    }

    /// Runs `body` on the relay's event loop thread (to read its CPU time or pin it, in benchmarks).
    public func onLoopThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        try await loop.submit(body).get()
    }

    /// Stops admitting new clients (they are denied as if the server were full); connected
    /// clients stay. For draining.
    public func stopAdmitting() async throws {
        try await loop.submit { self.driver.value.core.netcode.admitsNewClients = false }.get()
    }

    /// Debug hook: the tick loop runs no update for `duration` (as if stuck), without blocking
    /// the event loop. For health-check tests.
    public func debugStallTicks(for duration: Duration) async throws {
        try await loop.submit {
            let driver = self.driver.value
            driver.stalledUntil = driver.clock.now() + duration
        }.get()
    }

    /// Admits clients to `room` from now on (placement put it on this worker).
    public func host(room: String) async throws {
        try await loop.submit { self.driver.value.core.host(room: room) }.get()
    }

    /// Admits no new clients to `room` (placement released it).
    public func release(room: String) async throws {
        try await loop.submit { self.driver.value.core.release(room: room) }.get()
    }

    /// What the placement directory needs from this worker: connected clients, the last tick's
    /// time over the tick period, and each room's members.
    public func placementReport() async throws -> (connected: Int, tickLoad: Double, members: [String: [UInt64]]) {
        try await loop.submit {
            let driver = self.driver.value
            let period = 1.0 / Double(driver.core.configuration.tickRate)
            return (driver.core.netcode.connectedClientIndices.count,
                    driver.lastTickDuration.secondsDouble / period, driver.core.membersByRoom)
        }.get()
    }

    /// Each connected client's link statistics (RTT, jitter, loss, bandwidth, channel counters).
    public func linkStats() async throws -> [ClientLinkStats] {
        try await loop.submit {
            let core = self.driver.value.core
            return core.netcode.connectedClientIndices.compactMap { index in
                guard let id = core.netcode.clientID(index), let stats = core.linkStats(of: index) else { return nil }
                return ClientLinkStats(clientIndex: index, clientID: id, room: core.room(of: index) ?? "", link: stats)
            }
        }.get()
    }

    /// Disconnects every client cleanly (10 disconnect packets each), then closes the socket.
    /// The relay's thread ends when the host is released.
    public func shutdown() async throws {
        try await loop.submit { self.driver.value.shutdown() }.get()
        await socket.close()
        try? await metricsChannel?.close()
    }

    deinit { loop.shutdownGracefully(queue: .global()) { _ in } }
}

/// A fresh random 32-byte key (challenge keys are per server start).
enum SecureRandomKey {
    static func make() -> [UInt8] { ServerRandom.bytes(32) }
}
