import Testing
import TickwireProtocol
import TickwireServer
import TickwireSimulation
import TickwireSwarm

/// The real-socket swarm against an in-process relay on loopback.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SwarmLoopbackTests {
    /// A swarm against `server` of `bots` bots in rooms of 4, 20 states and 5 events a second.
    static func swarm(against server: RelayServerHost, bots: Int, seconds: Double) -> SwarmConfiguration {
        var configuration = SwarmConfiguration(
            server: server.publicAddresses[0], privateKey: Loopback.key, protocolID: RelayServerOptions.defaultProtocolID)
        configuration.bots = bots
        configuration.botsPerRoom = 4
        configuration.seconds = seconds
        configuration.drainSeconds = 1.5
        configuration.behaviour = BotBehaviour(stateRate: 20, eventRate: 5)
        return configuration
    }

    @Test func aSmallSwarmConnectsExchangesAndReports() async throws {
        let server = try await Loopback.startServer(maxClients: 32)
        var configuration = Self.swarm(against: server, bots: 12, seconds: 4)
        configuration.link = ImpairmentProfile(latency: .milliseconds(5), loss: 0.05)
        let report = try await SwarmRunner.run(configuration)
        try await server.shutdown()
        #expect(report.passed, "\(report.checks)")
        #expect(report.aggregate.botsConnectedAtEnd == 12)
        #expect(report.aggregate.eventsReceived > 100 && report.aggregate.missingEvents == 0)
        #expect(report.aggregate.snapshotInterArrivalMs.count > 100)
        #expect(report.aggregate.stalenessMs.p50 > 5)  // the 5 ms each way is really there
        #expect(Set(report.bots.map(\.room)).count == 3)
        #expect(report.tickRate == 60)
    }

    /// Two workers (two event loops) share the bots by whole rooms; the report covers every bot
    /// once, and events cross between rooms' members as they do with one worker.
    @Test func aSwarmOnTwoWorkersReportsEveryBotOnce() async throws {
        let server = try await Loopback.startServer(maxClients: 32)
        var configuration = Self.swarm(against: server, bots: 14, seconds: 4)
        configuration.workers = 2
        let report = try await SwarmRunner.run(configuration)
        try await server.shutdown()
        #expect(report.passed, "\(report.checks)")
        #expect(report.aggregate.botsConnectedAtEnd == 14)
        #expect(report.bots.map(\.bot).sorted() == Array(1...14), "every bot is numbered once across the workers")
        #expect(Set(report.bots.map(\.room)).count == 4)
        #expect(report.aggregate.eventsReceived > 100 && report.aggregate.missingEvents == 0)
    }

    @Test func aHostileClientOverRealSocketsIsRemovedAndItsRoomKeepsEveryCheck() async throws {
        let server = try await Loopback.startServer(maxClients: 32)
        var configuration = Self.swarm(against: server, bots: 8, seconds: 5)
        configuration.hostile = .malformedState
        configuration.hostileJoinSeconds = 0.5
        let report = try await SwarmRunner.run(configuration)
        let stats = try await server.stats()
        try await server.shutdown()
        #expect(report.passed, "\(report.checks)")
        #expect(report.aggregate.botsConnectedAtEnd == 8)
        let hostile = try #require(report.hostile)
        #expect(hostile.joinedAtSeconds != nil)
        #expect(hostile.endedAtSeconds != nil, "the hostile client was not removed: \(hostile.line)")
        #expect(stats.relay.removedProtocolViolation == 1)
        #expect(stats.relay.clientsRemoved == 1)
    }
}
