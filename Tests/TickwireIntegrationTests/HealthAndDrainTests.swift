import Logging
import NIOPosix
import ServiceLifecycle
import Testing
import TickwireClient
import TickwireProtocol
import TickwireServer
import TickwireSwarm

@Suite struct TickHealthTests {
    @Test func aWorkerIsStuckAfterTenTickPeriodsAndAtLeastHalfASecond() {
        #expect(TickHealth.staleAfter(tickRate: 60) == .milliseconds(500))
        #expect(TickHealth.staleAfter(tickRate: 10) == .seconds(1))
        #expect(TickHealth.problem(ages: [.milliseconds(16), .milliseconds(499)], tickRate: 60) == nil)
        #expect(TickHealth.problem(ages: [.milliseconds(16), .milliseconds(501)], tickRate: 60)?.hasPrefix("worker 1 has not ticked for 501 ms") == true)
        #expect(TickHealth.problem(ages: [nil], tickRate: 60) == "worker 0 has not ticked yet")
        #expect(TickHealth.problem(ages: [.milliseconds(900)], tickRate: 10) == nil)
    }
}

/// The admin port's health and readiness, and draining, over real loopback sockets.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HealthAndDrainTests {
    func get(_ workers: RelayWorkerGroup, _ path: String) async throws -> String {
        let port = try #require(workers.adminChannel?.localAddress?.port)
        return try await MetricsScrape.get(host: "127.0.0.1", port: port, path: path, group: MultiThreadedEventLoopGroup.singleton)
    }

    /// A stalled tick loop turns /healthz to 503 within a second, naming the worker; it recovers
    /// when the loop ticks again. The other worker's loop is not involved.
    @Test func healthFollowsTheTickLoops() async throws {
        let (workers, _) = try await WorkerLoopbackTests.start()
        #expect(try await Loopback.eventually { try await get(workers, "/healthz").hasPrefix("HTTP/1.1 200") })
        #expect(try await get(workers, "/readyz").hasPrefix("HTTP/1.1 200"))
        let stalledAt = ContinuousClock.now
        try await workers.workers[1].debugStallTicks(for: .seconds(2))
        var answer = ""
        #expect(try await Loopback.eventually(within: .seconds(1.5)) {
            answer = try await get(workers, "/healthz")
            return answer.hasPrefix("HTTP/1.1 503")
        })
        #expect(ContinuousClock.now - stalledAt < .seconds(1.5))
        #expect(answer.contains("worker 1 has not ticked for"))
        #expect(try await Loopback.eventually { try await get(workers, "/healthz").hasPrefix("HTTP/1.1 200") })
        try await workers.shutdown()
    }

    /// Draining refuses new joins and connections, reports not ready, keeps the rooms ticking,
    /// and ends when the clients have left; what remains at the timeout is disconnected cleanly.
    @Test func drainRefusesNewcomersAndDisconnectsTheRestCleanly() async throws {
        let (workers, api) = try await WorkerLoopbackTests.start()
        let group = MultiThreadedEventLoopGroup.singleton
        let staying = try await TickwireClient.connect(token: try await api.join(clientID: 1, room: "a", group: group).token)
        let leaving = try await TickwireClient.connect(token: try await api.join(clientID: 2, room: "a", group: group).token)
        let lateGrant = try await api.join(clientID: 3, room: "a", group: group)

        let drained = Task { await workers.drain(timeout: .seconds(3)) }
        #expect(await Loopback.eventually { workers.isDraining })
        #expect(try await Loopback.eventually { try await get(workers, "/readyz").contains("503 Service Unavailable") })
        do {
            _ = try await api.join(clientID: 4, room: "a", group: group)
            Issue.record("a join was accepted while draining")
        } catch {
            #expect(error == .refused(status: 503, error: "draining"))
        }
        // A token handed out before the drain no longer gets in.
        await #expect(throws: (any Error).self) { _ = try await TickwireClient.connect(token: lateGrant.token) }
        // The rooms keep ticking for those still there.
        let before = try await staying.stats().snapshots.decoded
        #expect(try await Loopback.eventually { try await staying.stats().snapshots.decoded > before + 10 })
        await leaving.disconnect()
        #expect(await drained.value == 1)  // the timeout came with one client left
        try await workers.shutdown()
        // Told by the server's disconnect packets, not by a timeout.
        #expect(try await Loopback.eventually(within: .seconds(2)) { await staying.state() == .disconnected(.byServer) })
    }

    @Test func drainEndsAsSoonAsTheLastClientLeaves() async throws {
        let (workers, api) = try await WorkerLoopbackTests.start()
        let client = try await TickwireClient.connect(token: try await api.join(clientID: 1, room: "a", group: MultiThreadedEventLoopGroup.singleton).token)
        let drained = Task { await workers.drain(timeout: .seconds(60)) }
        await client.disconnect()
        #expect(await drained.value == 0)
        try await workers.shutdown()
    }

    /// Under swift-service-lifecycle: the group's graceful shutdown starts the drain; cancelling
    /// the group (what a second signal does) cuts it short, and the clients are still
    /// disconnected cleanly.
    @Test func aSecondSignalCutsTheDrainShort() async throws {
        let (workers, api) = try await WorkerLoopbackTests.start()
        let client = try await TickwireClient.connect(token: try await api.join(clientID: 1, room: "a", group: MultiThreadedEventLoopGroup.singleton).token)
        var logger = Logger(label: "test.service")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: RelayService(workers: workers, drainTimeout: .seconds(60), logger: logger))], logger: logger))
        let running = Task { try await group.run() }
        let started = ContinuousClock.now
        await group.triggerGracefulShutdown()
        #expect(try await Loopback.eventually { workers.isDraining })
        #expect(await client.state() == .connected)  // the drain waits for it
        running.cancel()
        _ = try? await running.value
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(try await Loopback.eventually(within: .seconds(2)) { await client.state() == .disconnected(.byServer) })
    }
}
