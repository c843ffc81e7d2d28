import Testing
@testable import TickwireProtocol

@Suite struct NetcodeHandshakeTests {
    @Test func clientConnectsAndExchangesPayloads() throws {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token(userData: [9, 8, 7]))
        #expect(pair.client.state == .connected)
        #expect(pair.client.clientIndex == 0)
        #expect(pair.client.maxClients == 4)
        #expect(pair.server.connectedClientCount == 1)
        guard case .clientConnected(0, 42, NetcodePair.clientAddress, let userData) = pair.server.events.first else {
            Issue.record("no connect event: \(pair.server.events)"); return
        }
        #expect(userData.prefix(3) == [9, 8, 7])
        #expect(userData.count == 256)

        try pair.client.sendPayload([1, 2, 3], now: pair.now)
        pair.flushClient()
        try pair.server.sendPayload(0, [4, 5], now: pair.now)
        pair.flushServer()
        #expect(pair.serverPayloads.map(\.1) == [[1, 2, 3]])
        #expect(pair.serverPayloads.map(\.0) == [0])
        #expect(pair.clientPayloads == [[4, 5]])
    }

    @Test func handshakeIsChallengeThenKeepAlive() {
        var pair = NetcodePair()
        pair.client.connect(token: NetcodePair.token(), now: pair.now)
        pair.client.update(now: pair.now)
        let request = pair.client.outbound.datagrams
        #expect(request.count == 1 && request[0].bytes.count == 1078 && request[0].bytes[0] == 0)
        pair.flushClient()
        // The server's reply (challenge, 8-byte global sequence) is smaller than the request.
        #expect(pair.client.state == .sendingConnectionResponse)
        #expect(pair.server.counters.challengesSent == 1)
        #expect(pair.server.counters.bytesSent == 333)
        pair.step()
        #expect(pair.client.state == .connected)
    }

    @Test func staysConnectedWithKeepAlivesOnly() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token(timeoutSeconds: 2))
        pair.run(for: .seconds(60))
        #expect(pair.client.state == .connected)
        #expect(pair.server.connectedClientCount == 1)
        // ~10 keep-alives per second each way.
        #expect(pair.server.counters.packetsSent > 550 && pair.server.counters.packetsSent < 650)
    }

    @Test func serverFullDeniesTheClient() {
        var pair = NetcodePair(maxClients: 1)
        pair.connect(token: NetcodePair.token(clientID: 1))
        #expect(pair.client.state == .connected)
        // A second client from another address.
        var second = NetcodeClient()
        let secondAddress = NetcodeAddress.ipv4(127, 0, 0, 1, port: 50001)
        second.connect(token: NetcodePair.token(clientID: 2), now: pair.now)
        for _ in 0..<20 {
            pair.now = pair.now + .milliseconds(50)
            second.update(now: pair.now)
            for (_, bytes) in second.outbound.datagrams { pair.server.receive(bytes, from: secondAddress, now: pair.now) }
            second.outbound.removeAll()
            for (address, bytes) in pair.server.outbound.datagrams where address == secondAddress {
                second.receive(bytes, from: NetcodePair.serverAddress, now: pair.now)
            }
            pair.server.outbound.removeAll()
        }
        #expect(second.state == .connectionDenied)
        #expect(pair.server.counters.deniesSent >= 1)
        #expect(pair.server.events.contains(.connectionDenied(clientID: 2, address: secondAddress)))
    }

    @Test func expiredTokenIsDroppedAndClientGivesUp() {
        var pair = NetcodePair()
        pair.now = .seconds(40)  // unix time is past the token's 30 s expiry
        pair.connect(token: NetcodePair.token(expireSeconds: 30), limit: .seconds(60))
        #expect(pair.server.counters.dropped[.connectTokenExpired] > 0)
        #expect(pair.server.connectedClientCount == 0)
        #expect(pair.client.state == .connectionRequestTimedOut)
    }

    @Test func clientGivesUpWhenTokenLifetimeRunsOut() {
        var pair = NetcodePair()
        pair.clientToServerFilter = { _ in false }
        pair.connect(token: NetcodePair.token(expireSeconds: 3, timeoutSeconds: 10), limit: .seconds(20))
        #expect(pair.client.state == .connectTokenExpired)
    }

    @Test func wrongKeyIsDropped() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token(privateKey: [UInt8](repeating: 1, count: 32)), limit: .seconds(10))
        #expect(pair.server.counters.dropped[.connectTokenDecryptFailed] > 0)
        #expect(pair.client.state == .connectionRequestTimedOut)
    }

    @Test func wrongProtocolIDIsDropped() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token(protocolID: 99), limit: .seconds(10))
        #expect(pair.server.counters.dropped[.protocolMismatch] > 0)
        #expect(pair.client.state == .connectionRequestTimedOut)
    }

    @Test func serverAddressMustBeInTheToken() {
        var pair = NetcodePair()
        let elsewhere = NetcodeAddress.ipv4(127, 0, 0, 2, port: 40000)
        pair.connect(
            token: NetcodePair.token(addresses: [NetcodePair.serverAddress], internalAddresses: [elsewhere]),
            limit: .seconds(10))
        #expect(pair.server.counters.dropped[.serverAddressNotInToken] > 0)
        #expect(pair.server.events.contains(
            .connectionRequestIgnored(clientID: 42, address: NetcodePair.clientAddress, reason: .serverAddressNotInToken)))
        #expect(pair.client.state == .connectionRequestTimedOut)
    }

    @Test func internalAddressListIsWhatTheServerChecks() {
        // Clients dial the public address; the server is bound to another (NAT, containers).
        let bound = NetcodeAddress.ipv4(10, 0, 0, 5, port: 40000)
        var pair = NetcodePair(serverAddresses: [bound])
        pair.connect(token: NetcodePair.token(addresses: [NetcodePair.serverAddress], internalAddresses: [bound]))
        #expect(pair.client.state == .connected)
    }

    @Test func bothSidesTimeOutWhenTheLinkDies() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token(timeoutSeconds: 5))
        pair.clientToServerFilter = { _ in false }
        pair.serverToClientFilter = { _ in false }
        pair.run(for: .milliseconds(4900))
        #expect(pair.client.state == .connected)
        #expect(pair.server.connectedClientCount == 1)
        pair.run(for: .milliseconds(200))
        #expect(pair.client.state == .connectionTimedOut)
        #expect(pair.server.connectedClientCount == 0)
        #expect(pair.server.events.last == .clientDisconnected(
            clientIndex: 0, clientID: 42, address: NetcodePair.clientAddress, reason: .timedOut))
    }

    @Test func serverDisconnectSendsTenPacketsAndClientLeaves() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token())
        let before = pair.server.counters.packetsSent
        pair.server.disconnect(0, now: pair.now)
        #expect(pair.server.outbound.count == 10)
        #expect(pair.server.counters.packetsSent == before + 10)
        pair.flushServer()
        #expect(pair.client.state == .disconnected)
        #expect(pair.server.connectedClientCount == 0)
        #expect(pair.server.events.last == .clientDisconnected(
            clientIndex: 0, clientID: 42, address: NetcodePair.clientAddress, reason: .serverDisconnected))
    }

    @Test func clientDisconnectFreesTheSlot() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token())
        pair.client.disconnect(now: pair.now)
        #expect(pair.client.outbound.count == 10)
        pair.flushClient()
        #expect(pair.server.connectedClientCount == 0)
        // The other nine arrive after the slot is gone: recognised, not counted as drops.
        #expect(pair.server.counters.redundantDisconnects == 9)
        #expect(pair.server.counters.dropped.total == 0)
    }

    @Test func replayedPayloadIsDropped() throws {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token())
        try pair.client.sendPayload([1], now: pair.now)
        let packet = pair.client.outbound.datagrams[0].bytes
        pair.flushClient()
        pair.server.receive(packet, from: NetcodePair.clientAddress, now: pair.now) { _, _ in Issue.record("replay delivered") }
        #expect(pair.server.counters.dropped[.replayed] == 1)
        #expect(pair.serverPayloads.count == 1)
    }

    @Test func failsOverToTheNextAddress() {
        let dead = NetcodeAddress.ipv4(127, 0, 0, 9, port: 40000)
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token(timeoutSeconds: 1, addresses: [dead, NetcodePair.serverAddress]))
        #expect(pair.client.state == .connected)
        #expect(pair.client.serverAddressIndex == 1)
        #expect(pair.now > .seconds(1))
    }

    @Test func deniedByEveryAddressEndsInDenied() {
        var pair = NetcodePair(maxClients: 1)
        pair.connect(token: NetcodePair.token(clientID: 1))
        pair.clientAddress = NetcodeAddress.ipv4(127, 0, 0, 1, port: 50002)
        pair.client = NetcodeClient()
        pair.connect(token: NetcodePair.token(clientID: 2, addresses: [NetcodePair.serverAddress, NetcodePair.serverAddress]))
        #expect(pair.client.state == .connectionDenied)
        #expect(pair.client.serverAddressIndex == 1)
    }

    @Test func tokenReusedFromAnotherAddressIsIgnored() {
        var pair = NetcodePair()
        let token = NetcodePair.token()
        pair.client.connect(token: token, now: pair.now)
        pair.client.update(now: pair.now)
        let request = pair.client.outbound.datagrams[0].bytes
        pair.flushClient()
        pair.server.receive(request, from: NetcodeAddress.ipv4(127, 0, 0, 66, port: 1), now: pair.now)
        #expect(pair.server.counters.dropped[.connectTokenReused] == 1)
    }

    @Test func invalidTokenBytesGiveInvalidTokenState() {
        var client = NetcodeClient()
        client.connect(token: [UInt8](repeating: 0, count: 100), now: .zero)
        #expect(client.state == .invalidConnectToken)
    }

    @Test func sameClientIDFromAnotherAddressIsIgnoredWhileConnected() {
        var pair = NetcodePair()
        pair.connect(token: NetcodePair.token(clientID: 5))
        var other = NetcodeClient()
        other.connect(token: NetcodePair.token(clientID: 5, userData: [1]), now: pair.now)
        other.update(now: pair.now)
        pair.server.receive(other.outbound.datagrams[0].bytes, from: NetcodeAddress.ipv4(127, 0, 0, 1, port: 60000), now: pair.now)
        #expect(pair.server.counters.dropped[.clientIDAlreadyConnected] == 1)
    }
}
