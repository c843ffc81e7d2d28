import Foundation

/// Replays a trace in virtual time, one bot per trace link, and compares what each direction did
/// with what was recorded: the table `tickwire trace replay` prints.
public enum TraceReplayCheck {
    public struct Row: Sendable {
        public var link: Int
        public var direction: NetworkTrace.Direction
        public var recorded: TraceSummary
        public var replayed: TraceSummary
    }

    /// A scenario of `links` bots (at most the trace's), bot k on trace link k − 1, for the
    /// trace's length (or `seconds`), without looping.
    public static func scenario(tracePath: String, trace: NetworkTrace, links: Int, seconds: Double?) throws -> Scenario {
        let length = trace.links.prefix(links).flatMap { [$0.up.last?.sentMicros ?? 0, $0.down.last?.sentMicros ?? 0] }.max() ?? 0
        let duration = seconds ?? max(2, (Double(length) / 1e6).rounded(.down))
        let path = String(decoding: try JSONSerialization.data(withJSONObject: tracePath, options: .fragmentsAllowed), as: UTF8.self)
        var phases: [String] = []
        for k in 0..<min(links, trace.links.count) {
            phases.append("""
                {"at": 0, "join": {"bots": 1, "room": "replay", "link": {"trace": {"path": \(path), "link": \(k), "loop": false}}}}
                """)
        }
        let json = """
            {"name": "replay of \(trace.source.replacingOccurrences(of: "\"", with: "'"))", "durationSeconds": \(duration), "drainSeconds": 0,
             "defaults": {"stateRate": 20, "eventRate": 2, "timeoutSeconds": 30},
             "phases": [\(phases.joined(separator: ", "))], "expect": {}}
            """
        return try Scenario.parse(Data(json.utf8), source: "replay.json")
    }

    public static func run(tracePath: String, links: Int = 4, seconds: Double? = nil, seed: UInt64 = 1) throws -> (rows: [Row], report: SwarmReport) {
        let trace: NetworkTrace
        do { trace = try NetworkTrace.load(path: tracePath) } catch { throw ScenarioError.invalid("\(error)") }
        let scenario = try scenario(tracePath: URL(fileURLWithPath: tracePath).path, trace: trace, links: links, seconds: seconds)
        var replayed: [NetworkTrace.Link] = []
        let report = try ScenarioRunner.run(scenario, seed: seed, fates: { replayed = $0 })
        var rows: [Row] = []
        for (k, link) in replayed.enumerated() {
            for direction in NetworkTrace.Direction.allCases {
                // Compare over the span both cover: the replay's length.
                let end = link[direction].last?.sentMicros ?? 0
                let packets = trace.links[k][direction]
                let first = packets.first?.sentMicros ?? 0
                let recorded = packets.filter { $0.sentMicros - first <= end }
                rows.append(Row(link: k, direction: direction, recorded: TraceSummary(recorded), replayed: TraceSummary(link[direction])))
            }
        }
        return (rows, report)
    }

    /// The comparison as a Markdown table.
    public static func table(_ rows: [Row]) -> String {
        func f(_ x: Double) -> String { String((x * 10).rounded() / 10) }
        var out = "| link | dir | | packets | loss % | mean burst | bursts 1/2/3-5/6-10/>10 | delay p50 | p90 | p99 ms |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|\n"
        for row in rows {
            for (name, s) in [("recorded", row.recorded), ("replayed", row.replayed)] {
                out += "| \(row.link) | \(row.direction.rawValue) | \(name) | \(s.packets) | \(f(s.lossRate * 100)) | \(f(s.meanBurst)) | "
                    + "\(s.burstLengths.map(String.init).joined(separator: "/")) | \(f(s.delayP50)) | \(f(s.delayP90)) | \(f(s.delayP99)) |\n"
            }
        }
        return out
    }
}
