import ArgumentParser
import TickwireProtocol
import TickwireRelay

/// `tickwire serve`'s abuse limits (see `RelayLimits` and the README's "Abuse limits").
struct LimitOptions: ParsableArguments {
    @Option(help: "Largest event payload a client may send, in bytes (1...65527); larger ones are refused to the sender.")
    var maxEventBytes: Int = RelayLimits().maxEventBytes
    @Option(help: "Events a client may send per second, sustained.") var eventRate: Double = RelayLimits().eventsPerSecond
    @Option(help: "Events a client may send at once above the rate.") var eventBurst: Double = RelayLimits().eventBurst
    @Option(help: "Event bytes a client may send per second, sustained.") var eventBytesRate: Double = RelayLimits().eventBytesPerSecond
    @Option(help: "Event bytes a client may send at once (at least --max-event-bytes).") var eventBytesBurst: Double = RelayLimits().eventByteBurst
    @Option(help: "Events over the rate (forgiven at one a second) before the sender is removed for abuse.")
    var abuseStrikes: Double = RelayLimits().abuseStrikes
    @Option(help: "Protocol violations (forgiven at one a second) before the client is removed.")
    var violationBudget: Double = RelayLimits().violationBudget
    @Option(help: "Seconds without a fresh ack, while still sending, before a client is removed as backlogged.")
    var ackTimeout: Double = RelayLimits().ackTimeout.secondsDouble
    @Option(help: "Seconds a reliable message may wait for its ack before the client is removed as backlogged.")
    var reliableTimeout: Double = RelayLimits().reliableTimeout.secondsDouble
    @Option(help: "Seconds of keep-alives only before a client is removed as idle.") var idleTimeout: Double = RelayLimits().idleTimeout.secondsDouble
    @Option(help: "Connection requests decrypted per second per source address (IPv6: per /64).") var requestsPerAddress: Double = NetcodeServerConfiguration.defaultRequestsPerSecondPerAddress
    @Option(help: "Connection requests one address may have decrypted at once above that rate.") var requestBurst: Double = NetcodeServerConfiguration.defaultRequestBurstPerAddress

    func apply(to limits: inout RelayLimits) {
        limits.maxEventBytes = maxEventBytes
        limits.eventsPerSecond = eventRate
        limits.eventBurst = eventBurst
        limits.eventBytesPerSecond = eventBytesRate
        limits.eventByteBurst = eventBytesBurst
        limits.abuseStrikes = abuseStrikes
        limits.violationBudget = violationBudget
        limits.ackTimeout = .seconds(ackTimeout)
        limits.reliableTimeout = .seconds(reliableTimeout)
        limits.idleTimeout = .seconds(idleTimeout)
    }
}
