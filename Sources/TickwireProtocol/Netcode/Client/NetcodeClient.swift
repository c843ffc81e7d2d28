/// The client side of netcode 1.02 as a sans-IO state machine.
///
/// ### Function
/// `connect` validates the token and starts sending connection requests to its first address at
/// 10 Hz. A challenge moves it to sending responses; the server's first keep-alive connects it.
/// Denial, silence for the token's timeout, or the token's lifetime running out move on to the
/// next address in the token, and only after the last one to the matching error state.
/// Connected, it sends a keep-alive whenever nothing was sent for 0.1 s and times out after the
/// token's timeout of silence. `disconnect` sends 10 disconnect packets.
///
/// ### Implementation
/// Like `NetcodeServer`: time is an argument, datagrams leave through `outbound`, payloads are
/// handed to a closure during `receive`. Sequence numbers start at 0 and every packet sent,
/// connection requests included, uses one (as the reference client does).
public struct NetcodeClient {
    public private(set) var state: NetcodeClientState = .disconnected
    public private(set) var token: ConnectToken?
    public private(set) var serverAddressIndex = 0
    public private(set) var clientIndex: Int = 0
    public private(set) var maxClients: Int = 0
    public var outbound = OutboundQueue(initialCapacity: 16 * 1024)
    public internal(set) var counters = NetcodeServer.Counters()

    private var sequence: UInt64 = 0
    private var replay = ReplayProtection()
    private var connectStart = TickwireInstant.zero
    private var lastSend: TickwireInstant?
    private var lastReceive = TickwireInstant.zero
    private var challengeSequence: UInt64 = 0
    private var challengeToken: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: Netcode.maxPacketBytes)

    public init() {}

    public var serverAddress: NetcodeAddress? {
        guard let token, serverAddressIndex < token.serverAddresses.count else { return nil }
        return token.serverAddresses[serverAddressIndex]
    }

    private var timeout: Duration? {
        guard let token, token.timeoutSeconds > 0 else { return nil }
        return .seconds(Int64(token.timeoutSeconds))
    }

    // MARK: - Inputs

    /// Starts connecting with a 2048-byte connect token. An unreadable token ends in `.invalidConnectToken`.
    public mutating func connect(token bytes: [UInt8], now: TickwireInstant) {
        disconnect(now: now)
        guard let token = try? ConnectToken.decode(bytes) else {
            state = .invalidConnectToken
            return
        }
        connect(token: token, now: now)
    }

    public mutating func connect(token: ConnectToken, now: TickwireInstant) {
        disconnect(now: now)
        guard (1...Netcode.maxServersPerConnect).contains(token.serverAddresses.count),
            token.createTimestamp <= token.expireTimestamp
        else {
            state = .invalidConnectToken
            return
        }
        self.token = token
        sequence = 0
        connectStart = now
        startConnecting(addressIndex: 0, now: now)
    }

    private mutating func startConnecting(addressIndex: Int, now: TickwireInstant) {
        serverAddressIndex = addressIndex
        replay.reset()
        challengeToken = []
        lastSend = nil
        lastReceive = now
        state = .sendingConnectionRequest
    }

    /// Ends the attempt at this address: tries the next one, or enters `failure`.
    private mutating func fail(_ failure: NetcodeClientState, now: TickwireInstant) {
        if let token, serverAddressIndex + 1 < token.serverAddresses.count {
            startConnecting(addressIndex: serverAddressIndex + 1, now: now)
        } else {
            state = failure
        }
    }

    /// Processes one datagram. Payloads arrive through `onPayload`, valid only during the call.
    public mutating func receive(
        _ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, now: TickwireInstant,
        onPayload: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) {
        counters.packetsReceived &+= 1
        counters.bytesReceived &+= UInt64(datagram.count)
        guard let token, state.isConnecting || state == .connected else { return drop(.unexpectedPacket) }
        guard address == serverAddress else { return drop(.fromWrongAddress) }
        guard datagram.count <= Netcode.maxPacketBytes else { return drop(.tooLarge) }
        let header: NetcodePacketCodec.Header
        switch NetcodePacketCodec.parseHeader(datagram) {
        case .failure(let reason): return drop(reason)
        case .success(let h): header = h
        }
        switch header.type {
        case .connectionDenied, .connectionChallenge, .keepAlive, .payload, .disconnect: break
        default: return drop(.packetTypeNotAllowed)
        }
        let tracksReplay = header.type.rawValue >= NetcodePacketType.keepAlive.rawValue
        if tracksReplay && replay.alreadyReceived(header.sequence) { return drop(.replayed) }
        let plaintextLength: Int? = scratch.withUnsafeMutableBytes { raw in
            let packet = UnsafeMutableRawBufferPointer(rebasing: raw[0..<datagram.count])
            packet.copyMemory(from: datagram)
            return token.serverToClientKey.withUnsafeBytes { k in
                NetcodePacketCodec.open(packet, header: header, protocolID: token.protocolID, key: k)
            }
        }
        guard let plaintextLength else { return drop(.decryptFailed) }
        if tracksReplay { replay.advance(header.sequence) }
        guard NetcodePacketCodec.plaintextSizeIsValid(header.type, plaintextLength) else {
            return drop(.invalidPlaintextSize)
        }
        let start = header.headerLength
        switch (header.type, state) {
        case (.connectionDenied, .sendingConnectionRequest), (.connectionDenied, .sendingConnectionResponse):
            fail(.connectionDenied, now: now)
        case (.connectionChallenge, .sendingConnectionRequest):
            scratch.withUnsafeBytes { raw in
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[start..<start + plaintextLength]))
                challengeSequence = r.read(UInt64.self)!
                challengeToken = r.readBytes(Netcode.challengeTokenBytes)!
            }
            lastReceive = now
            lastSend = nil
            state = .sendingConnectionResponse
        case (.keepAlive, .sendingConnectionResponse):
            scratch.withUnsafeBytes { raw in
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[start..<start + plaintextLength]))
                clientIndex = Int(r.read(UInt32.self)!)
                maxClients = Int(r.read(UInt32.self)!)
            }
            lastReceive = now
            state = .connected
        case (.keepAlive, .connected):
            lastReceive = now
        case (.payload, .connected):
            lastReceive = now
            counters.payloadsReceived &+= 1
            scratch.withUnsafeBytes { raw in onPayload(UnsafeRawBufferPointer(rebasing: raw[start..<start + plaintextLength])) }
        case (.disconnect, .connected):
            lastReceive = now
            reset(to: .disconnected)
        default:
            drop(.unexpectedPacket)
        }
    }

    public mutating func receive(
        _ datagram: [UInt8], from address: NetcodeAddress, now: TickwireInstant,
        onPayload: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) {
        datagram.withUnsafeBytes { receive($0, from: address, now: now, onPayload: onPayload) }
    }

    /// Sends what is due and checks the timeouts, in the reference client's order.
    public mutating func update(now: TickwireInstant) {
        guard let token, state.isConnecting || state == .connected else { return }
        if state.isConnecting {
            if now - connectStart >= .seconds(Int64(clamping: token.lifetimeSeconds)) {
                return reset(to: .connectTokenExpired)
            }
            if let timeout, lastReceive + timeout < now {
                return fail(state == .sendingConnectionRequest ? .connectionRequestTimedOut : .connectionResponseTimedOut, now: now)
            }
        } else if let timeout, lastReceive + timeout < now {
            return reset(to: .connectionTimedOut)
        }
        guard lastSend.map({ $0 + Netcode.packetSendInterval <= now }) ?? true else { return }
        switch state {
        case .sendingConnectionRequest:
            let request = NetcodePacket.ConnectionRequest(token: token).encode()
            sequence &+= 1  // the reference client spends a sequence number on every request
            enqueue { buffer in
                buffer.copyBytes(from: request)
                return request.count
            }
        case .sendingConnectionResponse:
            let challengeSequence = self.challengeSequence
            let challengeToken = self.challengeToken
            send(.connectionResponse, plaintextLength: 8 + Netcode.challengeTokenBytes) { w in
                w.write(challengeSequence)
                w.write(bytes: challengeToken)
            }
        case .connected:
            send(.keepAlive, plaintextLength: 8) { w in
                w.write(UInt32(0))
                w.write(UInt32(0))
            }
        default:
            return
        }
        lastSend = now
    }

    public enum SendError: Error, Equatable, Sendable {
        case notConnected
        case payloadSize(Int)
    }

    public mutating func sendPayload(_ payload: UnsafeRawBufferPointer, now: TickwireInstant) throws(SendError) {
        guard state == .connected else { throw .notConnected }
        guard (1...Netcode.maxPayloadBytes).contains(payload.count) else { throw .payloadSize(payload.count) }
        send(.payload, plaintextLength: payload.count) { $0.write(bytes: payload) }
        counters.payloadsSent &+= 1
        lastSend = now
    }

    public mutating func sendPayload(_ payload: [UInt8], now: TickwireInstant) throws(SendError) {
        guard state == .connected else { throw .notConnected }
        guard (1...Netcode.maxPayloadBytes).contains(payload.count) else { throw .payloadSize(payload.count) }
        payload.withUnsafeBytes { raw in try! sendPayload(raw, now: now) }
    }

    /// Local disconnect: 10 disconnect packets if connected, then `.disconnected`.
    public mutating func disconnect(now: TickwireInstant) {
        if state == .connected {
            for _ in 0..<Netcode.disconnectPacketCount { send(.disconnect, plaintextLength: 0) { _ in } }
        }
        if state.isConnecting || state == .connected { reset(to: .disconnected) }
    }

    /// The earliest instant at which `update` has work to do.
    public func nextDeadline() -> TickwireInstant? {
        guard state.isConnecting || state == .connected else { return nil }
        guard let lastSend else { return lastReceive }
        var deadline = lastSend + Netcode.packetSendInterval
        if let timeout { deadline = min(deadline, lastReceive + timeout + .nanoseconds(1)) }
        return deadline
    }

    private mutating func reset(to state: NetcodeClientState) {
        self.state = state
        replay.reset()
        challengeToken = []
        lastSend = nil
    }

    private mutating func drop(_ reason: NetcodeDropReason) { counters.dropped.record(reason) }

    private mutating func enqueue(_ write: (UnsafeMutableRawBufferPointer) -> Int?) {
        guard let address = serverAddress else { return }
        if outbound.append(to: address, maxLength: Netcode.maxPacketBytes, write), let last = outbound.records.last {
            counters.packetsSent &+= 1
            counters.bytesSent &+= UInt64(last.length)
        }
    }

    private mutating func send(_ type: NetcodePacketType, plaintextLength: Int, _ writePlaintext: (inout UnsafeByteWriter) -> Void) {
        guard let token else { return }
        let sequence = self.sequence
        self.sequence &+= 1
        token.clientToServerKey.withUnsafeBytes { key in
            enqueue { buffer in
                NetcodeServer.writePacket(type, sequence: sequence, plaintextLength: plaintextLength,
                                          protocolID: token.protocolID, key: key, buffer: buffer, writePlaintext)
            }
        }
    }
}
