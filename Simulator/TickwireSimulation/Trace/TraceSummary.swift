/// What `tickwire trace show` prints for one direction of a link: loss, burst lengths, delay
/// percentiles and outages. Also how recorded and replayed runs are compared.
public struct TraceSummary: Sendable {
    public var packets: Int
    public var lost: Int
    public var lossRate: Double { packets > 0 ? Double(lost) / Double(packets) : 0 }
    /// Runs of consecutive lost packets, by length: 1, 2, 3–5, 6–10, more.
    public var burstLengths: [Int]
    public static let burstBuckets = ["1", "2", "3-5", "6-10", ">10"]
    public var meanBurst: Double
    public var longestBurst: Int
    /// Delivered packets' delay, milliseconds.
    public var delayP50: Double
    public var delayP90: Double
    public var delayP99: Double
    public var delayMax: Double
    /// Losses spanning at least `outageThreshold` of send time: (start s, length s).
    public var outages: [(start: Double, seconds: Double)]
    public static let outageThresholdMicros: Int64 = 500_000

    public init(_ packets: [NetworkTrace.Packet]) {
        self.packets = packets.count
        lost = packets.count { $0.delayMicros == nil }
        var buckets = [0, 0, 0, 0, 0]
        var runs: [Int] = []
        var outages: [(Double, Double)] = []
        var run = 0
        var runStart: Int64 = 0
        func close(next: Int64?) {
            guard run > 0 else { return }
            runs.append(run)
            let bucket = run == 1 ? 0 : run == 2 ? 1 : run <= 5 ? 2 : run <= 10 ? 3 : 4
            buckets[bucket] += 1
            let end = next ?? (packets.last?.sentMicros ?? runStart)
            if end - runStart >= Self.outageThresholdMicros {
                outages.append((Double(runStart) / 1e6, Double(end - runStart) / 1e6))
            }
            run = 0
        }
        for packet in packets {
            if packet.delayMicros == nil {
                if run == 0 { runStart = packet.sentMicros }
                run += 1
            } else {
                close(next: packet.sentMicros)
            }
        }
        close(next: nil)
        burstLengths = buckets
        meanBurst = runs.isEmpty ? 0 : Double(runs.reduce(0, +)) / Double(runs.count)
        longestBurst = runs.max() ?? 0
        let delays = packets.compactMap(\.delayMicros).sorted()
        /// The nearest-rank percentile, in milliseconds.
        func percentile(_ p: Double) -> Double {
            guard !delays.isEmpty else { return 0 }
            let rank = Int((p * Double(delays.count)).rounded(.up))
            return Double(delays[min(delays.count, max(1, rank)) - 1]) / 1000
        }
        delayP50 = percentile(0.5)
        delayP90 = percentile(0.9)
        delayP99 = percentile(0.99)
        delayMax = Double(delays.last ?? 0) / 1000
        self.outages = outages
    }

    /// One line: loss, bursts, delays, outages.
    public var line: String {
        func f(_ x: Double, _ digits: Int = 1) -> String {
            let scale = digits == 1 ? 10.0 : 1000.0
            return String((x * scale).rounded() / scale)
        }
        let bursts = zip(Self.burstBuckets, burstLengths).map { "\($0)×\($1)" }.joined(separator: " ")
        let gaps = outages.isEmpty ? "none" : outages.map { "\(f($0.start))s+\(f($0.seconds))s" }.joined(separator: ", ")
        return "\(packets) packets, loss \(f(lossRate * 100))%, bursts [\(bursts)] mean \(f(meanBurst, 2)) max \(longestBurst), "
            + "delay ms p50 \(f(delayP50)) p90 \(f(delayP90)) p99 \(f(delayP99)) max \(f(delayMax)), outages \(gaps)"
    }
}
