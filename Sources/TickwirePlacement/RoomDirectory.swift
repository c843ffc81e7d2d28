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
}

public struct RoomSummary: Sendable, Equatable, Codable {
    public var room: String
    public var worker: Int
    public var members: Int
    public var reserved: Int
}

public struct WorkerSummary: Sendable, Equatable, Codable {
    public var worker: Int
    public var capacity: Int
    public var connected: Int
    public var freeSlots: Int
    public var tickLoad: Double
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
