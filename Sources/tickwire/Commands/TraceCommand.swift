import ArgumentParser
import Foundation
import TickwireSimulation

/// `tickwire trace show FILE` and `tickwire trace import --ping-log FILE`: network traces
/// (README "Network traces").
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Summarise network traces and import them from outside sources.",
        subcommands: [Show.self, Import.self, Replay.self])

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a trace in virtual time (one bot per trace link) and compare what it did with the recording.")

        @Argument(help: "Trace file.") var file: String
        @Option(help: "Bots, one per trace link from link 0 (1...64).") var links = 4
        @Option(help: "Virtual seconds to run (default: the trace's length).") var seconds: Double?
        @Option(help: "Seed for the bots (the trace itself has no randomness).") var seed: UInt64 = 1

        func run() throws {
            guard (1...64).contains(links) else { throw ValidationError("--links must be 1...64, got \(links)") }
            let result: (rows: [TraceReplayCheck.Row], report: SwarmReport)
            do { result = try TraceReplayCheck.run(tracePath: file, links: links, seconds: seconds, seed: seed) } catch { throw CLIError("\(error)") }
            print(TraceReplayCheck.table(result.rows))
            print(result.report.table())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise a trace: per link and direction, loss, burst lengths, delay percentiles and outages.")

        @Argument(help: "Trace file (JSON lines, tickwire_trace 1).") var file: String
        @Option(help: "Show at most this many links (1...100000).") var links = 10

        func run() throws {
            guard (1...100_000).contains(links) else { throw ValidationError("--links must be 1...100000, got \(links)") }
            let trace: NetworkTrace
            do { trace = try NetworkTrace.load(path: file) } catch { throw CLIError("\(error)") }
            print("trace: \(trace.source) (\(trace.links.count) links, delay \(trace.delay.rawValue))")
            if let note = trace.note { print("note: \(note)") }
            for (index, link) in trace.links.prefix(links).enumerated() {
                for direction in NetworkTrace.Direction.allCases where !link[direction].isEmpty {
                    let seconds = Double((link[direction].last?.sentMicros ?? 0) - (link[direction].first?.sentMicros ?? 0)) / 1e6
                    print("link \(index) \(direction.rawValue) (\(String((seconds * 10).rounded() / 10)) s): \(TraceSummary(link[direction]).line)")
                }
            }
            if trace.links.count > links { print("… \(trace.links.count - links) more links (--links)") }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert an outside record into a trace: the output of iputils ping (with or without -D).")

        @Option(help: "The output of `ping` (Linux iputils): one line per reply with icmp_seq= and time=.") var pingLog: String
        @Option(help: "Seconds between echo requests when the log has no -D timestamps (ping -i; default 1).") var interval = 1.0
        @Option(name: .shortAndLong, help: "Where to write the trace.") var output: String

        func run() throws {
            let text: String
            do { text = try String(contentsOfFile: pingLog, encoding: .utf8) } catch {
                throw CLIError("cannot read --ping-log \(pingLog): \(error.localizedDescription)")
            }
            let trace: NetworkTrace
            do { trace = try PingLogImport.trace(from: text, source: URL(fileURLWithPath: pingLog).lastPathComponent, interval: interval) } catch {
                throw CLIError("\(error)")
            }
            do { try trace.encoded().write(toFile: output, atomically: true, encoding: .utf8) } catch {
                throw CLIError("cannot write \(output): \(error.localizedDescription)")
            }
            print("wrote \(output): \(trace.note ?? "")")
            print("up: \(TraceSummary(trace.links[0].up).line)")
        }
    }
}
