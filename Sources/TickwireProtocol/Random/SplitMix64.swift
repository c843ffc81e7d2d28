/// A small, fast, seeded generator (SplitMix64). Simulations and tests draw every random decision
/// from one of these, so the same seed replays the same run byte for byte. Not for cryptography.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// True with probability `p` (0...1).
    public mutating func chance(_ p: Double) -> Bool { p > 0 && nextUnit() < p }
}
