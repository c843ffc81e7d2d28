/// A connection's measured link quality and counters, as the client library and server expose them.
public struct LinkStats: Sendable, Equatable {
    /// Smoothed round-trip time in milliseconds (0 until the first ack).
    public var rttMilliseconds: Double = 0
    /// Mean deviation of the round-trip time in milliseconds (RFC 6298 RTTVAR).
    public var rttJitterMilliseconds: Double = 0
    public var minRTTMilliseconds: Double = 0
    /// Share of settled packets that were never acknowledged, in percent.
    public var packetLossPercent: Double = 0
    /// Wire bandwidth in kbit/s (payload + per-packet overhead), smoothed over 250 ms windows.
    public var sentKbps: Double = 0
    public var receivedKbps: Double = 0
    public var ackedKbps: Double = 0
    /// Current wait before a reliable message is sent again.
    public var resendIntervalMilliseconds: Double = 0

    public var counters = Counters()

    public struct Counters: Sendable, Equatable {
        // First the ones a server bumps for every client every tick or packet, side by side (48
        // bytes), so a tick touches as few of this struct's lines as it can.
        public var packetsSent: UInt64 = 0
        public var unreliableMessagesSent: UInt64 = 0
        public var packetsReceived: UInt64 = 0
        public var packetsAcked: UInt64 = 0
        public var unreliableMessagesDelivered: UInt64 = 0
        /// Queued but not sent: replaced by newer state or no room left in the packet.
        public var unreliableDropped: UInt64 = 0

        public var packetsLost: UInt64 = 0
        /// Older than the received window: dropped.
        public var packetsStale: UInt64 = 0
        /// Seen before: dropped.
        public var packetsDuplicate: UInt64 = 0
        /// Malformed or breaking the channel rules: dropped, not acked.
        public var packetsInvalid: UInt64 = 0

        public var reliableMessagesSent: UInt64 = 0
        public var reliableMessagesDelivered: UInt64 = 0
        /// Transmissions of a message or fragment after its first one.
        public var reliableResends: UInt64 = 0
        /// Messages (or fragments) that arrived again after delivery: ignored.
        public var reliableDuplicates: UInt64 = 0
        public var fragmentsSent: UInt64 = 0
        public var fragmentsReceived: UInt64 = 0

        /// Arrived in a packet older than one already delivered from: dropped (newest wins).
        public var unreliableStale: UInt64 = 0

        public init() {}
    }

    public init() {}
}
