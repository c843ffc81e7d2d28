/// netcode's replay window: 256 slots indexed by `sequence % 256`, each remembering the newest
/// sequence seen there. A packet is a replay if it is older than the window or its slot already
/// holds a sequence at least as new. The comparison is written so it cannot overflow
/// (netcode IMPLEMENTERS.md §1).
public struct ReplayProtection: Sendable {
    private static let empty = UInt64.max
    private var received: [UInt64]
    public private(set) var mostRecentSequence: UInt64 = 0

    public init() {
        received = Array(repeating: Self.empty, count: Netcode.replayWindowSize)
    }

    public mutating func reset() {
        mostRecentSequence = 0
        for i in received.indices { received[i] = Self.empty }
    }

    /// True when `sequence` must be rejected. Does not record it.
    public func alreadyReceived(_ sequence: UInt64) -> Bool {
        let window = UInt64(Netcode.replayWindowSize)
        if mostRecentSequence >= window && sequence <= mostRecentSequence - window { return true }
        let slot = received[Int(sequence % window)]
        if slot == Self.empty { return false }
        return slot >= sequence
    }

    /// Records a sequence that authenticated.
    public mutating func advance(_ sequence: UInt64) {
        if sequence > mostRecentSequence { mostRecentSequence = sequence }
        received[Int(sequence % UInt64(Netcode.replayWindowSize))] = sequence
    }
}
