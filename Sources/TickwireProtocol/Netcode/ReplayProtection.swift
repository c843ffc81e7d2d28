/// netcode's replay window: 256 slots indexed by `sequence % 256`, each remembering the newest
/// sequence seen there. A packet is a replay if it is older than the window or its slot already
/// holds a sequence at least as new. The comparison is written so it cannot overflow
/// (netcode IMPLEMENTERS.md §1). Empty slots are `nil` rather than the reference's all-ones
/// sentinel, so sequence 2^64−1 is protected too.
public struct ReplayProtection: Sendable {
    private var received: [UInt64?]
    public private(set) var mostRecentSequence: UInt64 = 0

    public init() {
        received = Array(repeating: nil, count: Netcode.replayWindowSize)
    }

    public mutating func reset() {
        mostRecentSequence = 0
        for i in received.indices { received[i] = nil }
    }

    /// True when `sequence` must be rejected. Does not record it.
    public func alreadyReceived(_ sequence: UInt64) -> Bool {
        let window = UInt64(Netcode.replayWindowSize)
        if mostRecentSequence >= window && sequence <= mostRecentSequence - window { return true }
        guard let slot = received[Int(sequence % window)] else { return false }
        return slot >= sequence
    }

    /// Records a sequence that authenticated.
    public mutating func advance(_ sequence: UInt64) {
        if sequence > mostRecentSequence { mostRecentSequence = sequence }
        received[Int(sequence % UInt64(Netcode.replayWindowSize))] = sequence
    }
}
