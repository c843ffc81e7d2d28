/// One tick of a room as a client sees it: every other client's entity and its state.
///
/// It shares the decoder's storage for that tick (no copy, no allocation per snapshot): read the
/// entities in place with `forEachEntity` or `withState(clientID:)`, or as values with
/// `entities`, which builds an array on each call.
public struct RoomSnapshot: Equatable, Sendable {
    public var tick: UInt32
    /// The tick's time on the server's schedule (tick × period since the server started).
    public var serverTime: Duration
    private var view: SnapshotView

    public init(tick: UInt32, serverTime: Duration, entities: [RoomEntity]) {
        self.tick = tick
        self.serverTime = serverTime
        view = SnapshotView()
        // Kept in entity-id order, as snapshots list them; a repeated id keeps its first entity.
        for entity in entities.sorted(by: { $0.entityID < $1.entityID }) where view.lastID != entity.entityID {
            view.append(id: entity.entityID, clientID: entity.clientID, state: entity.state)
        }
    }

    init(tick: UInt32, serverTimeMicros: UInt64, view: SnapshotView) {
        self.tick = tick
        serverTime = .microseconds(Int64(clamping: serverTimeMicros))
        self.view = view
    }

    public var entityCount: Int { view.count }

    /// The entities as values (an array and a copy of each state: allocates).
    public var entities: [RoomEntity] {
        view.indices.map { RoomEntity(entityID: view.id(at: $0), clientID: view.clientID(at: $0), state: view.state(at: $0)) }
    }

    /// Calls `body` with each entity, in entity-id order; the state bytes are valid during the call only.
    public func forEachEntity(_ body: (_ entityID: UInt16, _ clientID: UInt64, _ state: UnsafeRawBufferPointer) throws -> Void) rethrows {
        for i in view.indices {
            try view.withState(at: i) { try body(view.id(at: i), view.clientID(at: i), $0) }
        }
    }

    /// Calls `body` with entity `index` (0..<entityCount, in entity-id order); nil past the end.
    public func withEntity<R>(at index: Int, _ body: (_ entityID: UInt16, _ clientID: UInt64, _ state: UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard view.indices.contains(index) else { return nil }
        return try view.withState(at: index) { try body(view.id(at: index), view.clientID(at: index), $0) }
    }

    public func entity(clientID: UInt64) -> RoomEntity? {
        guard let i = view.position(ofClient: clientID) else { return nil }
        return RoomEntity(entityID: view.id(at: i), clientID: clientID, state: view.state(at: i))
    }
}

public struct RoomEntity: Equatable, Sendable {
    public var entityID: UInt16
    public var clientID: UInt64
    public var state: [UInt8]

    public init(entityID: UInt16, clientID: UInt64, state: [UInt8]) {
        self.entityID = entityID
        self.clientID = clientID
        self.state = state
    }
}
