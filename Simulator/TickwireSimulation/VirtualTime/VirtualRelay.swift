import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// A relay server and its clients in one process on an in-memory network, in virtual time.
///
/// Each client has its own impaired pipe in each direction. `advance(by:)` is event-driven, as
/// the real shells are: the clock jumps to the next instant anything is due (a datagram's
/// delivery, a core's deadline, a bot's next action) and nothing runs in between. A core wakes
/// at its `nextDeadline`, no sooner than `updateInterval` after its last update, and the
/// server also at each tick deadline; what a delivery gives a core to send leaves at once (a
/// read batch's flush). Everything random comes from the seed: the same seed gives the same
/// run, byte for byte.
public struct VirtualRelay {
    public static let serverAddress = NetcodeAddress.ipv4(10, 0, 0, 1, port: 40000)
    public static let protocolID: UInt64 = 0x7469_636b_7769_7265
    /// The simulator's shared development key (never use it for a real server).
    public static let devKey = [UInt8](repeating: 0x5A, count: 32)
    public static let unixStart: UInt64 = 1_800_000_000

    public struct Client {
        public var core: RelayClientCore
        public let clientID: UInt64
        public let address: NetcodeAddress
        public var up: ImpairedPipe
        public var down: ImpairedPipe
        /// Every event this client has heard, in arrival order (when `keepsHeard`).
        public var heard: [RelayClientCore.Event] = []
        /// False: only netcode keep-alives leave this client, never a channel packet or an ack
        /// (a hostile client that crafts its own payloads with `sendRawPayload`).
        public var sendsChannelPackets = true
        /// When the owner (a bot) next acts on its own: `afterClientUpdate` runs then even if the
        /// core has nothing due. The owner sets it in `afterClientUpdate`; nil: only after the
        /// core's updates and deliveries.
        public var actsAt: TickwireInstant?
        fileprivate var lastUpdate = TickwireInstant.zero

        // (Mutating, so that the relay reads them in place: reading a client out of the array
        // copies it, which costs more than the rest of a run in a debug build.)

        /// The core's wake (as `ClientDriver`): its deadline, no sooner than `updateInterval` after
        /// its last update; nil once it has ended.
        fileprivate mutating func coreWake(updateInterval: Duration) -> TickwireInstant? {
            guard sendsChannelPackets else {
                // A hostile client runs netcode alone: its channels' deadlines do not apply.
                guard core.isActive else { return nil }
                return core.netcode.nextDeadline().map { max($0, lastUpdate + updateInterval) }
            }
            return core.hostWake(lastUpdate: lastUpdate, minimumInterval: updateInterval)
        }

        /// The earliest of the core's wake, the next delivery either way and the owner's turn.
        fileprivate mutating func nextWake(updateInterval: Duration) -> TickwireInstant? {
            var next = coreWake(updateInterval: updateInterval)
            for candidate in [up.nextDelivery, down.nextDelivery, actsAt] {
                if let candidate { next = next.map { min($0, candidate) } ?? candidate }
            }
            return next
        }
    }

    public var server: RelayServerCore
    public var clients: [Client] = []
    public private(set) var now = TickwireInstant.zero
    /// nil: everything happens at its exact instant. A duration: a coarse clock that moves at
    /// least that far each time and runs everything due by then (fuzzing uses it to cover many
    /// seconds cheaply).
    public var step: Duration?
    public var updateInterval: Duration = .milliseconds(10)
    /// True: client events are moved into `heard` as they arrive. False: they stay in each core's
    /// `events` for the owner (a bot) to take in `afterClientUpdate`.
    public var keepsHeard = true
    /// When set, every datagram delivered to the server (and to `recordedClient`) is appended
    /// here with its time: a recording that benchmarks replay into a copy of the same state.
    public var recording: Recording?
    public struct Recording: Sendable {
        public var recordedClient: Int
        public var toServer: [(at: TickwireInstant, from: NetcodeAddress, bytes: [UInt8])] = []
        public var toClient: [(at: TickwireInstant, bytes: [UInt8])] = []
        public init(recordedClient: Int = 0) { self.recordedClient = recordedClient }
    }
    /// Called for every client after each of its updates (bots act here).
    private var random: SplitMix64
    private var lastServerUpdate = TickwireInstant.zero
    private var wakes = WakeQueue()
    private var clientByAddress: [NetcodeAddress: Int] = [:]

    public init(configuration: RelayConfiguration = RelayConfiguration(), maxClients: Int = 64, seed: UInt64) throws {
        random = SplitMix64(seed: seed)
        var challengeKey = [UInt8](repeating: 0, count: 32)
        for i in challengeKey.indices { challengeKey[i] = UInt8(truncatingIfNeeded: random.next()) }
        let netcode = try NetcodeServer(
            configuration: NetcodeServerConfiguration(
                protocolID: Self.protocolID, privateKey: Self.devKey, maxClients: maxClients,
                serverAddresses: [Self.serverAddress], challengeKey: challengeKey),
            unixTimeAtInstantZero: Self.unixStart)
        server = try RelayServerCore(netcode: netcode, configuration: configuration)
    }

    /// Mints a token with the dev key (nonce and session keys from the seed).
    public mutating func token(clientID: UInt64, room: String, timeoutSeconds: Int32 = 5) throws -> ConnectToken {
        let request = ConnectTokenRequest(
            protocolID: Self.protocolID, clientID: clientID, createTimestamp: Self.unixStart + UInt64(now.nanoseconds / 1_000_000_000),
            expireSeconds: 3600, timeoutSeconds: timeoutSeconds, publicServerAddresses: [Self.serverAddress],
            userData: try RoomTicket(room: room).encodeUserData())
        func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        return try ConnectTokenMinter.mint(
            request, privateKey: Self.devKey, nonce: bytes(24), clientToServerKey: bytes(32), serverToClientKey: bytes(32))
    }

    /// Adds a client that starts connecting now; returns its index in `clients`.
    @discardableResult
    public mutating func addClient(
        clientID: UInt64, room: String, up: ImpairmentProfile = .perfect, down: ImpairmentProfile = .perfect,
        timeoutSeconds: Int32 = 5, channels: ChannelConfiguration = ChannelConfiguration(), pacesAcksWithStates: Bool = true
    ) throws -> Int {
        let index = clients.count
        let address = NetcodeAddress.ipv4(10, 1, UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index), port: 50000)
        var core = try RelayClientCore(channels: channels, pacesAcksWithStates: pacesAcksWithStates)
        core.connect(token: try token(clientID: clientID, room: room, timeoutSeconds: timeoutSeconds), now: now)
        clients.append(Client(
            core: core, clientID: clientID, address: address,
            up: ImpairedPipe(profile: up, seed: random.next()), down: ImpairedPipe(profile: down, seed: random.next())))
        clientByAddress[address] = index
        flush(client: index)
        return index
    }

    /// Runs the network, server and clients for `duration` of virtual time. `afterClientUpdate`
    /// is called for a client after each of its updates, after datagrams reach it, and at its
    /// `actsAt` (where a bot reads what it heard and acts).
    public mutating func advance(by duration: Duration, afterClientUpdate: (inout Client, TickwireInstant) -> Void = { _, _ in }) {
        let end = now + duration
        // Callers may have queued work or changed links since the last call: read every client.
        wakes.removeAll()
        for i in clients.indices { scheduleWake(of: i) }
        while true {
            var next = serverWake
            if let first = wakes.first() { next = min(next, first) }
            if let step { next = max(next, now + step) }
            guard next <= end else { break }
            now = max(now, next)
            var progressed = true
            while progressed {
                progressed = false
                while let i = wakes.popDue(now) {
                    run(client: i, afterClientUpdate)
                    progressed = true
                }
                if serverWake <= now {
                    lastServerUpdate = now
                    server.update(now: now)
                    flushServer()
                    progressed = true
                }
            }
        }
        now = end
    }

    /// The server's next wake: its core's deadline, no sooner than `updateInterval` after its
    /// last update unless a tick is due first (as `RelayServerDriver`).
    private var serverWake: TickwireInstant {
        min(server.nextTickDeadline, max(server.nextDeadline, lastServerUpdate + updateInterval))
    }

    private mutating func scheduleWake(of i: Int) {
        wakes.schedule(i, at: clients[i].nextWake(updateInterval: updateInterval))
    }

    /// Everything due for client `i` now: its datagrams to the server, the server's to it, its
    /// update, its owner's turn. Then its next wake.
    private mutating func run(client i: Int, _ afterClientUpdate: (inout Client, TickwireInstant) -> Void) {
        var serverRead = false
        while let datagram = clients[i].up.receive(now: now) {
            recording?.toServer.append((now, clients[i].address, datagram))
            // As the I/O shell does before each datagram (a hint: nothing observable changes).
            server.prefetch(from: clients[i].address)
            server.receive(datagram, from: clients[i].address, now: now)
            serverRead = true
        }
        if serverRead { flushServer() }
        var heard = false
        while let datagram = clients[i].down.receive(now: now) {
            if recording?.recordedClient == i { recording?.toClient.append((now, datagram)) }
            clients[i].core.receive(datagram, from: Self.serverAddress, now: now)
            heard = true
        }
        var acts = heard
        if let at = clients[i].actsAt, at <= now { acts = true }
        if let wake = clients[i].coreWake(updateInterval: updateInterval), wake <= now {
            clients[i].lastUpdate = now
            if clients[i].sendsChannelPackets {
                clients[i].core.update(now: now)
            } else {
                clients[i].core.updateNetcodeOnly(now: now)
            }
            acts = true
        }
        if acts {
            drainEvents(of: i)
            afterClientUpdate(&clients[i], now)
            if let at = clients[i].actsAt, at <= now { clients[i].actsAt = nil }
        }
        flush(client: i)
    }

    /// Advances until `condition` holds or `limit` passes; returns whether it held.
    @discardableResult
    public mutating func run(for limit: Duration, until condition: (VirtualRelay) -> Bool) -> Bool {
        let end = now + limit
        while now < end {
            if condition(self) { return true }
            advance(by: .milliseconds(10))
        }
        return condition(self)
    }

    private mutating func drainEvents(of i: Int) {
        guard keepsHeard, !clients[i].core.events.isEmpty else { return }
        clients[i].heard.append(contentsOf: clients[i].core.events)
        clients[i].core.events.removeAll()
    }

    private mutating func flush(client i: Int) {
        let at = now
        clients[i].core.outbound.forEach { address, bytes in
            if address == Self.serverAddress { clients[i].up.send(bytes, now: at) }
        }
        clients[i].core.outbound.removeAll()
        scheduleWake(of: i)
    }

    private mutating func flushServer() {
        let at = now
        server.outbound.forEach { address, bytes in
            if let i = clientByAddress[address] {
                clients[i].down.send(bytes, now: at)
                if let delivery = clients[i].down.nextDelivery { wakes.scheduleNoLater(i, than: delivery) }
            }
        }
        server.outbound.removeAll()
    }
}
