import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireSimulation
import TickwireTransport

/// Runs a swarm of bots against a relay over real UDP sockets, the bots multiplexed on
/// `configuration.workers` event loops (see `SwarmWorkers` and `SwarmEngine`), and reports like a scenario run.
public enum SwarmRunner {
    /// Runs `configuration.bots` bots for `configuration.seconds`; `progress` gets a line a second.
    public static func run(
        _ configuration: SwarmConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        progress: @escaping @Sendable (SwarmProgress) -> Void = { _ in }
    ) async throws -> SwarmReport {
        try configuration.validate()
        let workers = try await SwarmWorkers.open(configuration, group: group)
        let result = try await workers.run(until: configuration.seconds, botLimit: configuration.bots, progress: progress)
        return await workers.finish(name: "swarm of \(configuration.bots) bots", windows: result)
    }

    /// Ramps bots up until snapshot delivery falls below `1 − threshold` (or bots stop
    /// connecting); returns the largest bot count that held, with the report of the run.
    ///
    /// A step holds when snapshot delivery ≥ 1 − `threshold`, at least 99% of the bots are
    /// connected, RTT p99 stays under `maxRTTP99` ms, and, when the relay's metrics endpoint is
    /// given, the share of its ticks that ran late in the step is at most `threshold`.
    public static func findCapacity(
        _ configuration: SwarmConfiguration, start: Int, step: Int, stepSeconds: Double, threshold: Double,
        maxRTTP99: Double = 100, serverMetrics: (host: String, port: Int)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        progress: @escaping @Sendable (SwarmProgress) -> Void = { _ in }
    ) async throws -> (capacity: Int, steps: [CapacityStep], report: SwarmReport) {
        try configuration.validate()
        var steps: [CapacityStep] = []
        let session = try await SwarmWorkers.open(configuration, group: group)
        var target = min(start, configuration.bots)
        var capacity = 0
        var elapsed = 0.0
        func serverTicks() async -> (ticks: Double, late: Double)? {
            guard let serverMetrics,
                  let values = try? await MetricsScrape.fetch(host: serverMetrics.host, port: serverMetrics.port, group: group)
            else { return nil }
            // Summed over the relay's workers (series labelled worker="i") when it runs several.
            guard let ticks = MetricsScrape.total(values, "tickwire_ticks_total") else { return nil }
            return (ticks, MetricsScrape.total(values, "tickwire_late_ticks_total") ?? 0)
        }
        while true {
            // The new bots join during the first part of the step; measure its second half only.
            let before = await serverTicks()
            let windows = try await session.run(until: elapsed + stepSeconds, botLimit: target, progress: progress)
            let after = await serverTicks()
            elapsed += stepSeconds
            let measured = windows.suffix(max(1, windows.count / 2))
            let delivery = measured.map(\.snapshotsPerBotSecond).reduce(0, +) / Double(measured.count) / Double(session.tickRate)
            let connected = windows.last?.botsConnected ?? 0
            let rttP99 = measured.map(\.rttP99).max() ?? 0
            var lateShare: Double?
            if let before, let after, after.ticks > before.ticks { lateShare = (after.late - before.late) / (after.ticks - before.ticks) }
            let held = delivery >= 1 - threshold && connected >= target * 99 / 100 && rttP99 <= maxRTTP99
                && (lateShare ?? 0) <= threshold
            steps.append(CapacityStep(bots: target, connected: connected, snapshotDelivery: delivery,
                                      rttP99: rttP99, serverLateTickShare: lateShare, held: held))
            guard held else { break }
            capacity = target
            if target >= configuration.bots { break }
            target = min(configuration.bots, target + step)
        }
        let report = await session.finish(name: "capacity search", windows: [])
        return (capacity, steps, report)
    }

    public struct CapacityStep: Sendable, Codable {
        public var bots: Int
        public var connected: Int
        /// Snapshots decoded per bot per second ÷ the tick rate.
        public var snapshotDelivery: Double
        public var rttP99: Double
        /// Share of the relay's ticks that ran late during the step (when its metrics were read).
        public var serverLateTickShare: Double?
        public var held: Bool
    }

    /// The engine, its sockets and its loop (a thread of its own) for one run.
    final class Session: Sendable {
        let engine: NIOLoopBound<SwarmEngine>
        let sockets: [UDPSocket]
        let loop: DatagramLoop
        let configuration: SwarmConfiguration
        let startedAt: ContinuousClock.Instant
        let tickRateBox: NIOLockedValueBox<Int>

        var tickRate: Int { tickRateBox.withLockedValue { $0 } }

        private init(engine: NIOLoopBound<SwarmEngine>, sockets: [UDPSocket], loop: DatagramLoop, configuration: SwarmConfiguration) {
            self.engine = engine
            self.sockets = sockets
            self.loop = loop
            self.configuration = configuration
            startedAt = .now
            tickRateBox = NIOLockedValueBox(60)
        }

        /// Opens the bots `bots` (global slot numbers) on a new loop named `name`, and the hostile
        /// client after them when `withHostile`. Each bot's room, client id and seed depend only on
        /// its slot. Join API requests go out on `group`.
        static func open(
            _ configuration: SwarmConfiguration, bots: Range<Int>, withHostile: Bool, name: String, group: any EventLoopGroup
        ) async throws -> Session {
            let loop = try DatagramLoop(name: name)
            do {
                return try await open(configuration, bots: bots, withHostile: withHostile, loop: loop, group: group)
            } catch {
                await loop.stop()
                throw error
            }
        }

        private static func open(
            _ configuration: SwarmConfiguration, bots: Range<Int>, withHostile: Bool, loop: DatagramLoop, group: any EventLoopGroup
        ) async throws -> Session {
            let clock = MonotonicClock()
            let firstSlot = bots.lowerBound
            let engine = try await loop.submit {
                let made = SwarmEngine(configuration: configuration, clock: clock)
                made.slotOffset = firstSlot
                return NIOLoopBound(made, eventLoop: loop)
            }.get()
            var sockets: [UDPSocket] = []
            let unix = MonotonicClock.unixSeconds()
            let needsIPv6 = configuration.server.family == .ipv6
            let slots = Array(bots) + (withHostile && configuration.hostile != nil ? [configuration.bots] : [])
            if let joinAPI = configuration.joinAPI {
                try await loop.submit {
                    engine.value.requestToken = { local in
                        Self.fetchToken(joinAPI, slot: local, engine: engine, loop: loop, group: group)
                    }
                }.get()
            }
            let assignment = configuration.mix?.assign(configuration.bots)
            for (local, i) in slots.enumerated() {
                let isHostile = i == configuration.bots
                let room = isHostile ? "room-1" : "room-\(i / configuration.botsPerRoom + 1)"
                let clientID = configuration.firstClientID + UInt64(i)
                var token: ConnectToken?
                if configuration.joinAPI == nil {
                    let request = ConnectTokenRequest(
                        protocolID: configuration.protocolID, clientID: clientID, createTimestamp: unix,
                        expireSeconds: UInt64(configuration.seconds) + 3600, timeoutSeconds: configuration.timeoutSeconds,
                        publicServerAddresses: [configuration.server], userData: try RoomTicket(room: room).encodeUserData())
                    token = try ConnectTokenMinter.random(request, privateKey: configuration.privateKey)
                }
                // Loopback for a relay on this machine; any address for one elsewhere (a bot bound
                // to 127.0.0.1 cannot reach another host or namespace).
                let host = needsIPv6 ? "::" : configuration.server.isLoopback && configuration.joinAPI == nil ? "127.0.0.1" : "0.0.0.0"
                let socket = try await loop.submit {
                    try loop.bind(host: host, port: 0, endpoint: SwarmBotEndpoint(slot: local, engine: engine.value))
                }.get()
                sockets.append(socket)
                var random = SplitMix64(seed: configuration.seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
                let seed = random.next()
                let hostile = isHostile ? configuration.hostile : nil
                let population = isHostile ? nil : assignment.map { configuration.mix!.populations[$0[i]].preset }
                try await loop.submit {
                    try engine.value.add(
                        token: token, clientID: clientID, room: room, socket: socket, seed: seed, hostile: hostile, population: population)
                }.get()
            }
            return Session(engine: engine, sockets: sockets, loop: loop, configuration: configuration)
        }

        /// Asks the join API for a bot's token (over HTTP on `group`) and hands the answer to the
        /// engine on the bots' loop.
        private static func fetchToken(
            _ joinAPI: JoinAPIClient, slot: Int, engine: NIOLoopBound<SwarmEngine>, loop: DatagramLoop, group: any EventLoopGroup
        ) {
            let (clientID, room) = (engine.value.clientID(of: slot), engine.value.room(of: slot))
            Task {
                do {
                    let grant = try await joinAPI.join(clientID: clientID, room: room, group: group)
                    let token = try ConnectToken.decode(grant.token)
                    loop.execute { engine.value.tokenArrived(slot, token: token, server: grant.server, relay: grant.relay) }
                } catch {
                    let reason = (error as? JoinAPIClient.Failure).map { failure -> String in
                        if case .refused(let status, let code) = failure { return "join API \(status) \(code)" }
                        return "join API unreachable"
                    } ?? "join API token not decodable"
                    loop.execute { engine.value.tokenRefused(slot, reason: reason) }
                }
            }
        }

        /// Runs the engine on its loop until `seconds` since the start; returns a progress window a second.
        func run(
            until seconds: Double, botLimit: Int, progress: @escaping @Sendable (SwarmProgress) -> Void
        ) async throws -> [SwarmProgress] {
            let promise = loop.makePromise(of: [SwarmProgress].self)
            let configuration = self.configuration
            let engine = self.engine
            let tickRateBox = self.tickRateBox
            loop.execute {
                var windows: [SwarmProgress] = []
                var lastWindow = engine.value.clock.now()
                var lastPackets: UInt64 = engine.value.packetTotals
                var lastSnapshots: UInt64 = engine.value.snapshotTotal
                var tickRateKnown = false
                let task = RepeatedTaskBox()
                task.task = self.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { _ in
                    let e = engine.value
                    let now = e.clock.now()
                    let elapsed = (now - e.startAt).secondsDouble
                    e.startDue(now: now, limit: botLimit)
                    e.update(sendEvents: elapsed < configuration.seconds - configuration.drainSeconds)
                    if !tickRateKnown, let rate = e.announcedTickRate {
                        tickRateBox.withLockedValue { $0 = Int(rate) }
                        tickRateKnown = true
                    }
                    if now - lastWindow >= .seconds(1) {
                        let span = (now - lastWindow).secondsDouble
                        lastWindow = now
                        let packets = e.packetTotals, snapshots = e.snapshotTotal
                        var window = e.progress(elapsed: elapsed)
                        window.packetsPerSecond = Double(packets - lastPackets) / span
                        window.snapshotsPerBotSecond = Double(snapshots - lastSnapshots) / span / Double(max(1, window.botsConnected))
                        lastPackets = packets
                        lastSnapshots = snapshots
                        windows.append(window)
                        progress(window)
                    }
                    if elapsed >= seconds {
                        task.task?.cancel()
                        promise.succeed(windows)
                    }
                }
            }
            return try await promise.futureResult.get()
        }

        /// Disconnects the bots, closes the sockets and returns what each bot saw.
        func collect() async -> Collected {
            let engine = self.engine
            let collected = (try? await loop.submit { () -> Collected in
                let links = engine.value.configuration.recordTrace == nil ? [] : engine.value.traceLinks
                engine.value.disconnectAll()
                return Collected(
                    traceLinks: links,
                    outcomes: engine.value.outcomes,
                    hostile: engine.value.hostile.map { SwarmReport.HostileOutcome($0, start: engine.value.startAt) },
                    landed: engine.value.landed.map { Collected.Landed(relay: $0.relay, server: $0.server, room: $0.room) })
            }.get()) ?? Collected(traceLinks: [], outcomes: [], hostile: nil, landed: [])
            for socket in sockets { await socket.close() }
            await loop.stop()
            return collected
        }

        /// What a session's bots saw, and where the join API put them.
        struct Collected: Sendable {
            struct Landed: Sendable {
                var relay: String?
                var server: String
                var room: String
            }
            var traceLinks: [NetworkTrace.Link]
            var outcomes: [BotOutcome]
            var hostile: SwarmReport.HostileOutcome?
            var landed: [Landed]
        }

        static func report(
            name: String, configuration: SwarmConfiguration, outcomes: [BotOutcome], hostile: SwarmReport.HostileOutcome?,
            tickRate: Int, startedAt: ContinuousClock.Instant
        ) -> SwarmReport {
            let (aggregate, perBot) = SwarmReport.figures(outcomes, server: (0, 0, 0))
            var checks: [SwarmReport.Check] = []
            checks.append(.init(name: "bots connected", expected: "\(outcomes.count)", measured: "\(aggregate.botsConnectedAtEnd)",
                                passed: aggregate.botsConnectedAtEnd == outcomes.count))
            checks.append(.init(name: "all events delivered", expected: "0 missing", measured: "\(aggregate.missingEvents) missing",
                                passed: aggregate.missingEvents == 0))
            checks.append(.init(name: "exactly once, in order", expected: "0",
                                measured: "\(aggregate.duplicateEvents) dup, \(aggregate.outOfOrderEvents) out of order",
                                passed: aggregate.duplicateEvents + aggregate.outOfOrderEvents == 0))
            let elapsed = (ContinuousClock.now - startedAt)
            var report = SwarmReport(
                name: name, seed: configuration.seed, mode: "sockets",
                durationSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                tickRate: tickRate, checks: checks, passed: checks.allSatisfy(\.passed), aggregate: aggregate, bots: perBot)
            report.hostile = hostile
            report.populations = SwarmReport.populations(outcomes)
            return report
        }
    }
}

/// A repeated task handle the task itself can cancel.
final class RepeatedTaskBox: @unchecked Sendable {
    var task: RepeatedTask?
}

// The cores are read field by field, in place: iterating them (`reduce`, `first(where:)`) hands
// out copies of whole cores, each a retain and a release per buffer.
extension SwarmEngine {
    var packetTotals: UInt64 {
        var total: UInt64 = 0
        for i in 0..<started { total &+= cores[i].netcode.counters.packetsReceived &+ cores[i].netcode.counters.packetsSent }
        return total
    }

    var snapshotTotal: UInt64 {
        var total: UInt64 = 0
        for i in 0..<started { total &+= cores[i].decoder.counters.decoded }
        return total
    }

    /// The tick rate the relay announced to the first bot it welcomed; nil before any.
    var announcedTickRate: UInt16? {
        for i in 0..<started { if case .joined(let welcome) = cores[i].phase { return welcome.tickRate } }
        return nil
    }

    func progress(elapsed: Double) -> SwarmProgress {
        var rtt = LatencyRecorder()
        var loss = 0.0
        var connected = 0
        windowStaleness.reset()
        windowEvents.reset()
        for i in 0..<started {
            bots[i]?.takeRecent(staleness: &windowStaleness, events: &windowEvents)
            guard cores[i].welcome != nil && bots[i]?.ended == nil else { continue }
            connected += 1
            rtt.record(milliseconds: cores[i].channels.stats.rttMilliseconds)
            loss += cores[i].channels.stats.packetLossPercent
        }
        return SwarmProgress(
            elapsedSeconds: elapsed, botsStarted: started, botsConnected: connected, packetsPerSecond: 0,
            lossPercent: connected > 0 ? loss / Double(connected) : 0, rttP50: rtt.percentile(50), rttP99: rtt.percentile(99),
            snapshotsPerBotSecond: 0, stalenessP99: windowStaleness.quantile(0.99), eventLatencyP99: windowEvents.quantile(0.99))
    }
}
