/// A token bucket per source address for connection-request decryption, in a fixed table: one
/// address (or one IPv6 /64) cannot spend more than `perSecond` decryptions a second after a
/// burst of `burst`, however fast it sends valid-looking requests, so it cannot crowd out the
/// others. Addresses hash into `slots` buckets with a key from the challenge key, so an attacker
/// cannot aim at someone else's bucket; a shared bucket is only ever a stricter limit.
/// Fixed memory, no allocation per request; time is passed in.
struct RequestBudget {
    private var tokens: [Float]
    private var refilled: [UInt64]
    private let perSecond: Float
    private let burst: Float
    private let key: UInt64

    init(slots: Int, perSecond: Double, burst: Double, key: [UInt8]) {
        tokens = Array(repeating: Float(burst), count: slots)
        refilled = Array(repeating: 0, count: slots)
        self.perSecond = Float(perSecond)
        self.burst = Float(burst)
        self.key = key.withUnsafeBytes { raw in raw.count >= 8 ? raw.loadUnaligned(as: UInt64.self) : 0x5EED }
    }

    private func slot(of address: NetcodeAddress) -> Int {
        // IPv4: the whole address; IPv6: its /64, which one host usually gets whole. One step
        // of SplitMix64 from the keyed address mixes every bit into the slot.
        var mix = SplitMix64(seed: (address.family == .ipv4 ? address.low : address.high) ^ key)
        return Int(mix.next() % UInt64(tokens.count))
    }

    /// Takes one decryption for `address` now; false when its bucket is empty.
    mutating func take(_ address: NetcodeAddress, now: TickwireInstant) -> Bool {
        let i = slot(of: address)
        let elapsed = now.nanoseconds &- refilled[i]
        if now.nanoseconds > refilled[i] {
            tokens[i] = min(burst, tokens[i] + Float(Double(elapsed) / 1e9) * perSecond)
            refilled[i] = now.nanoseconds
        }
        guard tokens[i] >= 1 else { return false }
        tokens[i] -= 1
        return true
    }
}
