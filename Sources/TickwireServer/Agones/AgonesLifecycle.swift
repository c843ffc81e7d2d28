import Foundation
import Logging
import TickwireProtocol

/// A relay process as an Agones GameServer (`tickwire serve --agones`):
///
/// * Before the workers start: read the GameServer (retrying while the sidecar starts) for the
///   public address and ports, which tokens must name: worker i gets port i of the GameServer.
/// * Once listening: `POST /ready`.
/// * Every second: `POST /health` while every worker's tick loop is alive (a loop stuck for a few
///   ticks stops the pings, so Agones marks the server Unhealthy and replaces it); the `rooms`
///   List kept in step with the rooms this process hosts (a List-based FleetAutoscaler then keeps
///   spare capacity); rooms an allocation added to the List (`lists.rooms.addValues`) placed here
///   through the directory, so that later joins for them find them here.
/// * `POST /shutdown` once draining with no client left, or when no room has been hosted for
///   `idleShutdown` after the server had some (an allocated server whose game is over).
///
/// Failures of the sidecar are logged and counted (`failures`), never fatal to running rooms.
public actor AgonesLifecycle {
    public let sdk: AgonesSDK
    let logger: Logger
    let idleShutdown: Duration
    public private(set) var failures: UInt64 = 0
    public private(set) var isReady = false
    public private(set) var shutdownSent = false
    /// Rooms known to be in the GameServer's `rooms` List.
    private var listed: Set<String> = []
    private var hadRooms = false
    private var idleSince: ContinuousClock.Instant?

    public init(sdk: AgonesSDK, idleShutdown: Duration, logger: Logger) {
        self.sdk = sdk
        self.idleShutdown = idleShutdown
        self.logger = logger
    }

    /// Reads the GameServer, retrying every 500 ms while the sidecar starts, for up to `timeout`.
    public static func waitForGameServer(sdk: AgonesSDK, timeout: Duration, logger: Logger) async throws -> AgonesSDK.GameServer {
        let started = ContinuousClock.now
        var lastError: (any Error)?
        while ContinuousClock.now - started < timeout {
            do {
                let server = try await sdk.gameServer()
                if !server.address.isEmpty, !server.ports.isEmpty { return server }
                lastError = AgonesSDK.Failure.malformed(path: "/gameserver", why: "no address or ports yet (state \(server.state))")
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw AgonesSDK.Failure.unreachable("no GameServer with an address after \(timeout): \(lastError.map { "\($0)" } ?? "")")
    }

    /// Worker i's public address: the GameServer's address at its port i.
    public static func workerAddresses(_ server: AgonesSDK.GameServer, workers: Int) throws(RelayServerOptionsError) -> [NetcodeAddress] {
        guard server.ports.count >= workers else {
            throw .invalid("the GameServer has \(server.ports.count) port(s) and --workers is \(workers): give the GameServer one UDP port per worker, or lower --workers")
        }
        return try (0..<workers).map { (i: Int) throws(RelayServerOptionsError) -> NetcodeAddress in
            guard let address = NetcodeAddress(parsing: "\(server.address):\(server.ports[i].port)") else {
                throw .invalid("the GameServer's address '\(server.address)' is not an IP address")
            }
            return address
        }
    }

    private func failed(_ what: String, _ error: any Error) {
        failures &+= 1
        logger.warning("agones: \(what) failed", metadata: ["error": "\(error)"])
    }

    /// Ready, then the once-a-second loop, until cancelled or shut down.
    public func run(group: RelayWorkerGroup, roomsCapacity: Int) async {
        await start(roomsCapacity: roomsCapacity)
        while !Task.isCancelled, !shutdownSent {
            await beat(group: group)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// `POST /ready` (retried while it fails), then the rooms List's capacity.
    public func start(roomsCapacity: Int) async {
        while !isReady, !Task.isCancelled {
            do {
                try await sdk.ready()
                isReady = true
                logger.notice("agones: ready")
            } catch {
                failed("ready", error)
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        do { try await sdk.setRoomsCapacity(roomsCapacity) } catch { failed("setting the rooms List's capacity", error) }
    }

    /// One second's work (a test calls it directly).
    public func beat(group: RelayWorkerGroup) async {
        if RelayWorkerGroup.healthProblem(group.workers) == nil {
            do { try await sdk.health() } catch { failed("health", error) }
        }
        guard let directory = group.directory else { return }
        let fleetRelay = directory.fleetRelayID
        var hosted = Set(await directory.rooms().filter { fleetRelay == nil || $0.relay == fleetRelay }.map(\.room))
        // Rooms an allocation assigned: in the List, not hosted here yet.
        do {
            let server = try await sdk.gameServer()
            for room in server.rooms where !hosted.contains(room) && !listed.contains(room) {
                if await place(room, group: group) { hosted.insert(room) }
            }
            listed.formUnion(server.rooms.filter { hosted.contains($0) })
        } catch {
            failed("reading the GameServer", error)
        }
        for room in hosted.subtracting(listed).sorted() {
            do {
                try await sdk.addRoom(room)
                listed.insert(room)
            } catch { failed("adding room '\(room)' to the rooms List", error) }
        }
        for room in listed.subtracting(hosted).sorted() {
            do {
                try await sdk.removeRoom(room)
                listed.remove(room)
            } catch { failed("removing room '\(room)' from the rooms List", error) }
        }
        if !hosted.isEmpty {
            hadRooms = true
            idleSince = nil
        } else if idleSince == nil {
            idleSince = .now
        }
        let idleLongEnough = hadRooms && idleSince.map { ContinuousClock.now - $0 >= idleShutdown } ?? false
        // Drained: every client has left (rooms still placed but empty do not hold it up).
        let drained = group.isDraining ? await group.connectedClients() == 0 : false
        if drained || (hosted.isEmpty && idleLongEnough) {
            do {
                try await sdk.shutdown()
                shutdownSent = true
                logger.notice("agones: shutdown requested", metadata: ["reason": "\(group.isDraining ? "drained" : "idle")"])
            } catch { failed("shutdown", error) }
        }
    }

    /// Places an allocation-assigned room here through the directory (a seat for no client,
    /// held as long as a token, keeps it until players join) and hosts it.
    private func place(_ room: String, group: RelayWorkerGroup) async -> Bool {
        guard let directory = group.directory else { return false }
        let now = Date().timeIntervalSince1970
        switch await directory.reserve(room: room, clientID: 0, expiresAt: now + 30, now: now) {
        case .success(let placement) where placement.remote == nil && group.workers.indices.contains(placement.worker):
            do {
                try await group.workers[placement.worker].host(room: room)
                await directory.markHosted(room: room)
                logger.info("agones: room assigned by allocation hosted", metadata: ["room": "\(room)", "worker": "\(placement.worker)"])
                return true
            } catch {
                failed("hosting assigned room '\(room)'", error)
                return false
            }
        case .success(let placement):
            logger.warning("agones: an allocation assigned room '\(room)', which the fleet directory has on relay \(placement.remote?.relay ?? "?")")
            return false
        case .failure(let refusal):
            failed("placing assigned room '\(room)'", refusal)
            return false
        }
    }
}
