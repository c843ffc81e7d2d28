import TickwireProtocol

/// Sizes, queues and timers of a connection's channels. Both ends must use the same values for
/// `maxPacketSize`, `receiveWindowSize`, `maxMessageSize` and `reassemblyBudget`: like
/// yojimbo, nothing is negotiated on the wire, and a peer that breaks these limits has its
/// packets refused as invalid.
public struct ChannelConfiguration: Sendable, Equatable {
    /// Largest Tickwire packet (header and records); netcode payloads carry at most 1200 bytes.
    public var maxPacketSize = Netcode.maxPayloadBytes
    /// Largest reliable message; larger ones are refused by `sendReliable`.
    public var maxMessageSize = 64 * 1024
    /// Reliable messages that may wait unacknowledged; `sendReliable` throws when it is full.
    public var sendQueueCapacity = 1024
    /// Reliable messages the receiver buffers ahead of the next one it delivers (and so the most
    /// the sender keeps in flight). Power of two.
    public var receiveWindowSize = 1024
    /// Bytes of fragmented (multi-packet) messages the sender keeps in flight at once, and so the
    /// most reassembly memory a peer can make the receiver hold (one message is always allowed,
    /// however large).
    public var reassemblyBudget = 256 * 1024
    /// Bytes of whole reliable messages the receiver holds ahead of the one it delivers next
    /// (and so the most the sender keeps in flight at once; one message is always allowed).
    /// A peer that sends past it has the packet refused as `receive_budget_exceeded`.
    public var receiveBufferBudget = 64 * 1024
    /// Bytes of reliable messages the sender queues until acked; `sendReliable` throws beyond it.
    public var sendQueueByteLimit = 256 * 1024
    /// How long an owed ack may wait for a packet that carries data before it goes alone (QUIC's
    /// max_ack_delay). Zero: every packet received is acked by the next `writePacket`. A peer's
    /// RTT estimate includes up to this delay.
    public var maxAckDelay: Duration = .zero
    /// Reliable records in one packet.
    public var maxMessagesPerPacket = 64
    /// Unreliable messages waiting for the next packet; older ones are dropped beyond this.
    public var unreliableQueueCapacity = 64
    /// Sent-packet records kept for acks (power of two): 256 is 4 s of packets at 60 a second,
    /// far past the longest resend wait; a packet evicted unacked is settled as lost.
    public var sentPacketBufferSize = 256
    /// Received-packet window for acks, stale and duplicate checks (power of two, ≥ 64).
    public var receivedPacketBufferSize = 256
    /// Resend wait before the first RTT sample.
    public var initialResendInterval: Duration = .milliseconds(100)
    /// Bounds on the RTT-based resend wait (smoothed RTT + 4 × deviation).
    public var minResendInterval: Duration = .milliseconds(10)
    public var maxResendInterval: Duration = .seconds(1)
    /// Bytes counted per packet on top of the Tickwire packet for bandwidth figures:
    /// IPv4 + UDP (28) and netcode's prefix, sequence and MAC (about 18).
    public var overheadBytesPerPacket = 46
    /// Also hand over unreliable messages from packets older than one already delivered from
    /// (they still count as stale). Off: newest wins. A receiver that keeps its own order,
    /// such as a snapshot decoder whose baselines are acked per packet, turns it on.
    public var deliverStaleUnreliable = false

    public init() {}

    /// Payload bytes carried by each fragment of a message too large for one packet.
    public var fragmentSize: Int { maxPacketSize - PacketHeader.maximumSize - ChannelRecord.fragmentHeaderSize }
    /// Largest reliable message sent whole in one record.
    public var maxUnfragmentedSize: Int { maxPacketSize - PacketHeader.maximumSize - ChannelRecord.messageHeaderSize }
    /// Largest unreliable message (unreliable messages are never fragmented).
    public var maxUnreliableSize: Int { maxPacketSize - PacketHeader.maximumSize - ChannelRecord.unreliableHeaderSize }
    public var maxFragments: Int { max(2, (maxMessageSize + fragmentSize - 1) / fragmentSize) }

    public func validate() throws(ChannelConfigurationError) {
        func powerOfTwo(_ value: Int, _ name: String, _ range: ClosedRange<Int>) throws(ChannelConfigurationError) {
            guard range.contains(value), value.nonzeroBitCount == 1 else {
                throw .invalid("\(name) must be a power of two in \(range.lowerBound)...\(range.upperBound), got \(value)")
            }
        }
        guard (64...Netcode.maxPayloadBytes).contains(maxPacketSize) else {
            throw .invalid("maxPacketSize must be 64...\(Netcode.maxPayloadBytes), got \(maxPacketSize)")
        }
        guard (1...(16 << 20)).contains(maxMessageSize) else { throw .invalid("maxMessageSize must be 1...16 MiB, got \(maxMessageSize)") }
        guard maxFragments <= Int(UInt16.max) else { throw .invalid("maxMessageSize needs more than 65535 fragments") }
        try powerOfTwo(receiveWindowSize, "receiveWindowSize", 16...0x4000)
        try powerOfTwo(sentPacketBufferSize, "sentPacketBufferSize", 64...0x8000)
        try powerOfTwo(receivedPacketBufferSize, "receivedPacketBufferSize", 64...0x8000)
        guard (1...0x4000).contains(sendQueueCapacity) else { throw .invalid("sendQueueCapacity must be 1...16384, got \(sendQueueCapacity)") }
        guard reassemblyBudget >= 0 else { throw .invalid("reassemblyBudget must not be negative") }
        guard receiveBufferBudget >= maxUnfragmentedSize else {
            throw .invalid("receiveBufferBudget must be at least one unfragmented message (\(maxUnfragmentedSize) bytes), got \(receiveBufferBudget)")
        }
        guard sendQueueByteLimit >= maxMessageSize else {
            throw .invalid("sendQueueByteLimit must be at least maxMessageSize (\(maxMessageSize) bytes), got \(sendQueueByteLimit)")
        }
        guard maxMessagesPerPacket >= 1 else { throw .invalid("maxMessagesPerPacket must be at least 1") }
        guard unreliableQueueCapacity >= 1 else { throw .invalid("unreliableQueueCapacity must be at least 1") }
        guard maxAckDelay >= .zero, maxAckDelay <= .milliseconds(500) else {
            throw .invalid("maxAckDelay must be 0...500 ms, got \(maxAckDelay)")
        }
        guard minResendInterval > .zero, minResendInterval <= maxResendInterval else {
            throw .invalid("resend interval bounds must satisfy 0 < min <= max")
        }
    }
}

public enum ChannelConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let message): return message }
    }
}

/// Why a message was refused at the API. Nothing refused ever enters a queue.
public enum ChannelSendError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Larger than the configured maximum for its channel.
    case messageTooLarge(size: Int, limit: Int)
    /// `sendQueueCapacity` reliable messages are still waiting for acks.
    case sendQueueFull(capacity: Int)
    /// The bytes waiting for acks would pass `sendQueueByteLimit`.
    case sendQueueBytesFull(limit: Int)

    public var description: String {
        switch self {
        case .messageTooLarge(let size, let limit): return "message of \(size) bytes exceeds the channel's limit of \(limit) bytes"
        case .sendQueueFull(let capacity): return "reliable send queue full (\(capacity) messages awaiting acks); retry after acks arrive"
        case .sendQueueBytesFull(let limit): return "reliable send queue full (\(limit) bytes awaiting acks); retry after acks arrive"
        }
    }
}
