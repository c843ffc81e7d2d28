/// One tick of a room as a client sees it: every other client's entity and its state.
public struct RoomSnapshot: Equatable, Sendable {
    public var tick: UInt32
    /// The tick's time on the server's schedule (tick × period since the server started).
    public var serverTime: Duration
    public var entities: [RoomEntity]

    public init(tick: UInt32, serverTime: Duration, entities: [RoomEntity]) {
        self.tick = tick
        self.serverTime = serverTime
        self.entities = entities
    }

    init(tick: UInt32, serverTimeMicros: UInt64, view: SnapshotView) {
        self.tick = tick
        serverTime = .microseconds(Int64(clamping: serverTimeMicros))
        entities = view.ids.indices.map { RoomEntity(entityID: view.ids[$0], clientID: view.clientIDs[$0], state: view.state(at: $0)) }
    }

    public func entity(clientID: UInt64) -> RoomEntity? { entities.first { $0.clientID == clientID } }
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
