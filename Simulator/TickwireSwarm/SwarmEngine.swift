import CTickwireMemory
import NIOCore
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireSimulation
import TickwireTransport

/// The bots of one swarm worker on one event loop: one UDP socket each, one shared 10 ms update that
/// runs each bot's client core when its deadline has come and its bot logic when something reached
/// it or its turn has come, and batched writes (one flush per socket per update). Datagrams go through each bot's impaired pipes when the link is impaired.
final class SwarmEngine {
    // Parallel arrays, one entry per bot slot, so that one bot's parts can be borrowed at once.
    var cores: [RelayClientCore] = []
    var bots: [Bot?] = []
    private var ups: [ImpairedPipe] = []
    private var downs: [ImpairedPipe] = []
    private var writers: [DatagramBatchWriter] = []
    /// The send headers every bot's writer goes through (they write one at a time, on this
    /// engine's loop): one set, warm in cache, instead of one per bot.
    private let sendBatch = DatagramSendBatch()
    private var outbounds: [OutboundQueue] = []
    private var tokens: [ConnectToken?] = []
    /// Each bot's relay address (its token's first server).
    private var servers: [NetcodeAddress] = []
    /// In join-API mode: the relay process of the fleet each bot's room landed on, as the join
    /// API said (nil: a relay on its own, or no join API).
    private var placedOn: [String?] = []
    /// In join-API mode: asks for slot's token; the answer comes back through `tokenArrived` or
    /// `tokenRefused` on this engine's loop.
    var requestToken: ((Int) -> Void)?
    private var clientIDs: [UInt64] = []
    /// When each bot's core last ran `update`, and whether a datagram reached it since its bot last stepped.
    private var lastUpdates: [TickwireInstant] = []
    private var heardSince: [Bool] = []
    /// A core is updated when its deadline has come (`hostWake`), at most this often; the engine's
    /// shared update runs every 10 ms, so half that never skips a due one.
    static let minimumUpdateInterval: Duration = .milliseconds(5)
    /// Each bot's population (link preset name) in a mixed swarm.
    private var populations: [String?] = []
    private var rooms: [String] = []
    /// The hostile client's slot (after every bot's) and its script, when the swarm has one.
    private(set) var hostileSlot: Int?
    private(set) var hostile: HostileBot?

    let configuration: SwarmConfiguration
    let clock: MonotonicClock
    /// How many slots have started connecting.
    var started = 0
    /// The bots' staleness and event latency of the current second, merged for the progress window.
    var windowStaleness = WindowHistogram()
    var windowEvents = WindowHistogram()
    private var hostileBegun = false
    /// The swarm-wide number of this engine's first bot (engines of several workers share one numbering).
    var slotOffset = 0
    let startAt: TickwireInstant
    private let impaired: Bool

    init(configuration: SwarmConfiguration, clock: MonotonicClock) {
        self.configuration = configuration
        self.clock = clock
        startAt = clock.now()
        impaired = configuration.link != .perfect || configuration.mix != nil
    }

    var count: Int { cores.count }

    /// Lines a core spans inline in `cores`, and those of a bot in `bots` its turn in an update
    /// reads (its pacing and state, ahead of its recorders). Instance constants: static ones are
    /// lazy globals, checked on every use.
    private let coreLines = (MemoryLayout<RelayClientCore>.size + 63) / 64
    private let botTurnLines = 8

    /// Hint: fetch bot `slot`'s core, which a datagram for it is about to read. Each bot's state
    /// is cold in cache when an engine serves hundreds, and a bot's socket is read for one or two
    /// datagrams: the loop names the next ready socket's bot while it reads this one's.
    func prefetchCore(_ slot: Int) {
        guard slot >= 0, slot < cores.count else { return }
        let offset = slot &* MemoryLayout<RelayClientCore>.stride
        withUnsafeMutablePointer(to: &cores) { tickwire_prefetch_array_elements($0, offset, coreLines) }
    }

    /// Hint: fetch what bot `slot`'s turn in an update reads first, its core and the start of its bot.
    private func prefetchTurn(_ slot: Int) {
        prefetchCore(slot)
        let offset = slot &* MemoryLayout<Bot?>.stride
        withUnsafeMutablePointer(to: &bots) { tickwire_prefetch_array_elements($0, offset, botTurnLines) }
    }

    /// Adds a bot; `token` nil: it is asked for (`requestToken`) when the bot is due to join.
    func add(
        token: ConnectToken?, clientID: UInt64, room: String, socket: UDPSocket, seed: UInt64, hostile: HostileBehaviour? = nil,
        population: LinkPreset? = nil
    ) throws {
        if let hostile {
            hostileSlot = cores.count
            self.hostile = HostileBot(clientID: clientID, room: room, behaviour: hostile)
        }
        cores.append(try RelayClientCore(ackDelay: configuration.clientAckDelay))
        bots.append(nil)
        ups.append(ImpairedPipe(profile: population?.up ?? configuration.link, seed: seed))
        downs.append(ImpairedPipe(profile: population?.down ?? configuration.link, seed: seed ^ 0xD0D0))
        populations.append(population?.name)
        lastUpdates.append(.zero)
        heardSince.append(false)
        writers.append(DatagramBatchWriter(socket: socket, batch: sendBatch))
        outbounds.append(OutboundQueue(initialCapacity: 4096))
        tokens.append(token)
        servers.append(token?.serverAddresses.first ?? configuration.server)
        placedOn.append(nil)
        clientIDs.append(clientID)
        rooms.append(room)
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, slot i: Int) {
        let now = clock.now()
        if impaired && i != hostileSlot {
            downs[i].send(datagram, now: now)
        } else {
            cores[i].receive(datagram, from: address, now: now)
            heardSince[i] = true
        }
    }

    /// Connects slot `i` now if it has its token, or asks for it.
    private func begin(_ i: Int, now: TickwireInstant) {
        if configuration.recordTrace != nil, i != hostileSlot { cores[i].logPackets() }
        if let token = tokens[i] {
            cores[i].connect(token: token, now: now)
        } else if let requestToken {
            requestToken(i)
        }
    }

    func clientID(of slot: Int) -> UInt64 { clientIDs[slot] }
    func room(of slot: Int) -> String { rooms[slot] }

    func tokenArrived(_ i: Int, token: ConnectToken, server: NetcodeAddress, relay: String? = nil) {
        tokens[i] = token
        servers[i] = server
        placedOn[i] = relay
        if configuration.recordTrace != nil, i != hostileSlot, cores[i].channels.packetLog == nil { cores[i].logPackets() }
        cores[i].connect(token: token, now: clock.now())
    }

    func tokenRefused(_ i: Int, reason: String) {
        bots[i]?.fail(reason, now: clock.now())
    }

    /// Starts the bots whose join time has come (the ramp), up to `limit`.
    func startDue(now: TickwireInstant, limit: Int) {
        let due = Int(((now - startAt).secondsDouble * configuration.joinsPerSecond).rounded(.down)) + 1
        if let slot = hostileSlot, !hostileBegun, (now - startAt).secondsDouble >= configuration.hostileJoinSeconds {
            hostileBegun = true
            begin(slot, now: now)
        }
        while started < min(due, limit, hostileSlot ?? count) {
            let i = started
            // The bot exists from its join request: its connect time includes getting a token.
            bots[i] = Bot(clientID: clientIDs[i], room: rooms[i], behaviour: configuration.behaviour, seed: configuration.seed, now: now)
            started += 1
            begin(i, now: now)
        }
    }

    /// One update of every started bot: inbound, core, bot logic, outbound, one flush per socket.
    func update(sendEvents: Bool) {
        let now = clock.now()
        for i in 0..<started {
            // Two bots ahead: their lines arrive while this one and the next are served.
            if i + 2 < started { prefetchTurn(i + 2) }
            // A bot's core runs when its deadline has come, its bot when something reached it or
            // its own turn has come: a quiet bot costs a few comparisons per update.
            var acts = heardSince[i]
            heardSince[i] = false
            if impaired {
                while let datagram = downs[i].receive(now: now) {
                    cores[i].receive(datagram, from: servers[i], now: now)
                    acts = true
                }
            }
            if Self.isDue(&cores[i], lastUpdate: lastUpdates[i], now: now) {
                lastUpdates[i] = now
                cores[i].update(now: now)
                acts = true
            }
            Self.turn(of: &bots[i], core: &cores[i], acts: acts, sendEvents: sendEvents, now: now)
            flush(i, now: now)
        }
        if let slot = hostileSlot, cores[slot].phase != .idle {
            // The hostile client's bytes go straight out: the swarm's impairment is for the bots.
            if hostile!.behaviour.usesChannels { cores[slot].update(now: now) } else { cores[slot].updateNetcodeOnly(now: now) }
            hostile!.step(&cores[slot], now: now)
            writers[slot].write(&cores[slot].outbound)
        }
    }

    /// Whether `core` has work now. Taken in place: `cores[i]` read through this class is a copy
    /// of the whole core, retaining and releasing each of its buffers, per bot per update.
    private static func isDue(_ core: inout RelayClientCore, lastUpdate: TickwireInstant, now: TickwireInstant) -> Bool {
        guard let wake = core.hostWake(lastUpdate: lastUpdate, minimumInterval: minimumUpdateInterval) else { return false }
        return wake <= now
    }

    /// A started bot's part of an update: it steps if something reached it or its turn has come.
    /// Taken in place: `bots[i]!.nextActionAt` read through this class copied the whole bot (its
    /// recorders, histograms and staged samples), retaining and releasing each of its buffers.
    private static func turn(of bot: inout Bot?, core: inout RelayClientCore, acts: Bool, sendEvents: Bool, now: TickwireInstant) {
        if bot!.sendsEvents != sendEvents { bot!.sendsEvents = sendEvents }
        if acts || bot!.nextActionAt.map({ $0 <= now }) ?? false || !bot!.isJoined {
            bot!.step(&core, now: now)
        }
    }

    /// Whether `core` has datagrams to write, read in place (as `isDue`).
    private static func hasOutbound(_ core: inout RelayClientCore) -> Bool { core.hasOutbound }

    func flush(_ i: Int, now: TickwireInstant) {
        if impaired {
            cores[i].outbound.forEach { _, bytes in ups[i].send(bytes, now: now) }
            cores[i].outbound.removeAll()
            while let datagram = ups[i].receive(now: now) {
                _ = outbounds[i].append(to: servers[i], maxLength: datagram.count) { out in
                    datagram.withUnsafeBytes { out.copyMemory(from: $0) }
                    return datagram.count
                }
            }
            writers[i].write(&outbounds[i])
        } else if Self.hasOutbound(&cores[i]) {
            // Most updates find a bot with nothing to send: its writer (cold) is left alone then.
            writers[i].write(&cores[i].outbound)
        }
    }

    func disconnectAll() {
        let now = clock.now()
        for i in 0..<started {
            cores[i].disconnect(now: now)
            writers[i].write(&cores[i].outbound)
        }
        if let slot = hostileSlot {
            cores[slot].disconnect(now: now)
            writers[slot].write(&cores[slot].outbound)
        }
    }

    /// Where each started bot (that got a token) landed: relay, server address, room.
    var landed: [(relay: String?, server: String, room: String)] {
        (0..<started).compactMap { i in tokens[i] == nil || i == hostileSlot ? nil : (placedOn[i], servers[i].description, rooms[i]) }
    }

    /// Each started bot's link as it observed it (with `recordTrace`), in bot order.
    var traceLinks: [NetworkTrace.Link] {
        let now = clock.now()
        return (0..<started).compactMap { i in
            guard i != hostileSlot, let log = cores[i].channels.packetLog, let bot = bots[i] else { return nil }
            return TraceRecorder.link(from: log, start: bot.startedAt, end: now)
        }
    }

    var outcomes: [BotOutcome] {
        (0..<started).compactMap { i in
            guard let bot = bots[i] else { return nil }
            var outcome = BotOutcome(number: slotOffset + i + 1, bot: bot, core: cores[i])
            outcome.population = populations[i]
            return outcome
        }
    }
}

/// The socket side of one bot: hands datagrams to the engine with the bot's slot number.
final class SwarmBotEndpoint: DatagramEndpoint {
    let slot: Int
    weak var engine: SwarmEngine?

    init(slot: Int, engine: SwarmEngine) {
        self.slot = slot
        self.engine = engine
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
        engine?.receive(datagram, from: address, slot: slot)
    }

    func willRead() { engine?.prefetchCore(slot) }

    func readBatchComplete() {}
}
