import Foundation
import Testing
import TickwireSimulation

/// Player populations: named presets, shares dealt out in join order, and figures per population.
@Suite struct PopulationMixTests {
    @Test func botsAreDealtOutByShareInEveryPrefix() throws {
        let mix = try PopulationMix(parsing: "fiber=0.5,wifi-busy=0.3,lte-handover=0.15,satellite=0.05")
        let assignment = mix.assign(20)
        #expect((0..<4).map { p in assignment.count { $0 == p } } == [10, 6, 3, 1])
        // Any prefix is within one bot of its share, so each room of consecutive joins is mixed.
        for n in 1...20 {
            for (p, population) in mix.populations.enumerated() {
                let held = Double(assignment.prefix(n).count { $0 == p })
                #expect(abs(held - population.share * Double(n)) < 1, "\(population.preset.name) after \(n) bots: \(held)")
            }
        }
    }

    @Test func badMixesSayWhatIsWrong() {
        func error(_ text: String) -> String {
            do { _ = try PopulationMix(parsing: text); return "accepted" } catch { return error.description }
        }
        #expect(error("fiber=0.5,dialup=0.5").contains("unknown link preset \"dialup\"; known: fiber, wifi-busy"))
        #expect(error("fiber=0.5,satellite=0.4").contains("add up to 0.9"))
        #expect(error("fiber").contains("\"fiber\" is not name=share"))
        #expect(error("fiber=0.5,fiber=0.5").contains("fiber is given twice"))
        #expect(error("fiber=0,satellite=1").contains("a share must be in (0, 1]"))
        #expect(LinkPreset.all.allSatisfy { !$0.source.isEmpty })
    }

    /// A room of fiber and satellite players: the report tells the two apart.
    @Test func theReportBreaksTheFiguresDownPerPopulation() throws {
        let json = """
            {"name": "two populations", "durationSeconds": 12,
             "defaults": {"stateRate": 20, "eventRate": 2, "timeoutSeconds": 10},
             "phases": [{"at": 0, "join": {"bots": 8, "room": "arena", "overSeconds": 1, "mix": {"satellite": 0.25, "fiber": 0.75}}}],
             "expect": {"exactlyOnceInOrder": true, "allEventsDelivered": true}}
            """
        let scenario = try Scenario.parse(Data(json.utf8), source: "mix.json")
        let report = try ScenarioRunner.run(scenario, seed: 4)
        #expect(report.passed, "\(report.table())")
        let populations = try #require(report.populations)
        #expect(populations.map(\.name) == ["fiber", "satellite"])
        #expect(populations.map(\.bots) == [6, 2])
        let fiber = populations[0], satellite = populations[1]
        #expect(fiber.rttP99Ms < 100 && satellite.rttP99Ms > 550, "rtt p99 fiber \(fiber.rttP99Ms), satellite \(satellite.rttP99Ms)")
        #expect(satellite.stalenessP99Ms > fiber.stalenessP99Ms + 250)
        #expect(report.table().contains("population satellite: 2 bots (2 connected)"))
        let again = try ScenarioRunner.run(scenario, seed: 4)
        #expect(try again.json() == report.json())
    }
}
