import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TickwireTransport
import TickwireProtocol
import TickwireServer
import TickwireSimulation
import TickwireSwarm

/// `tickwire swarm`: bots over real UDP sockets against a running relay.
struct SwarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm",
        abstract: "Run a swarm of bots against a running relay over UDP, or find how many bots it sustains.",
        discussion: """
            The bots mint their tokens with the relay's key (--key, --key-file or TICKWIRE_PRIVATE_KEY), or, with
            --join-api, each bot asks the relay's join API for a token when it is due to join, as a game backend would.
            Example: tickwire serve --key-file dev.key & tickwire swarm --server 127.0.0.1:40000 --key-file dev.key --bots 500
            With workers: tickwire serve --key-file dev.key --metrics 127.0.0.1:9464 --join-api-key-file join.key &
                          tickwire swarm --join-api http://127.0.0.1:9464 --join-api-key-file join.key --bots 500
            """)

    @OptionGroup var key: KeyOptions
    @Option(help: "The relay's address (a token address it accepts), e.g. 127.0.0.1:40000; not with --join-api.") var server: String?
    @Option(help: "Get tokens from the relay's join API at this admin address, e.g. http://127.0.0.1:9464.") var joinApi: String?
    @Option(help: "File holding the join API's bearer key (with --join-api).") var joinApiKeyFile: String?
    @Option(help: "PEM trust roots for an https:// join API (e.g. its self-signed certificate); default: the system's.")
    var joinApiCa: String?
    @Option(help: "Protocol id (decimal or 0x hex); must match the relay.") var protocolID = ProtocolID(RelayServerOptions.defaultProtocolID)
    @Option(help: "Number of bots (1...4000); with --find-capacity, the most to try.") var bots: Int = 100
    @Option(help: "Bots per room.") var botsPerRoom: Int = 10
    @Option(help: "Event loops (threads) the bots are spread over, whole rooms to each (1...256; default: the number of cores).")
    var workers: Int = ThreadResources.availableCores()
    @Option(help: "How long to run, in seconds.") var seconds: Double = 30
    @Option(help: "State updates each bot sends per second.") var stateRate: Double = 20
    @Option(help: "Reliable events each bot sends to its room per second.") var eventRate: Double = 2
    @Option(help: "New bots connecting per second.") var joinsPerSecond: Double = 200
    @Option(help: "Connection timeout in the bots' tokens, in seconds.") var timeout: Int32 = 10
    @Option(help: ArgumentHelp(
        "How long a bot's acks wait for a state or event to ride on, in ms (0...500).",
        discussion: "Bots sending states at a steady pace hold their acks for the next state anyway (the client library's default); this delay applies on top, and alone to bots that send no states. 0: no more than that."))
    var clientAckDelayMs: Double = 0
    @Option(help: "Added one-way latency in ms (inside this process, both directions).") var latencyMs: Double = 0
    @Option(help: "Added jitter in ms (uniform).") var jitterMs: Double = 0
    @Option(help: "Random loss, 0...1.") var loss: Double = 0
    @Option(help: "Burst loss (Gilbert-Elliott) long-run rate, 0...1.") var burstLoss: Double = 0
    @Option(help: "Mean burst length in packets for --burst-loss.") var meanBurst: Double = 5
    @Option(help: "Seed for the bots' paths and the impairment.") var seed: UInt64 = 1
    @Option(help: "Write the JSON report here.") var report: String = "swarm-report.json"
    @Option(help: ArgumentHelp(
        "Player populations by link preset and share, e.g. fiber=0.5,wifi-busy=0.3,lte-handover=0.15,satellite=0.05 (in place of the impairment options); the report gives each population's figures.",
        discussion: "Presets: " + LinkPreset.all.map(\.name).joined(separator: ", ") + " (`tickwire swarm --list-presets` gives their parameters and sources)."))
    var mix: String?
    @Flag(help: "List the link presets with their parameters and sources, and exit.") var listPresets = false
    @Option(help: "Record every bot's link as it observed it (send times, fates, delays) into DIR/swarm.trace (see `tickwire trace show`).")
    var recordTrace: String?
    @Option(help: "Also write a self-contained HTML page here: the checks, second-by-second charts (inline SVG) and latency percentiles.")
    var html: String?
    @Option(help: ArgumentHelp(
        "Add one hostile client to room-1, joining --hostile-join-seconds in.",
        discussion: "The bots' checks then show whether the relay kept the room safe; the report says what happened to the hostile client."))
    var hostile: HostileBehaviour?
    @Option(help: "When the hostile client joins, in seconds from the start.") var hostileJoinSeconds: Double = 2
    @Flag(help: "Ramp bots up until snapshot delivery falls below 1 - --threshold; report the largest count that held.")
    var findCapacity = false
    @Option(help: "Capacity search: bots to start with.") var rampStart: Int = 50
    @Option(help: "Capacity search: bots added per step.") var rampStep: Int = 50
    @Option(help: "Capacity search: seconds per step.") var stepSeconds: Double = 6
    @Option(help: "Capacity search: tolerated share of snapshots not delivered, and of server ticks run late (0...1).")
    var threshold: Double = 0.05
    @Option(help: "Capacity search: the highest RTT p99 in ms a step may show and still hold.") var maxRttP99: Double = 100
    @Option(help: "The relay's metrics address (its --metrics), e.g. 127.0.0.1:9464: the capacity search counts its late ticks, and --html charts its tick time and late ticks.")
    var serverMetrics: String?

    func validate() throws {
        for (name, value) in [("--loss", loss), ("--burst-loss", burstLoss), ("--threshold", threshold)] where !(0...1).contains(value) {
            throw ValidationError("\(name) must be 0...1, got \(value)")
        }
        guard latencyMs >= 0, jitterMs >= 0 else { throw ValidationError("--latency-ms and --jitter-ms must not be negative") }
        guard rampStart >= 1, rampStep >= 1, stepSeconds >= 2 else {
            throw ValidationError("--ramp-start and --ramp-step must be at least 1, --step-seconds at least 2")
        }
    }

    func run() async throws {
        if listPresets {
            for preset in LinkPreset.all {
                func describe(_ p: ImpairmentProfile) -> String {
                    var parts = ["\(p.latency.millisecondsDouble) ms ± \(p.jitter.millisecondsDouble) ms (\(p.jitterModel.rawValue))"]
                    if p.loss > 0 { parts.append("loss \(p.loss * 100)%") }
                    if let burst = p.burstLoss { parts.append("burst loss \((burst.longRunLoss * 1000).rounded() / 10)%, mean \((1 / burst.badToGood * 10).rounded() / 10) packets") }
                    return parts.joined(separator: ", ")
                }
                print("\(preset.name)\n  up:   \(describe(preset.up))\n  down: \(describe(preset.down))\n  source: \(preset.source)")
            }
            return
        }
        if mix != nil, latencyMs != 0 || jitterMs != 0 || loss != 0 || burstLoss != 0 {
            throw ValidationError("--mix gives every bot its population's link: leave out --latency-ms, --jitter-ms, --loss and --burst-loss")
        }
        var joinClient: JoinAPIClient?
        if let joinApi {
            guard server == nil else { throw ValidationError("give --server or --join-api, not both: the join API says which worker each room is on") }
            guard let joinApiKeyFile else { throw ValidationError("--join-api needs --join-api-key-file") }
            let key: String
            do { key = try String(contentsOfFile: joinApiKeyFile, encoding: .utf8) } catch {
                throw ValidationError("--join-api-key-file: cannot read '\(joinApiKeyFile)': \(error.localizedDescription)")
            }
            do { joinClient = try JoinAPIClient(url: joinApi, key: key.trimmingCharacters(in: .whitespacesAndNewlines), trustRootsFile: joinApiCa) } catch {
                throw ValidationError(error.description)
            }
        }
        guard let serverText = server ?? (joinClient.map { "\($0.host):\($0.port)" }) else {
            throw ValidationError("give --server HOST:PORT (the relay) or --join-api URL (its join API)")
        }
        guard let address = NetcodeAddress(parsing: serverText) else { throw ValidationError.address("--server", serverText) }
        var configuration = SwarmConfiguration(
            server: address, privateKey: joinClient == nil ? try key.resolve() : [], protocolID: protocolID.value)
        configuration.joinAPI = joinClient
        configuration.bots = bots
        configuration.botsPerRoom = botsPerRoom
        configuration.workers = workers
        configuration.seconds = findCapacity ? 3600 : seconds
        configuration.joinsPerSecond = joinsPerSecond
        configuration.behaviour = BotBehaviour(stateRate: stateRate, eventRate: eventRate)
        configuration.timeoutSeconds = timeout
        configuration.clientAckDelay = .nanoseconds(Int64(clientAckDelayMs * 1e6))
        configuration.seed = seed
        configuration.recordTrace = recordTrace
        if let mix {
            do { configuration.mix = try PopulationMix(parsing: mix) } catch { throw ValidationError("--mix: \(error)") }
        }
        configuration.hostile = hostile
        configuration.hostileJoinSeconds = hostileJoinSeconds
        configuration.link = ImpairmentProfile(
            latency: .nanoseconds(Int64(latencyMs * 1e6)), jitter: .nanoseconds(Int64(jitterMs * 1e6)), loss: loss,
            burstLoss: burstLoss > 0 ? .average(burstLoss, meanBurst: meanBurst) : nil)
        do { try configuration.validate() } catch { throw ValidationError(error.description) }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: workers)
        do {
            try await run(configuration, address: address, group: group)
            try? await group.shutdownGracefully()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(_ configuration: SwarmConfiguration, address: NetcodeAddress, group: MultiThreadedEventLoopGroup) async throws {
        let result: SwarmReport
        var capacityCurve: (steps: [CapacityPoint], capacity: Int)?
        var relaySeconds: [RelaySecond] = []
        // The per-second line, on a terminal only; the windows also feed --html.
        let live = TerminalProgress()
        let windows = NIOLockedValueBox<[SwarmProgress]>([])
        if findCapacity {
            print("finding capacity against \(address): from \(rampStart) bots, +\(rampStep) every \(stepSeconds) s, up to \(bots)")
            var metricsAddress: (host: String, port: Int)?
            if let serverMetrics {
                guard let parsed = NetcodeAddress(parsing: serverMetrics) else { throw ValidationError.address("--server-metrics", serverMetrics) }
                metricsAddress = (parsed.hostDescription, Int(parsed.port))
            }
            let found = try await SwarmRunner.findCapacity(
                configuration, start: rampStart, step: rampStep, stepSeconds: stepSeconds, threshold: threshold,
                maxRTTP99: maxRttP99, serverMetrics: metricsAddress, group: group) { progress in
                windows.withLockedValue { $0.append(progress) }
                live.show(progress.line)
            }
            live.finish()
            print("bots  connected  snapshot delivery  rtt p99 ms  late ticks  held")
            for step in found.steps {
                let late = step.serverLateTickShare.map { String(format: "%9.1f%%", $0 * 100) } ?? "      n/a"
                print(String(format: "%4d  %9d  %17.3f  %10.1f  %@  %@", step.bots, step.connected, step.snapshotDelivery, step.rttP99,
                             late, step.held ? "yes" : "no"))
            }
            print("capacity: \(found.capacity) bots sustained at \(found.report.tickRate) Hz "
                + "(snapshot delivery >= \(1 - threshold), rtt p99 <= \(maxRttP99) ms\(serverMetrics == nil ? "" : ", late ticks <= \(threshold * 100)%"))")
            result = found.report
            capacityCurve = (found.steps.map {
                CapacityPoint(bots: $0.bots, delivery: $0.snapshotDelivery, rttP99: $0.rttP99, lateTickShare: $0.serverLateTickShare, held: $0.held)
            }, found.capacity)
        } else {
            let target = configuration.joinAPI.map { "the relay of join API \($0.host):\($0.port)" } ?? "\(address)"
            print("swarm: \(bots) bots in rooms of \(botsPerRoom) against \(target) for \(seconds) s on \(workers) worker\(workers == 1 ? "" : "s")")
            // With --server-metrics and --html, read the relay's tick figures once a second meanwhile.
            let relayWatch = try serverMetrics.flatMap { text -> Task<[RelaySecond], Never>? in
                guard html != nil else { return nil }
                guard let parsed = NetcodeAddress(parsing: text) else { throw ValidationError.address("--server-metrics", text) }
                return Task { await Self.watchRelay(host: parsed.hostDescription, port: Int(parsed.port), group: group) }
            }
            result = try await SwarmRunner.run(configuration, group: group) { progress in
                windows.withLockedValue { $0.append(progress) }
                live.show(progress.line)
            }
            live.finish()
            relayWatch?.cancel()
            relaySeconds = await relayWatch?.value ?? []
            print(result.table())
        }
        do { try result.json().write(to: URL(fileURLWithPath: report)) } catch {
            throw CLIError("cannot write the report to \(report): \(error.localizedDescription)")
        }
        print("report: \(report)")
        if let trace = result.traceFile { print("trace: \(trace)") }
        if let html {
            let page = HTMLReport.render(result, seconds: windows.withLockedValue { $0 }, capacity: capacityCurve, relay: relaySeconds)
            do { try page.write(toFile: html, atomically: true, encoding: .utf8) } catch {
                throw CLIError("cannot write the HTML report to \(html): \(error.localizedDescription)")
            }
            print("html: \(html)")
        }
        if !findCapacity && !result.passed { throw ExitCode(1) }
    }
}

extension SwarmCommand {
    /// The relay's mean tick time and late ticks, once a second from its metrics, until cancelled.
    static func watchRelay(host: String, port: Int, group: any EventLoopGroup) async -> [RelaySecond] {
        var seconds: [RelaySecond] = []
        let start = ContinuousClock.now
        var last: (sum: Double, count: Double, late: Double)?
        while !Task.isCancelled {
            if let values = try? await MetricsScrape.fetch(host: host, port: port, group: group),
               let sum = MetricsScrape.total(values, "tickwire_tick_duration_seconds_sum"),
               let count = MetricsScrape.total(values, "tickwire_tick_duration_seconds_count") {
                let late = MetricsScrape.total(values, "tickwire_late_ticks_total") ?? 0
                if let last, count > last.count {
                    let elapsed = ContinuousClock.now - start
                    seconds.append(RelaySecond(
                        elapsedSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                        meanTickMs: (sum - last.sum) / (count - last.count) * 1000, lateTicks: late - last.late))
                }
                last = (sum, count, late)
            }
            try? await Task.sleep(for: .seconds(1))
        }
        return seconds
    }
}

extension HostileBehaviour: ExpressibleByArgument {}
