import TickwireProtocol

/// Tick durations in fixed 5 µs buckets up to 50 ms (one allocation, at creation), for exact-enough
/// percentiles without allocating per sample. Longer samples land in the last bucket; the true
/// maximum is kept beside it.
public struct DurationHistogram: Sendable {
    public static let bucketNanoseconds: Int64 = 5_000
    public static let bucketCount = 10_000

    private var buckets: [UInt32]
    public private(set) var count: UInt64 = 0
    public private(set) var max: Duration = .zero

    public init() { buckets = [UInt32](repeating: 0, count: Self.bucketCount) }

    public mutating func record(_ duration: Duration) {
        let nanos = Swift.max(0, duration.nanosecondsClamped)
        let index = Int(Swift.min(Int64(Self.bucketCount - 1), nanos / Self.bucketNanoseconds))
        buckets[index] &+= 1
        count &+= 1
        if duration > max { max = duration }
    }

    /// Adds every sample of `other` (another worker's ticks).
    public mutating func merge(_ other: DurationHistogram) {
        for i in buckets.indices where other.buckets[i] > 0 { buckets[i] &+= other.buckets[i] }
        count &+= other.count
        if other.max > max { max = other.max }
    }

    /// The upper edge of the bucket holding quantile `q` (0...1), or the maximum for the last bucket.
    public func quantile(_ q: Double) -> Duration {
        guard count > 0 else { return .zero }
        let rank = UInt64((Double(count) * Swift.min(1, Swift.max(0, q))).rounded(.up))
        var seen: UInt64 = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += UInt64(n)
            if seen >= Swift.max(1, rank) {
                if index == Self.bucketCount - 1 { return max }
                return Swift.min(max, .nanoseconds(Int64(index + 1) * Self.bucketNanoseconds))
            }
        }
        return max
    }
}
