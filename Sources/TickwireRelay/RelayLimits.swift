import TickwireReliability

/// What one client may do before the relay refuses its events or removes it. Every limit is
/// enforced per client on the server, counted by reason, and reported as a relay event.
///
/// * Events: at most `maxEventBytes` each (refused to the sender, never fanned out), within a
///   token bucket of `eventsPerSecond`/`eventBurst` messages and `eventBytesPerSecond`/
///   `eventByteBurst` bytes. An event over the rate is dropped and strikes the sender; past
///   `abuseStrikes` (forgiven at one a second) the sender is removed (`abuse`).
/// * Receivers are never removed for what another client sent: an event goes to every member
///   of the room or, when one of them has no room left in its send queue, to none (`room_busy`
///   to the sender).
/// * A client still sending to us that stops acknowledging (no fresh ack for `ackTimeout` while
///   packets await one, or its oldest reliable message unacked for `reliableTimeout`) is removed
///   (`backlogged`), busy room or quiet: snapshots ask for acks every tick.
/// * A client that sends nothing but netcode keep-alives for `idleTimeout` is removed (`idle`).
/// * Invalid channel packets, malformed relay messages, oversized states and fragment abuse
///   each cost one violation; past `violationBudget` (forgiven at one a second) the client is
///   removed (`protocol_violation`).
public struct RelayLimits: Sendable, Equatable {
    public var maxEventBytes = 16 * 1024
    public var eventsPerSecond = 60.0
    public var eventBurst = 120.0
    public var eventBytesPerSecond = 64.0 * 1024
    public var eventByteBurst = 128.0 * 1024
    public var abuseStrikes = 100.0
    public var violationBudget = 10.0
    public var ackTimeout: Duration = .seconds(5)
    public var reliableTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(10)
    /// Room kept free in every receiver's send queue for the relay's own notices (welcome,
    /// joins, leaves, refusals), so events can never crowd them out.
    public var controlHeadroomMessages = 32
    public var controlHeadroomBytes = 2048

    public init() {}

    public func validate(channels: ChannelConfiguration) throws(RelayConfigurationError) {
        let largest = RelayMessage.largestEvent(maxMessageSize: channels.maxMessageSize)
        guard (1...largest).contains(maxEventBytes) else {
            throw .invalid("max event size (--max-event-bytes) must be 1...\(largest) bytes (what one reliable message carries once framed), got \(maxEventBytes)")
        }
        guard eventsPerSecond > 0, eventBurst >= 1 else {
            throw .invalid("event rate (--event-rate) must be > 0 per second and its burst (--event-burst) at least 1, got \(eventsPerSecond)/s burst \(eventBurst)")
        }
        guard eventBytesPerSecond > 0, eventByteBurst >= Double(maxEventBytes) else {
            throw .invalid("event byte rate (--event-bytes-rate) must be > 0 and its burst (--event-bytes-burst) at least the max event size (\(maxEventBytes)), got \(eventBytesPerSecond)/s burst \(eventByteBurst)")
        }
        guard abuseStrikes >= 1, violationBudget >= 1 else {
            throw .invalid("abuse strikes (--abuse-strikes) and violation budget (--violation-budget) must be at least 1, got \(abuseStrikes) and \(violationBudget)")
        }
        guard ackTimeout >= .milliseconds(100), reliableTimeout >= .milliseconds(100), idleTimeout >= .milliseconds(100) else {
            throw .invalid("--ack-timeout, --reliable-timeout and --idle-timeout must be at least 0.1 s, got \(ackTimeout), \(reliableTimeout) and \(idleTimeout)")
        }
        guard controlHeadroomMessages >= 1, controlHeadroomMessages < channels.sendQueueCapacity,
              controlHeadroomBytes >= 0, controlHeadroomBytes + maxEventBytes + RelayMessage.maxOverhead <= channels.sendQueueByteLimit
        else {
            throw .invalid("control headroom (\(controlHeadroomMessages) messages, \(controlHeadroomBytes) bytes) plus one max event must fit the send queue (\(channels.sendQueueCapacity) messages, \(channels.sendQueueByteLimit) bytes)")
        }
    }
}

/// Why the relay removed a client.
public enum RemovalReason: String, Sendable, Equatable, CaseIterable {
    case abuse
    case backlogged
    case idle
    case protocolViolation = "protocol_violation"
}
