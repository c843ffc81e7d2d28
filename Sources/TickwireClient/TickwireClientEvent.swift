import TickwireRelay
import TickwireReliability

/// What a client hears from its room.
public enum TickwireClientEvent: Equatable, Sendable {
    /// Another client is in the room (sent for everyone present on joining, then for each
    /// arrival), with the entity id its state has in snapshots.
    case peerJoined(clientID: UInt64, entityID: UInt16)
    case peerLeft(clientID: UInt64, reason: PeerLeftReason)
    /// A reliable event from a peer: exactly once, in the order that peer sent them.
    case event(from: UInt64, payload: [UInt8])
    /// The relay did not pass on one of this client's events: too large, over the rate limit,
    /// the room could not take it now, or no such recipient. Said at most once a second.
    case refused(RelayMessage.RefusalReason)

    public enum PeerLeftReason: String, Equatable, Sendable {
        case disconnected, timedOut = "timed_out", removedByServer = "removed_by_server"
    }
}
