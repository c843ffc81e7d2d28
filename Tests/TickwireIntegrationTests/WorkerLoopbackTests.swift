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
        let grant = try await api.join(clientID: 1, room: "duel", group: MultiThreadedEventLoopGroup.singleton)
        let placed = try #require(workers.workers.firstIndex { $0.publicAddresses.contains(grant.server) })
        let other = workers.workers[1 - placed]
        // A backend that mints its own token for the other worker's address: refused, not seated.
        let stray = try Loopback.token(for: other, clientID: 2, room: "duel")
        await #expect(throws: TickwireClientError.denied(.roomNotHosted)) { _ = try await TickwireClient.connect(token: stray) }
        #expect(try await other.stats().relay.roomNotHostedDenials == 1)
        // The token from the join API works.
        let client = try await TickwireClient.connect(token: grant.token)
        #expect(try await client.state() == .connected)
        await client.disconnect()
        try await workers.shutdown()
    }

    /// Garbage aimed at one worker stays with that worker: the other's room keeps its client, its
    /// snapshots keep coming, and it reads none of the flood.
    @Test func aWorkersRoomSurvivesAFloodOnAnotherWorker() async throws {
        let (workers, api) = try await Self.start()
        let grant = try await api.join(clientID: 1, room: "calm", group: MultiThreadedEventLoopGroup.singleton)
        let calm = try #require(workers.workers.firstIndex { $0.publicAddresses.contains(grant.server) })
        let flooded = workers.workers[1 - calm]
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
        #expect(try await client.state() == .connected)
        #expect(try await Loopback.eventually { (try await client.stats().snapshots.decoded) > snapshotsBefore + 30 })
        await client.disconnect()
        try await socket.channel.close()
        try await workers.shutdown()
    }
}
