import Foundation

/// Millisecond samples of the last window (a second of a run) in 100 logarithmic buckets from
/// 0.1 ms to about 90 s (five buckets per factor of two, so an edge is within 15% of any value):
/// small enough to keep per bot and merge across bots every second. For the HTML report's
/// per-second series and histograms; the run-long percentiles come from `LatencyRecorder`.
public struct WindowHistogram: Sendable, Equatable, Codable {
    public static let bucketCount = 100
    private static let first = 0.1
    private static let perDoubling = 5.0

    public private(set) var buckets: [UInt32]
    public private(set) var count: UInt64 = 0

    public init() { buckets = [UInt32](repeating: 0, count: Self.bucketCount) }

    static func bucket(_ milliseconds: Double) -> Int {
        guard milliseconds > first else { return 0 }
        let index = Int((log2(milliseconds / first) * perDoubling).rounded(.up))
        return min(bucketCount - 1, max(0, index))
    }

    /// The upper edge of bucket `index`, in ms.
    public static func upperEdge(_ index: Int) -> Double { first * exp2(Double(index) / perDoubling) }

    public mutating func record(milliseconds: Double) {
        buckets[Self.bucket(milliseconds)] &+= 1
        count &+= 1
    }

    public mutating func merge(_ other: WindowHistogram) {
        for i in buckets.indices where other.buckets[i] > 0 { buckets[i] &+= other.buckets[i] }
        count &+= other.count
    }

    /// This one and `other` together.
    public func merging(_ other: WindowHistogram) -> WindowHistogram {
        var both = self
        both.merge(other)
        return both
    }

    /// Empties it, keeping its storage.
    public mutating func reset() {
        guard count > 0 else { return }
        for i in buckets.indices { buckets[i] = 0 }
        count = 0
    }

    /// The upper edge of the bucket holding quantile `q` (0...1); 0 when empty.
    public func quantile(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((Double(count) * q).rounded(.up)))
        var seen: UInt64 = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += UInt64(n)
            if seen >= rank { return Self.upperEdge(index) }
        }
        return Self.upperEdge(Self.bucketCount - 1)
    }
}
