import Foundation
import Yams

/// A scenario file (JSON, or YAML with the same schema): bots joining and leaving, links changing, and what must hold.
///
/// ```json
/// { "name": "5% random loss", "durationSeconds": 20, "drainSeconds": 3,
///   "defaults": { "stateRate": 20, "eventRate": 2, "timeoutSeconds": 5,
///                 "link": { "latencyMs": 30, "jitterMs": 5, "loss": 0.05 } },
///   "phases": [ { "at": 0, "join": { "bots": 16, "room": "arena", "overSeconds": 1 } },
///               { "at": 8, "outage": { "bots": [3, 4], "seconds": 3 } } ],
///   "expect": { "allEventsDelivered": true, "stalenessP99Ms": 300, "noUnexpectedDisconnects": true } }
/// ```
/// Bots are numbered from 1 in the order they join. Times are seconds from the start.
public struct Scenario: Decodable, Sendable {
    public var name: String
    public var description: String?
    public var durationSeconds: Double
    /// Events stop this long before the end so every one can arrive before the checks.
    public var drainSeconds: Double?
    public var tickRate: Int?
    public var stateSize: Int?
    public var roomCapacity: Int?
    public var defaults: BotDefaults?
    public var phases: [Phase]
    public var expect: Expectations
    /// The folder of the scenario file: trace paths are relative to it (set when it is read).
    public var baseDirectory: String?

    public struct BotDefaults: Decodable, Sendable {
        public var stateRate: Double?
        public var eventRate: Double?
        public var eventSize: Int?
        public var timeoutSeconds: Int32?
        public var link: LinkSpec?
    }

    public struct Phase: Decodable, Sendable {
        public var at: Double
        public var join: Join?
        public var leave: BotSelector?
        public var link: LinkChange?
        public var outage: Outage?
    }

    public struct Join: Decodable, Sendable {
        public var bots: Int
        public var room: String?
        /// Joins are spread evenly over this many seconds (0: all at once).
        public var overSeconds: Double?
        /// This group's link, instead of the default.
        public var link: LinkSpec?
        /// Player populations by link preset and share (e.g. `{"fiber": 0.5, "lte-handover": 0.5}`),
        /// instead of `link`: bots are dealt out in join order (`PopulationMix`, presets by name
        /// order) and the report gives each population's figures.
        public var mix: [String: Double]?

        /// The mix with its populations in name order (a JSON object has no order to keep).
        public func populationMix() throws -> PopulationMix? {
            guard let mix else { return nil }
            guard link == nil else { throw ScenarioError.invalid("a join takes a link or a mix, not both") }
            do { return try PopulationMix(mix.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) } catch {
                throw ScenarioError.invalid("\(error)")
            }
        }
    }

    public struct LinkChange: Decodable, Sendable {
        public var bots: BotSelector
        public var direction: Direction?
        public var set: LinkSpec
    }

    public struct Outage: Decodable, Sendable {
        public var bots: BotSelector
        public var seconds: Double
        public var direction: Direction?
    }

    public enum Direction: String, Decodable, Sendable {
        case both, up, down
    }

    public struct Expectations: Decodable, Sendable {
        /// Every event sent by a bot reaches every other bot of its room still connected at the end.
        public var allEventsDelivered: Bool?
        /// No event arrives twice or out of order.
        public var exactlyOnceInOrder: Bool?
        public var stalenessP99Ms: Double?
        public var eventLatencyP99Ms: Double?
        /// Every bot not told to leave and not listed in `disconnected` is still connected at the end.
        public var noUnexpectedDisconnects: Bool?
        public var disconnected: [ExpectedDisconnect]?
        /// Each connected bot got at least this share of the ticks as snapshots (0...1).
        public var minSnapshotShare: Double?
    }

    public struct ExpectedDisconnect: Decodable, Sendable {
        public var bots: BotSelector
        /// The reason the bot itself reports, such as "timed_out"; its peers must have been told
        /// the matching leave reason.
        public var reason: String
    }

    public static func load(path: String) throws -> Scenario {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ScenarioError.unreadable("cannot read scenario file \(path): \(error.localizedDescription)")
        }
        return try parse(data, source: path)
    }

    /// Reads a scenario in JSON, or in YAML when `source` ends in `.yaml` or `.yml` (the same
    /// schema; errors name the path to the bad field either way).
    public static func parse(_ data: Data, source: String) throws -> Scenario {
        let scenario: Scenario
        let isYAML = source.hasSuffix(".yaml") || source.hasSuffix(".yml")
        do {
            if isYAML {
                scenario = try YAMLDecoder().decode(Scenario.self, from: String(decoding: data, as: UTF8.self))
            } else {
                scenario = try JSONDecoder().decode(Scenario.self, from: data)
            }
        } catch let error as DecodingError {
            throw ScenarioError.invalid("\(source): \(Self.explain(error, format: isYAML ? "YAML" : "JSON"))")
        } catch {
            // Yams reports YAML syntax (with its line and column) outside DecodingError.
            throw ScenarioError.invalid("\(source): not valid YAML: \(error)")
        }
        try scenario.validate(source: source)
        var located = scenario
        located.baseDirectory = URL(fileURLWithPath: source).deletingLastPathComponent().path
        return located
    }

    func validate(source: String) throws {
        func fail(_ why: String) -> ScenarioError { .invalid("\(source): \(why)") }
        guard durationSeconds > 0, durationSeconds <= 3600 else { throw fail("durationSeconds must be in (0, 3600], got \(durationSeconds)") }
        guard (drainSeconds ?? 3) >= 0, (drainSeconds ?? 3) < durationSeconds else { throw fail("drainSeconds must be in [0, durationSeconds)") }
        let total = phases.compactMap { $0.join?.bots }.reduce(0, +)
        guard total >= 1 else { throw fail("no bots join: add a phase with \"join\": {\"bots\": N}") }
        guard total <= 4000 else { throw fail("at most 4000 bots, got \(total)") }
        for (n, phase) in phases.enumerated() {
            guard phase.at >= 0, phase.at < durationSeconds else { throw fail("phase \(n + 1): at \(phase.at) is outside 0..<durationSeconds") }
            let actions = [phase.join != nil, phase.leave != nil, phase.link != nil, phase.outage != nil].filter { $0 }.count
            guard actions == 1 else { throw fail("phase \(n + 1): give exactly one of join, leave, link, outage") }
            for selector in [phase.leave, phase.link?.bots, phase.outage?.bots].compactMap({ $0 }) {
                if case .some(let ids) = selector, let bad = ids.first(where: { $0 < 1 || $0 > total }) {
                    throw fail("phase \(n + 1): bot \(bad) does not exist (bots are 1...\(total))")
                }
            }
        }
    }

    private static func explain(_ error: DecodingError, format: String) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "top level" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \"\(key.stringValue)\" at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "not valid \(format) at \(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// Which bots a phase means: `"all"`, or a list of bot numbers such as `[1, 2, 5]`.
public enum BotSelector: Decodable, Sendable, Equatable {
    case all
    case some([Int])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let word = try? container.decode(String.self) {
            guard word == "all" else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "write \"all\" or a list of bot numbers")
            }
            self = .all
        } else {
            self = .some(try container.decode([Int].self))
        }
    }

    public func contains(_ bot: Int) -> Bool {
        switch self {
        case .all: true
        case .some(let ids): ids.contains(bot)
        }
    }
}

/// A link in a scenario file; everything optional, unset means unimpaired.
public struct LinkSpec: Decodable, Sendable, Equatable {
    public var latencyMs: Double?
    public var jitterMs: Double?
    /// "uniform" (default) or "normal".
    public var jitter: String?
    public var loss: Double?
    public var burst: Burst?
    public var duplicate: Double?
    public var reorder: Double?
    public var reorderDelayMs: Double?
    public var bandwidthKbps: Double?
    /// A recorded trace to replay instead of the parametric fields: `"trace": "file.trace"` or
    /// `{"path": …, "link": 0, "loop": true, "timeScale": 1, "offsetSeconds": 0}`.
    public var trace: TraceSpec?

    public struct TraceSpec: Decodable, Sendable, Equatable {
        /// Relative to the scenario file.
        public var path: String
        /// Which of the trace's links (default 0).
        public var link: Int?
        /// Start again at the end (default true); false holds the last packet's fate.
        public var loop: Bool?
        /// Trace seconds per virtual second (default 1).
        public var timeScale: Double?
        /// Where in the trace virtual time zero falls (default 0).
        public var offsetSeconds: Double?

        enum CodingKeys: String, CodingKey { case path, link, loop, timeScale, offsetSeconds }

        public init(from decoder: any Decoder) throws {
            if let path = try? decoder.singleValueContainer().decode(String.self) {
                self.path = path
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decode(String.self, forKey: .path)
            link = try container.decodeIfPresent(Int.self, forKey: .link)
            loop = try container.decodeIfPresent(Bool.self, forKey: .loop)
            timeScale = try container.decodeIfPresent(Double.self, forKey: .timeScale)
            offsetSeconds = try container.decodeIfPresent(Double.self, forKey: .offsetSeconds)
        }
    }

    /// The two directions' profiles: the trace's up and down when it has a trace, else the
    /// parametric profile both ways. `directory` resolves a relative trace path.
    public func profiles(directory: String?) throws -> (up: ImpairmentProfile, down: ImpairmentProfile) {
        guard let trace else {
            let both = try profile()
            return (both, both)
        }
        let parametric: [Any?] = [latencyMs, jitterMs, jitter, loss, burst, duplicate, reorder, reorderDelayMs, bandwidthKbps]
        guard parametric.allSatisfy({ $0 == nil }) else {
            throw ScenarioError.invalid("a link with a trace takes no other impairment (latencyMs, loss, …): the trace is the link")
        }
        let path = trace.path.hasPrefix("/") || directory == nil ? trace.path : "\(directory!)/\(trace.path)"
        let recorded: NetworkTrace
        do { recorded = try NetworkTrace.load(path: path) } catch { throw ScenarioError.invalid("trace \(trace.path): \(error)") }
        let link = trace.link ?? 0
        guard recorded.links.indices.contains(link) else {
            throw ScenarioError.invalid("trace \(trace.path): link \(link) is not in it (it has \(recorded.links.count))")
        }
        let scale = trace.timeScale ?? 1
        guard scale > 0, scale <= 100 else { throw ScenarioError.invalid("trace.timeScale must be in (0, 100], got \(scale)") }
        let offset = trace.offsetSeconds ?? 0
        guard offset >= 0 else { throw ScenarioError.invalid("trace.offsetSeconds must be ≥ 0, got \(offset)") }
        func replay(_ direction: NetworkTrace.Direction) throws -> ImpairmentProfile {
            let packets = recorded.links[link][direction]
            guard !packets.isEmpty else {
                throw ScenarioError.invalid("trace \(trace.path): link \(link) has no \(direction.rawValue) packets")
            }
            var profile = ImpairmentProfile()
            profile.trace = TraceReplay(packets, loops: trace.loop ?? true, timeScale: scale, offset: .nanoseconds(Int64(offset * 1e9)))
            return profile
        }
        return (try replay(.up), try replay(.down))
    }

    public struct Burst: Decodable, Sendable, Equatable {
        /// Long-run loss in bursts (0...1).
        public var loss: Double
        /// Mean burst length in packets.
        public var meanBurst: Double
    }

    public func profile() throws -> ImpairmentProfile {
        func ms(_ value: Double?) -> Duration { .nanoseconds(Int64((value ?? 0) * 1e6)) }
        func chance(_ value: Double?, _ name: String) throws -> Double {
            let v = value ?? 0
            guard (0...1).contains(v) else { throw ScenarioError.invalid("\(name) must be 0...1, got \(v)") }
            return v
        }
        guard let model = ImpairmentProfile.JitterModel(rawValue: jitter ?? "uniform") else {
            throw ScenarioError.invalid("jitter must be \"uniform\" or \"normal\", got \"\(jitter!)\"")
        }
        return ImpairmentProfile(
            latency: ms(latencyMs), jitter: ms(jitterMs), jitterModel: model, loss: try chance(loss, "loss"),
            burstLoss: try burst.map { .average(try chance($0.loss, "burst.loss"), meanBurst: $0.meanBurst) },
            duplicate: try chance(duplicate, "duplicate"), reorder: try chance(reorder, "reorder"),
            reorderDelay: reorderDelayMs.map(ms) ?? .milliseconds(50),
            bandwidthBytesPerSecond: bandwidthKbps.map { Int($0 * 1000 / 8) })
    }
}

public enum ScenarioError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case invalid(String)
    public var description: String {
        switch self {
        case .unreadable(let why), .invalid(let why): why
        }
    }
}
