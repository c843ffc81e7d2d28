import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// A bot at the end of a run, with the link figures of its client.
public struct BotOutcome: Sendable {
    public var number: Int
    public var bot: Bot
    public var resends: UInt64
    public var bytesIn: UInt64
    public var bytesOut: UInt64
    /// Snapshots the bot's decoder rebuilt (each tick's, including ones overtaken in transit).
    public var snapshotsDecoded: UInt64
    /// The player population (link preset) the bot belonged to, in a mixed run.
    public var population: String?

    /// The bot with the figures of the client core it drove.
    public init(number: Int, bot: Bot, core: RelayClientCore) {
        self.number = number
        self.bot = bot
        resends = core.channels.stats.counters.reliableResends
        bytesIn = core.netcode.counters.bytesReceived
        bytesOut = core.netcode.counters.bytesSent
        snapshotsDecoded = core.decoder.counters.decoded
    }

    public var connectedAtEnd: Bool { bot.isJoined }
}

extension SwarmReport {
    /// The headline figures of each population, in the order they first appear; nil when no
    /// bot has one.
    public static func populations(_ outcomes: [BotOutcome]) -> [PopulationFigures]? {
        var order: [String] = []
        var groups: [String: [BotOutcome]] = [:]
        for outcome in outcomes {
            guard let name = outcome.population else { continue }
            if groups[name] == nil { order.append(name) }
            groups[name, default: []].append(outcome)
        }
        guard !order.isEmpty else { return nil }
        return order.map { name in
            let group = groups[name]!
            var (a, _) = figures(group, server: (0, 0, 0))
            // The run's histograms are the whole report's business; each population keeps its figures.
            a.stalenessHistogram = nil
            a.eventLatencyHistogram = nil
            return PopulationFigures(name: name, bots: group.count, figures: a)
        }
    }

    /// Per-bot and aggregate figures. `missing` counts, for every pair of bots in one room both
    /// connected at the end, the events the sender sent that the receiver never got.
    public static func figures(_ outcomes: [BotOutcome], server: (ticks: UInt64, late: UInt64, skipped: UInt64))
        -> (Aggregate, [BotFigures])
    {
        var connect = LatencyRecorder(), rtt = LatencyRecorder(), gaps = LatencyRecorder()
        var stale = LatencyRecorder(), events = LatencyRecorder()
        var perBot: [BotFigures] = []
        var disconnects: [String: Int] = [:]
        for outcome in outcomes {
            let bot = outcome.bot
            if let time = bot.connectTime { connect.record(milliseconds: Double(time.nanosecondsClamped) / 1e6) }
            rtt.merge(bot.rtt)
            gaps.merge(bot.snapshotInterArrival)
            stale.merge(bot.staleness)
            events.merge(bot.eventLatency)
            if let ended = bot.ended, !bot.leftOnPurpose { disconnects[ended.reason, default: 0] += 1 }
            perBot.append(BotFigures(
                bot: outcome.number, clientID: bot.clientID, room: bot.room,
                connectTimeMs: bot.connectTime.map { Double($0.nanosecondsClamped) / 1e6 },
                rttMs: bot.rtt.summary, snapshotInterArrivalMs: bot.snapshotInterArrival.summary,
                stalenessMs: bot.staleness.summary, eventLatencyMs: bot.eventLatency.summary,
                eventsSent: bot.eventsSent, eventsReceived: bot.eventsReceived,
                missingEvents: missingEvents(of: outcome, among: outcomes), duplicateEvents: bot.duplicateEvents,
                outOfOrderEvents: bot.outOfOrderEvents, resends: outcome.resends, bytesIn: outcome.bytesIn,
                bytesOut: outcome.bytesOut, snapshots: outcome.snapshotsDecoded, disconnect: bot.leftOnPurpose ? "left" : bot.ended?.reason))
        }
        let aggregate = Aggregate(
            botsJoined: outcomes.count(where: { $0.bot.joinedAt != nil }),
            botsConnectedAtEnd: outcomes.count(where: \.connectedAtEnd),
            connectTimeMs: connect.summary, rttMs: rtt.summary, snapshotInterArrivalMs: gaps.summary,
            stalenessMs: stale.summary, eventLatencyMs: events.summary,
            eventsSent: outcomes.reduce(0) { $0 + UInt64($1.bot.eventsSent) },
            eventsReceived: perBot.reduce(0) { $0 + $1.eventsReceived },
            missingEvents: perBot.reduce(0) { $0 + $1.missingEvents },
            duplicateEvents: perBot.reduce(0) { $0 + $1.duplicateEvents },
            outOfOrderEvents: perBot.reduce(0) { $0 + $1.outOfOrderEvents },
            resends: outcomes.reduce(0) { $0 + $1.resends },
            bytesIn: outcomes.reduce(0) { $0 + $1.bytesIn }, bytesOut: outcomes.reduce(0) { $0 + $1.bytesOut },
            disconnects: disconnects, serverTicks: server.ticks, serverLateTicks: server.late, serverSkippedTicks: server.skipped,
            stalenessHistogram: outcomes.reduce(into: WindowHistogram()) { $0.merge($1.bot.stalenessBuckets) },
            eventLatencyHistogram: outcomes.reduce(into: WindowHistogram()) { $0.merge($1.bot.eventLatencyBuckets) })
        return (aggregate, perBot)
    }

    static func missingEvents(of receiver: BotOutcome, among outcomes: [BotOutcome]) -> UInt64 {
        guard receiver.connectedAtEnd, let joinedAt = receiver.bot.joinedAt else { return 0 }
        var missing: UInt64 = 0
        for sender in outcomes where sender.number != receiver.number && sender.connectedAtEnd
            && sender.bot.room == receiver.bot.room && sender.bot.eventsSent > 0 {
            let lastSent = sender.bot.eventsSent - 1
            if let heard = receiver.bot.heardFrom[sender.bot.clientID] {
                if heard.last < lastSent { missing += UInt64(lastSent - heard.last) }
            } else if let sentAt = sender.bot.lastEventSentAt, sentAt > joinedAt + .seconds(1) {
                missing += 1  // sent well after the receiver joined, and nothing at all arrived
            }
        }
        return missing
    }
}
