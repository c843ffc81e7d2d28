import TickwireReliability

/// How a relay runs its rooms. `validate()` says what is wrong and how to fix it.
public struct RelayConfiguration: Sendable {
    public var channels = ChannelConfiguration()
    /// Snapshots per second (1...240).
    public var tickRate = 60
    /// Clients one room holds; the next one is denied with `roomFull`.
    public var roomCapacity = 64
    /// Largest entity state a client may send, in bytes (1...1024).
    public var maxStateSize = 64
    /// Code snapshots against the client's newest acknowledged one. Off: every snapshot is full
    /// (for comparison and debugging; costs far more bandwidth).
    public var deltaCompression = true
    /// Packets a client may be sent per update (bounds fragment bursts).
    public var maxPacketsPerUpdate = 8
    /// How long a denied client is kept to receive its reason before it is disconnected.
    public var denialLinger: Duration = .seconds(1)
    /// What one client may send and how it must keep up before it is refused or removed.
    public var limits = RelayLimits()
    /// How long the server's acks may wait for a packet with data. Nil: one tick period plus
    /// 4 ms (at most 500 ms), so every ack rides on a snapshot and the server sends no ack-only
    /// packets.
    public var ackDelay: Duration?
    /// How long a relayed event (or a join, leave or notice) may wait for a packet that leaves
    /// anyway, a snapshot at the next tick, before it is sent alone: the `nextDeadline` a
    /// `receive` that queued one sets. Nil (the default): one tick period, at most 20 ms
    /// (`effectiveRelayDelay`). At 60 Hz every event then rides on the next snapshot, at most
    /// 16.7 ms later, instead of costing each recipient a packet of its own; at lower tick rates
    /// an event waits at most 20 ms. A game that wants events sooner than the next tick sets it
    /// lower (0 ... 500 ms) and pays a packet per recipient for each early send.
    public var relayDelay: Duration?
    public static let maxRelayDelay: Duration = .milliseconds(500)

    /// `relayDelay`, or its default.
    public var effectiveRelayDelay: Duration {
        relayDelay ?? min(.nanoseconds(1_000_000_000 / Int64(max(1, tickRate))), .milliseconds(20))
    }

    /// The channel configuration of each client's connection on the server. Its sent-packet
    /// ring holds about 2 s of packets at the tick rate (one packet a tick): 128 records at 60 Hz,
    /// 64 at 30 Hz or less, at most the channels' own size. That is twice the longest resend
    /// wait; a packet whose ack comes later than that is counted lost and its messages resent.
    /// (At 60 Hz it saves 4 KB a client against the 256 a client keeps.)
    public var serverChannels: ChannelConfiguration {
        var server = channels
        server.maxAckDelay = ackDelay ?? min(.nanoseconds(1_000_000_000 / Int64(max(1, tickRate))) + .milliseconds(4), .milliseconds(500))
        var records = 64
        while records < 2 * tickRate && records < channels.sentPacketBufferSize { records *= 2 }
        server.sentPacketBufferSize = min(records, max(64, channels.sentPacketBufferSize))
        return server
    }

    public init() {}

    public static let tickRates = 1...240
    public static let stateSizes = 1...1024
    public static let roomCapacities = 1...4096

    public func validate() throws(RelayConfigurationError) {
        do { try serverChannels.validate() } catch { throw .invalid("channels: \(error)") }
        guard Self.tickRates.contains(tickRate) else {
            throw .invalid("tick rate (--tick-rate) must be 1...240 Hz, got \(tickRate)")
        }
        guard Self.stateSizes.contains(maxStateSize) else {
            throw .invalid("state size (--state-size) must be 1...1024 bytes, got \(maxStateSize)")
        }
        guard Self.roomCapacities.contains(roomCapacity) else {
            throw .invalid("room capacity (--room-capacity) must be 1...4096 clients, got \(roomCapacity)")
        }
        if let relayDelay, relayDelay < .zero || relayDelay > Self.maxRelayDelay {
            throw .invalid("relay delay (--relay-delay-ms) must be 0...500 ms, got \(relayDelay)")
        }
        guard maxPacketsPerUpdate >= 1 else { throw .invalid("maxPacketsPerUpdate must be at least 1") }
        try limits.validate(channels: channels)
    }
}

public enum RelayConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let why): why
        }
    }
}
