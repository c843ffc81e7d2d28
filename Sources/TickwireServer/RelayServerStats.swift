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
    public var snapshots: SnapshotEncoder.Counters
    public var tickRate: Int
    public var ticks: UInt64
    /// Ticks that started more than half a period after their deadline.
    public var lateTicks: UInt64
    /// Ticks passed over because the server fell whole periods behind.
    public var skippedTicks: UInt64
    /// How long the last tick's work took, and the longest so far.
    public var lastTickDuration: Duration
    public var maxTickDuration: Duration
    public var datagramsRead: UInt64
    public var bytesRead: UInt64
    public var datagramsWritten: UInt64
    public var bytesWritten: UInt64
    /// Datagrams the kernel did not take (send buffer full, socket closed, address refused).
    public var datagramsNotSent: UInt64 = 0
    /// Times the host woke the core (ticks and the updates between them).
    public var updates: UInt64 = 0
}

/// One connected client's link as the server sees it.
public struct ClientLinkStats: Sendable {
    public var clientIndex: Int
    public var clientID: UInt64
    public var room: String
    public var link: LinkStats
}
