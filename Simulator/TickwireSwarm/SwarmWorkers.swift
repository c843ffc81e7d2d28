import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TickwireSimulation

/// A swarm spread over several event loops: each worker is a `SwarmRunner.Session` holding whole
/// rooms of bots (so a room's traffic stays on one thread), joining at its share of the join
/// rate. Progress is merged per second across workers; the report covers every bot.
final class SwarmWorkers: Sendable {
    let sessions: [SwarmRunner.Session]
    let ranges: [Range<Int>]
    let configuration: SwarmConfiguration
    let startedAt: ContinuousClock.Instant

    private init(sessions: [SwarmRunner.Session], ranges: [Range<Int>], configuration: SwarmConfiguration) {
        self.sessions = sessions
        self.ranges = ranges
        self.configuration = configuration
        startedAt = .now
    }

    var tickRate: Int { sessions.map(\.tickRate).max() ?? 60 }

    /// The bots of each worker: contiguous slots, whole rooms, as even as the rooms allow.
    static func partition(bots: Int, botsPerRoom: Int, workers: Int) -> [Range<Int>] {
        let rooms = (bots + botsPerRoom - 1) / botsPerRoom
        let count = max(1, min(workers, rooms))
        var ranges: [Range<Int>] = []
        var firstRoom = 0
        for w in 0..<count {
            // The extra rooms go to the last workers, with the last (perhaps partial) room.
            let roomsHere = rooms / count + (w >= count - rooms % count ? 1 : 0)
            let start = firstRoom * botsPerRoom
            let end = min(bots, (firstRoom + roomsHere) * botsPerRoom)
            if end > start { ranges.append(start..<end) }
            firstRoom += roomsHere
        }
        return ranges
    }

    static func open(_ configuration: SwarmConfiguration, group: any EventLoopGroup) async throws -> SwarmWorkers {
        let ranges = partition(bots: configuration.bots, botsPerRoom: configuration.botsPerRoom, workers: configuration.workers)
        var sessions: [SwarmRunner.Session] = []
        do {
            for (w, range) in ranges.enumerated() {
                var share = configuration
                share.joinsPerSecond = configuration.joinsPerSecond * Double(range.count) / Double(configuration.bots)
                sessions.append(try await SwarmRunner.Session.open(
                    share, bots: range, withHostile: w == 0, name: "tickwire-swarm\(w)", group: group))
            }
        } catch {
            for session in sessions { _ = await session.collect() }
            throw error
        }
        return SwarmWorkers(sessions: sessions, ranges: ranges, configuration: configuration)
    }

    /// Runs every worker until `seconds`, with at most `botLimit` bots started swarm-wide (the
    /// first slots); returns the merged progress windows.
    func run(until seconds: Double, botLimit: Int, progress: @escaping @Sendable (SwarmProgress) -> Void) async throws -> [SwarmProgress] {
        let merger = ProgressMerger(workers: sessions.count, report: progress)
        let perWorker = try await withThrowingTaskGroup(of: (Int, [SwarmProgress]).self) { tasks in
            for (w, session) in sessions.enumerated() {
                let range = ranges[w]
                let limit = max(0, min(botLimit, range.upperBound) - range.lowerBound)
                tasks.addTask {
                    (w, try await session.run(until: seconds, botLimit: limit) { window in merger.add(window, from: w) })
                }
            }
            var all = [[SwarmProgress]](repeating: [], count: sessions.count)
            for try await (w, windows) in tasks { all[w] = windows }
            return all
        }
        let windows = perWorker.map(\.count).min() ?? 0
        return (0..<windows).map { k in SwarmProgress.merged(perWorker.map { $0[k] }) }
    }

    func finish(name: String, windows: [SwarmProgress]) async -> SwarmReport {
        var outcomes: [BotOutcome] = []
        var hostile: SwarmReport.HostileOutcome?
        var landed: [SwarmRunner.Session.Collected.Landed] = []
        var links: [NetworkTrace.Link] = []
        for session in sessions {
            let collected = await session.collect()
            outcomes += collected.outcomes
            links += collected.traceLinks
            hostile = hostile ?? collected.hostile
            landed += collected.landed
        }
        var report = SwarmRunner.Session.report(
            name: name, configuration: configuration, outcomes: outcomes, hostile: hostile, tickRate: tickRate, startedAt: startedAt)
        if configuration.joinAPI != nil { report.placement = SwarmReport.PlacementShare.of(landed.map { ($0.relay, $0.server, $0.room) }) }
        if let folder = configuration.recordTrace, !links.isEmpty {
            let trace = NetworkTrace(
                source: "tickwire swarm, \(links.count) bots, link \(configuration.link == .perfect ? "unimpaired" : "impaired in the swarm"), seed \(configuration.seed)",
                delay: .oneWayEstimated, note: TraceRecorder.note, links: links)
            report.traceFile = SwarmWorkers.write(trace, into: folder)
        }
        return report
    }
}

extension SwarmWorkers {
    /// Writes `trace` as `folder/swarm.trace`; the path, or an error message.
    static func write(_ trace: NetworkTrace, into folder: String) -> String {
        let path = URL(fileURLWithPath: folder).appendingPathComponent("swarm.trace").path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try trace.encoded().write(toFile: path, atomically: true, encoding: .utf8)
            return path
        } catch {
            return "not written: \(error.localizedDescription)"
        }
    }
}

/// Collects each worker's window for one second and reports them merged once all have arrived.
final class ProgressMerger: Sendable {
    private let pending = NIOLockedValueBox<[Int: [Int: SwarmProgress]]>([:])
    private let counts = NIOLockedValueBox<[Int]>([])
    private let workers: Int
    private let report: @Sendable (SwarmProgress) -> Void

    init(workers: Int, report: @escaping @Sendable (SwarmProgress) -> Void) {
        self.workers = workers
        self.report = report
        counts.withLockedValue { $0 = Array(repeating: 0, count: workers) }
    }

    func add(_ window: SwarmProgress, from worker: Int) {
        let index = counts.withLockedValue { counts -> Int in
            defer { counts[worker] += 1 }
            return counts[worker]
        }
        let complete = pending.withLockedValue { pending -> [SwarmProgress]? in
            pending[index, default: [:]][worker] = window
            guard pending[index]!.count == workers else { return nil }
            defer { pending[index] = nil }
            return pending[index]!.sorted { $0.key < $1.key }.map(\.value)
        }
        if let complete { report(SwarmProgress.merged(complete)) }
    }
}

extension SwarmProgress {
    /// Several workers' windows for the same second as one: counts add up, rates and RTT p50 are
    /// weighted by connected bots, the p99s are the worst worker's.
    static func merged(_ windows: [SwarmProgress]) -> SwarmProgress {
        guard var total = windows.first else {
            return SwarmProgress(elapsedSeconds: 0, botsStarted: 0, botsConnected: 0, packetsPerSecond: 0, lossPercent: 0,
                                 rttP50: 0, rttP99: 0, snapshotsPerBotSecond: 0)
        }
        guard windows.count > 1 else { return total }
        let connected = windows.reduce(0) { $0 + $1.botsConnected }
        func weighted(_ value: KeyPath<SwarmProgress, Double>) -> Double {
            connected == 0 ? 0 : windows.reduce(0) { $0 + $1[keyPath: value] * Double($1.botsConnected) } / Double(connected)
        }
        total.elapsedSeconds = windows.map(\.elapsedSeconds).max() ?? 0
        total.botsStarted = windows.reduce(0) { $0 + $1.botsStarted }
        total.botsConnected = connected
        total.packetsPerSecond = windows.reduce(0) { $0 + $1.packetsPerSecond }
        total.lossPercent = weighted(\.lossPercent)
        total.rttP50 = weighted(\.rttP50)
        total.rttP99 = windows.map(\.rttP99).max() ?? 0
        total.stalenessP99 = windows.map(\.stalenessP99).max() ?? 0
        total.eventLatencyP99 = windows.map(\.eventLatencyP99).max() ?? 0
        total.snapshotsPerBotSecond = weighted(\.snapshotsPerBotSecond)
        return total
    }
}
