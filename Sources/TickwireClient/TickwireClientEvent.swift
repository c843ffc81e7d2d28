import TickwireReliability

/// What a client hears from its room.
public enum TickwireClientEvent: Equatable, Sendable {
    /// Another client is in the room (sent for everyone present on joining, then for each
    /// arrival), with the entity id its state has in snapshots.
    case peerJoined(clientID: UInt64, entityID: UInt16)
    case peerLeft(clientID: UInt64, reason: PeerLeftReason)
    /// A reliable event from a peer: exactly once, in the order that peer sent them.
    case event(from: UInt64, payload: [UInt8])

    public enum PeerLeftReason: String, Equatable, Sendable {
        case disconnected, timedOut = "timed_out", removedByServer = "removed_by_server"
    }
}
