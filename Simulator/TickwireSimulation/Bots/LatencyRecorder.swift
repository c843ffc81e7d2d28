import Histogram

/// Millisecond samples in an HdrHistogram (1 µs to 1 h, 2 significant digits: a value is kept
/// within 1%), summarised as the percentiles reports print.
///
/// Every bot keeps four, and a swarm bot records into them about 500 times a second: with three
/// digits each was 188 KB (750 KB a bot), so a swarm of a thousand bots spread its recording over
/// three quarters of a gigabyte and missed the cache on nearly every sample. Two digits make each
/// 26 KB, and a typical latency's samples fall within 1 KB of it.
public struct LatencyRecorder: Sendable {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)

    public init() {}

    public var count: UInt64 { histogram.totalCount }

    /// Records a sample in milliseconds (microsecond resolution).
    public mutating func record(milliseconds: Double) {
        _ = histogram.record(UInt64(max(0, min(3_600_000, milliseconds)) * 1000))
    }

    public mutating func merge(_ other: LatencyRecorder) { histogram.add(other.histogram) }

    public func percentile(_ p: Double) -> Double { count == 0 ? 0 : Double(histogram.valueAtPercentile(p)) / 1000 }

    public var summary: Percentiles {
        Percentiles(count: count, p50: percentile(50), p90: percentile(90), p99: percentile(99),
                    max: count == 0 ? 0 : Double(histogram.max) / 1000)
    }
}

/// Percentiles of a latency in milliseconds.
public struct Percentiles: Sendable, Equatable, Codable {
    public var count: UInt64
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double
}
