import Foundation
import Logging
import PostgresNIO
import Testing
import TickwireDirectory
import TickwirePlacement

/// The fleet directory against a real PostgreSQL: `tools/test.sh` starts a throwaway cluster and
/// sets TICKWIRE_TEST_POSTGRES_URL. Each test works in a database of its own.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["TICKWIRE_TEST_POSTGRES_URL"]
    static let required = ProcessInfo.processInfo.environment["TICKWIRE_REQUIRE_POSTGRES"] == "1"
    static var available: Bool { url != nil || required }

    /// A fresh database; returns its client configuration.
    static func freshDatabase() async throws -> PostgresClient.Configuration {
        let url = try #require(url, "TICKWIRE_TEST_POSTGRES_URL is not set: run the suite with tools/test.sh")
        let admin = try DirectoryURL.configuration(url + "?sslmode=disable")
        let name = "tw_\(UInt64.random(in: 1...UInt64.max))"
        let client = PostgresClient(configuration: admin)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        var configuration = admin
        configuration.database = name
        return configuration
    }

    /// Runs tools/postgres-cluster.sh (the path in TICKWIRE_TEST_POSTGRES_TOOL); after `start`,
    /// returns the server's URL (from the folder). With system(3), which waits for the script
    /// itself: Foundation's Process did not see it exit once the server it started lived on.
    @discardableResult
    static func cluster(_ command: String, _ folder: String) throws -> String {
        let tool = try #require(ProcessInfo.processInfo.environment["TICKWIRE_TEST_POSTGRES_TOOL"], "run the suite with tools/test.sh")
        let status = system("'\(tool)' \(command) '\(folder)' >/dev/null")
        try #require(status == 0, "postgres-cluster.sh \(command) failed (\(status))")
        guard command == "start" else { return "" }
        return try String(contentsOfFile: folder + "/url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var logger: Logger {
        var logger = Logger(label: "test.directory")
        logger.logLevel = .critical
        return logger
    }
}

@Suite(.enabled(if: TestPostgres.available, "needs PostgreSQL: run tools/test.sh"), .serialized)
struct DirectoryTests {
    /// A relay of the fleet; no test heartbeats unless it checks liveness, so the timeout is long
    /// (a loaded machine must not make a relay look silent).
    private func relay(_ id: String, _ configuration: PostgresClient.Configuration, capacities: [Int] = [100, 100], port: Int,
                       roomCapacity: Int = 8, heartbeatTimeout: Double = 120) async throws -> PostgresRoomDirectory {
        let directory = PostgresRoomDirectory(
            configuration: configuration, relayID: id,
            workers: capacities.enumerated().map { .init(address: "127.0.0.1:\(port + $0.offset)", capacity: $0.element) },
            roomCapacity: roomCapacity, emptyGrace: 30, heartbeatTimeout: heartbeatTimeout, logger: TestPostgres.logger)
        try await directory.start()
        return directory
    }

    private var now: Double { Date().timeIntervalSince1970 }

    @Test func relaysStartingTogetherMigrateOnceAndReadTheSameSchema() async throws {
        let configuration = try await TestPostgres.freshDatabase()
        async let a = relay("a", configuration, port: 40000)
        async let b = relay("b", configuration, port: 41000)
        let (ra, rb) = try await (a, b)
        let workers = await ra.workers()
        #expect(workers.count == 4)
        #expect(Set(workers.compactMap(\.relay)) == ["a", "b"])
        await ra.stop()
        await rb.stop()
    }

    @Test func twoConcurrentJoinsForOneNewRoomThroughTwoRelaysGiveOnePlacement() async throws {
        let configuration = try await TestPostgres.freshDatabase()
        let a = try await relay("a", configuration, port: 40000)
        let b = try await relay("b", configuration, port: 41000)
        let expires = now + 30
        for round in 0..<20 {
            let room = "race-\(round)"
            async let viaA = a.reserve(room: room, clientID: 1, expiresAt: expires, now: now)
            async let viaB = b.reserve(room: room, clientID: 2, expiresAt: expires, now: now)
            let (placedA, placedB) = await (viaA, viaB)
            let pa = try placedA.get(), pb = try placedB.get()
            // Both name the same worker of the same relay; exactly one of them placed the room.
            #expect((pa.remote?.relay ?? "a") == (pb.remote?.relay ?? "b"), "round \(round)")
            #expect(pa.worker == pb.worker)
            #expect([pa.newRoom, pb.newRoom].filter { $0 }.count == 1)
        }
        #expect(await a.rooms().count == 20)
        await a.stop()
        await b.stop()
    }

    @Test func newRoomsSpreadOverTheFleetAndSeatsAreCounted() async throws {
        let configuration = try await TestPostgres.freshDatabase()
        let a = try await relay("a", configuration, capacities: [20], port: 40000, roomCapacity: 2)
        let b = try await relay("b", configuration, capacities: [20], port: 41000, roomCapacity: 2)
        let expires = now + 30
        var onRelay: [String: Int] = [:]
        for room in 0..<10 {
            let placed = try await a.reserve(room: "r\(room)", clientID: UInt64(room * 10 + 1), expiresAt: expires, now: now).get()
            onRelay[placed.remote?.relay ?? "a", default: 0] += 1
        }
        #expect(onRelay["a"] == 5 && onRelay["b"] == 5, "\(onRelay)")
        // Rooms of 2: a second client fits, a third is refused, the first asking again keeps its seat.
        _ = try await a.reserve(room: "r0", clientID: 2, expiresAt: expires, now: now).get()
        #expect(await a.reserve(room: "r0", clientID: 3, expiresAt: expires, now: now) == .failure(.roomFull))
        #expect(await b.reserve(room: "r0", clientID: 1, expiresAt: expires, now: now).map(\.worker) == .success(0))
        // A member's seat is its own: once reported, the reservation is taken.
        let owner = try await a.reserve(room: "r0", clientID: 1, expiresAt: expires, now: now).get()
        let ownerDirectory = owner.remote == nil ? a : b
        await ownerDirectory.report(worker: 0, connected: 2, tickLoad: 0.1, members: ["r0": [1, 2]], now: now)
        let summary = await a.rooms().first { $0.room == "r0" }
        #expect(summary?.members == 2 && summary?.reserved == 0)
        await a.stop()
        await b.stop()
    }

    @Test func aRoomPlacedOnAnotherRelayIsHostedThereBeforeTheJoinAnswers() async throws {
        let configuration = try await TestPostgres.freshDatabase()
        let a = try await relay("a", configuration, capacities: [1], port: 40000)
        let b = try await relay("b", configuration, capacities: [50], port: 41000)
        let expires = now + 30
        await a.report(worker: 0, connected: 1, tickLoad: 0, members: [:], now: now)  // a is full
        let placed = try await a.reserve(room: "far", clientID: 9, expiresAt: expires, now: now).get()
        #expect(placed.remote == RemoteWorker(relay: "b", worker: 0, address: "127.0.0.1:41000"))
        #expect(await b.claimedRooms().map(\.room) == ["far"])
        await #expect(throws: DirectoryError.notHosted(room: "far", seconds: 0.2)) { try await a.awaitHosted(room: "far", timeout: 0.2) }
        await b.markHosted(room: "far")
        try await a.awaitHosted(room: "far", timeout: 1)
        #expect(await b.claimedRooms().isEmpty)
        await a.stop()
        await b.stop()
    }

    /// A server of its own (the restart would disturb the other suites' server): relays keep
    /// their rooms and resume their heartbeats once it is back.
    @Test func theDirectorySurvivesAPostgreSQLRestart() async throws {
        let folder = "/tmp/tickwire-pg-restart-\(UInt64.random(in: 1...UInt64.max))"
        let url = try TestPostgres.cluster("start", folder)
        let configuration = try DirectoryURL.configuration(url + "?sslmode=disable")
        let a = try await relay("a", configuration, port: 40000)
        _ = try await a.reserve(room: "kept", clientID: 1, expiresAt: now + 60, now: now).get()
        try TestPostgres.cluster("restart", folder)
        // The pool reconnects on the next calls: a join succeeds again within seconds.
        let started = ContinuousClock.now
        var again: PlacementTable.Placement?
        while again == nil, ContinuousClock.now - started < .seconds(15) {
            await a.heartbeat(now: now)
            again = try? await a.reserve(room: "kept", clientID: 2, expiresAt: now + 60, now: now).get()
            if again == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(again?.newRoom == false, "the room kept its placement across the restart")
        #expect(await a.workers().map(\.relay) == ["a", "a"], "heartbeats resumed: the relay is live")
        await a.stop()
        try TestPostgres.cluster("stop", folder)
    }

    @Test func aSilentRelayIsTakenOutAndItsRoomsArePlacedAgain() async throws {
        let configuration = try await TestPostgres.freshDatabase()
        let a = try await relay("a", configuration, capacities: [1], port: 40000, heartbeatTimeout: 1)
        let b = try await relay("b", configuration, capacities: [50], port: 41000, heartbeatTimeout: 1)
        await a.report(worker: 0, connected: 1, tickLoad: 0, members: [:], now: now)
        let first = try await a.reserve(room: "lost", clientID: 1, expiresAt: now + 30, now: now).get()
        #expect(first.remote?.relay == "b")
        // b stops heartbeating (as if SIGSTOPped); a keeps going.
        await a.report(worker: 0, connected: 0, tickLoad: 0, members: [:], now: now)
        let started = ContinuousClock.now
        var replaced: PlacementTable.Placement?
        while ContinuousClock.now - started < .seconds(5) {
            await a.heartbeat(now: now)
            if case .success(let placed) = await a.reserve(room: "lost", clientID: 2, expiresAt: now + 30, now: now), placed.remote == nil {
                replaced = placed
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(replaced?.newRoom == true, "the room went to the live relay")
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(await a.workers().allSatisfy { $0.relay == "a" })
        // b resumes (SIGCONT): its next heartbeat finds it gone, and it registers again.
        await b.heartbeat(now: now)
        #expect(Set(await a.workers().compactMap(\.relay)) == ["a", "b"])
        #expect(await b.failures == 0)
        await a.stop()
        await b.stop()
    }
}
