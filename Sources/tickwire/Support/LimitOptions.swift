import ArgumentParser
import TickwireProtocol
import TickwireRelay

/// `tickwire serve`'s abuse limits (see `RelayLimits` and the README's "Abuse limits"). Each may
/// also come from the environment or the config file (`ServeSettings`); the defaults are
/// `RelayLimits()`'s.
struct LimitOptions: ParsableArguments {
    @Option(help: "Largest event payload a client may send, in bytes (1...65527; default \(RelayLimits().maxEventBytes)); larger ones are refused to the sender.")
    var maxEventBytes: Int?
    @Option(help: "Events a client may send per second, sustained (default \(RelayLimits().eventsPerSecond)).") var eventRate: Double?
    @Option(help: "Events a client may send at once above the rate (default \(RelayLimits().eventBurst)).") var eventBurst: Double?
    @Option(help: "Event bytes a client may send per second, sustained (default \(RelayLimits().eventBytesPerSecond)).") var eventBytesRate: Double?
    @Option(help: "Event bytes a client may send at once, at least --max-event-bytes (default \(RelayLimits().eventByteBurst)).") var eventBytesBurst: Double?
    @Option(help: "Events over the rate (forgiven at one a second) before the sender is removed for abuse (default \(RelayLimits().abuseStrikes)).")
    var abuseStrikes: Double?
    @Option(help: "Protocol violations (forgiven at one a second) before the client is removed (default \(RelayLimits().violationBudget)).")
    var violationBudget: Double?
    @Option(help: "Seconds without a fresh ack, while still sending, before a client is removed as backlogged (default \(RelayLimits().ackTimeout.secondsDouble)).")
    var ackTimeout: Double?
    @Option(help: "Seconds a reliable message may wait for its ack before the client is removed as backlogged (default \(RelayLimits().reliableTimeout.secondsDouble)).")
    var reliableTimeout: Double?
    @Option(help: "Seconds of keep-alives only before a client is removed as idle (default \(RelayLimits().idleTimeout.secondsDouble)).") var idleTimeout: Double?
    @Option(help: "Connection requests decrypted per second per source address, IPv6 per /64 (default \(NetcodeServerConfiguration.defaultRequestsPerSecondPerAddress)).")
    var requestsPerAddress: Double?
    @Option(help: "Connection requests one address may have decrypted at once above that rate (default \(NetcodeServerConfiguration.defaultRequestBurstPerAddress)).")
    var requestBurst: Double?

    /// The options given on the command line, by name.
    var given: [String: [String]] {
        var flags: [String: [String]] = [:]
        func put(_ name: String, _ value: (some CustomStringConvertible)?) { if let value { flags[name] = [value.description] } }
        put("max-event-bytes", maxEventBytes)
        put("event-rate", eventRate)
        put("event-burst", eventBurst)
        put("event-bytes-rate", eventBytesRate)
        put("event-bytes-burst", eventBytesBurst)
        put("abuse-strikes", abuseStrikes)
        put("violation-budget", violationBudget)
        put("ack-timeout", ackTimeout)
        put("reliable-timeout", reliableTimeout)
        put("idle-timeout", idleTimeout)
        put("requests-per-address", requestsPerAddress)
        put("request-burst", requestBurst)
        return flags
    }

    static var settings: [ServeSettings.Setting] {
        let limits = RelayLimits()
        func number(_ name: String, _ value: Double) -> ServeSettings.Setting {
            ServeSettings.Setting(name: name, kind: .double, defaultText: ServeSettings.format(value))
        }
        return [
            ServeSettings.Setting(name: "max-event-bytes", kind: .int, defaultText: "\(limits.maxEventBytes)"),
            number("event-rate", limits.eventsPerSecond), number("event-burst", limits.eventBurst),
            number("event-bytes-rate", limits.eventBytesPerSecond), number("event-bytes-burst", limits.eventByteBurst),
            number("abuse-strikes", limits.abuseStrikes), number("violation-budget", limits.violationBudget),
            number("ack-timeout", limits.ackTimeout.secondsDouble), number("reliable-timeout", limits.reliableTimeout.secondsDouble),
            number("idle-timeout", limits.idleTimeout.secondsDouble),
            number("requests-per-address", NetcodeServerConfiguration.defaultRequestsPerSecondPerAddress),
            number("request-burst", NetcodeServerConfiguration.defaultRequestBurstPerAddress),
        ]
    }

    /// Sets the relay's limits from the resolved settings (`RelayLimits.validate` checks them
    /// together later; each one is checked for its own range here, naming its source).
    static func apply(_ settings: ServeSettings, to limits: inout RelayLimits) throws {
        let any = 0...Double.greatestFiniteMagnitude
        limits.maxEventBytes = try settings.int("max-event-bytes", in: 1...65527) ?? limits.maxEventBytes
        limits.eventsPerSecond = try settings.double("event-rate", in: any) ?? limits.eventsPerSecond
        limits.eventBurst = try settings.double("event-burst", in: any) ?? limits.eventBurst
        limits.eventBytesPerSecond = try settings.double("event-bytes-rate", in: any) ?? limits.eventBytesPerSecond
        limits.eventByteBurst = try settings.double("event-bytes-burst", in: any) ?? limits.eventByteBurst
        limits.abuseStrikes = try settings.double("abuse-strikes", in: any) ?? limits.abuseStrikes
        limits.violationBudget = try settings.double("violation-budget", in: any) ?? limits.violationBudget
        limits.ackTimeout = try settings.double("ack-timeout", in: 0...86_400).map { .seconds($0) } ?? limits.ackTimeout
        limits.reliableTimeout = try settings.double("reliable-timeout", in: 0...86_400).map { .seconds($0) } ?? limits.reliableTimeout
        limits.idleTimeout = try settings.double("idle-timeout", in: 0...86_400).map { .seconds($0) } ?? limits.idleTimeout
    }
}
