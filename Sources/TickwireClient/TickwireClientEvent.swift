import TickwireProtocol
import TickwireRelay

/// What a client hears from its room. The stream ends after `.disconnected`, its last event.
public enum TickwireClientEvent: Equatable, Sendable {
    /// Another client is in the room (sent for everyone present on joining, then for each
    /// arrival), with the entity id its state has in snapshots.
    case peerJoined(clientID: UInt64, entityID: UInt16)
    case peerLeft(clientID: UInt64, reason: PeerLeftReason)
    /// A reliable event from a peer: exactly once, in the order that peer sent them.
    case event(from: UInt64, payload: [UInt8])
    /// The relay did not pass on one of this client's events. Said at most once a second.
    case refused(RefusalReason)
    /// The connection ended; nothing follows.
    case disconnected(DisconnectReason)

    public enum PeerLeftReason: String, Equatable, Sendable {
        case disconnected, timedOut = "timed_out", removedByServer = "removed_by_server"
    }

    public enum RefusalReason: String, Equatable, Sendable {
        /// Larger than `welcome.maxEventBytes`.
        case eventTooLarge = "event_too_large"
        /// Over the relay's event rate for one client; keeping it up gets the client removed.
        case rateLimited = "rate_limited"
        /// A member of the room could not take more events now: sent to nobody, try again.
        case roomBusy = "room_busy"
        /// Addressed to a client id that is not in the room.
        case unknownRecipient = "unknown_recipient"
    }

    public enum DisconnectReason: String, Equatable, Sendable {
        /// This client called `disconnect()`.
        case byClient = "by_client"
        /// The relay disconnected it: it shut down or drained, or removed the client for
        /// breaking its limits.
        case byServer = "by_server"
        /// Nothing came from the relay for the token's timeout.
        case timedOut = "timed_out"
    }

    static func from(_ reason: RelayMessage.RefusalReason) -> RefusalReason {
        switch reason {
        case .eventTooLarge: .eventTooLarge
        case .rateLimited: .rateLimited
        case .roomBusy: .roomBusy
        case .unknownRecipient: .unknownRecipient
        }
    }

    static func from(_ state: NetcodeClientState) -> DisconnectReason {
        switch state {
        case .connectionTimedOut, .connectionResponseTimedOut, .connectionRequestTimedOut: .timedOut
        default: .byServer
        }
    }
}

/// What the relay said on seating this client.
public struct TickwireWelcome: Equatable, Sendable {
    /// The protocol version the relay speaks (this client's: PROTOCOL.md section 10).
    public var protocolVersion: UInt16
    /// This client's entity in snapshots.
    public var entityID: UInt16
    /// Snapshots per second.
    public var tickRate: Int
    /// The largest state `sendState` takes, in bytes.
    public var maxStateSize: Int
    public var roomCapacity: Int
    /// The largest event payload the relay passes on.
    public var maxEventBytes: Int

    init(_ welcome: RelayMessage.Welcome) {
        protocolVersion = RelayMessage.protocolVersion
        entityID = welcome.entityID
        tickRate = Int(welcome.tickRate)
        maxStateSize = Int(welcome.maxStateSize)
        roomCapacity = Int(welcome.roomCapacity)
        maxEventBytes = Int(welcome.maxEventBytes)
    }
}
