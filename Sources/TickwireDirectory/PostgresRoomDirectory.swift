import Logging
import PostgresNIO
import TickwirePlacement

/// A fleet's room directory in PostgreSQL: every relay process of the fleet registers its workers
/// here, and the join API of any of them places rooms on any live worker of the fleet.
///
/// * A relay registers its workers (public address, capacity) and heartbeats once a second with
///   each worker's clients, tick load and room members. A relay whose heartbeat is older than
///   `heartbeatTimeout` is out of placement; the next heartbeat of any relay deletes it, and its
///   rooms and seats with it, so new joins for those rooms are placed again.
/// * A room is claimed in one transaction: the room's row is locked if it exists, else inserted
///   with `ON CONFLICT DO NOTHING` and read back, so two joins for one new room through two relays
///   give one placement. Seats are reserved until the token expires; a member's seat is its own.
/// * The owner of a room placed by another relay sees the claim (`claimedRooms`), hosts it and
///   marks it hosted; the other relay's join waits for that (`awaitHosted`) before it hands out the
///   token, so a client never reaches a worker that would refuse its room.
/// * Time: heartbeats and liveness use the database's clock; seat expiries are the tokens' own
///   Unix times.
public actor PostgresRoomDirectory: RoomDirectory {
    public struct Worker: Sendable {
        /// The public address (`host:port`) tokens name for this worker.
        public var address: String
        public var capacity: Int

        public init(address: String, capacity: Int) {
            self.address = address
            self.capacity = capacity
        }
    }

    public nonisolated let relayID: String
    public nonisolated var fleetRelayID: String? { relayID }
    private let client: PostgresClient
    private let workers: [Worker]
    private let roomCapacity: Int
    private let emptyGrace: Double
    private let heartbeatTimeout: Double
    private let logger: Logger
    private var runner: Task<Void, Never>?
    /// Database calls that failed (logged; the relay's rooms keep running).
    public private(set) var failures: UInt64 = 0

    public init(
        configuration: PostgresClient.Configuration, relayID: String, workers: [Worker], roomCapacity: Int,
        emptyGrace: Double = 30, heartbeatTimeout: Double = 5, logger: Logger
    ) {
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.relayID = relayID
        self.workers = workers
        self.roomCapacity = roomCapacity
        self.emptyGrace = emptyGrace
        self.heartbeatTimeout = heartbeatTimeout
        self.logger = logger
    }

    /// Connects, applies missing migrations and registers this relay's workers.
    public func start() async throws {
        let client = self.client
        runner = Task { await client.run() }
        let applied = try await DirectorySchema.migrate(client, logger: logger)
        if !applied.isEmpty { logger.info("directory schema migrated", metadata: ["versions": "\(applied)"]) }
        try await register()
    }

    /// Leaves the fleet (rooms released) and closes the connections.
    public func stop() async {
        await leave()
        runner?.cancel()
        runner = nil
    }

    private func register() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("""
                INSERT INTO tickwire_relays (relay_id) VALUES (\(relayID))
                ON CONFLICT (relay_id) DO UPDATE SET heartbeat_at = now(), draining = false
                """, logger: logger)
            for (index, worker) in workers.enumerated() {
                try await connection.query("""
                    INSERT INTO tickwire_workers (relay_id, worker, address, capacity) VALUES (\(relayID), \(index), \(worker.address), \(worker.capacity))
                    ON CONFLICT (relay_id, worker) DO UPDATE SET address = excluded.address, capacity = excluded.capacity
                    """, logger: logger)
            }
        }
    }

    private func failed(_ what: String, _ error: any Error) {
        failures &+= 1
        logger.warning("room directory: \(what) failed", metadata: ["error": "\(String(reflecting: error))"])
    }

    // MARK: Placement

    private struct Owner {
        var relay: String
        var worker: Int
        var address: String
        var alive: Bool
        var members: [Int64]
    }

    private func owner(of room: String, on connection: PostgresConnection) async throws -> Owner? {
        let rows = try await connection.query("""
            SELECT r.relay_id, r.worker, w.address, rel.heartbeat_at > now() - make_interval(secs => \(heartbeatTimeout)), r.members
            FROM tickwire_rooms r
            JOIN tickwire_workers w ON w.relay_id = r.relay_id AND w.worker = r.worker
            JOIN tickwire_relays rel ON rel.relay_id = r.relay_id
            WHERE r.room = \(room) FOR UPDATE OF r
            """, logger: logger)
        for try await (relay, worker, address, alive, members) in rows.decode((String, Int, String, Bool, [Int64]).self) {
            return Owner(relay: relay, worker: worker, address: address, alive: alive, members: members)
        }
        return nil
    }

    private struct Candidate {
        var relay: String
        var worker: Int
        var capacity: Int
        var free: Int
        var tickLoad: Double
    }

    /// Every live worker of the fleet with its free slots (capacity less connected clients and
    /// unexpired reservations on its rooms).
    private func candidates(now: Double, on connection: PostgresConnection) async throws -> [Candidate] {
        let rows = try await connection.query("""
            SELECT w.relay_id, w.worker, w.capacity, w.tick_load,
                   w.capacity - w.connected - coalesce((
                       SELECT count(*) FROM tickwire_seats s JOIN tickwire_rooms r ON r.room = s.room
                       WHERE r.relay_id = w.relay_id AND r.worker = w.worker AND s.expires_at > \(now)), 0)::integer
            FROM tickwire_workers w JOIN tickwire_relays rel ON rel.relay_id = w.relay_id
            WHERE rel.heartbeat_at > now() - make_interval(secs => \(heartbeatTimeout)) AND NOT rel.draining
            ORDER BY w.relay_id, w.worker
            """, logger: logger)
        var found: [Candidate] = []
        for try await (relay, worker, capacity, load, free) in rows.decode((String, Int, Int, Double, Int).self) {
            found.append(Candidate(relay: relay, worker: worker, capacity: capacity, free: free, tickLoad: load))
        }
        return found
    }

    public func reserve(room: String, clientID: UInt64, expiresAt: Double, now: Double) async
        -> Result<PlacementTable.Placement, PlacementTable.Refusal>
    {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await reserve(room: room, clientID: Int64(bitPattern: clientID), expiresAt: expiresAt, now: now, on: connection)
            }
        } catch {
            failed("a seat reservation", error)
            return .failure(.directoryUnavailable)
        }
    }

    private func reserve(room: String, clientID: Int64, expiresAt: Double, now: Double, on connection: PostgresConnection) async throws
        -> Result<PlacementTable.Placement, PlacementTable.Refusal>
    {
        var owner = try await owner(of: room, on: connection)
        if let dead = owner, !dead.alive {
            // Its relay stopped heartbeating: the room is placed again.
            try await connection.query("DELETE FROM tickwire_rooms WHERE room = \(room)", logger: logger)
            owner = nil
        }
        var newRoom = false
        var free: Int?
        if owner == nil {
            let candidates = try await candidates(now: now, on: connection).filter { $0.free > 0 }
            guard let best = candidates.max(by: {
                PlacementTable.score(freeSlots: $0.free, capacity: $0.capacity, tickLoad: $0.tickLoad)
                    < PlacementTable.score(freeSlots: $1.free, capacity: $1.capacity, tickLoad: $1.tickLoad)
            }) else { return .failure(.noCapacity) }
            let inserted = try await connection.query("""
                INSERT INTO tickwire_rooms (room, relay_id, worker) VALUES (\(room), \(best.relay), \(best.worker))
                ON CONFLICT (room) DO NOTHING RETURNING room
                """, logger: logger).collect()
            newRoom = !inserted.isEmpty
            // Lost a race with another relay's join: take the placement it made.
            owner = try await self.owner(of: room, on: connection)
            free = newRoom ? best.free : nil
        }
        guard let owner else { throw DirectoryError.unavailable("room '\(room)' vanished while being placed") }

        if !owner.members.contains(clientID) {
            // One round trip: the client's own seat, the room's pending seats, the worker's free slots.
            var holdsSeat = false, pending = 0, workerFree = 0
            let rows = try await connection.query("""
                SELECT EXISTS (SELECT 1 FROM tickwire_seats WHERE room = \(room) AND client_id = \(clientID) AND expires_at > \(now)),
                       (SELECT count(*) FROM tickwire_seats WHERE room = \(room) AND expires_at > \(now))::integer,
                       coalesce((SELECT w.capacity - w.connected - (
                                     SELECT count(*) FROM tickwire_seats s JOIN tickwire_rooms r ON r.room = s.room
                                     WHERE r.relay_id = w.relay_id AND r.worker = w.worker AND s.expires_at > \(now))
                                 FROM tickwire_workers w WHERE w.relay_id = \(owner.relay) AND w.worker = \(owner.worker)), 0)::integer
                """, logger: logger)
            for try await (holds, count, free) in rows.decode((Bool, Int, Int).self) { (holdsSeat, pending, workerFree) = (holds, count, free) }
            if !holdsSeat {
                guard owner.members.count + pending < roomCapacity else { return .failure(.roomFull) }
                // (A room placed just now took its worker's free count before this seat.)
                guard (newRoom ? free ?? 0 : workerFree) > 0 else { return .failure(.noCapacity) }
            }
        }
        try await connection.query("""
            INSERT INTO tickwire_seats (room, client_id, expires_at) VALUES (\(room), \(clientID), \(expiresAt))
            ON CONFLICT (room, client_id) DO UPDATE SET expires_at = greatest(tickwire_seats.expires_at, excluded.expires_at)
            """, logger: logger)
        try await connection.query("UPDATE tickwire_rooms SET empty_since = NULL WHERE room = \(room) AND empty_since IS NOT NULL", logger: logger)
        let remote = owner.relay == relayID ? nil : RemoteWorker(relay: owner.relay, worker: owner.worker, address: owner.address)
        // The owner hosts a room it did not place itself as soon as it hears (sent on commit).
        if newRoom, remote != nil { try await connection.query("SELECT pg_notify(\(Self.claimChannel), \(owner.relay))", logger: logger) }
        return .success(PlacementTable.Placement(worker: owner.worker, newRoom: newRoom, remote: remote))
    }

    // MARK: Reports and liveness

    public func heartbeat(now: Double) async {
        do {
            let stillListed = try await client.withTransaction(logger: logger) { connection -> Bool in
                let rows = try await connection.query(
                    "UPDATE tickwire_relays SET heartbeat_at = now() WHERE relay_id = \(relayID) RETURNING relay_id", logger: logger
                ).collect()
                // Relays silent past the timeout leave the fleet; their rooms and seats go with them.
                let gone = try await connection.query("""
                    DELETE FROM tickwire_relays WHERE heartbeat_at < now() - make_interval(secs => \(heartbeatTimeout)) RETURNING relay_id
                    """, logger: logger)
                for try await relay in gone.decode(String.self) {
                    logger.notice("room directory: relay taken out of placement (no heartbeat)", metadata: ["relay": "\(relay)"])
                }
                return !rows.isEmpty
            }
            if !stillListed {
                // Taken out by another relay while this one was stalled: join again. Its rooms were
                // released; their clients time out and join again through the join API.
                logger.warning("room directory: this relay had been taken out of the fleet; registering again")
                try await register()
            }
        } catch {
            failed("a heartbeat", error)
        }
    }

    public func report(worker: Int, connected: Int, tickLoad: Double, members: [String: [UInt64]], now: Double) async {
        do {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("""
                    UPDATE tickwire_workers SET connected = \(connected), tick_load = \(tickLoad)
                    WHERE relay_id = \(relayID) AND worker = \(worker)
                    """, logger: logger)
                for (room, ids) in members.sorted(by: { $0.key < $1.key }) {
                    let list = ids.map { Int64(bitPattern: $0) }
                    try await connection.query("""
                        UPDATE tickwire_rooms SET members = \(list), empty_since = NULL
                        WHERE room = \(room) AND relay_id = \(relayID) AND worker = \(worker)
                        """, logger: logger)
                    // A reservation whose client is now a member is taken.
                    try await connection.query("DELETE FROM tickwire_seats WHERE room = \(room) AND client_id = ANY(\(list))", logger: logger)
                }
                let present = members.keys.sorted()
                try await connection.query("""
                    UPDATE tickwire_rooms r SET members = '{}',
                        empty_since = CASE WHEN EXISTS (SELECT 1 FROM tickwire_seats s WHERE s.room = r.room AND s.expires_at > \(now))
                                           THEN NULL ELSE coalesce(r.empty_since, now()) END
                    WHERE relay_id = \(relayID) AND worker = \(worker) AND NOT (room = ANY(\(present)))
                    """, logger: logger)
            }
        } catch {
            failed("a worker report", error)
        }
    }

    public func expire(now: Double) async -> [(room: String, worker: Int)] {
        do {
            let rows = try await client.query("""
                DELETE FROM tickwire_rooms r
                WHERE relay_id = \(relayID) AND cardinality(members) = 0
                  AND empty_since < now() - make_interval(secs => \(emptyGrace))
                  AND NOT EXISTS (SELECT 1 FROM tickwire_seats s WHERE s.room = r.room AND s.expires_at > \(now))
                RETURNING room, worker
                """, logger: logger)
            var released: [(room: String, worker: Int)] = []
            for try await (room, worker) in rows.decode((String, Int).self) { released.append((room, worker)) }
            try await client.query("DELETE FROM tickwire_seats WHERE expires_at <= \(now - 60)", logger: logger)
            return released.sorted { $0.room < $1.room }
        } catch {
            failed("releasing empty rooms", error)
            return []
        }
    }

    // MARK: Hosting

    public func claimedRooms() async -> [(room: String, worker: Int)] {
        do {
            let rows = try await client.query(
                "SELECT room, worker FROM tickwire_rooms WHERE relay_id = \(relayID) AND NOT hosted ORDER BY room", logger: logger)
            var claimed: [(room: String, worker: Int)] = []
            for try await (room, worker) in rows.decode((String, Int).self) { claimed.append((room, worker)) }
            return claimed
        } catch {
            failed("reading claimed rooms", error)
            return []
        }
    }

    static let claimChannel = "tickwire_claims"

    /// Calls `onClaim` whenever another relay places a room on this one (a NOTIFY on
    /// `tickwire_claims`), until cancelled; reconnects after a failure. Claims are also polled,
    /// so a lost notification only delays hosting.
    public nonisolated func listenForClaims(_ onClaim: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.claimChannel) { notifications in
                        for try await notification in notifications where notification.payload == relayID { await onClaim() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("room directory: claim notifications interrupted; listening again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    public func markHosted(room: String) async {
        do {
            try await client.query("UPDATE tickwire_rooms SET hosted = true WHERE room = \(room) AND relay_id = \(relayID)", logger: logger)
        } catch {
            failed("marking a room hosted", error)
        }
    }

    public func awaitHosted(room: String, timeout: Double) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(timeout * 1000))
        while clock.now < deadline {
            let rows = try await client.query("SELECT hosted FROM tickwire_rooms WHERE room = \(room)", logger: logger)
            for try await hosted in rows.decode(Bool.self) where hosted { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw DirectoryError.notHosted(room: room, seconds: timeout)
    }

    public func leave() async {
        do {
            try await client.query("DELETE FROM tickwire_relays WHERE relay_id = \(relayID)", logger: logger)
        } catch {
            failed("leaving the fleet", error)
        }
    }

    /// Takes this relay out of placement while it drains (its rooms stay until it leaves).
    public func drain() async {
        do {
            try await client.query("UPDATE tickwire_relays SET draining = true WHERE relay_id = \(relayID)", logger: logger)
        } catch {
            failed("marking the relay draining", error)
        }
    }

    // MARK: Fleet-wide views

    public func rooms() async -> [RoomSummary] {
        do {
            let rows = try await client.query("""
                SELECT r.room, r.relay_id, r.worker, w.address, cardinality(r.members),
                       (SELECT count(*)::integer FROM tickwire_seats s WHERE s.room = r.room
                          AND s.expires_at > extract(epoch FROM now()) AND NOT (s.client_id = ANY(r.members)))
                FROM tickwire_rooms r JOIN tickwire_workers w ON w.relay_id = r.relay_id AND w.worker = r.worker
                ORDER BY r.room
                """, logger: logger)
            var found: [RoomSummary] = []
            for try await (room, relay, worker, address, members, reserved) in rows.decode((String, String, Int, String, Int, Int).self) {
                found.append(RoomSummary(room: room, worker: worker, members: members, reserved: reserved, relay: relay, server: address))
            }
            return found
        } catch {
            failed("listing rooms", error)
            return []
        }
    }

    public func workers() async -> [WorkerSummary] {
        do {
            let now = try await databaseNow()
            return try await client.withConnection { connection in
                let candidates = try await candidates(now: now, on: connection)
                let rows = try await connection.query("""
                    SELECT w.relay_id, w.worker, w.address, w.connected FROM tickwire_workers w ORDER BY w.relay_id, w.worker
                    """, logger: logger)
                var found: [WorkerSummary] = []
                for try await (relay, worker, address, connected) in rows.decode((String, Int, String, Int).self) {
                    guard let live = candidates.first(where: { $0.relay == relay && $0.worker == worker }) else { continue }
                    found.append(WorkerSummary(worker: worker, capacity: live.capacity, connected: connected, freeSlots: live.free,
                                               tickLoad: live.tickLoad, relay: relay, server: address))
                }
                return found
            }
        } catch {
            failed("listing workers", error)
            return []
        }
    }

    private func databaseNow() async throws -> Double {
        for try await now in try await client.query("SELECT extract(epoch FROM now())::double precision", logger: logger).decode(Double.self) {
            return now
        }
        return 0
    }
}
