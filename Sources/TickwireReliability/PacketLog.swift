import TickwireProtocol

/// Every packet a connection sent that asked for an ack, every ack it got for one, and every
/// packet it accepted, with their times: what one end observed of its link, for a trace recorder
/// (`tickwire swarm --record-trace`). Off (nil) unless a recorder asks for it.
public struct PacketLog: Sendable {
    public struct Sent: Sendable, Equatable {
        public var sequence: UInt16
        public var at: TickwireInstant
        public var bytes: Int
        /// When an ack for it arrived; nil: none (yet).
        public var ackedAt: TickwireInstant?
    }

    public struct Received: Sendable, Equatable {
        public var sequence: UInt16
        public var at: TickwireInstant
        public var bytes: Int
        /// The server time of a snapshot it carried (µs on the server's clock), when it had one.
        public var serverMicros: UInt64?
    }

    public private(set) var sent: [Sent] = []
    public private(set) var received: [Received] = []
    /// Index in `sent` by sequence, for the acks of the newest 65536 packets.
    private var sentIndex: [UInt16: Int] = [:]

    public init() {}

    mutating func noteSent(sequence: UInt16, at: TickwireInstant, bytes: Int) {
        sentIndex[sequence] = sent.count
        sent.append(Sent(sequence: sequence, at: at, bytes: bytes))
    }

    mutating func noteAcked(sequence: UInt16, at: TickwireInstant) {
        guard let index = sentIndex[sequence], sent[index].ackedAt == nil else { return }
        sent[index].ackedAt = at
    }

    mutating func noteReceived(sequence: UInt16, at: TickwireInstant, bytes: Int) {
        received.append(Received(sequence: sequence, at: at, bytes: bytes))
    }

    /// The newest received packet carried a snapshot of this server time.
    public mutating func noteServerTime(_ micros: UInt64) {
        guard !received.isEmpty, received[received.count - 1].serverMicros == nil else { return }
        received[received.count - 1].serverMicros = micros
    }
}
