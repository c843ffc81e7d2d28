/// The server side of netcode 1.02 as a sans-IO state machine.
///
/// ### Overview
/// Bytes and the current time go in (`receive`, `update`, `sendPayload`, `disconnect`); datagrams
/// come out through `outbound`, connection changes through `events`, and payloads through the
/// closure passed to `receive`. The machine never reads a clock, opens a socket or draws random
/// numbers, so the same code runs over SwiftNIO and in virtual time.
///
/// ### Function
/// * Connection requests are checked in the reference order (size, version, protocol id, expiry,
///   private token, own address in token, address/client id not connected, token not reused),
///   then answered with a challenge, or a denial when the server is full.
/// * A valid challenge response takes a slot; the client is confirmed by its first keep-alive
///   or payload. Keep-alives go out at 10 Hz to idle clients; silence for the token's timeout
///   frees the slot; a server-side disconnect sends 10 disconnect packets.
/// * Every packet that is not accepted is dropped and counted by `NetcodeDropReason`.
///
/// ### Implementation
/// Client slots are preallocated. Payload packets are decrypted in a scratch buffer and sealed
/// straight into the outbound arena, so steady-state traffic allocates nothing.
public struct NetcodeServer {
    public enum DisconnectReason: String, Equatable, Sendable {
        case timedOut = "timed_out"
        case clientDisconnected = "client_disconnected"
        case serverDisconnected = "server_disconnected"
    }

    public enum Event: Equatable, Sendable {
        case clientConnected(clientIndex: Int, clientID: UInt64, address: NetcodeAddress, userData: [UInt8])
        case clientDisconnected(clientIndex: Int, clientID: UInt64, address: NetcodeAddress, reason: DisconnectReason)
        /// The server was full: a denial was sent.
        case connectionDenied(clientID: UInt64, address: NetcodeAddress)
        /// A request with a valid token was ignored (for operators' debug logs).
        case connectionRequestIgnored(clientID: UInt64, address: NetcodeAddress, reason: NetcodeDropReason)
        /// A connection request was dropped before its token could be read (only while
        /// `reportsRequestDrops` is on: for debug logs, which must rate-limit it themselves).
        case connectionRequestDropped(address: NetcodeAddress, reason: NetcodeDropReason)
    }

    public struct Counters: Sendable, Equatable {
        public var packetsReceived: UInt64 = 0
        public var bytesReceived: UInt64 = 0
        public var packetsSent: UInt64 = 0
        public var bytesSent: UInt64 = 0
        public var payloadsReceived: UInt64 = 0
        public var payloadsSent: UInt64 = 0
        public var challengesSent: UInt64 = 0
        public var deniesSent: UInt64 = 0
        /// Disconnect packets arriving after the first one freed the slot (clients send 10).
        public var redundantDisconnects: UInt64 = 0
        public var dropped = DropCounters()
    }

    struct Slot {
        var confirmed = false
        var clientID: UInt64 = 0
        var address = NetcodeAddress.ipv4(0, 0, 0, 0, port: 0)
        var sendKey = SessionKey()
        var receiveKey = SessionKey()
        var sequence: UInt64 = 0
        var replay = ReplayProtection()
        var userData: [UInt8] = []
    }

    /// What the per-update sweep reads of a slot, kept apart from the rest (keys, replay window,
    /// address) so the sweep over every slot reads 32 contiguous bytes a slot, not whole slots.
    struct Liveness {
        var connected = false
        /// The token's timeout in nanoseconds (`.max`: none); the sweep adds it to an instant.
        var timeoutNanoseconds: UInt64 = .max
        var lastReceive = TickwireInstant.zero
        var lastSend = TickwireInstant.zero
    }

    public let configuration: NetcodeServerConfiguration
    /// Unix time (seconds) at `TickwireInstant.zero`; token expiry is checked against it. Shells set
    /// it from the wall clock, simulations to a fixed value.
    public var unixTimeAtInstantZero: UInt64

    var slots: [Slot]
    /// Each slot's liveness, by slot index (whether it is connected lives here).
    var liveness: [Liveness]
    /// False while draining: new connection requests are denied as if the server were full;
    /// connected clients stay.
    public var admitsNewClients = true
    var clientByAddress: [NetcodeAddress: Int] = [:]
    var clientByID: [UInt64: Int] = [:]
    var mappings: EncryptionMappings
    var tokenHistory: TokenHistory
    var challengeSequence: UInt64 = 0
    var globalSequence: UInt64 = Netcode.serverGlobalSequenceStart
    var scratch: [UInt8]
    var requestBudget: RequestBudget
    /// Emit `connectionRequestDropped` for each dropped connection request (off by default: a
    /// flood makes one event per datagram).
    public var reportsRequestDrops = false

    public internal(set) var connectedClientCount = 0
    public var outbound = OutboundQueue()
    public var events: [Event] = []
    public internal(set) var counters = Counters()

    public init(configuration: NetcodeServerConfiguration, unixTimeAtInstantZero: UInt64) throws(NetcodeConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.unixTimeAtInstantZero = unixTimeAtInstantZero
        slots = Array(repeating: Slot(), count: configuration.maxClients)
        liveness = Array(repeating: Liveness(), count: configuration.maxClients)
        mappings = EncryptionMappings(capacity: 4 * configuration.maxClients)
        tokenHistory = TokenHistory(capacity: 8 * configuration.maxClients)
        scratch = [UInt8](repeating: 0, count: Netcode.maxPacketBytes)
        requestBudget = RequestBudget(
            slots: 4096, perSecond: configuration.requestsPerSecondPerAddress, burst: configuration.requestBurstPerAddress,
            key: configuration.challengeKey)
        clientByAddress.reserveCapacity(configuration.maxClients)
        clientByID.reserveCapacity(configuration.maxClients)
    }

    public var maxClients: Int { configuration.maxClients }

    func unixSeconds(_ now: TickwireInstant) -> UInt64 { unixTimeAtInstantZero &+ now.nanoseconds / 1_000_000_000 }

    // MARK: - Queries

    public func isConnected(_ clientIndex: Int) -> Bool {
        liveness.indices.contains(clientIndex) && liveness[clientIndex].connected
    }

    public func clientID(_ clientIndex: Int) -> UInt64? { isConnected(clientIndex) ? slots[clientIndex].clientID : nil }

    public func clientAddress(_ clientIndex: Int) -> NetcodeAddress? {
        isConnected(clientIndex) ? slots[clientIndex].address : nil
    }

    public func userData(_ clientIndex: Int) -> [UInt8]? { isConnected(clientIndex) ? slots[clientIndex].userData : nil }

    /// When the last packet (keep-alive or payload) from a connected client was accepted.
    public func lastReceive(_ clientIndex: Int) -> TickwireInstant? { isConnected(clientIndex) ? liveness[clientIndex].lastReceive : nil }

    public func clientIndex(forAddress address: NetcodeAddress) -> Int? { clientByAddress[address] }

    public func clientIndex(forClientID clientID: UInt64) -> Int? {
        guard let index = clientByID[clientID], isConnected(index) else { return nil }
        return index
    }

    /// Indices of connected clients, in slot order.
    public var connectedClientIndices: [Int] { liveness.indices.filter { liveness[$0].connected } }

    // MARK: - Receive

    /// Processes one datagram from `address`. Payloads from connected clients are handed to
    /// `onPayload(clientIndex, bytes)`; the bytes are only valid during the call.
    public mutating func receive(
        _ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, now: TickwireInstant,
        onPayload: (Int, UnsafeRawBufferPointer) -> Void = { _, _ in }
    ) {
        counters.packetsReceived &+= 1
        counters.bytesReceived &+= UInt64(datagram.count)
        guard datagram.count >= 1 else { return drop(.tooSmall) }
        guard datagram.count <= Netcode.maxPacketBytes else { return drop(.tooLarge) }
        if datagram[0] & 0x0f == NetcodePacketType.connectionRequest.rawValue {
            // The request's prefix byte is exactly 0; anything else with a zero type nibble is malformed.
            guard datagram[0] == 0 else { return drop(.invalidSequenceBytes) }
            return receiveConnectionRequest(datagram, from: address, now: now)
        }
        let header: NetcodePacketCodec.Header
        switch NetcodePacketCodec.parseHeader(datagram) {
        case .failure(let reason): return drop(reason)
        case .success(let h): header = h
        }
        switch header.type {
        case .connectionResponse, .keepAlive, .payload, .disconnect: break
        default: return drop(.packetTypeNotAllowed)
        }
        let clientIndex = clientByAddress[address]
        let tracksReplay = header.type.rawValue >= NetcodePacketType.keepAlive.rawValue && clientIndex != nil
        if tracksReplay, slots[clientIndex!].replay.alreadyReceived(header.sequence) { return drop(.replayed) }

        // Decrypt in the scratch buffer with the client's key, or the pending mapping's.
        var mapping: EncryptionMappings.Mapping?
        if clientIndex == nil {
            mapping = mappings.find(address, now: now, unixSeconds: unixSeconds(now))
            if mapping == nil { return drop(.noEncryptionMapping) }
        }
        let protocolID = configuration.protocolID
        let plaintextLength: Int? = scratch.withUnsafeMutableBytes { raw in
            let packet = UnsafeMutableRawBufferPointer(rebasing: raw[0..<datagram.count])
            packet.copyMemory(from: datagram)
            if let clientIndex {
                return slots[clientIndex].receiveKey.withUnsafeBytes { k in
                    NetcodePacketCodec.open(packet, header: header, protocolID: protocolID, key: k)
                }
            }
            return mapping!.receiveKey.withUnsafeBytes { k in
                NetcodePacketCodec.open(packet, header: header, protocolID: protocolID, key: k)
            }
        }
        guard let plaintextLength else { return drop(.decryptFailed) }
        if tracksReplay { slots[clientIndex!].replay.advance(header.sequence) }
        guard NetcodePacketCodec.plaintextSizeIsValid(header.type, plaintextLength) else {
            return drop(.invalidPlaintextSize)
        }
        if mapping != nil { mappings.touch(address, now: now) }

        let start = header.headerLength
        switch header.type {
        case .connectionResponse:
            guard clientIndex == nil else { return drop(.clientAddressAlreadyConnected) }
            let (sequence, token): (UInt64, [UInt8]) = scratch.withUnsafeBytes { raw in
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[start..<start + plaintextLength]))
                return (r.read(UInt64.self)!, r.readBytes(Netcode.challengeTokenBytes)!)
            }
            receiveConnectionResponse(sequence: sequence, token: token, mapping: mapping!, from: address, now: now)
        case .keepAlive:
            guard let index = clientIndex else { return drop(.unexpectedPacket) }
            liveness[index].lastReceive = now
            slots[index].confirmed = true
        case .payload:
            guard let index = clientIndex else { return drop(.unexpectedPacket) }
            liveness[index].lastReceive = now
            slots[index].confirmed = true
            counters.payloadsReceived &+= 1
            scratch.withUnsafeBytes { raw in
                onPayload(index, UnsafeRawBufferPointer(rebasing: raw[start..<start + plaintextLength]))
            }
        case .disconnect:
            guard let index = clientIndex else {
                // Decrypted with the keys kept for a client that just left: the rest of its burst.
                counters.redundantDisconnects &+= 1
                return
            }
            freeSlot(index, reason: .clientDisconnected, now: now)
        default:
            drop(.packetTypeNotAllowed)
        }
    }

    /// Convenience for tests and tools.
    public mutating func receive(
        _ datagram: [UInt8], from address: NetcodeAddress, now: TickwireInstant,
        onPayload: (Int, UnsafeRawBufferPointer) -> Void = { _, _ in }
    ) {
        datagram.withUnsafeBytes { receive($0, from: address, now: now, onPayload: onPayload) }
    }

    mutating func drop(_ reason: NetcodeDropReason) { counters.dropped.record(reason) }

    // MARK: - Time

    /// Sends keep-alives to idle clients and times out silent ones.
    public mutating func update(now: TickwireInstant) {
        for index in liveness.indices where liveness[index].connected {
            if liveness[index].lastReceive.adding(nanoseconds: liveness[index].timeoutNanoseconds) <= now {
                freeSlot(index, reason: .timedOut, now: now)
                continue
            }
            if liveness[index].lastSend.adding(nanoseconds: Netcode.packetSendIntervalNanoseconds) <= now {
                sendKeepAlive(index, now: now)
            }
        }
    }

    /// The earliest instant at which `update` has work to do, if any client is connected.
    public func nextDeadline() -> TickwireInstant? {
        var deadline: TickwireInstant?
        for index in liveness.indices where liveness[index].connected {
            let entry = liveness[index]
            let candidate = min(entry.lastSend.adding(nanoseconds: Netcode.packetSendIntervalNanoseconds),
                                entry.lastReceive.adding(nanoseconds: entry.timeoutNanoseconds))
            deadline = min(deadline ?? candidate, candidate)
        }
        return deadline
    }

    mutating func freeSlot(_ index: Int, reason: DisconnectReason, now: TickwireInstant) {
        guard liveness[index].connected else { return }
        let slot = slots[index]
        events.append(.clientDisconnected(clientIndex: index, clientID: slot.clientID, address: slot.address, reason: reason))
        clientByAddress[slot.address] = nil
        clientByID[slot.clientID] = nil
        mappings.remove(slot.address)
        if reason == .clientDisconnected {
            // Keep the keys for a moment so the rest of the client's 10-packet disconnect burst is
            // recognised instead of counted as undecryptable traffic. They grant nothing: a new
            // slot still needs a fresh connection request and challenge.
            _ = mappings.add(
                slot.address,
                EncryptionMappings.Mapping(
                    sendKey: slot.sendKey.bytes, receiveKey: slot.receiveKey.bytes, timeout: .seconds(1),
                    expireUnixSeconds: .max, lastAccess: now),
                now: now, unixSeconds: unixSeconds(now))
        }
        liveness[index].connected = false
        slots[index].confirmed = false
        slots[index].replay.reset()
        connectedClientCount -= 1
    }
}
