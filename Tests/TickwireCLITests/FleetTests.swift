import Foundation
import NIOPosix
import Testing
import TickwireClient
import TickwireProtocol
import TickwireSwarm

/// Three `tickwire serve` processes sharing one room directory in PostgreSQL (tools/test.sh starts
/// a throwaway cluster and sets TICKWIRE_TEST_POSTGRES_URL).
@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["TICKWIRE_TEST_POSTGRES_URL"] != nil
        || ProcessInfo.processInfo.environment["TICKWIRE_REQUIRE_POSTGRES"] == "1", "needs PostgreSQL: run tools/test.sh"),
    .serialized, .timeLimit(.minutes(2)))
struct FleetTests {
    static let joinKey = "fleet-test-join-key-0123456789"
    static let relayKey = String(repeating: "cd", count: 32)

    static func relay(id: String, directory: String, keyFile: URL) throws -> ServeProcess {
        try ServeProcess(arguments: [
            "--key", FleetTests.relayKey, "--bind", "127.0.0.1", "--port", "0", "--workers", "1",
            "--metrics", "127.0.0.1:0", "--join-api-key-file", keyFile.path, "--directory", directory,
            "--relay-id", id, "--heartbeat-timeout", "4", "--drain-timeout", "0",
        ])
    }

    /// A database of its own for one test, on the test cluster.
    static func freshDirectory() throws -> String {
        let base = try #require(ProcessInfo.processInfo.environment["TICKWIRE_TEST_POSTGRES_URL"])
        let name = "fleet_\(UInt64.random(in: 1...UInt64.max))"
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = [base, "-q", "-c", "CREATE DATABASE \(name)"]
        psql.standardOutput = FileHandle.nullDevice
        try psql.run()
        psql.waitUntilExit()
        try #require(psql.terminationStatus == 0, "psql could not create the test database")
        let root = base[..<base.lastIndex(of: "/")!]
        return "\(root)/\(name)?sslmode=disable"
    }

    @Test func joinsThroughOneRelayLandOnAllThreeAndAStoppedRelaysRoomsArePlacedAgain() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcess.executable.path), "build the tickwire product first")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyFile = folder.appendingPathComponent("join.key")
        try Self.joinKey.write(to: keyFile, atomically: true, encoding: .utf8)
        let directory = try Self.freshDirectory()
        let relays = try ["r0", "r1", "r2"].map { try Self.relay(id: $0, directory: directory, keyFile: keyFile) }
        defer {
            for relay in relays where relay.process.isRunning {
                kill(relay.process.processIdentifier, SIGCONT)
                relay.process.terminate()
            }
        }
        var ports: [Int] = []
        for relay in relays { ports.append(try #require(try await relay.adminPort(), "a relay did not start: \(relay.allLines.suffix(5))")) }
        let api = try JoinAPIClient(url: "http://127.0.0.1:\(ports[0])", key: Self.joinKey)
        let group = MultiThreadedEventLoopGroup.singleton

        // 12 rooms of 3, all through relay 0's join API.
        var serverOfRoom: [String: Set<NetcodeAddress>] = [:]
        var relayOfRoom: [String: String] = [:]
        var clients: [TickwireClient] = []
        for room in 0..<12 {
            for member in 0..<3 {
                let grant = try await api.join(clientID: UInt64(room * 10 + member + 1), room: "room-\(room)", group: group)
                serverOfRoom["room-\(room)", default: []].insert(grant.server)
                relayOfRoom["room-\(room)"] = grant.relay
                clients.append(try await TickwireClient.connect(token: grant.token))
            }
        }
        #expect(serverOfRoom.values.allSatisfy { $0.count == 1 }, "every member of a room reached the same relay")
        #expect(Set(relayOfRoom.values) == ["r0", "r1", "r2"], "rooms landed on every relay: \(relayOfRoom)")
        for client in clients { #expect(try await client.state() == .connected) }

        // Stop relay 2 (SIGSTOP): within the heartbeat timeout its rooms are placed again.
        let stopped = relays[2]
        let onRelay2 = relayOfRoom.filter { $0.value == "r2" }.map(\.key).sorted()
        let relay2Server = try #require(serverOfRoom[onRelay2[0]]?.first)
        kill(stopped.process.processIdentifier, SIGSTOP)
        let stoppedAt = ContinuousClock.now
        var movedAfter: Duration?
        var newServer: NetcodeAddress?
        while ContinuousClock.now - stoppedAt < .seconds(15) {
            if let grant = try? await api.join(clientID: 500, room: onRelay2[0], group: group), grant.server != relay2Server {
                movedAfter = ContinuousClock.now - stoppedAt
                newServer = grant.server
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let moved = try #require(movedAfter, "the stopped relay's room was not placed again")
        // The 4 s timeout, less the age of the last heartbeat, plus the next join: well under 10 s
        // even on a loaded machine.
        #expect(moved < .seconds(10), "placed again after \(moved)")
        #expect(newServer != nil && newServer != relay2Server)
        let replaced = try await TickwireClient.connect(token: try await api.join(clientID: 501, room: onRelay2[0], group: group).token)
        #expect(try await replaced.state() == .connected)
    }
}
