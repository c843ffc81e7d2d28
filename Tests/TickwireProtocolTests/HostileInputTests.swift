import Testing
@testable import TickwireProtocol

/// Malformed, truncated, oversized and forged packets: all dropped and counted, none crashes.
@Suite struct HostileInputTests {
    @Test func randomGarbageIsDroppedAndCounted() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token())
        var rng = SplitMix64(seed: 0x5eed)
        let before = pair.server.counters.dropped.total
        let count = 20_000
        for _ in 0..<count {
            let length = Int.random(in: 0...1400, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            pair.server.receive(bytes, from: NetcodePair.clientAddress, now: pair.now) { _, _ in Issue.record("garbage delivered") }
            pair.client.receive(bytes, from: NetcodePair.serverAddress, now: pair.now) { _ in Issue.record("garbage delivered") }
        }
        #expect(pair.server.counters.dropped.total - before == UInt64(count))
        #expect(pair.client.state == .connected)
        #expect(pair.server.connectedClientCount == 1)
        #expect(pair.server.counters.dropped[.tooLarge] > 0)
        #expect(pair.server.counters.dropped[.decryptFailed] + pair.server.counters.dropped[.replayed] > 0)
    }

    @Test func everyTruncationAndBitFlipOfValidPacketsIsDropped() throws {
        var pair = NetcodePair()
        let token = NetcodePair.token()
        pair.client.connect(token: token, now: pair.now)
        pair.client.update(now: pair.now)
        let request = pair.client.outbound.datagrams[0].bytes
        pair.connect(token: token)
        try pair.client.sendPayload([UInt8](repeating: 0xab, count: 64), now: pair.now)
        let payload = pair.client.outbound.datagrams[0].bytes
        pair.client.outbound.removeAll()

        var fresh = NetcodePair()  // a server that has seen none of these
        for packet in [request, payload] {
            for cut in 0..<packet.count {
                fresh.server.receive(Array(packet.prefix(cut)), from: NetcodePair.clientAddress, now: fresh.now)
            }
        }
        #expect(fresh.server.counters.dropped.total == UInt64(request.count + payload.count))

        // Flipping any bit of a payload packet of a connected client never delivers it.
        for bit in 0..<(payload.count * 8) {
            var forged = payload
            forged[bit / 8] ^= 1 << UInt8(bit % 8)
            pair.server.receive(forged, from: NetcodePair.clientAddress, now: pair.now) { _, _ in
                Issue.record("forged packet delivered (bit \(bit))")
            }
        }
        #expect(pair.server.connectedClientCount == 1)
    }

    @Test func serverOnlyPacketTypesFromClientsAreRejected() throws {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token())
        let key = [UInt8](repeating: 43, count: 32)  // the client-to-server key of token 42
        for packet in [NetcodePacket.connectionDenied, .connectionChallenge(sequence: 0, token: [UInt8](repeating: 0, count: 300))] {
            let bytes = try #require(packet.encode(sequence: 100, protocolID: NetcodePair.protocolID, key: key))
            pair.server.receive(bytes, from: NetcodePair.clientAddress, now: pair.now)
        }
        #expect(pair.server.counters.dropped[.packetTypeNotAllowed] == 2)
    }

    @Test func packetsFromStrangersNeedAMapping() throws {
        var pair = NetcodePair()
        let bytes = try #require(NetcodePacket.keepAlive(clientIndex: 0, maxClients: 0)
            .encode(sequence: 0, protocolID: NetcodePair.protocolID, key: [UInt8](repeating: 1, count: 32)))
        pair.server.receive(bytes, from: NetcodePair.clientAddress, now: pair.now)
        #expect(pair.server.counters.dropped[.noEncryptionMapping] == 1)
    }

    @Test func clientIgnoresPacketsFromOtherAddresses() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token())
        pair.client.receive([0x15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
                            from: NetcodeAddress.ipv4(127, 0, 0, 3, port: 40000), now: pair.now)
        #expect(pair.client.counters.dropped[.fromWrongAddress] == 1)
    }

    @Test func addressParsing() {
        #expect(NetcodeAddress(parsing: "127.0.0.1:40000") == .ipv4(127, 0, 0, 1, port: 40000))
        #expect(NetcodeAddress(parsing: "[::1]:5") == .ipv6(groups: [0, 0, 0, 0, 0, 0, 0, 1], port: 5))
        #expect(NetcodeAddress(parsing: "[2001:db8::1]:40001")?.description == "[2001:db8::1]:40001")
        #expect(NetcodeAddress(parsing: "10.0.0.1", defaultPort: 7) == .ipv4(10, 0, 0, 1, port: 7))
        for bad in ["", "1.2.3:4", "256.0.0.1:1", "1.2.3.4:70000", "[::1", "host:1", "1.2.3.4"] {
            #expect(NetcodeAddress(parsing: bad) == nil, "\(bad)")
        }
    }
}
