import Foundation

/// One second of a run, as the HTML report charts it (a swarm's progress window, or a scenario's
/// simulated second).
public struct RunSecond: Sendable, Equatable {
    public var elapsedSeconds: Double
    public var botsStarted: Int
    public var botsConnected: Int
    /// Datagrams in and out per second, all bots together.
    public var packetsPerSecond: Double
    public var lossPercent: Double
    public var rttP50: Double
    public var rttP99: Double
    public var snapshotsPerBotSecond: Double
    /// p99 over the second of how old the entity states the bots saw were, and of event latency (ms).
    public var stalenessP99: Double
    public var eventLatencyP99: Double

    public init(elapsedSeconds: Double, botsStarted: Int, botsConnected: Int, packetsPerSecond: Double, lossPercent: Double,
                rttP50: Double, rttP99: Double, snapshotsPerBotSecond: Double, stalenessP99: Double = 0, eventLatencyP99: Double = 0) {
        self.stalenessP99 = stalenessP99
        self.eventLatencyP99 = eventLatencyP99
        self.elapsedSeconds = elapsedSeconds
        self.botsStarted = botsStarted
        self.botsConnected = botsConnected
        self.packetsPerSecond = packetsPerSecond
        self.lossPercent = lossPercent
        self.rttP50 = rttP50
        self.rttP99 = rttP99
        self.snapshotsPerBotSecond = snapshotsPerBotSecond
    }
}

/// The relay's own figures for one second, read from its metrics endpoint during a swarm.
public struct RelaySecond: Sendable, Equatable {
    public var elapsedSeconds: Double
    /// Mean tick duration over the second, send included (ms).
    public var meanTickMs: Double
    /// Ticks that ran late in the second, all workers together.
    public var lateTicks: Double

    public init(elapsedSeconds: Double, meanTickMs: Double, lateTicks: Double) {
        self.elapsedSeconds = elapsedSeconds
        self.meanTickMs = meanTickMs
        self.lateTicks = lateTicks
    }
}

/// One step of a capacity search, as the HTML report's capacity curve shows it.
public struct CapacityPoint: Sendable, Equatable {
    public var bots: Int
    /// Snapshots received over snapshots sent (1 = every tick's snapshot arrived).
    public var delivery: Double
    public var rttP99: Double
    /// Share of the relay's ticks that ran late, when its metrics were read.
    public var lateTickShare: Double?
    public var held: Bool

    public init(bots: Int, delivery: Double, rttP99: Double, lateTickShare: Double?, held: Bool) {
        self.bots = bots
        self.delivery = delivery
        self.rttP99 = rttP99
        self.lateTickShare = lateTickShare
        self.held = held
    }
}

/// One self-contained HTML page for a swarm or scenario run: the checks, the run's
/// second-by-second figures as inline SVG charts (bots connected, RTT p50/p99, staleness and
/// event latency p99, snapshot rate, loss, packet rate) and the latency percentiles. No scripts, styles or images are fetched: it
/// opens offline.
public enum HTMLReport {
    public struct Series {
        public var label: String
        public var color: String
        public var points: [(x: Double, y: Double)]
    }

    /// The page; `capacity`, for a capacity search, adds its curve with the capacity marked.
    public static func render(
        _ report: SwarmReport, seconds windows: [RunSecond], capacity: (steps: [CapacityPoint], capacity: Int)? = nil,
        relay: [RelaySecond] = []
    ) -> String {
        let x = windows.map(\.elapsedSeconds)
        func series(_ label: String, _ color: String, _ value: (RunSecond) -> Double) -> Series {
            Series(label: label, color: color, points: Array(zip(x, windows.map(value))))
        }
        let charts = [
            chart("Bots connected", unit: "bots", [series("started", "#a0aec0") { Double($0.botsStarted) },
                                                    series("connected", "#2b6cb0") { Double($0.botsConnected) }]),
            chart("Round-trip time", unit: "ms", [series("p50", "#2f855a") { $0.rttP50 }, series("p99", "#c05621") { $0.rttP99 }]),
            chart("Staleness and event latency, p99 per second", unit: "ms",
                  [series("staleness p99", "#b7791f") { $0.stalenessP99 }, series("event latency p99", "#3182ce") { $0.eventLatencyP99 }]),
            chart("Snapshots per bot per second", unit: "/s", [series("received", "#6b46c1") { $0.snapshotsPerBotSecond }],
                  reference: Double(report.tickRate), referenceLabel: "tick rate"),
            chart("Packet loss (links' estimate)", unit: "%", [series("loss", "#c53030") { $0.lossPercent }]),
            chart("Datagrams per second, all bots", unit: "/s", [series("in + out", "#2c7a7b") { $0.packetsPerSecond }]),
        ]
        var relayCharts: [String] = []
        if !relay.isEmpty {
            relayCharts = [
                chart("Relay: mean tick time, send included", unit: "ms",
                      [Series(label: "tick", color: "#2c5282", points: relay.map { ($0.elapsedSeconds, $0.meanTickMs) })],
                      reference: 1000 / Double(max(1, report.tickRate)), referenceLabel: "tick period"),
                chart("Relay: late ticks per second", unit: "/s",
                      [Series(label: "late", color: "#c53030", points: relay.map { ($0.elapsedSeconds, $0.lateTicks) })]),
            ]
        }
        var capacityCharts: [String] = []
        if let capacity, !capacity.steps.isEmpty {
            func curve(_ label: String, _ color: String, _ value: (CapacityPoint) -> Double?) -> Series {
                Series(label: label, color: color, points: capacity.steps.compactMap { step in value(step).map { (Double(step.bots), $0) } })
            }
            let mark = Double(capacity.capacity)
            capacityCharts = [
                chart("Capacity: snapshot delivery", unit: "%", [curve("delivered", "#6b46c1") { $0.delivery * 100 }],
                      xUnit: "bots", marker: mark, markerLabel: "capacity \(capacity.capacity)"),
                chart("Capacity: RTT p99", unit: "ms", [curve("p99", "#c05621") { $0.rttP99 }],
                      xUnit: "bots", marker: mark, markerLabel: "capacity \(capacity.capacity)"),
                chart("Capacity: relay's late ticks", unit: "%", [curve("late", "#c53030") { $0.lateTickShare.map { $0 * 100 } }],
                      xUnit: "bots", marker: mark, markerLabel: "capacity \(capacity.capacity)"),
            ]
        }
        let a = report.aggregate
        let latencyRows = [
            ("connect", a.connectTimeMs), ("RTT", a.rttMs), ("snapshot gap", a.snapshotInterArrivalMs),
            ("staleness", a.stalenessMs), ("event latency", a.eventLatencyMs),
        ].map { name, p in
            "<tr><td>\(escape(name))</td><td>\(f(p.p50))</td><td>\(f(p.p90))</td><td>\(f(p.p99))</td><td>\(f(p.max))</td><td>\(p.count)</td></tr>"
        }.joined(separator: "\n")
        let checkRows = report.checks.map { check in
            "<tr class=\"\(check.passed ? "pass" : "fail")\"><td>\(escape(check.name))</td><td>\(check.passed ? "pass" : "FAIL")</td>"
                + "<td>\(escape(check.expected))</td><td>\(escape(check.measured))</td></tr>"
        }.joined(separator: "\n")
        let disconnects = a.disconnects.isEmpty ? "none" : a.disconnects.sorted { $0.key < $1.key }.map { "\(escape($0.key)) \($0.value)" }.joined(separator: ", ")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(report.name)): \(report.mode == "virtual" ? "scenario" : "swarm") report</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1a202c; max-width: 1400px; }
        h1 { font-size: 20px; margin: 0 0 4px; } .verdict { font-weight: 600; } .pass { color: #276749; } .fail { color: #c53030; }
        table { border-collapse: collapse; margin: 8px 0 20px; } td, th { padding: 3px 10px; border-bottom: 1px solid #e2e8f0; text-align: left; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 16px; }
        figure { margin: 0; border: 1px solid #e2e8f0; border-radius: 6px; padding: 8px; } figcaption { font-weight: 600; margin-bottom: 4px; }
        svg text { font: 11px system-ui, sans-serif; fill: #4a5568; }
        </style></head><body>
        <h1>\(escape(report.name))</h1>
        <p>\(escape(report.mode)), \(f(report.durationSeconds)) s at \(report.tickRate) Hz, seed \(report.seed):
        <span class="verdict \(report.passed ? "pass" : "fail")">\(report.passed ? "all checks passed" : "checks FAILED")</span>.
        \(a.botsJoined) bots joined, \(a.botsConnectedAtEnd) connected at the end; disconnects: \(disconnects).
        Events: \(a.eventsSent) sent, \(a.eventsReceived) received, \(a.missingEvents) missing.</p>
        <table><tr><th>check</th><th>result</th><th>expected</th><th>measured</th></tr>
        \(checkRows)
        </table>
        <div class="charts">
        \((capacityCharts + charts + relayCharts).joined(separator: "\n"))
        </div>
        <h2>Latency over the run (ms)</h2>
        <div class="charts">
        \([("Staleness over the run", a.stalenessHistogram), ("Event latency over the run", a.eventLatencyHistogram)]
            .compactMap { title, h in h.flatMap { $0.count > 0 ? histogram(title, $0) : nil } }.joined(separator: "\n"))
        </div>
        <table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>samples</th></tr>
        \(latencyRows)
        </table>
        </body></html>

        """
    }

    /// A line chart as inline SVG: one polyline per series, y from 0 to the largest value.
    static func chart(
        _ title: String, unit: String, _ series: [Series], reference: Double? = nil, referenceLabel: String = "",
        xUnit: String = "s", marker: Double? = nil, markerLabel: String = ""
    ) -> String {
        let (width, height, left, bottom, top, right) = (460.0, 190.0, 48.0, 24.0, 10.0, 10.0)
        let xs = series.flatMap { $0.points.map(\.x) }
        let ys = series.flatMap { $0.points.map(\.y) } + (reference.map { [$0] } ?? [])
        let xMax = max(xs.max() ?? 1, marker ?? 1, 1)
        let yMax = niceCeiling(max(ys.filter(\.isFinite).max() ?? 1, 1))
        func px(_ x: Double) -> Double { left + x / xMax * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - min(max(y, 0), yMax) / yMax * (height - bottom - top) }
        var parts: [String] = []
        parts += yGrid(top: yMax, left: left, right: width - right, at: py)
        parts.append("<text x=\"\(f(left))\" y=\"\(f(height - 6))\">0 \(escape(xUnit))</text>")
        parts.append("<text x=\"\(f(width - right))\" y=\"\(f(height - 6))\" text-anchor=\"end\">\(label(xMax)) \(escape(xUnit))</text>")
        if let marker {
            parts.append("<line x1=\"\(f(px(marker)))\" y1=\"\(f(top))\" x2=\"\(f(px(marker)))\" y2=\"\(f(height - bottom))\" stroke=\"#2f855a\" stroke-dasharray=\"4 3\"/>")
            parts.append("<text class=\"marker\" x=\"\(f(px(marker) + 4))\" y=\"\(f(top + 10))\">\(escape(markerLabel))</text>")
        }
        if let reference {
            parts.append("<line x1=\"\(f(left))\" y1=\"\(f(py(reference)))\" x2=\"\(f(width - right))\" y2=\"\(f(py(reference)))\" stroke=\"#a0aec0\" stroke-dasharray=\"4 3\"/>")
            parts.append("<text x=\"\(f(width - right))\" y=\"\(f(py(reference) - 4))\" text-anchor=\"end\">\(escape(referenceLabel)) \(label(reference))</text>")
        }
        for s in series where !s.points.isEmpty {
            let points = s.points.map { "\(f(px($0.x))),\(f(py($0.y.isFinite ? $0.y : 0)))" }.joined(separator: " ")
            parts.append("<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.8\" points=\"\(points)\"/>")
        }
        let legend = series.map { "<span style=\"color:\($0.color)\">■ \(escape($0.label))</span>" }.joined(separator: " ")
        return """
        <figure><figcaption>\(escape(title)) (\(escape(unit))) \(legend)</figcaption>
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(f(width)) \(f(height))" width="100%" role="img" aria-label="\(escape(title))">
        \(parts.joined(separator: "\n"))
        </svg></figure>
        """
    }

    /// A histogram as inline SVG bars, one per bucket from the first to the last non-empty one
    /// (logarithmic in ms, as `WindowHistogram` buckets them).
    static func histogram(_ title: String, _ h: WindowHistogram) -> String {
        let (width, height, left, bottom, top, right) = (460.0, 190.0, 48.0, 24.0, 10.0, 10.0)
        let used = h.buckets.indices.filter { h.buckets[$0] > 0 }
        guard let first = used.first, let last = used.last else { return "" }
        let peak = niceCeiling(Double(h.buckets.max() ?? 1))
        let slot = (width - left - right) / Double(last - first + 1)
        var parts: [String] = []
        parts += yGrid(top: peak, left: left, right: width - right) { height - bottom - $0 / peak * (height - bottom - top) }
        for index in first...last where h.buckets[index] > 0 {
            let barHeight = Double(h.buckets[index]) / peak * (height - bottom - top)
            parts.append("<rect x=\"\(f(left + Double(index - first) * slot + 1))\" y=\"\(f(height - bottom - barHeight))\" "
                + "width=\"\(f(max(1, slot - 2)))\" height=\"\(f(barHeight))\" fill=\"#805ad5\"><title>≤ \(label(WindowHistogram.upperEdge(index))) ms: \(h.buckets[index])</title></rect>")
        }
        let low = first == 0 ? 0 : WindowHistogram.upperEdge(first - 1)
        parts.append("<text x=\"\(f(left))\" y=\"\(f(height - 6))\">\(label(low)) ms</text>")
        parts.append("<text x=\"\(f(width - right))\" y=\"\(f(height - 6))\" text-anchor=\"end\">\(label(WindowHistogram.upperEdge(last))) ms</text>")
        return """
        <figure><figcaption>\(escape(title)) (samples per bucket, log scale in ms; \(h.count) samples)</figcaption>
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(f(width)) \(f(height))" width="100%" role="img" aria-label="\(escape(title))">
        \(parts.joined(separator: "\n"))
        </svg></figure>
        """
    }

    /// Five horizontal grid lines from 0 to `top`, labelled on the left; `at` maps a value to its y.
    static func yGrid(top: Double, left: Double, right: Double, at y: (Double) -> Double) -> [String] {
        (0...4).flatMap { step -> [String] in
            let value = top * Double(step) / 4
            return ["<line x1=\"\(f(left))\" y1=\"\(f(y(value)))\" x2=\"\(f(right))\" y2=\"\(f(y(value)))\" stroke=\"#edf2f7\"/>",
                    "<text x=\"\(f(left - 4))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(label(value))</text>"]
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2, 5, 10] where step * power >= value { return step * power }
        return 10 * power
    }

    static func label(_ value: Double) -> String {
        value >= 100 || value == value.rounded() ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
