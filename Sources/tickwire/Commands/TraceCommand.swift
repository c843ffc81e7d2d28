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
            abstract: "Convert an outside record into a trace: a pair of packet captures (through tshark), or the output of ping.")

        @Option(help: "The output of `ping` (Linux iputils): one line per reply with icmp_seq= and time=.") var pingLog: String?
        @Option(help: "Seconds between echo requests when the log has no -D timestamps (ping -i; default 1).") var interval = 1.0
        @Option(help: "A capture (pcap/pcapng) taken at the clients' end of the link (with --server-pcap and --server).") var clientPcap: String?
        @Option(help: "A capture taken at the server's end of the same link.") var serverPcap: String?
        @Option(help: "The server's address as the captures show it, e.g. 10.77.0.1:40000.") var server: String?
        @Option(name: .shortAndLong, help: "Where to write the trace.") var output: String

        func run() throws {
            if let clientPcap, let serverPcap, let server {
                let trace: NetworkTrace
                guard pingLog == nil else { throw ValidationError("give --ping-log or the captures, not both") }
                func read(_ file: String) throws -> [CaptureImport.Datagram] {
                    let tshark = Process()
                    tshark.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    tshark.arguments = ["tshark"] + CaptureImport.tsharkArguments(file: file)
                    let out = Pipe(), errors = Pipe()
                    tshark.standardOutput = out
                    tshark.standardError = errors
                    do { try tshark.run() } catch { throw CLIError("cannot run tshark (Debian: apt-get install tshark): \(error.localizedDescription)") }
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    tshark.waitUntilExit()
                    guard tshark.terminationStatus == 0 else {
                        let why = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                        throw CLIError("tshark could not read \(file) (is tshark installed? Debian: apt-get install tshark): \(why)")
                    }
                    do { return try CaptureImport.parse(String(decoding: data, as: UTF8.self), source: file) } catch { throw CLIError("\(error)") }
                }
                let name = "\(URL(fileURLWithPath: clientPcap).lastPathComponent) + \(URL(fileURLWithPath: serverPcap).lastPathComponent)"
                do {
                    trace = try CaptureImport.trace(clientSide: try read(clientPcap), serverSide: try read(serverPcap), server: server, source: name)
                } catch let error as TraceError { throw CLIError("\(error)") }
                do { try trace.encoded().write(toFile: output, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("cannot write \(output): \(error.localizedDescription)")
                }
                print("wrote \(output): \(trace.links.count) links")
                for (k, link) in trace.links.enumerated() {
                    print("link \(k) up: \(TraceSummary(link.up).line)")
                    print("link \(k) down: \(TraceSummary(link.down).line)")
                }
                return
            }
            guard clientPcap == nil, serverPcap == nil, server == nil else {
                throw ValidationError("captures need all three of --client-pcap, --server-pcap and --server")
            }
            guard let pingLog else { throw ValidationError("give --ping-log FILE, or --client-pcap, --server-pcap and --server") }
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
