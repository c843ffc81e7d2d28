import Foundation
import Logging
import NIOPosix
import Testing
import TickwireClient
import TickwireCrypto
import TickwirePlacement
import TickwireProtocol
import TickwireRelay
import TickwireServer
import TickwireSwarm
import TickwireTransport

/// Two relay workers and the join API over real loopback sockets: clients get tokens the way a
/// game backend does, land on the worker that hosts their room, and see their room-mates.
@Suite(.serialized, .timeLimit(.minutes(2))) struct WorkerLoopbackTests {
    static let apiKey = "join-api-test-key-0123456789"

    static func start() async throws -> (RelayWorkerGroup, JoinAPIClient) {
        var options = RelayServerOptions(privateKey: Loopback.key)
        options.bindHost = "127.0.0.1"
        options.bindPort = 0
        options.maxClients = 16
        options.metricsHost = "127.0.0.1"
        options.metricsPort = 0
        var logger = Logger(label: "test.workers")
        logger.logLevel = .warning
        let group = try await RelayWorkerGroup.start(
            options: options, count: 2, join: JoinAPIOptions(apiKey: Array(apiKey.utf8)), logger: logger)
        let port = try #require(group.adminChannel?.localAddress?.port)
        return (group, try JoinAPIClient(url: "http://127.0.0.1:\(port)", key: apiKey))
    }

    /// Client 1 joins `room`: its grant, the index of the worker hosting the room, and the other worker.
    static func joinAndSplit(_ workers: RelayWorkerGroup, _ api: JoinAPIClient, room: String) async throws
        -> (grant: JoinAPIClient.Grant, placed: Int, other: RelayServerHost)
    {
        let grant = try await api.join(clientID: 1, room: room, group: MultiThreadedEventLoopGroup.singleton)
        let placed = try #require(workers.workers.firstIndex { $0.publicAddresses.contains(grant.server) })
        return (grant, placed, workers.workers[1 - placed])
    }

    @Test func roomsAreSpreadOverWorkersAndEachRoomsMembersShareOne() async throws {
        let (workers, api) = try await Self.start()
        #expect(Set(workers.workers.map(\.localAddress.port)).count == 2)
        var clients: [(room: String, id: UInt64, client: TickwireClient)] = []
        for room in ["r1", "r2", "r3", "r4"] {
            for n in UInt64(1)...2 {
                let id = UInt64(room.dropFirst())! * 10 + n
                let grant = try await api.join(clientID: id, room: room, group: MultiThreadedEventLoopGroup.singleton)
                #expect(grant.room == room)
                clients.append((room, id, try await TickwireClient.connect(token: grant.token)))
            }
        }
        // Every client sees its room-mate in the snapshots, and only it.
        for (room, id, client) in clients {
            let mate = id % 10 == 1 ? id + 1 : id - 1
            #expect(try await Loopback.eventually { await client.latestSnapshot()?.entity(clientID: mate) != nil }, "\(room) \(id)")
            #expect(await client.latestSnapshot()?.entityCount == 1)
        }
        // The directory learns the members from the workers' reports (once a second).
        let directory = try #require(workers.directory)
        #expect(try await Loopback.eventually { await directory.rooms().allSatisfy { $0.members == 2 && $0.reserved == 0 } })
        let rooms = await directory.rooms()
        #expect(rooms.map(\.room) == ["r1", "r2", "r3", "r4"])
        #expect(Set(rooms.map(\.worker)) == [0, 1])
        for summary in rooms {
            let hosting = workers.workers[summary.worker]
            #expect(try await hosting.stats().connectedClients >= 2)
            let members = try await hosting.placementReport().members[summary.room] ?? []
            #expect(Set(members) == Set(clients.filter { $0.room == summary.room }.map(\.id)))
        }
        for (_, _, client) in clients { await client.disconnect() }
        try await workers.shutdown()
    }

    @Test func aTokenForARoomOnAnotherWorkerIsDenied() async throws {
        let (workers, api) = try await Self.start()
        let (grant, _, other) = try await Self.joinAndSplit(workers, api, room: "duel")
        // A backend that mints its own token for the other worker's address: refused, not seated.
        let stray = try Loopback.token(for: other, clientID: 2, room: "duel")
        await #expect(throws: TickwireClientError.denied(.roomNotHosted)) { _ = try await TickwireClient.connect(token: stray) }
        #expect(try await other.stats().relay.roomNotHostedDenials == 1)
        // The token from the join API works.
        let client = try await TickwireClient.connect(token: grant.token)
        #expect(await client.state() == .connected)
        await client.disconnect()
        try await workers.shutdown()
    }

    /// Garbage aimed at one worker stays with that worker: the other's room keeps its client, its
    /// snapshots keep coming, and it reads none of the flood.
    @Test func aWorkersRoomSurvivesAFloodOnAnotherWorker() async throws {
        let (workers, api) = try await Self.start()
        let (grant, calm, flooded) = try await Self.joinAndSplit(workers, api, room: "calm")
        let client = try await TickwireClient.connect(token: grant.token)
        #expect(try await Loopback.eventually { (try await client.stats().snapshots.decoded) > 0 })
        let calmBefore = try await workers.workers[calm].stats()
        let snapshotsBefore = try await client.stats().snapshots.decoded
        let socket = try await RawSocket()
        var random = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            try await socket.send((0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) }, to: flooded.publicAddresses[0])
        }
        #expect(try await Loopback.eventually { try await flooded.stats().netcode.dropped.total >= 1_000 })
        let calmAfter = try await workers.workers[calm].stats()
        #expect(calmAfter.netcode.dropped.total == calmBefore.netcode.dropped.total)
        #expect(calmAfter.connectedClients == 1)
        #expect(await client.state() == .connected)
        #expect(try await Loopback.eventually { (try await client.stats().snapshots.decoded) > snapshotsBefore + 30 })
        await client.disconnect()
        try await socket.channel.close()
        try await workers.shutdown()
    }

    /// A self-signed certificate for 127.0.0.1, for these tests only (made with openssl; its key
    /// protects nothing).
    static let testCertificate = """
-----BEGIN CERTIFICATE-----
MIIBojCCAUmgAwIBAgIUcZvQN6qBWMVbB1cefcCJHPpRHcIwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNdGlja3dpcmUtdGVzdDAgFw0yNjExMjYwMDUxMzlaGA8yMTI2
MTEwMjAwNTEzOVowGDEWMBQGA1UEAwwNdGlja3dpcmUtdGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABF1crP2Ua6u6a70WHQH8iLd3A9oHEI03vFDXrum4RFVE
7fh7GGPsXwtCd8tgPkfDZQGrS67WFmfbyv+Bjo5jnyWjbzBtMB0GA1UdDgQWBBSe
0KSxrnQEw9qgYJgv7eGdtWWH+DAfBgNVHSMEGDAWgBSe0KSxrnQEw9qgYJgv7eGd
tWWH+DAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9z
dDAKBggqhkjOPQQDAgNHADBEAiACn/xGnnTbG0L2r481GE74el0VzBiyF+5uGYm0
SecnbwIgXSWPqC//2zkiRCebtJa4+8mnF0eGVbnXyiAU+r+6iK0=
-----END CERTIFICATE-----
"""
    static let testKey = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDNGBzOWfl7iVzNEh
b3k/+TjYb6GTmg4T33xXJ9O5HmyhRANCAARdXKz9lGurumu9Fh0B/Ii3dwPaBxCN
N7xQ167puERVRO34exhj7F8LQnfLYD5Hw2UBq0uu1hZn28r/gY6OY58l
-----END PRIVATE KEY-----
"""

    /// The join API beyond loopback needs TLS: without a certificate the process refuses to start
    /// it; with one, tokens are only handed out over HTTPS (checked against the certificate).
    @Test func theJoinAPIServesTokensOverTLS() async throws {
        var options = RelayServerOptions(privateKey: Loopback.key)
        options.bindHost = "127.0.0.1"
        options.bindPort = 0
        options.maxClients = 4
        options.metricsHost = "0.0.0.0"
        options.metricsPort = 0
        let join = JoinAPIOptions(apiKey: Array(Self.apiKey.utf8))
        #expect(throws: RelayServerOptionsError.self) { try RelayWorkerGroup.validate(options, count: 2, ports: nil, join: join) }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("admin.crt").path
        let key = directory.appendingPathComponent("admin.key").path
        try Self.testCertificate.write(toFile: certificate, atomically: true, encoding: .utf8)
        try Self.testKey.write(toFile: key, atomically: true, encoding: .utf8)
        options.metricsHost = "127.0.0.1"
        options.adminTLSCertificateFile = certificate
        options.adminTLSKeyFile = key
        var logger = Logger(label: "test.workers.tls")
        logger.logLevel = .warning
        let workers = try await RelayWorkerGroup.start(options: options, count: 2, join: join, logger: logger)
        let port = try #require(workers.adminChannel?.localAddress?.port)

        let api = try JoinAPIClient(url: "https://127.0.0.1:\(port)", key: Self.apiKey, trustRootsFile: certificate)
        let grant = try await api.join(clientID: 9, room: "secure", group: MultiThreadedEventLoopGroup.singleton)
        let client = try await TickwireClient.connect(token: grant.token)
        #expect(await client.state() == .connected)
        // Plain HTTP to the TLS port gets no token; nor does a client that does not trust the certificate.
        let plain = try JoinAPIClient(url: "http://127.0.0.1:\(port)", key: Self.apiKey)
        await #expect(throws: JoinAPIClient.Failure.self) { _ = try await plain.join(clientID: 10, room: "secure", group: MultiThreadedEventLoopGroup.singleton) }
        if let untrusting = try? JoinAPIClient(url: "https://127.0.0.1:\(port)", key: Self.apiKey) {  // needs the system's roots
            await #expect(throws: JoinAPIClient.Failure.self) { _ = try await untrusting.join(clientID: 11, room: "secure", group: MultiThreadedEventLoopGroup.singleton) }
        }
        await client.disconnect()
        try await workers.shutdown()
    }
}
