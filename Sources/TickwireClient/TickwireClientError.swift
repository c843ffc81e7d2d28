import TickwireProtocol

public enum TickwireClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection attempt ended in this state (denied, timed out, token expired or invalid).
    case connectFailed(NetcodeClientState)
    case notConnected(NetcodeClientState)
    case payloadSize(Int)
    case invalidToken(String)

    public var description: String {
        switch self {
        case .connectFailed(let state): return "could not connect: \(state)"
        case .notConnected(let state): return "not connected (\(state))"
        case .payloadSize(let n): return "payloads are 1 to \(Netcode.maxPayloadBytes) bytes, got \(n)"
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
}
