import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// A bot's staleness samples (every other member's state in every snapshot it sees) and its
/// snapshot gaps are staged in the bot and recorded a batch at a time: whenever they are read,
/// none is missing or counted twice.
@Suite struct BotStalenessTests {
    @Test func everySampleCountsOnceWhetherStagedRecordedOrTakenInAWindow() throws {
        var relay = try VirtualRelay(maxClients: 8, seed: 11)
        var bots: [Bot] = []
        for id in 1...4 {
            _ = try relay.addClient(clientID: UInt64(id), room: "arena", timeoutSeconds: 60)
            bots.append(Bot(clientID: UInt64(id), room: "arena", behaviour: BotBehaviour(stateRate: 20, eventRate: 0), seed: UInt64(id), now: relay.now))
        }
        // Bot 0's samples as the bot is meant to take them: one per other member's state in each new snapshot.
        var expected: UInt64 = 0
        var snapshotsSeen: UInt64 = 0
        var lastTick: UInt32?
        var windows = WindowHistogram()
        var unused = WindowHistogram()
        var checks = 0
        for step in 0..<40 {
            relay.advance(by: .milliseconds(50)) { client, now in
                let i = Int(client.clientID) - 1
                guard client.core.welcome != nil else { return }
                bots[i].step(&client.core, now: now)
                client.actsAt = bots[i].nextActionAt
                guard i == 0, let snapshot = client.core.latestSnapshot, snapshot.tick != lastTick else { return }
                lastTick = snapshot.tick
                snapshotsSeen += 1
                snapshot.forEachEntity { _, _, state in if state.count >= 8 { expected += 1 } }
            }
            // Read at every step (mostly with samples still staged), and taken into windows at some.
            #expect(bots[0].staleness.count == expected)
            #expect(bots[0].stalenessBuckets.count == expected)
            // A gap between each snapshot seen and the one before.
            #expect(bots[0].snapshotInterArrival.count == max(1, snapshotsSeen) - 1)
            if step % 7 == 3 {
                bots[0].takeRecent(staleness: &windows, events: &unused)
                #expect(windows.count == expected)
                #expect(bots[0].staleness.count == expected)
                checks += 1
            }
        }
        #expect(expected > 32 * 10 && checks > 4 && snapshotsSeen > 16 * 2)
        #expect(bots[0].implausibleTimestamps == 0)
    }
}
