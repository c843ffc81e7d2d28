import TickwireProtocol

/// The relay's application messages, carried in the channels of `ChannelConnection`.
///
///     reliable, client → server:   0x10 event to room        | payload
///                                  0x11 event to one client  | client id u64 | payload
///                                  0x12 resync               (send me a full snapshot)
///     reliable, server → client:   0x01 peer joined          | client id u64 | entity id u16
///                                  0x02 peer left            | client id u64 | reason u8
///                                  0x03 event                | from client id u64 | payload
///                                  0x04 welcome              | protocol version u16 | entity id u16 | tick rate u16 | state size u16
///                                                              | room capacity u16 | max event bytes u16
///                                  0x05 denied               | reason u8
///                                  0x06 refused              | reason u8  (an event of this client's was not relayed)
///     unreliable, client → server: 0x20 state                | payload (the client's entity)
///     unreliable, server → client: 0x30 snapshot             (see `SnapshotFormat`)
///
/// Integers are little-endian. Decoding never traps; unknown or short input is `nil`.
/// PROTOCOL.md (at the repository's root) is the full specification.
public enum RelayMessage: Equatable, Sendable {
    /// The version of this protocol (the layer above netcode 1.02) this build speaks. It is the
    /// welcome's first field in every version, so any client can read it and leave cleanly when
    /// it does not speak the server's (`DenyReason.unsupportedProtocol`).
    public static let protocolVersion: UInt16 = 1

    case eventToRoom(payload: [UInt8])
    case eventToClient(clientID: UInt64, payload: [UInt8])
    case resync
    case peerJoined(clientID: UInt64, entityID: UInt16)
    case peerLeft(clientID: UInt64, reason: PeerLeftReason)
    case event(from: UInt64, payload: [UInt8])
    case welcome(Welcome)
    /// A welcome in a protocol version this build does not speak: only its version is read; the
    /// rest is kept as it came (so it re-encodes to the same bytes).
    case welcomeInOtherVersion(protocolVersion: UInt16, rest: [UInt8] = [])
    case denied(DenyReason)
    case refused(RefusalReason)
    case state(payload: [UInt8])

    public enum PeerLeftReason: UInt8, Equatable, Sendable {
        case disconnected = 0
        case timedOut = 1
        case removedByServer = 2
    }

    public enum DenyReason: UInt8, Equatable, Sendable {
        case roomFull = 1
        /// The token names a room this server (worker) does not host: ask the join API again.
        case roomNotHosted = 2
        /// Never sent by a server: the client's own verdict on a welcome in a protocol version
        /// it does not speak (it disconnects at once).
        case unsupportedProtocol = 3
    }

    /// Why the relay did not pass on one of this client's events. The server says so at most
    /// once a second; every refused event is counted on the server.
    public enum RefusalReason: UInt8, Equatable, Sendable, CaseIterable {
        /// Larger than `Welcome.maxEventBytes`.
        case eventTooLarge = 1
        /// Over the per-client event rate; a sender that keeps it up is removed for abuse.
        case rateLimited = 2
        /// A member of the room cannot take more events now; sent to nobody, try again.
        case roomBusy = 3
        /// Addressed to a client id that is not in the sender's room.
        case unknownRecipient = 4

        public var label: String {
            switch self {
            case .eventTooLarge: "event_too_large"
            case .rateLimited: "rate_limited"
            case .roomBusy: "room_busy"
            case .unknownRecipient: "unknown_recipient"
            }
        }
    }

    /// What a client learns on joining its room.
    public struct Welcome: Equatable, Sendable {
        public var entityID: UInt16
        public var tickRate: UInt16
        public var maxStateSize: UInt16
        public var roomCapacity: UInt16
        /// The largest event payload the relay passes on; larger ones are refused.
        public var maxEventBytes: UInt16

        public init(entityID: UInt16, tickRate: UInt16, maxStateSize: UInt16, roomCapacity: UInt16, maxEventBytes: UInt16) {
            self.entityID = entityID
            self.tickRate = tickRate
            self.maxStateSize = maxStateSize
            self.roomCapacity = roomCapacity
            self.maxEventBytes = maxEventBytes
        }
    }

    public enum Kind {
        public static let eventToRoom: UInt8 = 0x10
        public static let eventToClient: UInt8 = 0x11
        public static let resync: UInt8 = 0x12
        public static let peerJoined: UInt8 = 0x01
        public static let peerLeft: UInt8 = 0x02
        public static let event: UInt8 = 0x03
        public static let welcome: UInt8 = 0x04
        public static let denied: UInt8 = 0x05
        public static let refused: UInt8 = 0x06
        public static let state: UInt8 = 0x20
        public static let snapshot: UInt8 = SnapshotFormat.kind
    }

    /// Bytes a message adds around its payload, at most.
    public static let maxOverhead = 9
    /// The largest event payload that still fits one reliable message of `maxMessageSize` once
    /// framed as `event` (and as `eventToClient` on the way in), capped by the u16 in `welcome`.
    public static func largestEvent(maxMessageSize: Int) -> Int { min(Int(UInt16.max), maxMessageSize - maxOverhead) }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16)
        switch self {
        case .eventToRoom(let payload):
            writer.write(Kind.eventToRoom)
            writer.write(bytes: payload)
        case .eventToClient(let clientID, let payload):
            writer.write(Kind.eventToClient)
            writer.write(clientID)
            writer.write(bytes: payload)
        case .resync:
            writer.write(Kind.resync)
        case .peerJoined(let clientID, let entityID):
            writer.write(Kind.peerJoined)
            writer.write(clientID)
            writer.write(entityID)
        case .peerLeft(let clientID, let reason):
            writer.write(Kind.peerLeft)
            writer.write(clientID)
            writer.write(reason.rawValue)
        case .event(let from, let payload):
            writer.write(Kind.event)
            writer.write(from)
            writer.write(bytes: payload)
        case .welcome(let welcome):
            writer.write(Kind.welcome)
            writer.write(Self.protocolVersion)
            writer.write(welcome.entityID)
            writer.write(welcome.tickRate)
            writer.write(welcome.maxStateSize)
            writer.write(welcome.roomCapacity)
            writer.write(welcome.maxEventBytes)
        case .welcomeInOtherVersion(let version, let rest):
            writer.write(Kind.welcome)
            writer.write(version)
            writer.write(bytes: rest)
        case .denied(let reason):
            writer.write(Kind.denied)
            writer.write(reason.rawValue)
        case .refused(let reason):
            writer.write(Kind.refused)
            writer.write(reason.rawValue)
        case .state(let payload):
            writer.write(Kind.state)
            writer.write(bytes: payload)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) -> RelayMessage? {
        var reader = ByteReader(bytes)
        guard let kind = reader.readUInt8() else { return nil }
        func rest(_ reader: inout ByteReader) -> [UInt8] { reader.readBytes(reader.remaining) ?? [] }
        switch kind {
        case Kind.eventToRoom: return .eventToRoom(payload: rest(&reader))
        case Kind.eventToClient:
            guard let id = reader.read(UInt64.self) else { return nil }
            return .eventToClient(clientID: id, payload: rest(&reader))
        case Kind.resync:
            return reader.remaining == 0 ? .resync : nil
        case Kind.peerJoined:
            guard let id = reader.read(UInt64.self), let entity = reader.read(UInt16.self), reader.remaining == 0 else { return nil }
            return .peerJoined(clientID: id, entityID: entity)
        case Kind.peerLeft:
            guard let id = reader.read(UInt64.self), let raw = reader.readUInt8(), reader.remaining == 0,
                  let reason = PeerLeftReason(rawValue: raw) else { return nil }
            return .peerLeft(clientID: id, reason: reason)
        case Kind.event:
            guard let id = reader.read(UInt64.self) else { return nil }
            return .event(from: id, payload: rest(&reader))
        case Kind.welcome:
            guard let version = reader.read(UInt16.self) else { return nil }
            guard version == protocolVersion else { return .welcomeInOtherVersion(protocolVersion: version, rest: rest(&reader)) }
            guard let entity = reader.read(UInt16.self), let rate = reader.read(UInt16.self),
                  let size = reader.read(UInt16.self), let capacity = reader.read(UInt16.self),
                  let maxEvent = reader.read(UInt16.self), reader.remaining == 0
            else { return nil }
            return .welcome(Welcome(entityID: entity, tickRate: rate, maxStateSize: size, roomCapacity: capacity, maxEventBytes: maxEvent))
        case Kind.denied:
            guard let raw = reader.readUInt8(), reader.remaining == 0, let reason = DenyReason(rawValue: raw) else { return nil }
            return .denied(reason)
        case Kind.refused:
            guard let raw = reader.readUInt8(), reader.remaining == 0, let reason = RefusalReason(rawValue: raw) else { return nil }
            return .refused(reason)
        case Kind.state: return .state(payload: rest(&reader))
        default: return nil
        }
    }

    public static func decode(_ bytes: [UInt8]) -> RelayMessage? { bytes.withUnsafeBytes { decode($0) } }

    /// A client's reliable message as the relay acts on it, read in place: an event's payload
    /// is a range of the message's bytes, not a copy, so passing an event on allocates nothing.
    public enum ClientRequest: Equatable, Sendable {
        case eventToRoom(payload: Range<Int>)
        case eventToClient(clientID: UInt64, payload: Range<Int>)
        case resync
        /// Well formed, but of a kind only a server sends.
        case notARequest
    }

    /// Reads a reliable message from a client. Nil exactly where `decode` gives nil.
    public static func request(in bytes: UnsafeRawBufferPointer) -> ClientRequest? {
        var reader = ByteReader(bytes)
        guard let kind = reader.readUInt8() else { return nil }
        switch kind {
        case Kind.eventToRoom: return .eventToRoom(payload: reader.offset..<bytes.count)
        case Kind.eventToClient:
            guard let id = reader.read(UInt64.self) else { return nil }
            return .eventToClient(clientID: id, payload: reader.offset..<bytes.count)
        case Kind.resync: return reader.remaining == 0 ? .resync : nil
        // Not a client's kind: the full decoder says whether it is well formed (a hostile
        // client's path, where its allocation does not matter).
        default: return decode(bytes) == nil ? nil : .notARequest
        }
    }

    /// Bytes `event(from:payload:)` adds to its payload.
    public static let eventOverhead = 9

    /// Writes `event(from:payload:)` into `buffer`, which holds at least `eventOverhead` bytes
    /// more than the payload, and returns the bytes written (the same as `encoded()` gives).
    public static func writeEvent(from clientID: UInt64, payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var writer = UnsafeByteWriter(buffer)
        writer.write(Kind.event)
        writer.write(clientID)
        writer.write(bytes: payload)
        precondition(!writer.overflowed, "writeEvent: a buffer of \(buffer.count) bytes for a payload of \(payload.count)")
        return writer.offset
    }
}
