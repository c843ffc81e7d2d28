import Foundation

/// Named kinds of player link, each with its parameters per direction and where they come from.
/// `tickwire swarm --mix fiber=0.5,wifi-busy=0.3,…` and scenario `"mix"` use them by name.
public struct LinkPreset: Sendable {
    public var name: String
    public var up: ImpairmentProfile
    public var down: ImpairmentProfile
    /// Where the figures come from.
    public var source: String

    public static let all: [LinkPreset] = [
        LinkPreset(
            name: "fiber",
            up: ImpairmentProfile(latency: .milliseconds(8), jitter: .milliseconds(1), jitterModel: .normal),
            down: ImpairmentProfile(latency: .milliseconds(8), jitter: .milliseconds(1), jitterModel: .normal),
            source: "the low end of terrestrial round trips (30-160 ms, G. Huston, CircleID 2022-11-30): 16 ms RTT, no loss"),
        LinkPreset(
            name: "wifi-busy",
            up: ImpairmentProfile(latency: .milliseconds(16), jitter: .milliseconds(12), jitterModel: .normal,
                                  burstLoss: .average(0.02, meanBurst: 2.5)),
            down: ImpairmentProfile(latency: .milliseconds(18), jitter: .milliseconds(12), jitterModel: .normal,
                                    burstLoss: .average(0.03, meanBurst: 2.5)),
            source: "this project's recorded trace Tests/TickwireSimulationTests/Scenarios/traces/wifi-busy.trace (tickwire trace show): p50 16-18 ms one-way, p90 +15 ms, 2-3% loss in bursts of 2-3"),
        LinkPreset(
            name: "lte",
            up: ImpairmentProfile(latency: .milliseconds(35), jitter: .milliseconds(8), jitterModel: .normal, loss: 0.005),
            down: ImpairmentProfile(latency: .milliseconds(30), jitter: .milliseconds(8), jitterModel: .normal, loss: 0.005),
            source: "a terrestrial mobile link in the middle of Huston's 30-160 ms range: 65 ms RTT, 0.5% loss (this project's choice)"),
        LinkPreset(
            name: "lte-handover",
            up: ImpairmentProfile(latency: .milliseconds(53), jitter: .milliseconds(10), jitterModel: .normal, loss: 0.01,
                                  burstLoss: .average(0.05, meanBurst: 13)),
            down: ImpairmentProfile(latency: .milliseconds(58), jitter: .milliseconds(8), jitterModel: .normal, loss: 0.01,
                                    burstLoss: .average(0.03, meanBurst: 15)),
            source: "this project's recorded trace traces/lte-handover.trace: p50 53-58 ms one-way, 4-7% loss with bursts of 13-19 packets (a 0.8 s uplink gap)"),
        LinkPreset(
            name: "starlink",
            up: ImpairmentProfile(latency: .milliseconds(25), jitter: .milliseconds(10), jitterModel: .normal,
                                  burstLoss: .average(0.01, meanBurst: 10)),
            down: ImpairmentProfile(latency: .milliseconds(25), jitter: .milliseconds(10), jitterModel: .normal,
                                    burstLoss: .average(0.01, meanBurst: 10)),
            source: "median RTT ~50 ms, 40-60 ms interquartile (UCLouvain/Trieste/Torino, APNIC blog 2022-11-28); losses in bursts around satellite handovers (IMC 2022, 'A browser-side view of Starlink connectivity')"),
        LinkPreset(
            name: "satellite",
            up: ImpairmentProfile(latency: .milliseconds(300), jitter: .milliseconds(10), jitterModel: .normal, loss: 0.005),
            down: ImpairmentProfile(latency: .milliseconds(300), jitter: .milliseconds(10), jitterModel: .normal, loss: 0.005),
            source: "geostationary: ~600 ms RTT for a mid-latitude circuit with one satellite hop (G. Huston, APNIC blog 2022-05-02)"),
    ]

    public static func named(_ name: String) -> LinkPreset? { all.first { $0.name == name } }
}

/// A mix of player populations, each a link preset with its share of the bots, e.g.
/// `fiber=0.5,wifi-busy=0.3,lte-handover=0.15,satellite=0.05`. Bots are dealt out in join order by
/// smooth weighted round robin: each next bot goes to the population furthest below its share, so
/// any prefix of the joins (and so every room) holds the mix as closely as whole bots allow.
public struct PopulationMix: Sendable {
    public struct Population: Sendable {
        public var preset: LinkPreset
        public var share: Double
    }

    public var populations: [Population]

    /// Shares by preset name; they must be positive and add up to 1.
    public init(_ shares: [(String, Double)]) throws(MixError) {
        guard !shares.isEmpty else { throw .invalid("a mix needs at least one population") }
        var populations: [Population] = []
        for (name, share) in shares {
            guard let preset = LinkPreset.named(name) else {
                throw .invalid("unknown link preset \"\(name)\"; known: \(LinkPreset.all.map(\.name).joined(separator: ", "))")
            }
            guard share > 0, share <= 1 else { throw .invalid("\(name): a share must be in (0, 1], got \(share)") }
            guard !populations.contains(where: { $0.preset.name == name }) else { throw .invalid("\(name) is given twice") }
            populations.append(Population(preset: preset, share: share))
        }
        let total = populations.reduce(0) { $0 + $1.share }
        guard abs(total - 1) < 0.001 else { throw .invalid("the shares add up to \(total), not 1") }
        self.populations = populations
    }

    /// `name=share,name=share` (the CLI form).
    public init(parsing text: String) throws(MixError) {
        var shares: [(String, Double)] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2, let share = Double(pieces[1]) else {
                throw .invalid("\"\(part)\" is not name=share (e.g. fiber=0.5)")
            }
            shares.append((String(pieces[0]).trimmingCharacters(in: .whitespaces), share))
        }
        try self.init(shares)
    }

    /// The population of each of `count` bots in join order.
    public func assign(_ count: Int) -> [Int] {
        var dealt = [Int](repeating: 0, count: populations.count)
        var out: [Int] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            var best = 0
            var bestDeficit = -Double.infinity
            for (i, population) in populations.enumerated() {
                let deficit = population.share * Double(k + 1) - Double(dealt[i])
                if deficit > bestDeficit + 1e-12 {
                    best = i
                    bestDeficit = deficit
                }
            }
            dealt[best] += 1
            out.append(best)
        }
        return out
    }
}

public enum MixError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let why): "mix: \(why)"
        }
    }
}
