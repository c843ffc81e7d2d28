import TickwireProtocol

/// A snapshot of a running server's figures.
public struct RelayServerStats: Sendable {
    public var connectedClients: Int
    public var rooms: Int
    public var netcode: NetcodeServer.Counters
    public var payloadsRelayed: UInt64
    public var lateUpdates: UInt64
    public var datagramsWritten: UInt64
    public var bytesWritten: UInt64
}
