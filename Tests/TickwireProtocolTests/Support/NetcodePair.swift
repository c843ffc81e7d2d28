import TickwireProtocol

/// A netcode client and server wired back to back in virtual time (quinn-proto's `Pair` idea).
/// Datagrams travel instantly unless a test filters them.
struct NetcodePair {
    static let serverAddress = NetcodeAddress.ipv4(127, 0, 0, 1, port: 40000)
    static let clientAddress = NetcodeAddress.ipv4(127, 0, 0, 1, port: 50000)
    static let unixStart: UInt64 = 1_700_000_000
    static let protocolID: UInt64 = 0x7469_636b_7769_7265
    static let privateKey = [UInt8](repeating: 7, count: 32)

    var server: NetcodeServer
    var client = NetcodeClient()
    var clientAddress = NetcodePair.clientAddress
    var now = TickwireInstant.zero
    var serverPayloads: [(Int, [UInt8])] = []
    var clientPayloads: [[UInt8]] = []
    /// Return false to drop a datagram.
    var clientToServerFilter: ([UInt8]) -> Bool = { _ in true }
    var serverToClientFilter: ([UInt8]) -> Bool = { _ in true }
    var captured: [[UInt8]] = []

    init(maxClients: Int = 4, serverAddresses: [NetcodeAddress] = [NetcodePair.serverAddress]) {
        server = try! NetcodeServer(
            configuration: NetcodeServerConfiguration(
                protocolID: Self.protocolID, privateKey: Self.privateKey, maxClients: maxClients,
                serverAddresses: serverAddresses, challengeKey: [UInt8](repeating: 9, count: 32)),
            unixTimeAtInstantZero: Self.unixStart)
    }

    static func token(
        clientID: UInt64 = 42, expireSeconds: UInt64? = 30, timeoutSeconds: Int32 = 5,
        addresses: [NetcodeAddress] = [serverAddress], internalAddresses: [NetcodeAddress]? = nil,
        protocolID: UInt64 = protocolID, privateKey: [UInt8] = privateKey, userData: [UInt8] = [1, 2, 3]
    ) -> ConnectToken {
        let request = ConnectTokenRequest(
            protocolID: protocolID, clientID: clientID, createTimestamp: unixStart, expireSeconds: expireSeconds,
            timeoutSeconds: timeoutSeconds, publicServerAddresses: addresses,
            internalServerAddresses: internalAddresses, userData: userData)
        let seed = UInt8(truncatingIfNeeded: clientID)
        return try! ConnectTokenMinter.mint(
            request, privateKey: privateKey, nonce: [UInt8](repeating: seed, count: 24),
            clientToServerKey: [UInt8](repeating: seed &+ 1, count: 32),
            serverToClientKey: [UInt8](repeating: seed &+ 2, count: 32))
    }

    /// Advances time by `dt`, lets both sides act, and delivers what they sent.
    mutating func step(_ dt: Duration = .milliseconds(10)) {
        now = now + dt
        client.update(now: now)
        flushClient()
        server.update(now: now)
        flushServer()
    }

    mutating func flushClient() {
        let datagrams = client.outbound.datagrams
        client.outbound.removeAll()
        for (address, bytes) in datagrams where address == Self.serverAddress && clientToServerFilter(bytes) {
            captured.append(bytes)
            server.receive(bytes, from: clientAddress, now: now) { index, payload in
                serverPayloads.append((index, Array(payload)))
            }
        }
        flushServer()
    }

    mutating func flushServer() {
        let datagrams = server.outbound.datagrams
        server.outbound.removeAll()
        for (address, bytes) in datagrams where address == clientAddress && serverToClientFilter(bytes) {
            client.receive(bytes, from: Self.serverAddress, now: now) { clientPayloads.append(Array($0)) }
        }
    }

    mutating func run(for duration: Duration, step dt: Duration = .milliseconds(10)) {
        let end = now + duration
        while now < end { step(dt) }
    }

    /// Steps until the client state is final or connected, at most `limit`.
    mutating func connect(token: ConnectToken, limit: Duration = .seconds(30)) {
        client.connect(token: token, now: now)
        let end = now + limit
        while now < end && client.state.isConnecting { step() }
    }
}
