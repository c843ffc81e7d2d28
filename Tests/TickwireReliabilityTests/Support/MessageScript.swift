import TickwireProtocol

/// The reliable messages one side sends in a soak: sizes and bytes are a pure function of the
/// message number and a stream tag, so the receiver can check every byte without shared state.
/// Mostly small (1–200 bytes), 2% large enough to be fragmented (2–20 KiB).
struct MessageScript {
    let tag: UInt64

    func message(_ n: Int) -> [UInt8] {
        var random = SplitMix64(seed: tag &* 0x9E37_79B9 &+ UInt64(n))
        let length = random.chance(0.02) ? Int.random(in: 2000...20000, using: &random) : Int.random(in: 1...200, using: &random)
        var bytes = [UInt8](repeating: 0, count: length)
        var word = random.next()
        for i in 0..<length {
            if i % 8 == 0 { word = random.next() }
            bytes[i] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i % 8)))
        }
        return bytes
    }
}

/// Nearest-rank percentile of unsorted samples.
func percentile(_ samples: [Double], _ p: Double) -> Double {
    guard !samples.isEmpty else { return 0 }
    let sorted = samples.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[max(0, min(sorted.count - 1, rank - 1))]
}

func oneDecimal(_ value: Double) -> String { String(Double(Int((value * 10).rounded())) / 10) }
