import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// What a client can read about its connection.
public struct TickwireClientStats: Sendable {
    public var isConnected: Bool
    /// The link as this client measures it.
    public var link: Link
    /// Relay messages from the server in no known format: dropped.
    public var malformedMessages: UInt64
    public var snapshots: Snapshots
    /// How often `interpolate()` interpolated, extrapolated or held.
    public var interpolation: Interpolation
    /// The current render delay behind the estimated server time.
    public var interpolationDelay: Duration
    /// The server tick due now, by this client's estimate of the server's clock.
    public var estimatedServerTick: UInt64?
    /// The newest snapshot's tick.
    public var latestTick: UInt32?

    public struct Link: Sendable, Equatable {
        public var rttMilliseconds: Double = 0
        public var rttJitterMilliseconds: Double = 0
        public var packetLossPercent: Double = 0
        public var sentKbps: Double = 0
        public var receivedKbps: Double = 0
        public var packetsSent: UInt64 = 0
        public var packetsReceived: UInt64 = 0
        public var packetsAcked: UInt64 = 0
        public var packetsLost: UInt64 = 0
        public var reliableMessagesDelivered: UInt64 = 0
        public var reliableResends: UInt64 = 0

        public init() {}

        init(_ stats: LinkStats) {
            rttMilliseconds = stats.rttMilliseconds
            rttJitterMilliseconds = stats.rttJitterMilliseconds
            packetLossPercent = stats.packetLossPercent
            sentKbps = stats.sentKbps
            receivedKbps = stats.receivedKbps
            packetsSent = stats.counters.packetsSent
            packetsReceived = stats.counters.packetsReceived
            packetsAcked = stats.counters.packetsAcked
            packetsLost = stats.counters.packetsLost
            reliableMessagesDelivered = stats.counters.reliableMessagesDelivered
            reliableResends = stats.counters.reliableResends
        }
    }

    public struct Snapshots: Sendable, Equatable {
        public var decoded: UInt64
        /// Already decoded (a resend or a duplicate packet).
        public var duplicates: UInt64
        /// Named a baseline this client no longer held: each asks the relay for a full one.
        public var missingBaseline: UInt64
        public var malformed: UInt64
    }

    public struct Interpolation: Sendable, Equatable {
        public var interpolated: UInt64
        public var extrapolated: UInt64
        public var held: UInt64
        /// Snapshots older than the render time on arrival: never shown.
        public var arrivedTooLate: UInt64
    }
}
