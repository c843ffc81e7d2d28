import Foundation
import Testing
@testable import TickwireSimulation

/// The HTML report page: self-contained (nothing fetched), a chart per series, the checks.
@Suite struct HTMLReportTests {
    static func sample() throws -> (SwarmReport, [RunSecond]) {
        let json = """
        {"name":"swarm <test>","seed":7,"mode":"swarm","durationSeconds":10,"tickRate":60,"passed":false,
         "checks":[{"name":"bots connected","expected":"8","measured":"7","passed":false}],
         "aggregate":{"botsJoined":8,"botsConnectedAtEnd":7,
           "connectTimeMs":{"count":8,"p50":40,"p90":45,"p99":50,"max":51},
           "rttMs":{"count":80,"p50":10,"p90":12,"p99":14,"max":15},
           "snapshotInterArrivalMs":{"count":4000,"p50":16,"p90":17,"p99":30,"max":40},
           "stalenessMs":{"count":4000,"p50":40,"p90":60,"p99":90,"max":120},
           "eventLatencyMs":{"count":100,"p50":20,"p90":25,"p99":33,"max":35},
           "eventsSent":100,"eventsReceived":700,"missingEvents":0,"duplicateEvents":0,"outOfOrderEvents":0,
           "resends":0,"bytesIn":1000,"bytesOut":500,"disconnects":{"timed_out":1},
           "serverTicks":600,"serverLateTicks":0,"serverSkippedTicks":0},
         "bots":[]}
        """
        let report = try JSONDecoder().decode(SwarmReport.self, from: Data(json.utf8))
        let windows = (1...10).map { (second: Int) -> RunSecond in
            let t = Double(second)
            return RunSecond(elapsedSeconds: t, botsStarted: 8, botsConnected: second < 10 ? 8 : 7,
                             packetsPerSecond: 5000 + t, lossPercent: 0.5, rttP50: 10, rttP99: 14 + t,
                             snapshotsPerBotSecond: 59.8, stalenessP99: 80 + t, eventLatencyP99: 30)
        }
        return (report, windows)
    }

    @Test func thePageIsSelfContainedWithAChartPerSeries() throws {
        let (report, windows) = try Self.sample()
        let page = HTMLReport.render(report, seconds: windows)
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.contains("</html>"))
        #expect(page.components(separatedBy: "<svg").count - 1 == 6)
        #expect(page.components(separatedBy: "<polyline").count - 1 == 9)  // bots ×2, RTT ×2, staleness, events, snapshots, loss, packets
        // Nothing to fetch: no external scripts, styles, images or links; the only URL is SVG's namespace.
        for pattern in ["<script", "<link", "<img", "src=", "@import", "url("] { #expect(!page.contains(pattern), "\(pattern)") }
        let urls = page.matches(of: /https?:\/\/[^"\s]+/).map { String($0.output) }
        #expect(Set(urls) == ["http://www.w3.org/2000/svg"])
        // Text is escaped; the failed check and the figures are there.
        #expect(page.contains("swarm &lt;test&gt;") && !page.contains("swarm <test>"))
        #expect(page.contains("checks FAILED") && page.contains("<td>FAIL</td>"))
        #expect(page.contains("timed_out 1"))
        #expect(page.contains("<td>staleness</td><td>40.0</td><td>60.0</td><td>90.0</td>"))
    }

    /// With the relay's metrics read during the run, its tick time (against the tick period) and
    /// late ticks join the charts.
    @Test func theRelaysFiguresAreChartedWhenGiven() throws {
        let (report, windows) = try Self.sample()
        let relay = (1...6).map { RelaySecond(elapsedSeconds: Double($0), meanTickMs: 1.5 + Double($0) / 10, lateTicks: $0 == 4 ? 2 : 0) }
        let page = HTMLReport.render(report, seconds: windows, relay: relay)
        #expect(page.components(separatedBy: "<svg").count - 1 == 8)
        #expect(page.contains("Relay: mean tick time, send included") && page.contains("Relay: late ticks per second"))
        #expect(page.contains("tick period 16.7"))
        let counts = page.matches(of: /<polyline[^>]*points="([^"]*)"/).map { $0.output.1.split(separator: " ").count }
        #expect(counts.suffix(2) == [6, 6])
    }

    @Test func axesStartAtZeroAndEndAtARoundNumber() {
        #expect(HTMLReport.niceCeiling(0.7) == 1)
        #expect(HTMLReport.niceCeiling(14) == 20)
        #expect(HTMLReport.niceCeiling(60) == 100)
        #expect(HTMLReport.niceCeiling(5001) == 10000)
    }

    /// Headless Chromium loads the page (offline, from a file): the DOM it builds has every
    /// chart with one point per second (or per capacity step) and its axis labels, and the
    /// screenshot is the size asked for and carries the charts (a blank page compresses to a few
    /// KiB). `tools/test.sh` installs Chromium when it is missing.
    @Test func chromiumRendersThePageWithItsData() throws {
        let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(browser, "headless Chromium is needed: tools/test.sh installs it (apt-get install chromium)")
        let (report, windows) = try Self.sample()
        let steps = [(400, 0.999, 37.0, 0.0, true), (500, 1.0, 47.0, 0.001, true), (600, 0.998, 54.0, 0.002, true), (700, 0.97, 370.0, 0.08, false)]
            .map { CapacityPoint(bots: $0.0, delivery: $0.1, rttP99: $0.2, lateTickShare: $0.3, held: $0.4) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        try HTMLReport.render(report, seconds: windows, capacity: (steps, 600)).write(to: page, atomically: true, encoding: .utf8)

        func chromium(_ arguments: [String]) throws -> Data {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                                 "--user-data-dir=\(directory.appendingPathComponent("profile").path)"] + arguments + [page.absoluteString]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return data
        }
        // The DOM as the browser built it.
        let dom = String(decoding: try chromium(["--dump-dom"]), as: UTF8.self)
        let pointCounts = dom.matches(of: /<polyline[^>]*points="([^"]*)"/).map { $0.output.1.split(separator: " ").count }
        #expect(pointCounts == [4, 4, 4] + Array(repeating: 10, count: 9), "\(pointCounts)")
        for text in ["0 s", "10 s", "0 bots", "700 bots", "capacity 600", "tick rate 60", "Capacity: RTT p99"] {
            #expect(dom.contains(">\(text)<") || dom.contains(text), "axis or label '\(text)' in the DOM")
        }
        #expect(dom.components(separatedBy: "<svg").count - 1 == 9)

        let shot = directory.appendingPathComponent("report.png")
        _ = try chromium(["--window-size=1280,1400", "--screenshot=\(shot.path)"])
        let png = try Data(contentsOf: shot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // IHDR: width and height, big-endian, at bytes 16..<24.
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 1280 && height == 1400)
        #expect(png.count > 40_000, "the screenshot is \(png.count) bytes: the charts did not render")
    }

    /// A scenario's simulated seconds for its page: one per second, and asking for them does not
    /// change the run (same seed, same report).
    @Test func aScenarioRecordsEachSimulatedSecondWithoutChangingTheRun() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let scenario = try Scenario.load(path: root.appendingPathComponent("TickwireSimulationTests/Scenarios/outage-3s.json").path)
        var seconds: [RunSecond] = []
        let watched = try ScenarioRunner.run(scenario, seed: 3, seconds: { seconds.append($0) })
        let plain = try ScenarioRunner.run(scenario, seed: 3)
        #expect(try watched.json() == plain.json())
        #expect(seconds.count == Int(scenario.durationSeconds))
        #expect(seconds.map(\.elapsedSeconds) == (1...seconds.count).map(Double.init))
        #expect(seconds.last.map { $0.botsConnected == $0.botsStarted && $0.snapshotsPerBotSecond > 50 } == true)
        // Staleness rises in the outage's seconds and settles after it.
        #expect(seconds.map(\.stalenessP99).max()! > 3 * seconds.last!.stalenessP99)
        #expect(seconds.last!.stalenessP99 > 0)
        // Events flow until the drain before the end.
        #expect(seconds.filter { $0.eventLatencyP99 > 0 }.count >= Int(scenario.durationSeconds) / 2)
        let page = HTMLReport.render(watched, seconds: seconds)
        #expect(page.contains("scenario report") && page.components(separatedBy: "<polyline").count - 1 == 9)
        // The run-long histograms: every sample in a bar.
        let staleness = try #require(watched.aggregate.stalenessHistogram)
        #expect(staleness.count == watched.aggregate.stalenessMs.count)
        #expect(page.contains("Staleness over the run") && page.contains("Event latency over the run"))
        #expect(page.components(separatedBy: "<rect").count - 1 == staleness.buckets.count(where: { $0 > 0 })
            + (watched.aggregate.eventLatencyHistogram?.buckets.count(where: { $0 > 0 }) ?? 0))
    }
}
