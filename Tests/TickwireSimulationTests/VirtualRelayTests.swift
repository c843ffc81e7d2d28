import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// `VirtualRelay` is event-driven: things happen at their own instants, not on a clock grid.
@Suite struct VirtualRelayTests {
    /// A datagram reaches the server exactly its link's latency after it left, and an owner's
    /// turn comes exactly when it asked for it.
    @Test func deliveriesAndTurnsHappenAtTheirExactInstants() throws {
        var relay = try VirtualRelay(seed: 3)
        var link = ImpairmentProfile.perfect
        link.latency = .microseconds(3_300)
        _ = try relay.addClient(clientID: 1, room: "a", up: link, down: link, timeoutSeconds: 10)
        relay.recording = VirtualRelay.Recording(recordedClient: 0)
        var planned: TickwireInstant?
        var turns: [(planned: TickwireInstant, at: TickwireInstant)] = []
        relay.advance(by: .seconds(1)) { client, now in
            guard client.core.welcome != nil else { return }
            if let due = planned, now >= due {
                turns.append((due, now))
                try? client.core.sendState([1, 2, 3])
                planned = nil
            }
            if planned == nil {
                // An instant off any millisecond grid.
                planned = now + .microseconds(7_310)
                client.actsAt = planned
            }
        }
        #expect(relay.server.admittedClientCount == 1)
        #expect(turns.count > 20)
        #expect(turns.allSatisfy { $0.planned == $0.at }, "turns late: \(turns.filter { $0.planned != $0.at }.count)")
        // The connection request left at the client's first update (one update interval after
        // it was added): it arrived 3.3 ms later, not at a step of a clock.
        let first = try #require(relay.recording?.toServer.first)
        #expect(first.at == TickwireInstant.zero + .microseconds(13_300))
        #expect(relay.recording!.toServer.contains { $0.at.nanoseconds % 1_000_000 != 0 })
    }

    /// With nothing to do the clock jumps: a quiet, seated client is woken for its snapshots
    /// (60 a second, of a room with nobody else) and little else, not at every 10 ms update too.
    @Test func aQuietClientIsNotPolled() throws {
        var relay = try VirtualRelay(seed: 4)
        _ = try relay.addClient(clientID: 1, room: "a", timeoutSeconds: 10)
        relay.advance(by: .seconds(1))
        try #require(relay.clients[0].core.welcome != nil)
        var turns = 0
        relay.advance(by: .seconds(2)) { _, _ in turns += 1 }
        #expect(turns <= 2 * 70, "\(turns) turns in 2 s")
        #expect(relay.clients[0].core.welcome != nil)
    }
}
