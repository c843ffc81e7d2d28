import Foundation
import TickwireProtocol
import TickwireRelay

/// What a swarm or scenario run measured, per bot and over all bots. Encodes to stable JSON
/// (sorted keys) so that two runs can be compared byte for byte.
public struct SwarmReport: Codable, Sendable, Equatable {
    public var name: String
    public var seed: UInt64
    public var mode: String
    public var durationSeconds: Double
    public var tickRate: Int
    public var checks: [Check]
    public var passed: Bool
    public var aggregate: Aggregate
    public var bots: [BotFigures]
    /// The hostile client's run, when the swarm had one (`tickwire swarm --hostile`).
    public var hostile: HostileOutcome?
    /// Where the join API put the bots: per relay process of a fleet (or per server address
    /// from a relay on its own), the bots and rooms that landed there. Nil without a join API.
    public var placement: [PlacementShare]?
    /// Where `--record-trace` wrote the bots' links.
    public var traceFile: String?
    /// Per player population, in a mixed run: every aggregate figure over that population's bots
    /// (RTT and staleness as they measured them, event latency of the events they received;
    /// missing events count pairs of bots within the population).
    public var populations: [PopulationFigures]?

    public struct PopulationFigures: Codable, Sendable, Equatable {
        public var name: String
        public var bots: Int
        public var figures: Aggregate

        public var connectedAtEnd: Int { figures.botsConnectedAtEnd }
        public var rttP99Ms: Double { figures.rttMs.p99 }
        public var stalenessP99Ms: Double { figures.stalenessMs.p99 }
        public var eventLatencyP99Ms: Double { figures.eventLatencyMs.p99 }
        public var snapshotGapP99Ms: Double { figures.snapshotInterArrivalMs.p99 }
    }

    public struct PlacementShare: Codable, Sendable, Equatable {
        /// The relay process's id in the fleet directory, or the server address.
        public var relay: String
        public var servers: [String]
        public var bots: Int
        public var rooms: Int

        /// Shares of `landed` (each bot's relay, or nil, its server address, and its room), by relay.
        public static func of(_ landed: [(relay: String?, server: String, room: String)]) -> [PlacementShare] {
            var byRelay: [String: (servers: Set<String>, bots: Int, rooms: Set<String>)] = [:]
            for bot in landed {
                let key = bot.relay ?? bot.server
                var share = byRelay[key] ?? ([], 0, [])
                share.servers.insert(bot.server)
                share.bots += 1
                share.rooms.insert(bot.room)
                byRelay[key] = share
            }
            return byRelay.keys.sorted().map { key in
                let share = byRelay[key]!
                return PlacementShare(relay: key, servers: share.servers.sorted(), bots: share.bots, rooms: share.rooms.count)
            }
        }
    }

    /// What happened to a hostile client: when it joined, when and how its connection ended,
    /// what it sent and what the relay refused. The relay's own reason is in its metrics
    /// (`tickwire_clients_removed_by_reason_total`) and log.
    public struct HostileOutcome: Codable, Sendable, Equatable {
        public var behaviour: String
        public var joinedAtSeconds: Double?
        public var endedAtSeconds: Double?
        public var endReason: String?
        public var sent: UInt64
        public var refusals: [String: Int]

        public init(_ bot: HostileBot, start: TickwireInstant) {
            behaviour = bot.behaviour.rawValue
            joinedAtSeconds = bot.joinedAt.map { ($0 - start).secondsDouble }
            endedAtSeconds = bot.ended.map { ($0.at - start).secondsDouble }
            endReason = bot.ended?.reason
            sent = bot.sent
            refusals = Dictionary(uniqueKeysWithValues: bot.refusals.map { ($0.key.label, $0.value) })
        }

        public var line: String {
            let joined = joinedAtSeconds.map { String(format: "joined at %.2f s", $0) } ?? "never joined"
            let ended = endedAtSeconds.map { String(format: "connection ended at %.2f s (%@)", $0, endReason ?? "?") } ?? "still connected at the end"
            let refused = refusals.isEmpty ? "" : ", refused: " + refusals.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "hostile client (\(behaviour)): \(joined), \(ended); sent \(sent)\(refused)"
        }
    }

    public init(name: String, seed: UInt64, mode: String, durationSeconds: Double, tickRate: Int, checks: [Check],
                passed: Bool, aggregate: Aggregate, bots: [BotFigures]) {
        self.name = name
        self.seed = seed
        self.mode = mode
        self.durationSeconds = durationSeconds
        self.tickRate = tickRate
        self.checks = checks
        self.passed = passed
        self.aggregate = aggregate
        self.bots = bots
    }

    public struct Check: Codable, Sendable, Equatable {
        public var name: String
        public var expected: String
        public var measured: String
        public var passed: Bool

        public init(name: String, expected: String, measured: String, passed: Bool) {
            self.name = name
            self.expected = expected
            self.measured = measured
            self.passed = passed
        }
    }

    public struct Aggregate: Codable, Sendable, Equatable {
        public var botsJoined: Int
        public var botsConnectedAtEnd: Int
        public var connectTimeMs: Percentiles
        public var rttMs: Percentiles
        public var snapshotInterArrivalMs: Percentiles
        public var stalenessMs: Percentiles
        public var eventLatencyMs: Percentiles
        public var eventsSent: UInt64
        public var eventsReceived: UInt64
        public var missingEvents: UInt64
        public var duplicateEvents: UInt64
        public var outOfOrderEvents: UInt64
        public var resends: UInt64
        public var bytesIn: UInt64
        public var bytesOut: UInt64
        public var disconnects: [String: Int]
        public var serverTicks: UInt64
        public var serverLateTicks: UInt64
        public var serverSkippedTicks: UInt64
        /// Staleness and event latency over the run, all bots, in `WindowHistogram`'s buckets.
        public var stalenessHistogram: WindowHistogram?
        public var eventLatencyHistogram: WindowHistogram?
    }

    public struct BotFigures: Codable, Sendable, Equatable {
        public var bot: Int
        public var clientID: UInt64
        public var room: String
        public var connectTimeMs: Double?
        public var rttMs: Percentiles
        public var snapshotInterArrivalMs: Percentiles
        public var stalenessMs: Percentiles
        public var eventLatencyMs: Percentiles
        public var eventsSent: UInt32
        public var eventsReceived: UInt64
        public var missingEvents: UInt64
        public var duplicateEvents: UInt64
        public var outOfOrderEvents: UInt64
        public var resends: UInt64
        public var bytesIn: UInt64
        public var bytesOut: UInt64
        public var snapshots: UInt64
        public var disconnect: String?
    }

    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// The pass/fail table and the aggregate figures, for a terminal.
    public func table() -> String {
        var lines: [String] = []
        let width = max(10, checks.map(\.name.count).max() ?? 10)
        lines.append("check".padding(toLength: width, withPad: " ", startingAt: 0) + "  result  expected            measured")
        for check in checks {
            lines.append(check.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + (check.passed ? "pass  " : "FAIL  ") + "  " + check.expected.padding(toLength: 18, withPad: " ", startingAt: 0)
                + "  " + check.measured)
        }
        let a = aggregate
        func p(_ x: Percentiles) -> String { String(format: "p50 %.1f  p99 %.1f  max %.1f", x.p50, x.p99, x.max) }
        lines.append("")
        if let hostile { lines.append(hostile.line) }
        if let placement, !placement.isEmpty {
            lines.append("placement: " + placement.map { "\($0.relay) \($0.bots) bots in \($0.rooms) rooms" }.joined(separator: ", "))
        }
        for population in populations ?? [] {
            func f(_ x: Double) -> String { String(format: "%.1f", x) }
            lines.append("population \(population.name): \(population.bots) bots (\(population.connectedAtEnd) connected), "
                + "rtt p99 \(f(population.rttP99Ms)) ms, staleness p99 \(f(population.stalenessP99Ms)) ms, "
                + "event p99 \(f(population.eventLatencyP99Ms)) ms, snapshot gap p99 \(f(population.snapshotGapP99Ms)) ms")
        }
        lines.append("bots: \(a.botsJoined) joined, \(a.botsConnectedAtEnd) connected at the end; disconnects: "
            + (a.disconnects.isEmpty ? "none" : a.disconnects.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        lines.append("connect ms     " + p(a.connectTimeMs))
        lines.append("rtt ms         " + p(a.rttMs))
        lines.append("snapshot gap   " + p(a.snapshotInterArrivalMs))
        lines.append("staleness ms   " + p(a.stalenessMs))
        lines.append("event ms       " + p(a.eventLatencyMs))
        lines.append("events: \(a.eventsSent) sent, \(a.eventsReceived) received, \(a.missingEvents) missing, "
            + "\(a.duplicateEvents) duplicated, \(a.outOfOrderEvents) out of order; \(a.resends) resends")
        lines.append(String(format: "bandwidth per bot: %.1f kB/s in, %.1f kB/s out",
                            Double(a.bytesIn) / Double(max(1, a.botsJoined)) / max(durationSeconds, 0.001) / 1000,
                            Double(a.bytesOut) / Double(max(1, a.botsJoined)) / max(durationSeconds, 0.001) / 1000))
        if mode == "virtual" {
            lines.append("server: \(a.serverTicks) ticks at \(tickRate) Hz, \(a.serverLateTicks) late, \(a.serverSkippedTicks) skipped")
        } else {
            lines.append("server: \(tickRate) Hz (its tick figures are on its metrics endpoint and in its logs)")
        }
        return lines.joined(separator: "\n")
    }
}
