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
    // What the per-packet and per-update paths need of the token, kept apart from it: binding
    // the token (`guard let token`) copies it, a retain and a release for each of its five
    // arrays, on memory a swarm of thousands of clients finds cold every time.
    // (Even `token != nil` copies it: `hasToken` says the same.)
    private var hasToken = false
    private var protocolID: UInt64 = 0
    private var clientToServerKey: [UInt8] = []
    private var serverToClientKey: [UInt8] = []
    /// The token's timeout in nanoseconds; nil: none (a timeout of 0 or less).
    private var timeoutNanoseconds: UInt64?
    private var lifetimeNanoseconds: UInt64 = 0

    public init() {}

    /// The address being connected to (or connected): the token's server at `serverAddressIndex`.
    public private(set) var serverAddress: NetcodeAddress?

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
        hasToken = true
        protocolID = token.protocolID
        clientToServerKey = token.clientToServerKey
        serverToClientKey = token.serverToClientKey
        timeoutNanoseconds = token.timeoutSeconds > 0 ? UInt64(token.timeoutSeconds) * 1_000_000_000 : nil
        lifetimeNanoseconds = token.lifetimeSeconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : token.lifetimeSeconds * 1_000_000_000
        sequence = 0
        connectStart = now
        startConnecting(addressIndex: 0, now: now)
    }

    private mutating func startConnecting(addressIndex: Int, now: TickwireInstant) {
        serverAddressIndex = addressIndex
        serverAddress = token?.serverAddresses[addressIndex]
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
        guard state.isConnecting || state == .connected else { return drop(.unexpectedPacket) }
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
            return serverToClientKey.withUnsafeBytes { k in
                NetcodePacketCodec.open(packet, header: header, protocolID: protocolID, key: k)
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
        guard state.isConnecting || state == .connected else { return }
        if state.isConnecting {
            if now >= connectStart && now.nanoseconds - connectStart.nanoseconds >= lifetimeNanoseconds {
                return reset(to: .connectTokenExpired)
            }
            if let timeout = timeoutNanoseconds, lastReceive.adding(nanoseconds: timeout) < now {
                return fail(state == .sendingConnectionRequest ? .connectionRequestTimedOut : .connectionResponseTimedOut, now: now)
            }
        } else if let timeout = timeoutNanoseconds, lastReceive.adding(nanoseconds: timeout) < now {
            return reset(to: .connectionTimedOut)
        }
        guard lastSend.map({ $0.adding(nanoseconds: Netcode.packetSendIntervalNanoseconds) <= now }) ?? true else { return }
        switch state {
        case .sendingConnectionRequest:
            guard let token else { return }
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

    /// `nextDeadline()`, read where the client is: `mutating` though it changes nothing, as
    /// quinn-proto's `poll_timeout` takes `&mut self`. A non-mutating call on a client held in a
    /// larger struct in memory is handed a copy of it (400 bytes) on the stack.
    public mutating func pollTimeout() -> TickwireInstant? { nextDeadline() }

    /// The earliest instant at which `update` has work to do.
    @inline(__always)
    public func nextDeadline() -> TickwireInstant? {
        guard state.isConnecting || state == .connected else { return nil }
        guard let lastSend else { return lastReceive }
        var deadline = lastSend.adding(nanoseconds: Netcode.packetSendIntervalNanoseconds)
        if let timeout = timeoutNanoseconds { deadline = min(deadline, lastReceive.adding(nanoseconds: timeout).adding(nanoseconds: 1)) }
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
        guard hasToken else { return }
        let sequence = self.sequence
        self.sequence &+= 1
        let protocolID = self.protocolID
        clientToServerKey.withUnsafeBytes { key in
            enqueue { buffer in
                NetcodeServer.writePacket(type, sequence: sequence, plaintextLength: plaintextLength,
                                          protocolID: protocolID, key: key, buffer: buffer, writePlaintext)
            }
        }
    }
}
