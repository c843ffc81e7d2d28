import Foundation
import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// Runs a scenario in virtual time: the relay and every bot in one process on `VirtualRelay`.
/// Everything random comes from the seed, so a seed reproduces a run exactly.
public enum ScenarioRunner {
    /// Runs `scenario` in virtual time. `progress` gets a line per simulated second; `seconds`,
    /// the figures of each simulated second (for the HTML report).
    /// `fates`, when given, gets every bot's link as its pipes treated it (bot order): what a
    /// replayed trace did, to compare with the recording.
    public static func run(
        _ scenario: Scenario, seed: UInt64, progress: ((String) -> Void)? = nil, seconds: ((RunSecond) -> Void)? = nil,
        fates: (([NetworkTrace.Link]) -> Void)? = nil
    ) throws -> SwarmReport {
        let joins = scenario.phases.compactMap { phase in phase.join.map { (phase.at, $0) } }
        let total = joins.reduce(0) { $0 + $1.1.bots }
        var configuration = RelayConfiguration()
        configuration.tickRate = scenario.tickRate ?? 60
        configuration.maxStateSize = scenario.stateSize ?? 64
        configuration.roomCapacity = scenario.roomCapacity ?? max(64, total)
        do { try configuration.validate() } catch { throw ScenarioError.invalid("\(scenario.name): \(error)") }

        var relay = try VirtualRelay(configuration: configuration, maxClients: total + 4, seed: seed)
        relay.keepsHeard = false
        let defaults = scenario.defaults
        let behaviour = BotBehaviour(
            stateRate: defaults?.stateRate ?? 20, eventRate: defaults?.eventRate ?? 2,
            eventSize: defaults?.eventSize ?? 32, stateSize: configuration.maxStateSize)
        let directory = scenario.baseDirectory
        let defaultLink = try (defaults?.link ?? LinkSpec()).profiles(directory: directory)

        // Every action at its time: joins spread over their window, then the other phases.
        var populationOf: [Int: String] = [:]
        var actions: [(at: Double, order: Int, act: Action)] = []
        var number = 0
        for (at, join) in joins {
            let link = try join.link.map { try $0.profiles(directory: directory) } ?? defaultLink
            let mix = try join.populationMix()
            let assignment = mix?.assign(join.bots)
            for k in 0..<join.bots {
                number += 1
                var link = link
                if let mix, let assignment {
                    let preset = mix.populations[assignment[k]].preset
                    link = (preset.up, preset.down)
                    populationOf[number] = preset.name
                }
                let offset = join.bots > 1 ? (join.overSeconds ?? 0) * Double(k) / Double(join.bots) : 0
                actions.append((at + offset, actions.count, .join(number: number, room: join.room ?? "arena", link: link)))
            }
        }
        for phase in scenario.phases {
            if let selector = phase.leave { actions.append((phase.at, actions.count, .leave(selector))) }
            if let change = phase.link {
                actions.append((phase.at, actions.count, .link(change.bots, change.direction ?? .both, try change.set.profiles(directory: directory))))
            }
            if let outage = phase.outage {
                actions.append((phase.at, actions.count, .down(outage.bots, outage.direction ?? .both, true)))
                actions.append((phase.at + outage.seconds, actions.count, .down(outage.bots, outage.direction ?? .both, false)))
            }
        }
        actions.sort { ($0.at, $0.order) < ($1.at, $1.order) }

        // Indexed by bot number − 1; bots join in time order, which need not be number order.
        var bots = [Bot?](repeating: nil, count: total)
        var clientOf = [Int?](repeating: nil, count: total)
        let timeout = defaults?.timeoutSeconds ?? 5
        let drainAt = scenario.durationSeconds - (scenario.drainSeconds ?? 3)
        var next = 0
        var window = SecondWindow()
        var lastProgress = 0
        while relay.now.seconds < scenario.durationSeconds {
            while next < actions.count, actions[next].at <= relay.now.seconds {
                switch actions[next].act {
                case .join(let n, let room, let link):
                    let index = try relay.addClient(clientID: UInt64(n), room: room, up: link.up, down: link.down, timeoutSeconds: timeout)
                    clientOf[n - 1] = index
                    if fates != nil {
                        relay.clients[index].up.fateLog = []
                        relay.clients[index].down.fateLog = []
                    }
                    bots[n - 1] = Bot(clientID: UInt64(n), room: room, behaviour: behaviour, seed: seed, now: relay.now)
                case .leave(let selector):
                    for n in 1...total where selector.contains(n) && bots[n - 1]?.isJoined == true {
                        bots[n - 1]!.leftOnPurpose = true
                        relay.clients[clientOf[n - 1]!].core.disconnect(now: relay.now)
                    }
                case .link(let selector, let direction, let profile):
                    for n in 1...total where selector.contains(n) {
                        guard let i = clientOf[n - 1] else { continue }
                        if direction != .down { relay.clients[i].up.profile = profile.up }
                        if direction != .up { relay.clients[i].down.profile = profile.down }
                    }
                case .down(let selector, let direction, let down):
                    for n in 1...total where selector.contains(n) {
                        guard let i = clientOf[n - 1] else { continue }
                        if direction != .down { relay.clients[i].up.isDown = down }
                        if direction != .up { relay.clients[i].down.isDown = down }
                    }
                }
                next += 1
            }
            if relay.now.seconds >= drainAt { for i in bots.indices { bots[i]?.sendsEvents = false } }
            // On to the next thing the script does, on a 10 ms grid: an action, the drain, the
            // end of the second.
            var until = Double(Int(relay.now.seconds) + 1)
            if next < actions.count { until = min(until, actions[next].at) }
            if relay.now.seconds < drainAt { until = min(until, drainAt) }
            until = min(until, scenario.durationSeconds)
            let grid: UInt64 = 10_000_000
            let target = max(relay.now.nanoseconds + grid, (UInt64(max(0, until) * 1e9) + grid - 1) / grid * grid)
            relay.advance(by: .nanoseconds(Int64(target - relay.now.nanoseconds))) { client, now in
                let i = Int(client.clientID) - 1
                if bots.indices.contains(i) {
                    bots[i]?.step(&client.core, now: now)
                    client.actsAt = bots[i]?.nextActionAt
                }
            }
            if Int(relay.now.seconds) > lastProgress {
                lastProgress = Int(relay.now.seconds)
                progress?("t=\(lastProgress)s bots connected \(bots.count(where: { $0?.isJoined == true }))/\(total)")
                if let seconds { seconds(window.close(at: relay.now, relay: relay, bots: &bots, clientOf: clientOf)) }
            }
        }

        let outcomes = (1...total).compactMap { n -> BotOutcome? in
            guard let bot = bots[n - 1], let i = clientOf[n - 1] else { return nil }
            var outcome = BotOutcome(number: n, bot: bot, core: relay.clients[i].core)
            outcome.population = populationOf[n]
            return outcome
        }
        if let fates {
            fates((0..<total).compactMap { n in
                clientOf[n].map { NetworkTrace.Link(up: relay.clients[$0].up.fateLog ?? [], down: relay.clients[$0].down.fateLog ?? []) }
            })
        }
        let server = relay.server
        let (aggregate, perBot) = SwarmReport.figures(
            outcomes, server: (server.counters.ticks, server.schedule.lateTicks, server.schedule.skippedTicks))
        let checks = scenario.expect.evaluate(
            outcomes, aggregate: aggregate, end: scenario.durationSeconds, tickRate: configuration.tickRate)
        var report = SwarmReport(
            name: scenario.name, seed: seed, mode: "virtual", durationSeconds: scenario.durationSeconds,
            tickRate: configuration.tickRate, checks: checks, passed: checks.allSatisfy(\.passed),
            aggregate: aggregate, bots: perBot)
        report.populations = SwarmReport.populations(outcomes)
        return report
    }

    private enum Action {
        case join(number: Int, room: String, link: (up: ImpairmentProfile, down: ImpairmentProfile))
        case leave(BotSelector)
        case link(BotSelector, Scenario.Direction, (up: ImpairmentProfile, down: ImpairmentProfile))
        case down(BotSelector, Scenario.Direction, Bool)
    }
}

/// The figures of one simulated second: packets and snapshots since the last one, and the
/// connected bots' links as they are now.
struct SecondWindow {
    private var lastPackets: UInt64 = 0
    private var lastSnapshots: UInt64 = 0
    private var lastAt: TickwireInstant?
    private var staleness = WindowHistogram()
    private var events = WindowHistogram()

    mutating func close(at now: TickwireInstant, relay: VirtualRelay, bots: inout [Bot?], clientOf: [Int?]) -> RunSecond {
        staleness.reset()
        events.reset()
        var packets: UInt64 = 0, snapshots: UInt64 = 0
        var rtts: [Double] = [], loss = 0.0
        var connected = 0
        for n in bots.indices {
            guard let i = clientOf[n] else { continue }
            let core = relay.clients[i].core
            packets &+= core.netcode.counters.packetsSent &+ core.netcode.counters.packetsReceived
            snapshots &+= core.decoder.counters.decoded
            bots[n]?.takeRecent(staleness: &staleness, events: &events)
            guard bots[n]?.isJoined == true else { continue }
            connected += 1
            let stats = core.channels.stats
            rtts.append(stats.rttMilliseconds)
            loss += stats.packetLossPercent
        }
        let span = lastAt.map { now.seconds(since: $0) } ?? now.seconds
        defer {
            lastPackets = packets
            lastSnapshots = snapshots
            lastAt = now
        }
        rtts.sort()
        func quantile(_ q: Double) -> Double { rtts.isEmpty ? 0 : rtts[min(rtts.count - 1, Int(Double(rtts.count) * q))] }
        return RunSecond(
            elapsedSeconds: now.seconds, botsStarted: bots.count(where: { $0 != nil }), botsConnected: connected,
            packetsPerSecond: span > 0 ? Double(packets &- lastPackets) / span : 0,
            lossPercent: connected > 0 ? loss / Double(connected) : 0, rttP50: quantile(0.5), rttP99: quantile(0.99),
            snapshotsPerBotSecond: span > 0 && connected > 0 ? Double(snapshots &- lastSnapshots) / span / Double(connected) : 0,
            stalenessP99: staleness.quantile(0.99), eventLatencyP99: events.quantile(0.99))
    }
}
