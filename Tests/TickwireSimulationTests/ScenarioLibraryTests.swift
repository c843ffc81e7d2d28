import Foundation
import Testing
import TickwireSimulation

/// The scenario library under Tests/TickwireSimulationTests/Scenarios, replayed in virtual time.
@Suite struct ScenarioLibraryTests {
    static let directory = Bundle.module.url(forResource: "Scenarios", withExtension: nil)!
    static let files: [String] = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?
        .filter { $0.hasSuffix(".json") }.sorted() ?? []

    static func load(_ file: String) throws -> Scenario {
        try Scenario.load(path: directory.appendingPathComponent(file).path)
    }

    @Test func theLibraryHoldsTheScenariosCIReplays() {
        #expect(Self.files == [
            "bursty-loss-20.json", "clean.json", "duplicates.json", "join-storm.json", "latency-300-jitter-reorder.json",
            "link-cut-past-timeout.json", "loss-ramp.json", "outage-3s.json", "random-loss-5.json",
            "trace-lte-handover.json", "trace-satellite.json", "trace-veth-capture.json", "trace-wifi-busy.json",
        ])
    }

    @Test(arguments: files) func scenarioPasses(_ file: String) throws {
        let report = try ScenarioRunner.run(try Self.load(file), seed: 1)
        let failed = report.checks.filter { !$0.passed }
        #expect(failed.isEmpty, "\(file): \(failed.map { "\($0.name): expected \($0.expected), measured \($0.measured)" }); replay with `tickwire scenario run Tests/TickwireSimulationTests/Scenarios/\(file) --seed 1`")
        #expect(!report.checks.isEmpty)
        #expect(report.aggregate.botsJoined == report.bots.count)
    }

    @Test func theSameSeedGivesTheSameReportTwice() throws {
        let scenario = try Self.load("outage-3s.json")
        let first = try ScenarioRunner.run(scenario, seed: 42)
        let second = try ScenarioRunner.run(scenario, seed: 42)
        #expect(first.json() == second.json())
        let other = try ScenarioRunner.run(scenario, seed: 43)
        #expect(other.json() != first.json())
    }

    /// The same scenario in YAML runs exactly as its JSON twin; a bad field is named by its path.
    @Test func yamlScenariosReadLikeJSONAndNameTheBadField() throws {
        let yaml = """
            name: 3-second outage
            durationSeconds: 20
            defaults:
              eventRate: 4
              timeoutSeconds: 5
              link: { latencyMs: 25 }
            phases:
              - at: 0
                join: { bots: 10, overSeconds: 1 }
              - at: 6
                outage: { bots: [3, 4], seconds: 3 }
            expect: { allEventsDelivered: true, exactlyOnceInOrder: true, noUnexpectedDisconnects: true }
            """
        let fromYAML = try Scenario.parse(Data(yaml.utf8), source: "outage.yaml")
        var fromJSON = try Self.load("outage-3s.json")
        fromJSON.description = fromYAML.description
        #expect(try ScenarioRunner.run(fromYAML, seed: 7).json() == ScenarioRunner.run(fromJSON, seed: 7).json())

        let badField = yaml.replacingOccurrences(of: "seconds: 3 }", with: "seconds: soon }")
        #expect(throws: ScenarioError.self) { try Scenario.parse(Data(badField.utf8), source: "bad.yml") }
        do { _ = try Scenario.parse(Data(badField.utf8), source: "bad.yml") } catch {
            #expect("\(error)".contains("bad.yml: wrong type at phases.[1].outage.seconds"), "\(error)")
        }
        do { _ = try Scenario.parse(Data("name: [unclosed".utf8), source: "broken.yaml") } catch {
            #expect("\(error)".contains("broken.yaml: not valid YAML"), "\(error)")
        }
    }

    @Test func aBrokenExpectationFailsAndSaysWhy() throws {
        var scenario = try Self.load("random-loss-5.json")
        scenario.durationSeconds = 6
        scenario.expect.stalenessP99Ms = 5
        let report = try ScenarioRunner.run(scenario, seed: 1)
        #expect(!report.passed)
        let check = try #require(report.checks.first { $0.name == "staleness p99" })
        #expect(!check.passed && check.expected == "<= 5 ms")
        #expect(report.table().contains("FAIL"))
    }

    @Test func undeliveredEventsAreCaught() throws {
        // Bot 2's downlink dies for good, but its timeout (60 s) outlasts the run: it stays
        // "connected" and misses every event sent after the cut. The check must say so.
        let scenario = try Scenario.parse(Data(#"""
            { "name": "silent cut", "durationSeconds": 8, "drainSeconds": 2,
              "defaults": { "eventRate": 5, "timeoutSeconds": 60, "link": { "latencyMs": 20 } },
              "phases": [ { "at": 0, "join": { "bots": 3 } },
                          { "at": 3, "outage": { "bots": [2], "seconds": 100, "direction": "down" } } ],
              "expect": { "allEventsDelivered": true, "noUnexpectedDisconnects": true } }
            """#.utf8), source: "inline")
        let report = try ScenarioRunner.run(scenario, seed: 1)
        let delivered = try #require(report.checks.first { $0.name == "all events delivered" })
        #expect(!delivered.passed)
        #expect(report.bots[1].missingEvents > 20)
        #expect(report.bots[0].missingEvents == 0 && report.bots[2].missingEvents == 0)
    }

    @Test func badScenarioFilesAreRefusedWithAReason() {
        func refusal(_ json: String) -> String? {
            do {
                _ = try Scenario.parse(Data(json.utf8), source: "test.json")
                return nil
            } catch { return "\(error)" }
        }
        #expect(refusal(#"{"name": "x", "durationSeconds": 5, "phases": [], "expect": {}}"#)?.contains("no bots join") == true)
        #expect(refusal(#"{"name": "x", "durationSeconds": 5, "phases": [{"at": 0, "join": {"bots": 2}}, {"at": 1, "leave": [3]}], "expect": {}}"#)?
            .contains("bot 3 does not exist") == true)
        #expect(refusal(#"{"name": "x", "phases": [], "expect": {}}"#)?.contains("missing \"durationSeconds\"") == true)
        #expect(refusal(#"{"name": "x", "durationSeconds": 5, "phases": [{"at": 0, "join": {"bots": 1}, "leave": "all"}], "expect": {}}"#)?
            .contains("exactly one of") == true)
    }
}
