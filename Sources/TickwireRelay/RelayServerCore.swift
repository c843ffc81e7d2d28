import TickwireProtocol

/// The relay server as a sans-IO machine: a netcode server plus rooms.
///
/// Every payload a client sends is relayed to the other clients of its room. The room comes from
/// the client's connect token (`RoomTicket` in user data), so the backend decides who plays with
/// whom. Inputs take `now`; datagrams leave through `outbound`, happenings through `events`.
public struct RelayServerCore {
    public enum Event: Equatable, Sendable {
        case joined(clientIndex: Int, clientID: UInt64, room: String, address: NetcodeAddress)
        case left(clientIndex: Int, clientID: UInt64, room: String, reason: NetcodeServer.DisconnectReason)
        case denied(clientID: UInt64, address: NetcodeAddress)
        case requestIgnored(clientID: UInt64, address: NetcodeAddress, reason: NetcodeDropReason)
    }

    public struct Counters: Sendable, Equatable {
        public var payloadsRelayed: UInt64 = 0
    }

    public var netcode: NetcodeServer
    public var events: [Event] = []
    public private(set) var counters = Counters()
    private var roomOfClient: [String?]
    private var members: [String: [Int]] = [:]
    /// Payloads received during one `receive`, relayed after it returns (the netcode server
    /// cannot be re-entered from its own payload callback).
    private var pending: [UInt8] = []
    private var pendingRecords: [(sender: Int, offset: Int, length: Int)] = []

    public init(netcode: NetcodeServer) {
        self.netcode = netcode
        roomOfClient = Array(repeating: nil, count: netcode.maxClients)
        pending.reserveCapacity(Netcode.maxPayloadBytes * 4)
        pendingRecords.reserveCapacity(16)
    }

    public var outbound: OutboundQueue {
        get { netcode.outbound }
        _modify { yield &netcode.outbound }
    }

    public func room(of clientIndex: Int) -> String? { roomOfClient.indices.contains(clientIndex) ? roomOfClient[clientIndex] : nil }
    public func members(of room: String) -> [Int] { members[room] ?? [] }
    public var roomCount: Int { members.count }

    public mutating func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, now: TickwireInstant) {
        netcode.receive(datagram, from: address, now: now) { sender, payload in
            pendingRecords.append((sender, pending.count, payload.count))
            pending.append(contentsOf: payload)
        }
        processNetcodeEvents()
        relayPending(now: now)
    }

    public mutating func receive(_ datagram: [UInt8], from address: NetcodeAddress, now: TickwireInstant) {
        datagram.withUnsafeBytes { receive($0, from: address, now: now) }
    }

    /// Keep-alives and timeouts.
    public mutating func update(now: TickwireInstant) {
        netcode.update(now: now)
        processNetcodeEvents()
    }

    /// Disconnects every client cleanly (10 disconnect packets each).
    public mutating func shutdown(now: TickwireInstant) {
        netcode.disconnectAll(now: now)
        processNetcodeEvents()
    }

    private mutating func relayPending(now: TickwireInstant) {
        guard !pendingRecords.isEmpty else { return }
        for record in pendingRecords {
            guard let room = roomOfClient[record.sender], let peers = members[room] else { continue }
            pending.withUnsafeBytes { raw in
                let payload = UnsafeRawBufferPointer(rebasing: raw[record.offset..<record.offset + record.length])
                for peer in peers where peer != record.sender {
                    if (try? netcode.sendPayload(peer, payload, now: now)) != nil { counters.payloadsRelayed &+= 1 }
                }
            }
        }
        pending.removeAll(keepingCapacity: true)
        pendingRecords.removeAll(keepingCapacity: true)
    }

    private mutating func processNetcodeEvents() {
        guard !netcode.events.isEmpty else { return }
        for event in netcode.events {
            switch event {
            case .clientConnected(let index, let clientID, let address, let userData):
                let room = RoomTicket.decode(userData: userData).room
                roomOfClient[index] = room
                members[room, default: []].append(index)
                events.append(.joined(clientIndex: index, clientID: clientID, room: room, address: address))
            case .clientDisconnected(let index, let clientID, _, let reason):
                guard let room = roomOfClient[index] else { continue }
                roomOfClient[index] = nil
                members[room]?.removeAll { $0 == index }
                if members[room]?.isEmpty == true { members[room] = nil }
                events.append(.left(clientIndex: index, clientID: clientID, room: room, reason: reason))
            case .connectionDenied(let clientID, let address):
                events.append(.denied(clientID: clientID, address: address))
            case .connectionRequestIgnored(let clientID, let address, let reason):
                events.append(.requestIgnored(clientID: clientID, address: address, reason: reason))
            }
        }
        netcode.events.removeAll(keepingCapacity: true)
    }
}
