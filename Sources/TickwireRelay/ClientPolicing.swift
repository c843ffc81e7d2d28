import TickwireProtocol

/// One client's standing against `RelayLimits`: token buckets for its events, and leaky counts
/// of rate strikes and protocol violations that forgive one unit a second. Time is passed in;
/// everything refills lazily when touched.
struct ClientPolicing {
    private(set) var eventTokens: Double
    private(set) var byteTokens: Double
    private(set) var strikes = 0.0
    private(set) var violations = 0.0
    private var refilledAt: TickwireInstant
    /// When the client last sent a payload packet (anything above netcode keep-alives).
    var lastPayload: TickwireInstant
    /// When the client was last told an event was refused (told at most once a second).
    var lastNotice: TickwireInstant?

    init(limits: RelayLimits, now: TickwireInstant) {
        eventTokens = limits.eventBurst
        byteTokens = limits.eventByteBurst
        refilledAt = now
        lastPayload = now
    }

    private mutating func refill(_ limits: RelayLimits, now: TickwireInstant) {
        guard now > refilledAt else { return }
        let seconds = (now - refilledAt).secondsDouble
        refilledAt = now
        eventTokens = min(limits.eventBurst, eventTokens + seconds * limits.eventsPerSecond)
        byteTokens = min(limits.eventByteBurst, byteTokens + seconds * limits.eventBytesPerSecond)
        strikes = max(0, strikes - seconds)
        violations = max(0, violations - seconds)
    }

    /// Takes one event of `bytes` from the buckets; false (and a strike) when either is empty.
    mutating func admitEvent(bytes: Int, limits: RelayLimits, now: TickwireInstant) -> Bool {
        refill(limits, now: now)
        guard eventTokens >= 1, byteTokens >= Double(bytes) else {
            strikes += 1
            return false
        }
        eventTokens -= 1
        byteTokens -= Double(bytes)
        return true
    }

    /// A refusal the sender could have avoided (room busy): a strike, no tokens taken.
    mutating func strike(limits: RelayLimits, now: TickwireInstant) {
        refill(limits, now: now)
        strikes += 1
    }

    /// Records one protocol violation.
    mutating func violate(limits: RelayLimits, now: TickwireInstant) {
        refill(limits, now: now)
        violations += 1
    }

    func isAbusive(_ limits: RelayLimits) -> Bool { strikes > limits.abuseStrikes }
    func isViolating(_ limits: RelayLimits) -> Bool { violations > limits.violationBudget }

    /// Whether a refusal notice may go out now (and notes that one does).
    mutating func mayNotify(now: TickwireInstant) -> Bool {
        if let last = lastNotice, now - last < .seconds(1) { return false }
        lastNotice = now
        return true
    }
}
