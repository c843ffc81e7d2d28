/// What a bot does: how often it sends its state and reliable events, and how big they are.
public struct BotBehaviour: Sendable, Equatable {
    /// State updates per second (the entity moves along a seeded path between them).
    public var stateRate: Double = 20
    /// Reliable events to the room per second.
    public var eventRate: Double = 2
    /// Bytes per event (at least 12: sequence and send time).
    public var eventSize: Int = 32
    /// Bytes per state (at least 16; cut to the room's limit).
    public var stateSize: Int = 64
    /// Path speed in units per second.
    public var speed: Double = 4

    public init(stateRate: Double = 20, eventRate: Double = 2, eventSize: Int = 32, stateSize: Int = 64) {
        self.stateRate = stateRate
        self.eventRate = eventRate
        self.eventSize = max(12, eventSize)
        self.stateSize = max(16, stateSize)
    }
}
