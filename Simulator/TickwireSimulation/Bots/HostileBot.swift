import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// What a hostile player holding a valid token tries against the relay.
public enum HostileBehaviour: String, CaseIterable, Sendable, Codable {
    /// Thousands of small reliable events a second to the room.
    case eventFlood = "event-flood"
    /// One 65,527-byte event a second: the most one reliable message carries, over the relay's limit.
    case giantEvent = "giant-event"
    /// Sends its state but never acknowledges a packet.
    case neverAck = "never-ack"
    /// Sends nothing but netcode keep-alives: holds a slot without taking part.
    case keepAliveOnly = "keep-alive-only"
    /// Fragments that contradict each other (the two-counts crash) and fragments out of range.
    case fragmentAbuse = "fragment-abuse"
    /// Empty unreliable records (the empty-state crash).
    case malformedState = "malformed-state"

    /// Whether the bot's core runs its channels normally (else it only sends what it crafts).
    public var usesChannels: Bool { self == .eventFlood || self == .giantEvent }
}

/// A scripted hostile player: it drives a `RelayClientCore` like `Bot` does, but to break the
/// relay's rules. The packets it crafts are sent with `sendRawPayload`.
public struct HostileBot: Sendable {
    public let clientID: UInt64
    public let room: String
    public let behaviour: HostileBehaviour
    public private(set) var joinedAt: TickwireInstant?
    public private(set) var ended: (at: TickwireInstant, reason: String)?
    public private(set) var sent: UInt64 = 0
    public private(set) var refusals: [RelayMessage.RefusalReason: Int] = [:]
    private var sequence: UInt16 = 0x4000
    private var nextActAt = TickwireInstant.zero
    private var fragmentID: UInt16 = 0

    public init(clientID: UInt64, room: String, behaviour: HostileBehaviour) {
        self.clientID = clientID
        self.room = room
        self.behaviour = behaviour
    }

    /// Call after each update of the bot's core.
    public mutating func step(_ core: inout RelayClientCore, now: TickwireInstant) {
        let heard = core.events
        core.events.removeAll(keepingCapacity: true)
        for event in heard {
            switch event {
            case .joined: joinedAt = now
            case .refused(let reason): refusals[reason, default: 0] += 1
            case .ended(let state): if ended == nil { ended = (now, Bot.reason(state)) }
            case .denied(let reason): ended = (now, "denied: \(reason)")
            default: break
            }
        }
        guard core.welcome != nil, ended == nil, now >= nextActAt else { return }
        switch behaviour {
        case .eventFlood:
            nextActAt = now
            for _ in 0..<50 where (try? core.sendEvent([0xF1, 0x00])) != nil { sent &+= 1 }
        case .giantEvent:
            nextActAt = now + .seconds(1)
            if (try? core.sendUnchecked(.eventToRoom(payload: [UInt8](repeating: 0x61, count: 65_527)), reliable: true)) != nil {
                sent &+= 1
            }
        case .neverAck:
            nextActAt = now + .milliseconds(50)
            var state = [RelayMessage.Kind.state]
            state += withUnsafeBytes(of: now.nanoseconds.littleEndian) { Array($0) }
            send(record: Self.unreliable(state), core: &core, now: now)
        case .keepAliveOnly:
            nextActAt = now + .seconds(3600)
        case .fragmentAbuse:
            nextActAt = now + .milliseconds(50)
            // Two fragments of one new message that disagree on the count, then one past its count.
            fragmentID &+= 1
            let fragmentSize = ChannelConfiguration().fragmentSize
            let records = Self.fragment(id: fragmentID, index: 1, count: 2, length: fragmentSize / 4)
                + Self.fragment(id: fragmentID, index: 2, count: 3, length: fragmentSize / 4)
            send(record: records, core: &core, now: now)
        case .malformedState:
            nextActAt = now + .milliseconds(50)
            send(record: Self.unreliable([]) + Self.unreliable([RelayMessage.Kind.state, 1]), core: &core, now: now)
        }
    }

    /// A channel packet that acknowledges nothing (ack bits 0), carrying `records`.
    private mutating func send(record records: [UInt8], core: inout RelayClientCore, now: TickwireInstant) {
        sequence &+= 1
        if core.sendRawPayload(PacketHeader(sequence: sequence, ack: 0, ackBits: 0).encoded() + records, now: now) { sent &+= 1 }
    }

    /// A u16, little-endian.
    public static func le(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

    /// `0x03 length u16 bytes`: an unreliable record.
    public static func unreliable(_ body: [UInt8]) -> [UInt8] { [0x03] + le(UInt16(body.count)) + body }

    /// `0x02 id index count length bytes`: one fragment record (length bytes of 0x55). Only
    /// the last fragment of a message may be shorter than the channel's fragment size.
    public static func fragment(id: UInt16, index: UInt16, count: UInt16, length: Int) -> [UInt8] {
        [0x02] + le(id) + le(index) + le(count) + le(UInt16(length)) + [UInt8](repeating: 0x55, count: length)
    }
}
