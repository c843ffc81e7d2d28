import ArgumentParser
import Foundation
import TickwireSimulation

/// `tickwire scenario run FILE [--seed N]`: replays a scenario in virtual time.
struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Replay network scenarios in virtual time.",
        subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a scenario file: print a pass/fail table and write a JSON report.")

        @Argument(help: "Scenario file (JSON or YAML).") var file: String
        @Option(help: "Seed for every random choice; the same seed gives the same run.") var seed: UInt64 = 1
        @Option(help: "Where to write the JSON report (default: <file name>.report.json in the current directory).")
        var report: String?
        @Flag(help: "Print a line per simulated second (on a terminal a live line shows anyway).") var progress = false
        @Option(help: "Also write a self-contained HTML page here: the checks, per-second charts (inline SVG) and latency percentiles.")
        var html: String?

        func run() throws {
            let scenario: Scenario
            do { scenario = try Scenario.load(path: file) } catch { throw CLIError("\(error)") }
            print("scenario: \(scenario.name) (seed \(seed), \(scenario.durationSeconds) s of virtual time)")
            let started = ContinuousClock.now
            let live = TerminalProgress()
            var seconds: [RunSecond] = []
            let result = try ScenarioRunner.run(
                scenario, seed: seed, progress: progress ? { print($0) } : live.enabled ? { live.show($0) } : nil,
                seconds: html == nil ? nil : { seconds.append($0) })
            live.finish()
            let took = ContinuousClock.now - started
            print(result.table())
            let path = report ?? (URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent + ".report.json")
            do { try result.json().write(to: URL(fileURLWithPath: path)) } catch {
                throw CLIError("cannot write the report to \(path): \(error.localizedDescription)")
            }
            if let html {
                do { try HTMLReport.render(result, seconds: seconds).write(toFile: html, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("cannot write the HTML report to \(html): \(error.localizedDescription)")
                }
                print("html: \(html)")
            }
            print(String(format: "report: %@ (ran in %.1f s)", path, Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18))
            guard result.passed else {
                print("FAILED with seed \(seed). Replay exactly with:")
                print("  tickwire scenario run \(file) --seed \(seed)")
                throw ExitCode(1)
            }
            print("PASSED")
        }
    }
}
