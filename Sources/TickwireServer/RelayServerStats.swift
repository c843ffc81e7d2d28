import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// A snapshot of a running server's figures.
public struct RelayServerStats: Sendable {
    public var connectedClients: Int
    public var rooms: Int
    public var netcode: NetcodeServer.Counters
    public var relay: RelayServerCore.Counters
    /// All clients' channel counters summed; RTT and loss averaged over clients.
    public var links: LinkStats
    public var lateUpdates: UInt64
    public var datagramsWritten: UInt64
    public var bytesWritten: UInt64
}

/// One connected client's link as the server sees it.
public struct ClientLinkStats: Sendable {
    public var clientIndex: Int
    public var clientID: UInt64
    public var room: String
    public var link: LinkStats
}
