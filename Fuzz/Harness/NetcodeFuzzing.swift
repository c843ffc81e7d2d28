import TickwireProtocol

/// netcode decoding from both ends. The server and client templates are built once (a handshake
/// costs far more than one input) and copied per input: they are value types.
enum NetcodeFuzzing {
    static let protocolID: UInt64 = 0x7469_636b_7769_7265
    static let key = [UInt8](repeating: 7, count: 32)
    static let serverAddress = NetcodeAddress.ipv4(127, 0, 0, 1, port: 40000)
    static let clientAddress = NetcodeAddress.ipv4(127, 0, 0, 1, port: 50000)
    static let unixStart: UInt64 = 1_700_000_000

    static func token(clientID: UInt64) -> ConnectToken {
        let request = ConnectTokenRequest(
            protocolID: protocolID, clientID: clientID, createTimestamp: unixStart, expireSeconds: 3600,
            timeoutSeconds: 5, publicServerAddresses: [serverAddress], userData: [1, 2, 3])
        let seed = UInt8(truncatingIfNeeded: clientID)
        return try! ConnectTokenMinter.mint(
            request, privateKey: key, nonce: [UInt8](repeating: seed, count: 24),
            clientToServerKey: [UInt8](repeating: seed &+ 1, count: 32), serverToClientKey: [UInt8](repeating: seed &+ 2, count: 32))
    }

    /// A server with one connected client, and that client, connected.
    nonisolated(unsafe) static let pair: (server: NetcodeServer, client: NetcodeClient) = {
        var server = try! NetcodeServer(
            configuration: NetcodeServerConfiguration(
                protocolID: protocolID, privateKey: key, maxClients: 4, serverAddresses: [serverAddress],
                challengeKey: [UInt8](repeating: 9, count: 32)),
            unixTimeAtInstantZero: unixStart)
        var client = NetcodeClient()
        var now = TickwireInstant.zero
        client.connect(token: token(clientID: 42), now: now)
        for _ in 0..<50 where client.state != .connected {
            now = now + .milliseconds(10)
            client.update(now: now)
            for datagram in client.outbound.datagrams { server.receive(datagram.bytes, from: clientAddress, now: now) }
            client.outbound.removeAll()
            server.update(now: now)
            for datagram in server.outbound.datagrams { client.receive(datagram.bytes, from: serverAddress, now: now) }
            server.outbound.removeAll()
        }
        precondition(client.state == .connected, "fuzz template: handshake did not complete")
        return (server, client)
    }()

    static func server(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let selector = input.byte()
        let body = input.rest()
        body.withUnsafeBytes { raw in
            _ = NetcodePacketCodec.parseHeader(raw)
            _ = NetcodePacket.ConnectionRequest.decode(raw, protocolID: protocolID)
            _ = try? ConnectTokenPrivate.decode(plaintext: raw)
            if let type = NetcodePacketType(rawValue: selector % 8) { _ = NetcodePacket.parsePlaintext(type: type, raw) }
        }
        _ = try? ConnectToken.decode(body)
        var server = pair.server
        let from = selector & 0x80 == 0 ? clientAddress : serverAddress
        server.receive(body, from: from, now: .milliseconds(UInt64(selector)))
        server.update(now: .milliseconds(500))
    }

    static func client(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let selector = input.byte()
        let body = input.rest()
        var connected = pair.client
        connected.receive(body, from: serverAddress, now: .milliseconds(UInt64(selector)))
        connected.update(now: .milliseconds(500))
        var connecting = NetcodeClient()
        connecting.connect(token: token(clientID: 7), now: .zero)
        connecting.receive(body, from: selector & 1 == 0 ? serverAddress : clientAddress, now: .milliseconds(1))
        connecting.update(now: .milliseconds(200))
        _ = NetcodePacket.decodeEncrypted(body, protocolID: protocolID, key: [UInt8](repeating: 44, count: 32))
    }
}
