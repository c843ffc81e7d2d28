import TickwireReliability

/// What a client hears from its room.
public enum TickwireClientEvent: Equatable, Sendable {
    /// Another client is in the room (sent for everyone present on joining, then for each arrival).
    case peerJoined(clientID: UInt64)
    case peerLeft(clientID: UInt64, reason: PeerLeftReason)
    /// A reliable event from a peer: exactly once, in the order that peer sent them.
    case event(from: UInt64, payload: [UInt8])
    /// A peer's newest state (unreliable: some are skipped, none arrive out of order).
    case state(from: UInt64, payload: [UInt8])

    public enum PeerLeftReason: String, Equatable, Sendable {
        case disconnected, timedOut = "timed_out", removedByServer = "removed_by_server"
    }
}
