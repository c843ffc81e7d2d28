import TickwireProtocol
import TickwireReliability

extension RelayServerCore {
    /// What a relay has counted: ticks, traffic, refusals and removals by reason.
    public struct Counters: Sendable, Equatable {
        public var ticks: UInt64 = 0
        /// Liveness sweeps run (every 100 ms: idle and backlogged clients), never in a tick's update.
        public var livenessSweeps: UInt64 = 0
        public var eventsRelayed: UInt64 = 0
        public var statesReceived: UInt64 = 0
        /// States over `maxStateSize`: dropped.
        public var statesOversized: UInt64 = 0
        /// Events addressed to a client id not in the sender's room.
        public var eventsToUnknownClient: UInt64 = 0
        /// Messages in no known relay format: dropped.
        public var malformedMessages: UInt64 = 0
        /// Channel packets refused (`ChannelConnection.ReceiveVerdict.invalid`).
        public var invalidChannelPackets: UInt64 = 0
        public var clientsRemoved: UInt64 = 0
        public var roomFullDenials: UInt64 = 0
        /// Clients whose token named a room this worker does not host.
        public var roomNotHostedDenials: UInt64 = 0
        public var resyncRequests: UInt64 = 0
        /// Clients removed, by reason (`clientsRemoved` is their sum).
        public var removedAbuse: UInt64 = 0
        public var removedBacklogged: UInt64 = 0
        public var removedIdle: UInt64 = 0
        public var removedProtocolViolation: UInt64 = 0
        /// Events not relayed, by reason.
        public var eventsRefusedTooLarge: UInt64 = 0
        public var eventsRefusedRateLimited: UInt64 = 0
        public var eventsRefusedRoomBusy: UInt64 = 0
        /// Invalid channel packets, malformed relay messages and oversized states, all counted
        /// against the sender's violation budget.
        public var protocolViolations: UInt64 = 0

        public func removed(_ reason: RemovalReason) -> UInt64 {
            switch reason {
            case .abuse: removedAbuse
            case .backlogged: removedBacklogged
            case .idle: removedIdle
            case .protocolViolation: removedProtocolViolation
            }
        }

        mutating func countRemoval(_ reason: RemovalReason) {
            clientsRemoved &+= 1
            switch reason {
            case .abuse: removedAbuse &+= 1
            case .backlogged: removedBacklogged &+= 1
            case .idle: removedIdle &+= 1
            case .protocolViolation: removedProtocolViolation &+= 1
            }
        }

        public func refused(_ reason: RelayMessage.RefusalReason) -> UInt64 {
            switch reason {
            case .eventTooLarge: eventsRefusedTooLarge
            case .rateLimited: eventsRefusedRateLimited
            case .roomBusy: eventsRefusedRoomBusy
            case .unknownRecipient: eventsToUnknownClient
            }
        }
    }
}

extension SnapshotEncoder.Counters {
    public mutating func add(_ other: SnapshotEncoder.Counters) {
        snapshots &+= other.snapshots
        fullSnapshots &+= other.fullSnapshots
        entitiesSent &+= other.entitiesSent
        entitiesDeferred &+= other.entitiesDeferred
        bytes &+= other.bytes
    }
}

extension LinkStats.Counters {
    /// Adds another connection's counters to these.
    public mutating func add(_ other: LinkStats.Counters) {
        packetsSent &+= other.packetsSent
        packetsReceived &+= other.packetsReceived
        packetsAcked &+= other.packetsAcked
        packetsLost &+= other.packetsLost
        packetsStale &+= other.packetsStale
        packetsDuplicate &+= other.packetsDuplicate
        packetsInvalid &+= other.packetsInvalid
        reliableMessagesSent &+= other.reliableMessagesSent
        reliableMessagesDelivered &+= other.reliableMessagesDelivered
        reliableResends &+= other.reliableResends
        reliableDuplicates &+= other.reliableDuplicates
        fragmentsSent &+= other.fragmentsSent
        fragmentsReceived &+= other.fragmentsReceived
        unreliableMessagesSent &+= other.unreliableMessagesSent
        unreliableMessagesDelivered &+= other.unreliableMessagesDelivered
        unreliableStale &+= other.unreliableStale
        unreliableDropped &+= other.unreliableDropped
    }
}
