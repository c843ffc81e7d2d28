import Testing
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// The relay core says when it next has work, so its host wakes then instead of polling.
@Suite struct RelayDeadlineTests {
    static func seatedRoom(tickRate: Int, seed: UInt64, relayDelay: Duration? = nil) throws -> VirtualRelay {
        var configuration = RelayConfiguration()
        configuration.tickRate = tickRate
        configuration.relayDelay = relayDelay
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
        let delay = Duration.milliseconds(10)
        var relay = try Self.seatedRoom(tickRate: 60, seed: 2, relayDelay: delay)
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

    /// By default an event waits for the next tick's snapshot (one tick period at most): the
    /// server does not wake for it before the tick, and each recipient gets the event and the
    /// snapshot in one packet.
    @Test func byDefaultAnEventRidesOnTheNextSnapshot() throws {
        #expect(RelayConfiguration().effectiveRelayDelay == .nanoseconds(1_000_000_000 / 60))
        var tickAt30 = RelayConfiguration()
        tickAt30.tickRate = 30
        #expect(tickAt30.effectiveRelayDelay == .milliseconds(20), "at most 20 ms at low tick rates")
        var relay = try Self.seatedRoom(tickRate: 60, seed: 4)
        // Just after a tick: the next one is almost a period away.
        var tries = 0
        while relay.server.nextTickDeadline - relay.now < .milliseconds(15), tries < 100 {
            relay.advance(by: .microseconds(500))
            tries += 1
        }
        try #require(relay.server.nextTickDeadline - relay.now >= .milliseconds(15))
        var server = relay.server
        let now = relay.now
        let before = server.nextDeadline
        try relay.clients[0].core.sendEvent([1, 2, 3])
        relay.clients[0].core.update(now: now)
        for datagram in relay.clients[0].core.outbound.datagrams { server.receive(datagram.bytes, from: relay.clients[0].address, now: now) }
        #expect(server.nextDeadline == before, "the event adds no wake before the tick")
        // A wake before the tick for something else (the liveness sweep) does not send it early.
        let members = [relay.clients[1].address, relay.clients[2].address]
        while server.nextDeadline < server.nextTickDeadline {
            server.outbound.removeAll()
            server.update(now: server.nextDeadline)
            #expect(!server.outbound.datagrams.contains { members.contains($0.address) }, "nothing to the members before the tick")
        }
        server.outbound.removeAll()
        let tick = server.nextTickDeadline
        server.update(now: tick)
        #expect(server.counters.eventsRelayed == 2)
        // One packet to each member: the snapshot with the event beside it.
        var packetsTo: [NetcodeAddress: Int] = [:]
        for datagram in server.outbound.datagrams { packetsTo[datagram.address, default: 0] += 1 }
        #expect(packetsTo[relay.clients[1].address] == 1)
        #expect(packetsTo[relay.clients[2].address] == 1)
    }

    /// The liveness sweep (every 100 ms, a visit to every client) stays out of the ticks'
    /// updates, which it would make later: one that falls due at a tick runs half a millisecond
    /// after it, in a wake of its own.
    @Test func theLivenessSweepRunsBesideTheTickNotInIt() throws {
        let relay = try Self.seatedRoom(tickRate: 60, seed: 5)
        var server = relay.server
        // The first wake at a tick at least 150 ms on, as if nothing else had woken the server:
        // the sweep is overdue by then.
        var at = server.nextTickDeadline
        while at - relay.now < .milliseconds(150) { at = at + .nanoseconds(1_000_000_000 / 60) }
        let sweeps = server.counters.livenessSweeps
        // The late ticks run (one an update, the last at the tick deadline) and none of those
        // updates sweeps.
        var now = at
        repeat {
            let ticks = server.counters.ticks
            server.update(now: now)
            #expect(server.counters.ticks == ticks + 1)
            #expect(server.counters.livenessSweeps == sweeps, "not in a tick's update")
            now = max(now, server.nextDeadline)
        } while server.nextDeadline == server.nextTickDeadline && server.nextDeadline < at + .milliseconds(1)
        // Put off from the first of those updates, where it fell due.
        #expect(server.nextDeadline == at + .microseconds(500))
        let ticks = server.counters.ticks
        server.update(now: server.nextDeadline)
        #expect(server.counters.livenessSweeps == sweeps + 1)
        #expect(server.counters.ticks == ticks, "no tick in the sweep's wake")
    }

    @Test func aRelayDelayOutOfRangeNamesTheOptionAndTheRange() {
        for delay: Duration in [.milliseconds(-1), .milliseconds(501)] {
            var configuration = RelayConfiguration()
            configuration.relayDelay = delay
            #expect(throws: RelayConfigurationError.self) { try configuration.validate() }
            do { try configuration.validate() } catch {
                #expect(error.description.contains("relay delay (--relay-delay-ms) must be 0...500 ms"))
            }
        }
        var zero = RelayConfiguration()
        zero.relayDelay = .zero
        #expect(throws: Never.self) { try zero.validate() }
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
