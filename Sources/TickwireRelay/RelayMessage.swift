import TickwireProtocol

/// The relay's application messages, carried in the channels of `ChannelConnection`.
///
///     reliable, client → server:   0x10 event to room        | payload
///                                  0x11 event to one client  | client id u64 | payload
///     reliable, server → client:   0x01 peer joined          | client id u64
///                                  0x02 peer left            | client id u64 | reason u8
///                                  0x03 event                | from client id u64 | payload
///     unreliable, client → server: 0x20 state                | payload
///     unreliable, server → client: 0x21 peer state           | from client id u64 | payload
///
/// Integers are little-endian. Decoding never traps; unknown or short input is `nil`.
public enum RelayMessage: Equatable, Sendable {
    case eventToRoom(payload: [UInt8])
    case eventToClient(clientID: UInt64, payload: [UInt8])
    case peerJoined(clientID: UInt64)
    case peerLeft(clientID: UInt64, reason: PeerLeftReason)
    case event(from: UInt64, payload: [UInt8])
    case state(payload: [UInt8])
    case peerState(from: UInt64, payload: [UInt8])

    public enum PeerLeftReason: UInt8, Equatable, Sendable {
        case disconnected = 0
        case timedOut = 1
        case removedByServer = 2
    }

    enum Kind {
        static let eventToRoom: UInt8 = 0x10
        static let eventToClient: UInt8 = 0x11
        static let peerJoined: UInt8 = 0x01
        static let peerLeft: UInt8 = 0x02
        static let event: UInt8 = 0x03
        static let state: UInt8 = 0x20
        static let peerState: UInt8 = 0x21
    }

    /// Bytes a message adds around its payload, at most.
    public static let maxOverhead = 9

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
        case .peerJoined(let clientID):
            writer.write(Kind.peerJoined)
            writer.write(clientID)
        case .peerLeft(let clientID, let reason):
            writer.write(Kind.peerLeft)
            writer.write(clientID)
            writer.write(reason.rawValue)
        case .event(let from, let payload):
            writer.write(Kind.event)
            writer.write(from)
            writer.write(bytes: payload)
        case .state(let payload):
            writer.write(Kind.state)
            writer.write(bytes: payload)
        case .peerState(let from, let payload):
            writer.write(Kind.peerState)
            writer.write(from)
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
        case Kind.peerJoined:
            guard let id = reader.read(UInt64.self), reader.remaining == 0 else { return nil }
            return .peerJoined(clientID: id)
        case Kind.peerLeft:
            guard let id = reader.read(UInt64.self), let raw = reader.readUInt8(), reader.remaining == 0,
                  let reason = PeerLeftReason(rawValue: raw) else { return nil }
            return .peerLeft(clientID: id, reason: reason)
        case Kind.event:
            guard let id = reader.read(UInt64.self) else { return nil }
            return .event(from: id, payload: rest(&reader))
        case Kind.state: return .state(payload: rest(&reader))
        case Kind.peerState:
            guard let id = reader.read(UInt64.self) else { return nil }
            return .peerState(from: id, payload: rest(&reader))
        default: return nil
        }
    }

    public static func decode(_ bytes: [UInt8]) -> RelayMessage? { bytes.withUnsafeBytes { decode($0) } }
}
