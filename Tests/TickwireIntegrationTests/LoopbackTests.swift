import NIOCore
import NIOPosix
import Testing
import TickwireClient
import TickwireProtocol
import TickwireServer
import TickwireSwarm
import TickwireTransport

@Suite(.serialized, .timeLimit(.minutes(2))) struct LoopbackTests {
    @Test func clientsJoinExchangeEventsAndStateThroughTheRelay() async throws {
        let server = try await Loopback.startServer()
        let alice = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1))
        let bob = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 2))
        let carol = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 3, room: "other"))
        #expect(await alice.state() == .connected)
        #expect(try await Loopback.eventually { try await server.stats().connectedClients == 3 })

        var bobEvents = bob.events.makeAsyncIterator()
        var aliceEvents = alice.events.makeAsyncIterator()
        #expect(await Loopback.next(&bobEvents) { $0 == .peerJoined(clientID: 1, entityID: UInt16(alice.welcome.entityID)) } != nil,
                "bob learns alice was there")
        #expect(await Loopback.next(&aliceEvents) { $0 == .peerJoined(clientID: 2, entityID: UInt16(bob.welcome.entityID)) } != nil,
                "alice sees bob arrive")
        #expect(alice.welcome.tickRate == 60 && alice.welcome.maxStateSize == 64)

        try await alice.sendEvent(Array("hello bob".utf8))
        #expect(await Loopback.next(&bobEvents) { if case .event = $0 { true } else { false } }
            == .event(from: 1, payload: Array("hello bob".utf8)))
        try await bob.sendEvent(Array("hi alice".utf8), to: 1)
        #expect(await Loopback.next(&aliceEvents) { if case .event = $0 { true } else { false } }
            == .event(from: 2, payload: Array("hi alice".utf8)))
        for step in 0..<30 {
            try await alice.sendState([UInt8(step)])
            try await Task.sleep(for: .milliseconds(5))
        }
        // Alice's newest state reaches bob in the room's snapshots, and carol never sees alice.
        #expect(try await Loopback.eventually { await bob.latestSnapshot()?.entity(clientID: 1)?.state == [29] })
        #expect(await carol.latestSnapshot()?.entity(clientID: 1) == nil)
        #expect(try await Loopback.eventually { await bob.interpolate() != nil })
        let bobStats = try await bob.stats()
        #expect(bobStats.snapshots.decoded > 0 && bobStats.snapshots.malformed == 0)
        #expect(bobStats.estimatedServerTick != nil)

        // Carol is in another room and got nothing relayed.
        let stats = try await server.stats()
        #expect(stats.relay.eventsRelayed == 2)
        #expect(stats.relay.statesReceived > 0)
        #expect(stats.rooms == 2)
        #expect(stats.ticks > 0 && stats.snapshots.snapshots > 0)
        #expect(try await carol.stats().link.reliableMessagesDelivered == 1)  // its welcome only

        // Both ends measure the link.
        let link = try await alice.stats().link
        #expect(link.rttMilliseconds > 0 && link.packetsAcked > 0)
        let serverLinks = try await server.linkStats()
        #expect(serverLinks.count == 3)
        #expect(serverLinks.first { $0.clientID == 1 }.map { $0.link.counters.packetsAcked > 0 } == true)

        await alice.disconnect()
        #expect(await Loopback.next(&bobEvents) { if case .peerLeft = $0 { true } else { false } }
            == .peerLeft(clientID: 1, reason: .disconnected))
        await alice.disconnect()
        #expect(try await Loopback.eventually { try await server.stats().connectedClients == 2 })
        await bob.disconnect()
        await carol.disconnect()
        try await server.shutdown()
    }

    @Test func metricsEndpointServesPrometheusText() async throws {
        let server = try await Loopback.startServer(metrics: true)
        let client = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1))
        let port = try #require(server.metricsChannel?.localAddress?.port)
        // Figures are pushed once a second; wait for one push that has seen the client.
        var text = ""
        #expect(try await Loopback.eventually {
            text = try await MetricsScrape.get(host: "127.0.0.1", port: port, path: "/metrics", group: MultiThreadedEventLoopGroup.singleton)
            return text.contains("tickwire_clients 1")
        })
        #expect(text.contains("tickwire_ticks_total"))
        #expect(text.contains("tickwire_tick_duration_seconds_bucket"))
        #expect(text.contains("tickwire_bytes_in_total"))
        #expect(try await MetricsScrape.get(host: "127.0.0.1", port: port, path: "/nope", group: MultiThreadedEventLoopGroup.singleton).hasPrefix("HTTP/1.1 404"))
        await client.disconnect()
        try await server.shutdown()
    }

    @Test func staysConnectedOverKeepAlives() async throws {
        let server = try await Loopback.startServer()
        let client = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1, timeoutSeconds: 1))
        // Three timeouts' worth of idle time: keep-alives must hold the connection.
        let clock = ContinuousClock()
        let end = clock.now + .seconds(3)
        while clock.now < end {
            #expect(await client.state() == .connected)
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(try await server.stats().connectedClients == 1)
        await client.disconnect()
        try await server.shutdown()
    }

    @Test func serverTimesOutASilentClientAndClientTimesOutADeadServer() async throws {
        let server = try await Loopback.startServer()
        let client = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1, timeoutSeconds: 1))
        #expect(try await Loopback.eventually { try await server.stats().connectedClients == 1 })
        // Kill the server's socket without a disconnect: the client must notice by timeout.
        await server.socket.close()
        #expect(try await Loopback.eventually(within: .seconds(5)) { await client.state() == .disconnected(.timedOut) })

        let server2 = try await Loopback.startServer()
        let silent = RawSocket2()
        try await silent.connect(token: try Loopback.token(for: server2, clientID: 9, timeoutSeconds: 1), server: server2)
        #expect(try await Loopback.eventually { try await server2.stats().connectedClients == 1 })
        // The raw client goes silent; the server frees the slot after the token's timeout.
        #expect(try await Loopback.eventually(within: .seconds(5)) { try await server2.stats().connectedClients == 0 })
        try await server2.shutdown()
    }

    @Test func serverShutdownDisconnectsClientsCleanly() async throws {
        let server = try await Loopback.startServer()
        let client = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1, timeoutSeconds: 30))
        try await server.shutdown()
        #expect(try await Loopback.eventually { await client.state() == .disconnected(.byServer) })
        var events = client.events.makeAsyncIterator()
        var last: TickwireClientEvent?
        while let event = await events.next() { last = event }  // the stream ends with the connection
        #expect(last == .disconnected(.byServer))
    }

    @Test func expiredTokenIsRefused() async throws {
        let server = try await Loopback.startServer()
        // Expired on the server's wall clock; the client only knows the token's lifetime (50 s),
        // so from its side the server just never answers.
        let token = try Loopback.token(for: server, clientID: 1, timeoutSeconds: 1, createOffset: -100, expireSeconds: 50)
        await #expect(throws: TickwireClientError.connectFailed(.connectionRequestTimedOut)) {
            _ = try await TickwireClient.connect(token: token)
        }
        #expect(try await server.stats().netcode.dropped[.connectTokenExpired] > 0)
        try await server.shutdown()
    }

    @Test func wrongKeyIsRefused() async throws {
        let server = try await Loopback.startServer()
        let token = try Loopback.token(for: server, clientID: 1, timeoutSeconds: 1, key: [UInt8](repeating: 3, count: 32))
        await #expect(throws: TickwireClientError.connectFailed(.connectionRequestTimedOut)) {
            _ = try await TickwireClient.connect(token: token)
        }
        #expect(try await server.stats().netcode.dropped[.connectTokenDecryptFailed] > 0)
        try await server.shutdown()
    }

    @Test func wrongProtocolIDIsRefused() async throws {
        let server = try await Loopback.startServer()
        let token = try Loopback.token(for: server, clientID: 1, timeoutSeconds: 1, protocolID: 12345)
        await #expect(throws: TickwireClientError.connectFailed(.connectionRequestTimedOut)) {
            _ = try await TickwireClient.connect(token: token)
        }
        #expect(try await server.stats().netcode.dropped[.protocolMismatch] > 0)
        try await server.shutdown()
    }

    @Test func fullServerDenies() async throws {
        let server = try await Loopback.startServer(maxClients: 1)
        let first = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1))
        await #expect(throws: TickwireClientError.connectFailed(.connectionDenied)) {
            _ = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 2))
        }
        #expect(try await server.stats().netcode.deniesSent >= 1)
        await first.disconnect()
        try await server.shutdown()
    }

    @Test func replayedPacketIsDropped() async throws {
        let server = try await Loopback.startServer()
        let raw = RawSocket2()
        try await raw.connect(token: try Loopback.token(for: server, clientID: 5), server: server)
        let packet = try await raw.payloadPacket([1, 2, 3])
        try await raw.socket.send(packet, to: server.publicAddresses[0])
        try await raw.socket.send(packet, to: server.publicAddresses[0])
        #expect(try await Loopback.eventually { try await server.stats().netcode.dropped[.replayed] == 1 })
        #expect(try await server.stats().netcode.payloadsReceived == 1)
        try await server.shutdown()
    }

    @Test func malformedDatagramsAreCountedNotFatal() async throws {
        let server = try await Loopback.startServer()
        let raw = try await RawSocket()
        var rng = SystemRandomNumberGenerator()
        for length in [0, 1, 17, 18, 100, 1078, 1299, 1300, 1301, 1400] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try await raw.send(bytes, to: server.publicAddresses[0])
        }
        #expect(try await Loopback.eventually { try await server.stats().netcode.dropped.total >= 9 })
        // Still serving.
        let client = try await TickwireClient.connect(token: try Loopback.token(for: server, clientID: 1))
        #expect(await client.state() == .connected)
        await client.disconnect()
        try await server.shutdown()
    }
}

/// A netcode client machine driven by hand over a raw socket: lets tests replay or stop sending.
final class RawSocket2: @unchecked Sendable {
    var machine = NetcodeClient()
    var socketStorage: RawSocket?
    var socket: RawSocket { socketStorage! }
    var server: NetcodeAddress?

    func connect(token: [UInt8], server host: RelayServerHost) async throws {
        socketStorage = try await RawSocket()
        server = host.publicAddresses[0]
        let clock = ContinuousClock()
        let start = clock.now
        machine.connect(token: token, now: .zero)
        while machine.state.isConnecting && clock.now - start < .seconds(5) {
            let now = TickwireInstant(nanoseconds: UInt64((clock.now - start).nanosecondsClamped))
            machine.update(now: now)
            for (address, bytes) in machine.outbound.datagrams { try await socket.send(bytes, to: address) }
            machine.outbound.removeAll()
            try await Task.sleep(for: .milliseconds(20))
            for bytes in socket.takeReceived() { machine.receive(bytes, from: server!, now: now) }
        }
        guard machine.state == .connected else { throw TickwireClientError.notConnected }
    }

    func payloadPacket(_ payload: [UInt8]) async throws -> [UInt8] {
        try machine.sendPayload(payload, now: .zero)
        defer { machine.outbound.removeAll() }
        return machine.outbound.datagrams[0].bytes
    }
}
