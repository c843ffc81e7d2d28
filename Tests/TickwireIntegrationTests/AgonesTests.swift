import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TickwireProtocol
import TickwireServer
import TickwireSwarm

/// A stand-in for the Agones SDK sidecar, following its swagger files (sdk.swagger.json,
/// beta.swagger.json): it answers the calls a relay makes and records them in order, as Agones'
/// own SDK conformance test does.
final class AgonesSidecarStandIn: @unchecked Sendable {
    let calls = NIOLockedValueBox<[String]>([])
    let rooms = NIOLockedValueBox<[String]>([])
    let gamePort: Int
    private(set) var channel: (any Channel)?

    init(gamePort: Int) { self.gamePort = gamePort }

    var port: Int { channel?.localAddress?.port ?? 0 }

    func start() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(owner: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel?.close() }

    /// The answer to one call (body JSON in, status and JSON out).
    func answer(method: HTTPMethod, path: String, body: [String: Any]) -> (HTTPResponseStatus, String) {
        calls.withLockedValue { $0.append("\(method.rawValue) \(path)") }
        switch (method, path) {
        case (.GET, "/gameserver"):
            let values = rooms.withLockedValue { $0 }
            let object: [String: Any] = ["status": [
                "state": "Ready", "address": "127.0.0.1", "ports": [["name": "default", "port": gamePort]],
                "lists": ["rooms": ["capacity": "1000", "values": values]],
            ]]
            return (.ok, String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        case (.POST, "/ready"), (.POST, "/health"), (.POST, "/shutdown"), (.PATCH, "/v1beta1/lists/rooms"):
            return (.ok, "{}")
        case (.POST, "/v1beta1/lists/rooms:addValue"):
            guard let value = body["value"] as? String else { return (.badRequest, "{}") }
            let added = rooms.withLockedValue { list in
                if list.contains(value) { return false }
                list.append(value)
                return true
            }
            return added ? (.ok, "{}") : (.conflict, #"{"code":6,"message":"already exists"}"#)
        case (.POST, "/v1beta1/lists/rooms:removeValue"):
            guard let value = body["value"] as? String else { return (.badRequest, "{}") }
            rooms.withLockedValue { $0.removeAll { $0 == value } }
            return (.ok, "{}")
        default:
            return (.notFound, "{}")
        }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let owner: AgonesSidecarStandIn
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        init(owner: AgonesSidecarStandIn) { self.owner = owner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head else { return }
                let json = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
                let (status, text) = owner.answer(method: head.method, path: head.uri, body: json)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(text.utf8.count)")
                headers.add(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_0, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
            }
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(1))) struct AgonesTests {
    @Test func theGameServerGivesEachWorkerItsAddress() async throws {
        let sidecar = AgonesSidecarStandIn(gamePort: 7654)
        try await sidecar.start()
        let sdk = AgonesSDK(port: sidecar.port, group: MultiThreadedEventLoopGroup.singleton)
        let server = try await AgonesLifecycle.waitForGameServer(sdk: sdk, timeout: .seconds(5), logger: .init(label: "test"))
        #expect(try AgonesLifecycle.workerAddresses(server, workers: 1) == [NetcodeAddress.ipv4(127, 0, 0, 1, port: 7654)])
        #expect(throws: RelayServerOptionsError.self) { try AgonesLifecycle.workerAddresses(server, workers: 2) }
        #expect(AgonesSDK.port(environment: ["AGONES_SDK_HTTP_PORT": "9444"]) == 9444)
        #expect(AgonesSDK.port(environment: [:]) == 9358)
        await sidecar.stop()
    }

    /// ready → health… → the rooms List follows the rooms → a room an allocation assigned is
    /// hosted → a stuck tick loop sends no health → draining ends in shutdown.
    @Test func theLifecycleFollowsTheRelay() async throws {
        let sidecar = AgonesSidecarStandIn(gamePort: 7000)
        try await sidecar.start()
        let (workers, api) = try await WorkerLoopbackTests.start()
        let lifecycle = AgonesLifecycle(sdk: AgonesSDK(port: sidecar.port, group: MultiThreadedEventLoopGroup.singleton),
                                        idleShutdown: .seconds(3600), logger: .init(label: "test"))
        await lifecycle.start(roomsCapacity: 100)
        #expect(await Loopback.eventually { RelayWorkerGroup.healthProblem(workers.workers) == nil })
        await lifecycle.beat(group: workers)
        _ = try await api.join(clientID: 1, room: "arena", group: MultiThreadedEventLoopGroup.singleton)
        await lifecycle.beat(group: workers)
        #expect(sidecar.rooms.withLockedValue { $0 } == ["arena"])

        // An allocation adds a room to the List: the relay places and hosts it, and says nothing more.
        sidecar.rooms.withLockedValue { $0.append("allocated-1") }
        await lifecycle.beat(group: workers)
        #expect(await workers.directory!.rooms().map(\.room).sorted() == ["allocated-1", "arena"])
        let joined = try await api.join(clientID: 2, room: "allocated-1", group: MultiThreadedEventLoopGroup.singleton)
        #expect(joined.room == "allocated-1")

        // A stuck tick loop: the beat sends no health.
        try await workers.workers[0].debugStallTicks(for: .seconds(2))
        #expect(await Loopback.eventually(within: .seconds(1.5)) { RelayWorkerGroup.healthProblem(workers.workers) != nil })
        let healthBefore = sidecar.calls.withLockedValue { $0.filter { $0 == "POST /health" }.count }
        await lifecycle.beat(group: workers)
        #expect(sidecar.calls.withLockedValue { $0.filter { $0 == "POST /health" }.count } == healthBefore)
        #expect(await Loopback.eventually(within: .seconds(3)) { RelayWorkerGroup.healthProblem(workers.workers) == nil })

        // Draining with no client connected: shutdown.
        _ = await workers.drain(timeout: .zero)
        await lifecycle.beat(group: workers)
        #expect(await lifecycle.shutdownSent)
        let calls = sidecar.calls.withLockedValue { $0 }.filter { $0 != "GET /gameserver" }
        #expect(calls.first == "POST /ready")
        #expect(calls.last == "POST /shutdown")
        let firstHealth = try #require(calls.firstIndex(of: "POST /health"))
        let firstAdd = try #require(calls.firstIndex(of: "POST /v1beta1/lists/rooms:addValue"))
        #expect(calls.firstIndex(of: "PATCH /v1beta1/lists/rooms")! < firstHealth && firstHealth < firstAdd)
        #expect(calls.filter { $0 == "POST /v1beta1/lists/rooms:addValue" }.count == 1, "the allocated room was already listed: \(calls)")
        #expect(await lifecycle.failures == 0)
        try await workers.shutdown()
        await sidecar.stop()
    }
}
