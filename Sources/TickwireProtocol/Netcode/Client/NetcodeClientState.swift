/// netcode 1.02 client states, with the standard's numeric values. Negative values are errors.
public enum NetcodeClientState: Int, Sendable, CustomStringConvertible {
    case connectTokenExpired = -6
    case invalidConnectToken = -5
    case connectionTimedOut = -4
    case connectionResponseTimedOut = -3
    case connectionRequestTimedOut = -2
    case connectionDenied = -1
    case disconnected = 0
    case sendingConnectionRequest = 1
    case sendingConnectionResponse = 2
    case connected = 3

    public var isError: Bool { rawValue < 0 }
    public var isConnecting: Bool { self == .sendingConnectionRequest || self == .sendingConnectionResponse }

    public var description: String {
        switch self {
        case .connectTokenExpired: return "connect token expired"
        case .invalidConnectToken: return "invalid connect token"
        case .connectionTimedOut: return "connection timed out"
        case .connectionResponseTimedOut: return "connection response timed out"
        case .connectionRequestTimedOut: return "connection request timed out"
        case .connectionDenied: return "connection denied (server full)"
        case .disconnected: return "disconnected"
        case .sendingConnectionRequest: return "sending connection request"
        case .sendingConnectionResponse: return "sending connection response"
        case .connected: return "connected"
        }
    }
}
