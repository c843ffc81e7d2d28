import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// The relay core says when it next has work, so its host wakes then instead of polling.
@Suite struct RelayDeadlineTests {
    static func seatedRoom(tickRate: Int, seed: UInt64) throws -> VirtualRelay {
        var configuration = RelayConfiguration()
        configuration.tickRate = tickRate
        var relay = try VirtualRelay(configuration: configuration, seed: seed)
        for id in 1...3 { _ = try relay.addClient(clientID: UInt64(id), room: "a", timeoutSeconds: 10) }
        relay.advance(by: .seconds(2))
        #expect(relay.server.admittedClientCount == 3)
        return relay
    }

    @Test func aQuietRoomAt60HzHasNothingToDoBeforeTheNextTick() throws {
        var relay = try Self.seatedRoom(tickRate: 60, seed: 1)
        for _ in 0..<50 {
            relay.advance(by: .milliseconds(7))
            let server = relay.server
            #expect(server.nextDeadline + .milliseconds(10) > relay.now, "nothing overdue")
            #expect(server.nextDeadline <= server.nextTickDeadline)
        }
    }

    @Test func anEventReceivedIsDueWithinTheRelayDelay() throws {
        var relay = try Self.seatedRoom(tickRate: 60, seed: 2)
        let delay = RelayConfiguration().relayDelay
        // A moment when the server has nothing due within the relay delay (between its acks).
        var tries = 0
        while relay.server.nextDeadline <= relay.now + delay + .milliseconds(1), tries < 200 {
            relay.advance(by: .milliseconds(1))
            tries += 1
        }
        try #require(relay.server.nextDeadline > relay.now + delay + .milliseconds(1))
        var server = relay.server
        let now = relay.now + .microseconds(500)
        try relay.clients[0].core.sendEvent([1, 2, 3])
        relay.clients[0].core.update(now: now)
        let datagrams = relay.clients[0].core.outbound.datagrams
        #expect(!datagrams.isEmpty)
        for datagram in datagrams { server.receive(datagram.bytes, from: relay.clients[0].address, now: now) }
        let due = now + delay
        #expect(server.nextDeadline == due, "an event to relay waits at most the relay delay")
        server.update(now: due)
        #expect(server.nextDeadline > due, "the update sent it")
        #expect(server.counters.eventsRelayed == 2)
    }

    /// At 1 Hz the ticks are a second apart, but keep-alives (every 100 ms) and resends fall
    /// between them: the deadline says so, so a host that sleeps until it still does them.
    @Test func atOneHertzTheDeadlineFallsBetweenTicks() throws {
        var relay = try Self.seatedRoom(tickRate: 1, seed: 3)
        relay.advance(by: .milliseconds(30))
        let server = relay.server
        #expect(server.nextDeadline < server.nextTickDeadline)
        #expect(server.nextDeadline <= relay.now + .milliseconds(100))
    }
}
