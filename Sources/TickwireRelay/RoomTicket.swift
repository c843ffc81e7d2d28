import TickwireProtocol

/// What Tickwire puts in a connect token's 256 bytes of user data: the room the backend assigned.
/// Layout: bytes 0..<64 room name in UTF-8, NUL-padded; the rest is reserved (zero).
public struct RoomTicket: Equatable, Sendable {
    public static let maxRoomNameBytes = 64
    public var room: String

    public init(room: String) throws(RoomTicketError) {
        guard !room.isEmpty else { throw .empty }
        guard room.utf8.count <= Self.maxRoomNameBytes else { throw .tooLong(room.utf8.count) }
        guard !room.utf8.contains(0) else { throw .containsNUL }
        self.room = room
    }

    public func encodeUserData() -> [UInt8] {
        var bytes = Array(room.utf8)
        bytes.append(contentsOf: repeatElement(0, count: Netcode.userDataBytes - bytes.count))
        return bytes
    }

    /// Reads the room from user data; tokens from other backends without a room land in "default".
    public static func decode(userData: [UInt8]) -> RoomTicket {
        let name = userData.prefix(maxRoomNameBytes).prefix { $0 != 0 }
        let room = String(decoding: name, as: UTF8.self)
        return (try? RoomTicket(room: room)) ?? (try! RoomTicket(room: "default"))
    }
}

public enum RoomTicketError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(Int)
    case containsNUL

    public var description: String {
        switch self {
        case .empty: return "a room name cannot be empty"
        case .tooLong(let n): return "a room name is at most \(RoomTicket.maxRoomNameBytes) bytes of UTF-8, this one is \(n)"
        case .containsNUL: return "a room name cannot contain a NUL character"
        }
    }
}
