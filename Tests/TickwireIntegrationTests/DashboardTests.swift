import Foundation
import Testing
import TickwireServer

/// `deploy/grafana-dashboard.json` queries only metrics the relay exports.
@Suite struct DashboardTests {
    @Test func everyMetricTheDashboardQueriesExists() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("deploy/grafana-dashboard.json"), encoding: .utf8)
        _ = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let queried = Set(text.matches(of: /tickwire_[a-z_]+/).map { String($0.output) })
        #expect(queried.count >= 15)
        let exposition = String(decoding: RelayMetrics(worker: 0).exposition(), as: UTF8.self)
        // Created on first use, per reason.
        let lazilyCreated: Set = ["tickwire_dropped_total"]
        for name in queried.sorted() {
            let base = name.replacing(/_bucket$/, with: "")
            #expect(exposition.contains("# TYPE \(base) ") || lazilyCreated.contains(base), "\(name) is not a metric the relay exports")
        }
    }
}
