import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// A swarm of bots against a running relay over real UDP sockets.
public struct SwarmConfiguration: Sendable {
    public var server: NetcodeAddress
    /// The key the relay was started with (the shared dev key in load tests).
    public var privateKey: [UInt8]
    public var protocolID: UInt64
    public var bots: Int = 100
    /// Bots per room; rooms are named room-1, room-2, ...
    public var botsPerRoom: Int = 10
    public var seconds: Double = 30
    /// Event loops the bots are spread over, whole rooms to a worker (each worker one thread).
    public var workers: Int = 1
    /// New bots connecting per second (a gentle ramp avoids a connect storm unless wanted).
    public var joinsPerSecond: Double = 200
    public var behaviour = BotBehaviour()
    public var timeoutSeconds: Int32 = 10
    /// Impairment applied inside this process to every bot, both directions.
    public var link: ImpairmentProfile = .perfect
    public var seed: UInt64 = 1
    /// Events stop this long before the end so the last ones can arrive before the checks.
    public var drainSeconds: Double = 3
    /// First bot's client id (others follow), so several swarms can share a relay.
    public var firstClientID: UInt64 = 1_000_000
    /// One hostile client in room-1 besides the bots, joining `hostileJoinSeconds` in.
    public var hostile: HostileBehaviour?
    public var hostileJoinSeconds: Double = 2
    /// How long a bot's acks may wait for a state or event to ride on (`RelayClientCore`'s ack delay).
    public var clientAckDelay: Duration = RelayClientCore.defaultAckDelay
    /// Get each bot's token from the relay's join API when it is due to join, as a game backend
    /// would (its connect time then runs from the request); nil: mint tokens with `privateKey`.
    public var joinAPI: JoinAPIClient?
    /// Player populations: each bot's link is its population's preset (in place of `link`).
    public var mix: PopulationMix?
    /// Record every bot's link as it observed it into `DIR/swarm.trace` (`--record-trace DIR`).
    public var recordTrace: String?

    public init(server: NetcodeAddress, privateKey: [UInt8], protocolID: UInt64) {
        self.server = server
        self.privateKey = privateKey
        self.protocolID = protocolID
    }

    public func validate() throws(SwarmError) {
        guard joinAPI != nil || privateKey.count == 32 else {
            throw .invalid("the key must be 32 bytes (64 hex characters), as given to `tickwire serve`; or use --join-api")
        }
        guard (1...4000).contains(bots) else { throw .invalid("--bots must be 1...4000, got \(bots)") }
        guard (1...RelayConfiguration.roomCapacities.upperBound).contains(botsPerRoom) else {
            throw .invalid("--bots-per-room must be 1...4096, got \(botsPerRoom)")
        }
        guard seconds > drainSeconds, seconds <= 86_400 else { throw .invalid("--seconds must be more than \(drainSeconds) and at most a day") }
        guard (1...256).contains(workers) else { throw .invalid("--workers must be 1...256, got \(workers)") }
        guard joinsPerSecond > 0 else { throw .invalid("--joins-per-second must be positive") }
        guard behaviour.stateRate >= 0, behaviour.stateRate <= 1000, behaviour.eventRate >= 0, behaviour.eventRate <= 1000 else {
            throw .invalid("--state-rate and --event-rate must be 0...1000 per second")
        }
        guard clientAckDelay >= .zero, clientAckDelay <= .milliseconds(500) else {
            throw .invalid("--client-ack-delay-ms must be 0...500, got \(clientAckDelay)")
        }
    }
}

public enum SwarmError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let why): why
        }
    }
}
