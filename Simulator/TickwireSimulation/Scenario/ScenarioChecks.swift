import Foundation
import TickwireProtocol
import TickwireRelay

extension Scenario.Expectations {
    /// Evaluates every expectation the scenario states against the outcomes.
    func evaluate(_ outcomes: [BotOutcome], aggregate: SwarmReport.Aggregate,
                  end: Double, tickRate: Int) -> [SwarmReport.Check] {
        var checks: [SwarmReport.Check] = []
        func add(_ name: String, _ expected: String, _ measured: String, _ passed: Bool) {
            checks.append(.init(name: name, expected: expected, measured: measured, passed: passed))
        }
        if allEventsDelivered == true {
            add("all events delivered", "0 missing", "\(aggregate.missingEvents) missing of \(aggregate.eventsReceived + aggregate.missingEvents)",
                aggregate.missingEvents == 0)
        }
        if exactlyOnceInOrder == true {
            let bad = aggregate.duplicateEvents + aggregate.outOfOrderEvents
            add("exactly once, in order", "0", "\(aggregate.duplicateEvents) dup, \(aggregate.outOfOrderEvents) out of order", bad == 0)
        }
        if let limit = stalenessP99Ms {
            add("staleness p99", "<= \(Self.ms(limit))", Self.ms(aggregate.stalenessMs.p99),
                aggregate.stalenessMs.count > 0 && aggregate.stalenessMs.p99 <= limit)
        }
        if let limit = eventLatencyP99Ms {
            add("event latency p99", "<= \(Self.ms(limit))", Self.ms(aggregate.eventLatencyMs.p99),
                aggregate.eventLatencyMs.count > 0 && aggregate.eventLatencyMs.p99 <= limit)
        }
        let expectedGone = Set((disconnected ?? []).flatMap { expectation in outcomes.map(\.number).filter { expectation.bots.contains($0) } })
        if noUnexpectedDisconnects == true {
            let lost = outcomes.filter { !$0.connectedAtEnd && !$0.bot.leftOnPurpose && !expectedGone.contains($0.number) }
            add("no unexpected disconnects", "0", lost.isEmpty ? "0" : lost.map { "bot \($0.number): \($0.bot.ended?.reason ?? "never joined")" }.joined(separator: ", "),
                lost.isEmpty)
        }
        for expectation in disconnected ?? [] {
            let targets = outcomes.filter { expectation.bots.contains($0.number) }
            let leaveReason: RelayMessage.PeerLeftReason? = switch expectation.reason {
            case "timed_out": .timedOut
            case "disconnected": .disconnected
            case "removed_by_server": .removedByServer
            default: nil
            }
            var problems: [String] = []
            for target in targets {
                let reason = target.bot.ended?.reason ?? "still connected"
                if reason != expectation.reason { problems.append("bot \(target.number): \(reason)") }
                // Every peer still in the room at the end was told, with the matching reason.
                for peer in outcomes where peer.connectedAtEnd && peer.bot.room == target.bot.room && peer.number != target.number {
                    let told = peer.bot.peersLeft.contains { $0.clientID == target.bot.clientID && (leaveReason == nil || $0.reason == leaveReason) }
                    if !told { problems.append("bot \(peer.number) not told of bot \(target.number)") }
                }
            }
            add("disconnected: \(expectation.reason)", "\(targets.count) bots",
                problems.isEmpty ? "\(targets.count) bots, peers told" : problems.prefix(4).joined(separator: "; "), problems.isEmpty)
        }
        if let share = minSnapshotShare {
            var worst = 1.0
            for outcome in outcomes where outcome.connectedAtEnd {
                guard let joined = outcome.bot.joinedAt else { continue }
                let expected = max(1, (end - joined.seconds) * Double(tickRate) - Double(tickRate) / 2)
                worst = min(worst, Double(outcome.snapshotsDecoded) / expected)
            }
            add("snapshot share (worst bot)", ">= \(share)", String(format: "%.3f", worst), worst >= share)
        }
        return checks
    }

    static func ms(_ value: Double) -> String { String(format: "%.0f ms", value) }
}
