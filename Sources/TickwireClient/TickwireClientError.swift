import TickwireProtocol
import TickwireReliability

public enum TickwireClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection attempt ended in this state (denied, timed out, token expired or invalid).
    case connectFailed(NetcodeClientState)
    case notConnected(NetcodeClientState)
    /// The message was refused (too large, or the reliable queue is full); nothing was queued.
    case send(ChannelSendError)
    case invalidToken(String)

    public var description: String {
        switch self {
        case .connectFailed(let state): return "could not connect: \(state)"
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
}
