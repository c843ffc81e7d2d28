import TickwireProtocol
import TickwireRelay
import TickwireReliability

public enum TickwireClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection attempt ended in this state (denied, timed out, token expired or invalid).
    case connectFailed(NetcodeClientState)
    /// The relay refused to seat this client (for example its room is full).
    case denied(RelayMessage.DenyReason)
    case notConnected(NetcodeClientState)
    /// The message was refused (too large, or the reliable queue is full); nothing was queued.
    case send(ChannelSendError)
    case invalidToken(String)

    public var description: String {
        switch self {
        case .connectFailed(let state): return "could not connect: \(state)"
        case .denied(let reason):
            switch reason {
            case .roomFull: return "the relay denied the connection: room full"
            case .roomNotHosted: return "the relay denied the connection: the token's room is not hosted at this address (get a new token from the join API)"
            case .unsupportedProtocol:
                return "the relay speaks another version of the Tickwire protocol than this client (\(RelayMessage.protocolVersion)); upgrade the older side"
            }
        case .notConnected(let state): return "not connected (\(state))"
        case .send(let error): return "message refused: \(error)"
        case .invalidToken(let why): return "invalid connect token: \(why)"
        }
    }
}

/// What a client can read about its connection.
public struct TickwireClientStats: Sendable {
    public var state: NetcodeClientState
    public var clientIndex: Int
    public var maxClients: Int
    public var serverAddress: NetcodeAddress?
    public var counters: NetcodeServer.Counters
    /// RTT, jitter, loss, bandwidth and channel counters.
    public var link: LinkStats
    /// Relay messages from the server in no known format: dropped.
    public var malformedMessages: UInt64
    /// Snapshots decoded, duplicates, ones whose baseline was missing (each asks for a resync), malformed.
    public var snapshots: SnapshotDecoder.Counters
    /// How often `interpolate()` interpolated, extrapolated or held.
    public var interpolation: InterpolationBuffer.Counters
    /// The current render delay behind the estimated server time.
    public var interpolationDelay: Duration
    /// The server tick due now, by this client's estimate of the server's clock.
    public var estimatedServerTick: UInt64?
    /// The newest snapshot's tick.
    public var latestTick: UInt32?
}
