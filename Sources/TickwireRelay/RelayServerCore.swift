import TickwireProtocol
import TickwireReliability

/// The relay server as a sans-IO machine: a netcode server, a `ChannelConnection` per client,
/// and rooms.
///
/// A client's room comes from its connect token (`RoomTicket` in user data), so the backend
/// decides who plays with whom. Reliable events a client sends go, reliably and in order, to its
/// whole room or to one named client; its state messages go unreliably to its room; joins and
/// leaves reach the room as reliable events. Inputs take `now`; datagrams leave through
/// `outbound`, happenings through `events`. `update(now:)` is the tick: it writes every client's
/// packets for this tick.
public struct RelayServerCore {
    public enum Event: Equatable, Sendable {
        case joined(clientIndex: Int, clientID: UInt64, room: String, address: NetcodeAddress)
        case left(clientIndex: Int, clientID: UInt64, room: String, reason: NetcodeServer.DisconnectReason)
        case denied(clientID: UInt64, address: NetcodeAddress)
        case requestIgnored(clientID: UInt64, address: NetcodeAddress, reason: NetcodeDropReason)
        /// A client broke the channel or relay rules or could not keep up, and was disconnected.
        case removed(clientIndex: Int, clientID: UInt64, why: String)
    }

    public struct Counters: Sendable, Equatable {
        public var eventsRelayed: UInt64 = 0
        public var statesRelayed: UInt64 = 0
        /// Events addressed to a client id not in the sender's room.
        public var eventsToUnknownClient: UInt64 = 0
        /// Messages in no known relay format: dropped.
        public var malformedMessages: UInt64 = 0
        /// Channel packets refused (`ChannelConnection.ReceiveVerdict.invalid`).
        public var invalidChannelPackets: UInt64 = 0
        public var clientsRemoved: UInt64 = 0
    }

    public struct Configuration: Sendable {
        public var channels = ChannelConfiguration()
        /// Packets a client may be sent per tick (bounds fragment bursts).
        public var maxPacketsPerTick = 8
        public init() {}
    }

    public var netcode: NetcodeServer
    public let configuration: Configuration
    public var events: [Event] = []
    public private(set) var counters = Counters()
    private var roomOfClient: [String?]
    private var connections: [ChannelConnection?]
    private var members: [String: [Int]] = [:]
    /// Payloads received during one `receive`, processed after it returns (the netcode server
    /// cannot be re-entered from its own payload callback).
    private var pending: [UInt8] = []
    private var pendingRecords: [(sender: Int, offset: Int, length: Int)] = []
    private var frame: [UInt8] = []
    private var states: [UInt8] = []
    private var stateSpans: [Range<Int>] = []
    private var packet: [UInt8]
    private var toRemove: [(index: Int, why: String)] = []

    public init(netcode: NetcodeServer, configuration: Configuration = Configuration()) throws(ChannelConfigurationError) {
        try configuration.channels.validate()
        self.netcode = netcode
        self.configuration = configuration
        roomOfClient = Array(repeating: nil, count: netcode.maxClients)
        connections = Array(repeating: nil, count: netcode.maxClients)
        pending.reserveCapacity(Netcode.maxPayloadBytes * 4)
        pendingRecords.reserveCapacity(16)
        frame.reserveCapacity(Netcode.maxPayloadBytes + RelayMessage.maxOverhead)
        packet = [UInt8](repeating: 0, count: configuration.channels.maxPacketSize)
    }

    public var outbound: OutboundQueue {
        get { netcode.outbound }
        _modify { yield &netcode.outbound }
    }

    public func room(of clientIndex: Int) -> String? { roomOfClient.indices.contains(clientIndex) ? roomOfClient[clientIndex] : nil }
    public func members(of room: String) -> [Int] { members[room] ?? [] }
    public var roomCount: Int { members.count }

    /// The link statistics of a connected client.
    public func linkStats(of clientIndex: Int) -> LinkStats? {
        connections.indices.contains(clientIndex) ? connections[clientIndex]?.stats : nil
    }

    /// Every connected client's link statistics summed (rates and RTT averaged).
    public var linkTotals: LinkStats {
        var total = LinkStats()
        var count = 0.0
        for connection in connections {
            guard let stats = connection?.stats else { continue }
            count += 1
            total.rttMilliseconds += stats.rttMilliseconds
            total.packetLossPercent += stats.packetLossPercent
            total.sentKbps += stats.sentKbps
            total.receivedKbps += stats.receivedKbps
            total.ackedKbps += stats.ackedKbps
            total.counters.add(stats.counters)
        }
        if count > 0 {
            total.rttMilliseconds /= count
            total.packetLossPercent /= count
        }
        return total
    }

    public mutating func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, now: TickwireInstant) {
        netcode.receive(datagram, from: address, now: now) { sender, payload in
            pendingRecords.append((sender, pending.count, payload.count))
            pending.append(contentsOf: payload)
        }
        processNetcodeEvents(now: now)
        processPending(now: now)
        removeMisbehaving(now: now)
    }

    public mutating func receive(_ datagram: [UInt8], from address: NetcodeAddress, now: TickwireInstant) {
        datagram.withUnsafeBytes { receive($0, from: address, now: now) }
    }

    /// The tick: keep-alives and timeouts, then every client's packets for this tick.
    public mutating func update(now: TickwireInstant) {
        netcode.update(now: now)
        processNetcodeEvents(now: now)
        for index in connections.indices where connections[index] != nil {
            for _ in 0..<configuration.maxPacketsPerTick {
                let length = packet.withUnsafeMutableBytes { connections[index]!.writePacket(into: $0, now: now) }
                if length == 0 { break }
                packet.withUnsafeBytes { raw in
                    _ = try? netcode.sendPayload(index, UnsafeRawBufferPointer(rebasing: raw[0..<length]), now: now)
                }
            }
            connections[index]!.endTick()
            connections[index]!.update(now: now)
        }
    }

    /// Disconnects every client cleanly (10 disconnect packets each).
    public mutating func shutdown(now: TickwireInstant) {
        netcode.disconnectAll(now: now)
        processNetcodeEvents(now: now)
    }

    private mutating func processPending(now: TickwireInstant) {
        guard !pendingRecords.isEmpty else { return }
        for record in pendingRecords {
            let sender = record.sender
            guard let room = roomOfClient[sender], var connection = connections[sender].take() else { continue }
            states.removeAll(keepingCapacity: true)
            stateSpans.removeAll(keepingCapacity: true)
            let verdict = pending.withUnsafeBytes { raw in
                connection.receive(UnsafeRawBufferPointer(rebasing: raw[record.offset..<record.offset + record.length]), now: now) { message in
                    stateSpans.append(states.count..<states.count + message.count)
                    states.append(contentsOf: message)
                }
            }
            if case .invalid = verdict { counters.invalidChannelPackets &+= 1 }
            let senderID = netcode.clientID(sender) ?? 0
            while let message = connection.receiveReliable({ RelayMessage.decode($0) }) {
                guard let message else {
                    counters.malformedMessages &+= 1
                    continue
                }
                relayReliable(message, from: sender, senderID: senderID, room: room)
            }
            connections[sender] = connection
            for span in stateSpans { relayState(span, from: sender, senderID: senderID, room: room) }
        }
        pending.removeAll(keepingCapacity: true)
        pendingRecords.removeAll(keepingCapacity: true)
    }

    private mutating func relayReliable(_ message: RelayMessage, from sender: Int, senderID: UInt64, room: String) {
        switch message {
        case .eventToRoom(let payload):
            let framed = RelayMessage.event(from: senderID, payload: payload).encoded()
            for peer in members[room] ?? [] where peer != sender { sendReliable(framed, to: peer) }
        case .eventToClient(let clientID, let payload):
            guard let target = netcode.clientIndex(forClientID: clientID), target != sender, roomOfClient[target] == room else {
                counters.eventsToUnknownClient &+= 1
                return
            }
            sendReliable(RelayMessage.event(from: senderID, payload: payload).encoded(), to: target)
        default:
            counters.malformedMessages &+= 1
        }
    }

    private mutating func sendReliable(_ framed: [UInt8], to peer: Int) {
        guard connections[peer] != nil else { return }
        do {
            try connections[peer]!.sendReliable(framed)
            counters.eventsRelayed &+= 1
        } catch {
            // The reliable guarantee cannot be kept for a client this far behind: let it go.
            toRemove.append((peer, "\(error)"))
        }
    }

    private mutating func relayState(_ span: Range<Int>, from sender: Int, senderID: UInt64, room: String) {
        guard states[span.lowerBound] == RelayMessage.Kind.state else {
            counters.malformedMessages &+= 1
            return
        }
        frame.removeAll(keepingCapacity: true)
        frame.append(RelayMessage.Kind.peerState)
        withUnsafeBytes(of: senderID.littleEndian) { frame.append(contentsOf: $0) }
        frame.append(contentsOf: states[span.lowerBound + 1..<span.upperBound])
        for peer in members[room] ?? [] where peer != sender && connections[peer] != nil {
            let sent = frame.withUnsafeBytes { raw in (try? connections[peer]!.sendUnreliable(raw)) != nil }
            if sent { counters.statesRelayed &+= 1 } else { counters.malformedMessages &+= 1 }
        }
    }

    private mutating func removeMisbehaving(now: TickwireInstant) {
        guard !toRemove.isEmpty else { return }
        for (index, why) in toRemove where connections[index] != nil {
            events.append(.removed(clientIndex: index, clientID: netcode.clientID(index) ?? 0, why: why))
            counters.clientsRemoved &+= 1
            netcode.disconnect(index, now: now)
        }
        toRemove.removeAll()
        processNetcodeEvents(now: now)
    }

    private mutating func processNetcodeEvents(now: TickwireInstant) {
        guard !netcode.events.isEmpty else { return }
        let happened = netcode.events
        netcode.events.removeAll(keepingCapacity: true)
        for event in happened {
            switch event {
            case .clientConnected(let index, let clientID, let address, let userData):
                let room = RoomTicket.decode(userData: userData).room
                roomOfClient[index] = room
                connections[index] = try? ChannelConnection(configuration: configuration.channels)
                let joined = RelayMessage.peerJoined(clientID: clientID).encoded()
                for peer in members[room] ?? [] {
                    sendReliable(joined, to: peer)
                    if let peerID = netcode.clientID(peer) { sendReliable(RelayMessage.peerJoined(clientID: peerID).encoded(), to: index) }
                }
                members[room, default: []].append(index)
                events.append(.joined(clientIndex: index, clientID: clientID, room: room, address: address))
            case .clientDisconnected(let index, let clientID, _, let reason):
                connections[index] = nil
                guard let room = roomOfClient[index] else { continue }
                roomOfClient[index] = nil
                members[room]?.removeAll { $0 == index }
                let why: RelayMessage.PeerLeftReason = switch reason {
                case .timedOut: .timedOut
                case .clientDisconnected: .disconnected
                case .serverDisconnected: .removedByServer
                }
                let left = RelayMessage.peerLeft(clientID: clientID, reason: why).encoded()
                for peer in members[room] ?? [] { sendReliable(left, to: peer) }
                if members[room]?.isEmpty == true { members[room] = nil }
                events.append(.left(clientIndex: index, clientID: clientID, room: room, reason: reason))
            case .connectionDenied(let clientID, let address):
                events.append(.denied(clientID: clientID, address: address))
            case .connectionRequestIgnored(let clientID, let address, let reason):
                events.append(.requestIgnored(clientID: clientID, address: address, reason: reason))
            }
        }
        if !toRemove.isEmpty { removeMisbehaving(now: now) }
    }
}

extension LinkStats.Counters {
    /// Adds another connection's counters to these.
    public mutating func add(_ other: LinkStats.Counters) {
        packetsSent &+= other.packetsSent
        packetsReceived &+= other.packetsReceived
        packetsAcked &+= other.packetsAcked
        packetsLost &+= other.packetsLost
        packetsStale &+= other.packetsStale
        packetsDuplicate &+= other.packetsDuplicate
        packetsInvalid &+= other.packetsInvalid
        reliableMessagesSent &+= other.reliableMessagesSent
        reliableMessagesDelivered &+= other.reliableMessagesDelivered
        reliableResends &+= other.reliableResends
        reliableDuplicates &+= other.reliableDuplicates
        fragmentsSent &+= other.fragmentsSent
        fragmentsReceived &+= other.fragmentsReceived
        unreliableMessagesSent &+= other.unreliableMessagesSent
        unreliableMessagesDelivered &+= other.unreliableMessagesDelivered
        unreliableStale &+= other.unreliableStale
        unreliableDropped &+= other.unreliableDropped
    }
}
