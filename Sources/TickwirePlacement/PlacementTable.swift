/// Which worker hosts which room, and the seats reserved in each: the placement decision as a pure
/// state machine. Time comes in as Unix seconds (a reservation lasts as long as its token); no
/// clocks, threads or I/O here. `InMemoryRoomDirectory` serializes access to one table for a
/// process; a fleet directory keeps the same records in a shared store.
///
/// * A new room goes to the worker with the most headroom: free client slots (capacity less
///   connected clients and seats reserved but not yet taken) scaled down by how busy its tick is.
/// * A room stays on its worker while it has members or reservations, and for `emptyGrace`
///   seconds after it empties; then `expire` releases it.
/// * Seats: a room holds `roomCapacity` clients, counting members and unexpired reservations;
///   one more is refused with `roomFull` before anyone connects.
public struct PlacementTable: Sendable {
    public struct Worker: Sendable, Equatable {
        /// Client slots of the worker.
        public var capacity: Int
        /// Clients connected, as last reported.
        public var connected = 0
        /// Recent tick time over the tick period (0: idle, 1: the tick takes its whole period).
        public var tickLoad = 0.0

        public init(capacity: Int) { self.capacity = capacity }
    }

    public struct Room: Sendable, Equatable {
        public var worker: Int
        /// Connected clients by id, as last reported by the worker.
        public var members: Set<UInt64> = []
        /// Seats reserved and not yet taken: client id → Unix seconds the reservation expires.
        public var reservations: [UInt64: Double] = [:]
        /// When the room was last seen with no members and no reservations.
        public var emptySince: Double?

        var seatsTaken: Int { members.count + reservations.keys.count(where: { !members.contains($0) }) }
    }

    public enum Refusal: Error, Equatable, Sendable {
        /// The room already holds `roomCapacity` members and reservations.
        case roomFull
        /// No worker has a free slot (for a new room), or the room's worker has none.
        case noCapacity
        /// A fleet's shared directory could not be reached (never from a process's own table).
        case directoryUnavailable
    }

    public struct Placement: Equatable, Sendable {
        public var worker: Int
        /// The room was placed by this reservation.
        public var newRoom: Bool
        /// A worker of another relay process of the fleet (nil: `worker` is one of this process's).
        public var remote: RemoteWorker?

        public init(worker: Int, newRoom: Bool, remote: RemoteWorker? = nil) {
            self.worker = worker
            self.newRoom = newRoom
            self.remote = remote
        }
    }

    /// How much a worker suits a new room: its share of free slots, scaled down by how busy its
    /// tick is. The worker with the highest score gets the room.
    public static func score(freeSlots: Int, capacity: Int, tickLoad: Double) -> Double {
        Double(freeSlots) / Double(max(1, capacity)) * (1 - min(max(tickLoad, 0), 0.99))
    }

    public private(set) var workers: [Worker]
    public private(set) var rooms: [String: Room] = [:]
    public let roomCapacity: Int
    public let emptyGrace: Double

    public init(workerCapacities: [Int], roomCapacity: Int, emptyGrace: Double = 30) {
        precondition(!workerCapacities.isEmpty && workerCapacities.allSatisfy { $0 > 0 }, "workers need capacity")
        precondition(roomCapacity > 0, "rooms need capacity")
        workers = workerCapacities.map(Worker.init(capacity:))
        self.roomCapacity = roomCapacity
        self.emptyGrace = emptyGrace
    }

    /// Seats reserved by clients not yet connected, per worker: one pass over the rooms.
    func pendingSeatsByWorker() -> [Int] {
        var pending = [Int](repeating: 0, count: workers.count)
        for room in rooms.values { pending[room.worker] += room.reservations.keys.count(where: { !room.members.contains($0) }) }
        return pending
    }

    /// Free slots of every worker: capacity less connected clients and pending reservations.
    public func freeSlots() -> [Int] {
        zip(workers, pendingSeatsByWorker()).map { worker, pending in worker.capacity - worker.connected - pending }
    }

    /// Free slots of `worker`.
    public func freeSlots(of worker: Int) -> Int { freeSlots()[worker] }

    /// Reserves a seat in `room` for `clientID` until `expiresAt`, placing the room first if it is
    /// new. A client that already holds a seat there (a member, or a reservation) gets it again,
    /// with the later expiry.
    public mutating func reserve(room name: String, clientID: UInt64, expiresAt: Double, now: Double) -> Result<Placement, Refusal> {
        dropExpiredReservations(now: now)
        let free = freeSlots()
        if var room = rooms[name] {
            let holdsSeat = room.members.contains(clientID) || room.reservations[clientID] != nil
            if !holdsSeat {
                guard room.seatsTaken < roomCapacity else { return .failure(.roomFull) }
                guard free[room.worker] > 0 else { return .failure(.noCapacity) }
            }
            room.reservations[clientID] = max(room.reservations[clientID] ?? 0, expiresAt)
            room.emptySince = nil
            rooms[name] = room
            return .success(Placement(worker: room.worker, newRoom: false))
        }
        var best: (worker: Int, score: Double)?
        for index in workers.indices where free[index] > 0 {
            let score = Self.score(freeSlots: free[index], capacity: workers[index].capacity, tickLoad: workers[index].tickLoad)
            if best.map({ score > $0.score }) ?? true { best = (index, score) }
        }
        guard let chosen = best?.worker else { return .failure(.noCapacity) }
        rooms[name] = Room(worker: chosen, reservations: [clientID: expiresAt])
        return .success(Placement(worker: chosen, newRoom: true))
    }

    /// A worker's state: connected clients, tick load and the members of each of its rooms. A
    /// reservation whose client is now a member is taken. A room the table did not know is adopted
    /// (a worker that admitted it by itself); a room of this worker missing from the report has no
    /// members.
    public mutating func report(worker: Int, connected: Int, tickLoad: Double, members: [String: [UInt64]], now: Double) {
        guard workers.indices.contains(worker) else { return }
        workers[worker].connected = connected
        workers[worker].tickLoad = tickLoad
        for name in members.keys where rooms[name] == nil { rooms[name] = Room(worker: worker) }
        for name in rooms.keys where rooms[name]!.worker == worker {
            var room = rooms[name]!
            room.members = Set(members[name] ?? [])
            for id in room.members { room.reservations[id] = nil }
            if room.members.isEmpty && room.reservations.isEmpty {
                room.emptySince = room.emptySince ?? now
            } else {
                room.emptySince = nil
            }
            rooms[name] = room
        }
    }

    /// Drops expired reservations and releases rooms empty for longer than `emptyGrace`; returns
    /// the released rooms with their workers (so each worker stops hosting them).
    public mutating func expire(now: Double) -> [(room: String, worker: Int)] {
        dropExpiredReservations(now: now)
        var released: [(room: String, worker: Int)] = []
        for (name, room) in rooms {
            guard let since = room.emptySince, now - since >= emptyGrace else { continue }
            released.append((name, room.worker))
        }
        for (name, _) in released { rooms[name] = nil }
        return released.sorted { $0.room < $1.room }
    }

    private mutating func dropExpiredReservations(now: Double) {
        for name in rooms.keys {
            guard rooms[name]!.reservations.values.contains(where: { $0 <= now }) else { continue }
            var room = rooms[name]!
            room.reservations = room.reservations.filter { $0.value > now }
            if room.members.isEmpty && room.reservations.isEmpty { room.emptySince = room.emptySince ?? now }
            rooms[name] = room
        }
    }
}
