import CTickwireMemory
/// netcode's replay window: 256 slots indexed by `sequence % 256`, each remembering the newest
/// sequence seen there. A packet is a replay if it is older than the window or its slot already
/// holds a sequence at least as new. The comparison is written so it cannot overflow
/// (netcode IMPLEMENTERS.md §1). Which slots are filled is kept in a 256-bit mask rather than the
/// reference's all-ones sentinel, so sequence 2^64−1 is protected too; the slots themselves are
/// plain 8-byte sequences (2 KB a connection, not the 4 KB of optionals).
public struct ReplayProtection: Sendable {
    private var received: [UInt64]
    private var filled: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    public private(set) var mostRecentSequence: UInt64 = 0

    public init() {
        precondition(MemoryLayout.size(ofValue: filled) * 8 == Netcode.replayWindowSize, "the filled mask has a bit per window slot")
        received = Array(repeating: 0, count: Netcode.replayWindowSize)
    }

    public mutating func reset() {
        mostRecentSequence = 0
        filled = (0, 0, 0, 0)
    }

    /// Hint: fetch the slot the sequence after the most recent one checks.
    public mutating func prefetchNext() {
        let offset = Int((mostRecentSequence &+ 1) % UInt64(Netcode.replayWindowSize)) &* MemoryLayout<UInt64>.stride
        withUnsafeMutablePointer(to: &received) { tickwire_prefetch_array_elements($0, offset, 1) }
    }

    /// True when `sequence` must be rejected. Does not record it.
    public func alreadyReceived(_ sequence: UInt64) -> Bool {
        let window = UInt64(Netcode.replayWindowSize)
        if mostRecentSequence >= window && sequence <= mostRecentSequence - window { return true }
        let slot = Int(sequence % window)
        guard isFilled(slot) else { return false }
        return received[slot] >= sequence
    }

    /// Records a sequence that authenticated.
    public mutating func advance(_ sequence: UInt64) {
        if sequence > mostRecentSequence { mostRecentSequence = sequence }
        let slot = Int(sequence % UInt64(Netcode.replayWindowSize))
        received[slot] = sequence
        withUnsafeMutableBytes(of: &filled) { words in
            let word = words.load(fromByteOffset: (slot / 64) * 8, as: UInt64.self) | (1 << UInt64(slot % 64))
            words.storeBytes(of: word, toByteOffset: (slot / 64) * 8, as: UInt64.self)
        }
    }

    private func isFilled(_ slot: Int) -> Bool {
        withUnsafeBytes(of: filled) { words in
            words.load(fromByteOffset: (slot / 64) * 8, as: UInt64.self) & (1 << UInt64(slot % 64)) != 0
        }
    }
}
