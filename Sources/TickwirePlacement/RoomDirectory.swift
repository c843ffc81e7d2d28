/// Where rooms live and who holds a seat in them. The join API asks it to place a room and reserve
/// a seat; workers report their members to it. This process's table is `InMemoryRoomDirectory`;
/// a fleet shares one directory between processes (the same calls over a shared store).
public protocol RoomDirectory: Sendable {
    /// Reserves a seat in `room` for `clientID` until `expiresAt` (Unix seconds), placing the room
    /// on a worker if it is new. Concurrent calls for one new room place it once.
    func reserve(room: String, clientID: UInt64, expiresAt: Double, now: Double) async -> Result<PlacementTable.Placement, PlacementTable.Refusal>
    /// A worker's connected clients, tick load and members by room.
    func report(worker: Int, connected: Int, tickLoad: Double, members: [String: [UInt64]], now: Double) async
    /// Releases rooms empty past their grace period; returns them with their workers.
    func expire(now: Double) async -> [(room: String, worker: Int)]
    /// Every room with its worker, members and pending reservations.
    func rooms() async -> [RoomSummary]
    /// Every worker's capacity, connected clients and free slots.
    func workers() async -> [WorkerSummary]

    // A fleet's directory (shared by several relay processes) also needs these; a process's own
    // directory has nothing to do for them (the defaults below).

    /// Says this process is alive (once a second); a fleet takes a process whose heartbeats stop
    /// out of placement and releases its rooms.
    func heartbeat(now: Double) async
    /// Rooms that other processes placed on this process's workers and that are not hosted yet.
    func claimedRooms() async -> [(room: String, worker: Int)]
    /// This process's worker hosts `room` now: joins waiting for it may hand out their tokens.
    func markHosted(room: String) async
    /// Waits until the process that owns `room` hosts it; throws `DirectoryError.notHosted` after
    /// `timeout` seconds.
    func awaitHosted(room: String, timeout: Double) async throws
    /// This process is leaving the fleet: its rooms are released at once.
    func leave() async
    /// This process drains: the fleet places no new rooms here (its rooms stay until it leaves).
    func drain() async
    /// This process's id in a fleet's directory; nil for a process's own directory.
    var fleetRelayID: String? { get }
}

extension RoomDirectory {
    public func drain() async {}
    public var fleetRelayID: String? { nil }
    public func heartbeat(now: Double) async {}
    public func claimedRooms() async -> [(room: String, worker: Int)] { [] }
    public func markHosted(room: String) async {}
    public func awaitHosted(room: String, timeout: Double) async throws {}
    public func leave() async {}
}

public enum DirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    case notHosted(room: String, seconds: Double)
    case unavailable(String)

    public var description: String {
        switch self {
        case .notHosted(let room, let seconds): "the relay that owns room '\(room)' did not host it within \(seconds) s"
        case .unavailable(let why): "the room directory is unavailable: \(why)"
        }
    }
}

/// A worker of another relay process in the fleet, where a token must send the client.
public struct RemoteWorker: Sendable, Equatable, Codable {
    /// The relay process's id in the directory.
    public var relay: String
    public var worker: Int
    /// The worker's public address (`host:port`), as the relay registered it.
    public var address: String

    public init(relay: String, worker: Int, address: String) {
        self.relay = relay
        self.worker = worker
        self.address = address
    }
}

public struct RoomSummary: Sendable, Equatable, Codable {
    public var room: String
    public var worker: Int
    public var members: Int
    public var reserved: Int
    /// In a fleet: the relay process and the worker's public address.
    public var relay: String?
    public var server: String?

    public init(room: String, worker: Int, members: Int, reserved: Int, relay: String? = nil, server: String? = nil) {
        self.room = room
        self.worker = worker
        self.members = members
        self.reserved = reserved
        self.relay = relay
        self.server = server
    }
}

public struct WorkerSummary: Sendable, Equatable, Codable {
    public var worker: Int
    public var capacity: Int
    public var connected: Int
    public var freeSlots: Int
    public var tickLoad: Double
    /// In a fleet: the relay process and the worker's public address.
    public var relay: String?
    public var server: String?

    public init(worker: Int, capacity: Int, connected: Int, freeSlots: Int, tickLoad: Double, relay: String? = nil, server: String? = nil) {
        self.worker = worker
        self.capacity = capacity
        self.connected = connected
        self.freeSlots = freeSlots
        self.tickLoad = tickLoad
        self.relay = relay
        self.server = server
    }
}

/// One process's directory: a `PlacementTable` behind an actor, so reservations and reports are
/// applied one at a time (two joins for one new room cannot place it twice).
public actor InMemoryRoomDirectory: RoomDirectory {
    private var table: PlacementTable

    public init(table: PlacementTable) { self.table = table }

    public func reserve(room: String, clientID: UInt64, expiresAt: Double, now: Double) -> Result<PlacementTable.Placement, PlacementTable.Refusal> {
        table.reserve(room: room, clientID: clientID, expiresAt: expiresAt, now: now)
    }

    public func report(worker: Int, connected: Int, tickLoad: Double, members: [String: [UInt64]], now: Double) {
        table.report(worker: worker, connected: connected, tickLoad: tickLoad, members: members, now: now)
    }

    public func expire(now: Double) -> [(room: String, worker: Int)] { table.expire(now: now) }

    public func rooms() -> [RoomSummary] {
        table.rooms.map { name, room in
            RoomSummary(room: name, worker: room.worker, members: room.members.count,
                        reserved: room.reservations.keys.count(where: { !room.members.contains($0) }))
        }.sorted { $0.room < $1.room }
    }

    public func workers() -> [WorkerSummary] {
        let free = table.freeSlots()
        return table.workers.indices.map { i in
            WorkerSummary(worker: i, capacity: table.workers[i].capacity, connected: table.workers[i].connected,
                          freeSlots: free[i], tickLoad: table.workers[i].tickLoad)
        }
    }
}
