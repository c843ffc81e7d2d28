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

    /// A host may take a tick's datagrams a batch at a time while the core builds them
    /// (`update(now:drainingEvery:_:)`): it gets the datagrams an update that keeps them all
    /// would queue, the same bytes to the same addresses in the same order, and a batch each time
    /// `batch` of them are queued.
    @Test func aTickDrainedInBatchesSendsWhatAKeptTickSends() throws {
        var relay = try VirtualRelay(configuration: RelayConfiguration(), seed: 9)
        for id in 1...10 { _ = try relay.addClient(clientID: UInt64(id), room: id <= 6 ? "a" : "b", timeoutSeconds: 10) }
        relay.advance(by: .seconds(2))
        try #require(relay.server.admittedClientCount == 10)
        var kept = relay.server
        kept.outbound.removeAll()
        var drained = kept
        let tick = kept.nextTickDeadline
        kept.update(now: tick)
        var batches: [[(address: NetcodeAddress, bytes: [UInt8])]] = []
        drained.update(now: tick, drainingEvery: 3) { queue in
            batches.append(queue.datagrams)
            queue.removeAll()
        }
        let expected = kept.outbound.datagrams
        let sent = batches.flatMap { $0 } + drained.outbound.datagrams
        #expect(expected.count >= 10, "a snapshot for every client")
        #expect(batches.count >= 3, "drained during the tick, not only at its end")
        for batch in batches { #expect(batch.count >= 3) }
        try #require(sent.count == expected.count)
        for (a, b) in zip(sent, expected) {
            #expect(a.address == b.address)
            #expect(a.bytes == b.bytes)
        }
        #expect(drained.counters.ticks == kept.counters.ticks)
        #expect(drained.nextDeadline == kept.nextDeadline)

        // Never drained: the same as a plain update.
        var never = relay.server
        never.outbound.removeAll()
        never.update(now: tick, drainingEvery: 0) { _ in Issue.record("drained with a batch of 0") }
        #expect(never.outbound.datagrams.map(\.bytes) == expected.map(\.bytes))
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

    /// Runs a fresh server for one second, woken as `RelayServerDriver` wakes it: at the core's
    /// deadline, but no sooner than 10 ms after the last update unless a tick is due first.
    /// Returns the sweeps that ran in a tick's update, the instant of the first sweep, and all sweeps.
    static func sweeps(tickRate: Int) throws -> (inTicks: Int, first: TickwireInstant?, total: UInt64) {
        var configuration = RelayConfiguration()
        configuration.tickRate = tickRate
        var server = try VirtualRelay(configuration: configuration, seed: 5).server
        var last: TickwireInstant?
        var inTicks = 0
        var first: TickwireInstant?
        for _ in 0..<2000 {
            let at = last.map { min(server.nextTickDeadline, max(server.nextDeadline, $0 + .milliseconds(10))) } ?? server.nextDeadline
            guard at < .zero + .seconds(1) else { break }
            let (ticks, sweeps) = (server.counters.ticks, server.counters.livenessSweeps)
            server.update(now: at)
            last = at
            let swept = server.counters.livenessSweeps != sweeps
            if swept && server.counters.ticks != ticks { inTicks += 1 }
            if swept && first == nil { first = at }
        }
        return (inTicks, first, server.counters.livenessSweeps)
    }

    /// The liveness sweep (every 100 ms, a visit to every client) stays out of the ticks'
    /// updates where the host wakes between ticks: one that falls due at a tick is put off half a
    /// millisecond and runs in the host's next wake, which is not a tick's. Where the host wakes only for ticks (100 Hz
    /// and up) it is put off once, to the next tick, and still runs ten times a second.
    @Test func theLivenessSweepRunsBesideTheTickNotInIt() throws {
        let at60 = try Self.sweeps(tickRate: 60)
        #expect(at60.first == .zero + .milliseconds(10), "the first fell due at the first tick and ran at the next wake")
        #expect(at60.inTicks == 0)
        #expect((9...11).contains(at60.total))
        let at240 = try Self.sweeps(tickRate: 240)
        #expect((9...11).contains(at240.total), "never put off for good")
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
