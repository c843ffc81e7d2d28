import ArgumentParser
import Foundation
import TickwireBench
import TickwireTransport

/// `tickwire bench`: quick in-process micro-benchmarks, and the capacity benchmark.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: `micro` (ack header and channels, the default) and `capacity` (the relay against its ceiling).",
        subcommands: [MicroBenchCommand.self, CapacityBenchCommand.self],
        defaultSubcommand: MicroBenchCommand.self)
}

struct CapacityBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capacity",
        abstract: "Measure the relay's CPU per client-second against the ceiling of the same AEAD and syscalls.",
        discussion: """
            Phase 2 runs a real relay core on its I/O thread pinned to --relay-core, loaded by a `tickwire swarm` \
            child process pinned to --swarm-cores, and reads the loop thread's CPU time, datagrams and tick durations \
            (send included) once every bot is connected. Phase 1, the ceiling, then does only what a perfect relay must \
            for the same clients on the same core: seal one payload per client per tick (ChaCha20-Poly1305, the \
            relay's mean datagram size) and send them with sendmmsg; read the states with recvmmsg and open them. \
            Build with -c release; the ratio is ceiling CPU over relay CPU.
            """)

    @Option(help: "Bots (1...4000).") var clients = 500
    @Option(help: "Bots per room.") var roomSize = 8
    @Option(help: "Seconds the relay is measured for, once every bot is connected.") var seconds = 60.0
    @Option(help: "Seconds the ceiling loop runs for.") var ceilingSeconds = 10.0
    @Option(help: "Tick rate in Hz (1...240).") var tickRate = 60
    @Option(help: "State updates per bot per second.") var stateRate = 20.0
    @Option(help: "Reliable events per bot per second.") var eventRate = 2.0
    @Option(help: "The core the relay (and the ceiling loop) runs on; -1: unpinned.") var relayCore = 0
    @Option(help: "The cores the swarm runs on, as taskset takes them (e.g. 1 or 1-3); empty: unpinned.") var swarmCores = "1"
    @Option(help: "Swarm workers (I/O threads); default: the swarm's own default.") var swarmWorkers: Int?
    @Option(help: "The bots' ack delay in ms (see `swarm --client-ack-delay-ms`).") var clientAckDelayMs = 0.0
    @Option(help: "Relay workers (1...64): worker i on core --relay-core + i; with more than one, bots get tokens from the join API.")
    var workers = 1
    @Option(help: "Run both phases' measured threads (the ceiling's server thread, the relay's loop) under SCHED_FIFO at this priority (1...99), as `serve --realtime-priority` does; needs CAP_SYS_NICE or `ulimit -r`. Off unless given.")
    var realtimePriority: Int?
    @Option(help: "Also write the figures here as JSON.") var json: String?

    func validate() throws {
        guard (1...4000).contains(clients) else { throw ValidationError("--clients must be 1...4000, got \(clients)") }
        guard roomSize >= 1 else { throw ValidationError("--room-size must be at least 1, got \(roomSize)") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be 1...64, got \(workers)") }
        guard seconds >= 1, ceilingSeconds >= 1 else { throw ValidationError("--seconds and --ceiling-seconds must be at least 1") }
        guard (0...500).contains(clientAckDelayMs) else { throw ValidationError("--client-ack-delay-ms must be 0...500, got \(clientAckDelayMs)") }
        if let realtimePriority, !(1...99).contains(realtimePriority) {
            throw ValidationError("--realtime-priority must be 1...99, got \(realtimePriority)")
        }
        guard (1...240).contains(tickRate) else { throw ValidationError("--tick-rate must be 1...240, got \(tickRate)") }
        guard stateRate > 0, stateRate <= 240 else { throw ValidationError("--state-rate must be > 0 and at most 240, got \(stateRate)") }
        let cores = ThreadResources.availableCores()
        guard relayCore == -1 || (0..<max(cores, 1)).contains(relayCore) else {
            throw ValidationError("--relay-core must be -1 or 0...\(cores - 1), got \(relayCore)")
        }
    }

    func run() async throws {
        #if DEBUG
        print("note: debug build; figures are only meaningful with `swift build -c release`")
        #endif
        var configuration = CapacityBench.Configuration(executable: try Self.ownExecutable())
        configuration.clients = clients
        configuration.roomSize = roomSize
        configuration.seconds = seconds
        configuration.ceilingSeconds = ceilingSeconds
        configuration.workers = workers
        configuration.tickRate = tickRate
        configuration.stateRate = stateRate
        configuration.eventRate = eventRate
        configuration.relayCore = relayCore >= 0 ? relayCore : nil
        configuration.swarmCores = swarmCores.isEmpty ? nil : swarmCores
        configuration.swarmWorkers = swarmWorkers
        configuration.clientAckDelayMs = clientAckDelayMs
        configuration.realtimePriority = realtimePriority
        // Phases as lines; the waits as one live line, on a terminal only.
        let live = TerminalProgress()
        let report = try await CapacityBench.run(configuration, log: { line in
            live.finish()
            print(line)
            fflush(nil)
        }, progress: { live.show($0) })
        live.finish()
        print("")
        print(report.table())
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do { try encoder.encode(report).write(to: URL(fileURLWithPath: json)) } catch {
                throw CLIError("cannot write \(json): \(error.localizedDescription)")
            }
            print("json: \(json)")
        }
    }

    static func ownExecutable() throws -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        let argument = CommandLine.arguments[0]
        guard FileManager.default.isExecutableFile(atPath: argument) else {
            throw CLIError("cannot find the tickwire executable to run the swarm with (\(argument))")
        }
        return argument
    }
}
