import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// A client that sends states at a steady pace lets its acks ride on them; its deadline says when
/// its host must wake.
@Suite struct ClientPacingTests {
    /// Four clients, each sending a state every 50 ms (as bots do) while the relay ticks at 60 Hz.
    /// Returns client 0's packets sent per second over `seconds` once seated, and its snapshots.
    private func packetsPerSecond(pacing: Bool, seconds: Int64) throws -> (packets: Double, snapshots: UInt64, full: UInt64) {
        var relay = try VirtualRelay(seed: 5)
        for id in 1...4 { _ = try relay.addClient(clientID: UInt64(id), room: "a", timeoutSeconds: 10, pacesAcksWithStates: pacing) }
        var nextState = [TickwireInstant](repeating: .zero, count: 4)
        func drive(_ duration: Duration) {
            relay.advance(by: duration) { client, now in
                let i = Int(client.clientID) - 1
                guard client.core.welcome != nil, now >= nextState[i] else { return }
                nextState[i] = now + .milliseconds(50)
                client.actsAt = nextState[i]
                try? client.core.sendState([UInt8](repeating: UInt8(truncatingIfNeeded: now.nanoseconds / 1_000_000), count: 16))
            }
        }
        drive(.seconds(2))
        #expect(relay.server.admittedClientCount == 4)
        let before = relay.clients[0].core.netcode.counters.packetsSent
        let snapshotsBefore = relay.clients[0].core.decoder.counters.decoded
        drive(.seconds(seconds))
        let sent = relay.clients[0].core.netcode.counters.packetsSent - before
        return (Double(sent) / Double(seconds), relay.clients[0].core.decoder.counters.decoded - snapshotsBefore,
                relay.server.snapshotTotals.fullSnapshots)
    }

    @Test func acksRideOnStatesSentAtASteadyPace() throws {
        let paced = try packetsPerSecond(pacing: true, seconds: 5)
        let unpaced = try packetsPerSecond(pacing: false, seconds: 5)
        // 20 states a second; keep-alives are not needed while payloads flow.
        #expect(paced.packets <= 22, "paced: \(paced.packets) packets a second")
        #expect(unpaced.packets >= 40, "unpaced: \(unpaced.packets) packets a second")
        // Snapshots still arrive every tick and keep delta-coding against acked baselines.
        #expect(paced.snapshots >= 290)
        #expect(paced.full == unpaced.full)
    }

    @Test func theDeadlineIsNowOnceAStateIsQueuedAndAKeepAliveWhenIdle() throws {
        var relay = try VirtualRelay(seed: 6)
        _ = try relay.addClient(clientID: 1, room: "a", timeoutSeconds: 10)
        relay.advance(by: .seconds(1))
        var core = relay.clients[0].core
        try #require(core.welcome != nil)
        let now = relay.now
        core.update(now: now)
        let idle = try #require(core.nextDeadline)
        #expect(idle > now && idle <= now + .milliseconds(100), "a keep-alive or an ack, within 100 ms")
        // A host's wake is the deadline, no sooner than its interval after the last update.
        #expect(core.hostWake(lastUpdate: .zero, minimumInterval: .zero) == idle)
        #expect(core.hostWake(lastUpdate: idle, minimumInterval: .milliseconds(5)) == idle + .milliseconds(5))
        try core.sendState([1, 2, 3])
        #expect(core.nextDeadline == .zero)
        #expect(core.hostWake(lastUpdate: .zero, minimumInterval: .zero) == .zero)
        core.update(now: now)
        let next = try #require(core.nextDeadline)
        #expect(next > now)
        #expect(core.hostWake(lastUpdate: .zero, minimumInterval: .zero) == next)
        core.disconnect(now: now)
        #expect(core.nextDeadline == nil)
        #expect(core.hostWake(lastUpdate: .zero, minimumInterval: .zero) == nil)
    }
}
