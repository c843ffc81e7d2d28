import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// Why a call on `TickwireClient` failed. Every case says what to do about it.
public enum TickwireClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The token is not a 2048-byte netcode 1.02 connect token.
    case invalidToken(String)
    /// The connection could not be made: the relay did not answer, refused the token, is full.
    case connectFailed(ConnectFailure)
    /// `connect` did not finish within its timeout (the attempt was abandoned).
    case timedOut(after: Duration)
    /// The relay refused to seat this client in its room.
    case denied(DenyReason)
    /// Not (or no longer) connected: nothing was sent.
    case notConnected
    /// Larger than the relay takes (`welcome.maxStateSize` for states, `welcome.maxEventBytes`
    /// for events); nothing was queued.
    case messageTooLarge(size: Int, limit: Int)
    /// The reliable send queue is full (the relay is not acking fast enough): try again later.
    case sendQueueFull

    /// How a connection attempt failed at the connection layer (netcode's client states).
    public enum ConnectFailure: String, Equatable, Sendable {
        case connectTokenExpired = "connect_token_expired"
        case invalidConnectToken = "invalid_connect_token"
        /// Nothing answered the connection requests: a wrong address or port, a relay that is
        /// down, or a token for another protocol id or key.
        case connectionRequestTimedOut = "connection_request_timed_out"
        case connectionResponseTimedOut = "connection_response_timed_out"
        case connectionTimedOut = "connection_timed_out"
        /// The relay is full (every client slot taken).
        case connectionDenied = "connection_denied"
        case disconnected

        init(_ state: NetcodeClientState) {
            switch state {
            case .connectTokenExpired: self = .connectTokenExpired
            case .invalidConnectToken: self = .invalidConnectToken
            case .connectionRequestTimedOut: self = .connectionRequestTimedOut
            case .connectionResponseTimedOut: self = .connectionResponseTimedOut
            case .connectionTimedOut: self = .connectionTimedOut
            case .connectionDenied: self = .connectionDenied
            case .disconnected, .sendingConnectionRequest, .sendingConnectionResponse, .connected: self = .disconnected
            }
        }
    }

    /// Why the relay would not seat this client.
    public enum DenyReason: Equatable, Sendable {
        case roomFull
        /// The token's room is hosted elsewhere: get a new token from the join API.
        case roomNotHosted
        /// The relay speaks another version of the protocol (PROTOCOL.md section 10).
        case unsupportedProtocol(serverVersion: UInt16?)

        init(_ reason: RelayMessage.DenyReason, serverVersion: UInt16?) {
            switch reason {
            case .roomFull: self = .roomFull
            case .roomNotHosted: self = .roomNotHosted
            case .unsupportedProtocol: self = .unsupportedProtocol(serverVersion: serverVersion)
            }
        }
    }

    public var description: String {
        switch self {
        case .invalidToken(let why): "invalid connect token: \(why)"
        case .connectFailed(let failure): "could not connect: \(String(failure.rawValue.map { $0 == "_" ? " " : $0 }))"
        case .timedOut(let after): "could not connect within \(after)"
        case .denied(.roomFull): "the relay denied the connection: room full"
        case .denied(.roomNotHosted):
            "the relay denied the connection: the token's room is not hosted at this address (get a new token from the join API)"
        case .denied(.unsupportedProtocol(let version)):
            "the relay speaks version \(version.map(String.init) ?? "?") of the Tickwire protocol and this client version \(RelayMessage.protocolVersion): upgrade the older side"
        case .notConnected: "not connected"
        case .messageTooLarge(let size, let limit): "message of \(size) bytes refused: the limit is \(limit)"
        case .sendQueueFull: "the reliable send queue is full: try again later"
        }
    }

    static func mapping(_ error: RelayClientError) -> TickwireClientError {
        switch error {
        case .notJoined: .notConnected
        case .stateTooLarge(let size, let limit), .eventTooLarge(let size, let limit): .messageTooLarge(size: size, limit: limit)
        case .send(.messageTooLarge(let size, let limit)): .messageTooLarge(size: size, limit: limit)
        case .send: .sendQueueFull
        }
    }
}
