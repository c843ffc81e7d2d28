import Testing
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireSimulation

/// What a player holding a valid token can send, and what it must not achieve: stop the relay,
/// get other members removed, or hold memory and slots. Virtual time, fixed seeds.
@Suite struct RelayHardeningTests {
    /// A room of `honest` well-behaved clients (ids 1...) and one hostile one (id 99), all joined.
    static func room(honest: Int = 3, hostile: HostileBehaviour? = nil, configuration: RelayConfiguration = RelayConfiguration(),
                     seed: UInt64 = 21) throws -> VirtualRelay {
        var relay = try VirtualRelay(configuration: configuration, seed: seed)
        for id in 1...honest { try relay.addClient(clientID: UInt64(id), room: "r", timeoutSeconds: 10) }
        if let hostile {
            let index = try relay.addClient(clientID: 99, room: "r", timeoutSeconds: 10)
            relay.clients[index].sendsChannelPackets = hostile.usesChannels
        }
        let everyone = relay.clients.count
        #expect(relay.run(for: .seconds(5)) { $0.server.admittedClientCount == everyone })
        return relay
    }

    static func removals(_ relay: VirtualRelay) -> [(clientID: UInt64, reason: RemovalReason)] {
        relay.server.events.compactMap { if case .removed(_, let id, let reason, _) = $0 { (id, reason) } else { nil } }
    }

    /// Honest members' events at a fixed rate however often the relay wakes them (it wakes a
    /// client when something reaches it, so "on every wake" would depend on the server's timing):
    /// a member sends when its turn has come and is woken again at its next turn.
    struct EventPacer {
        let interval: Duration
        private var turns: [UInt64: TickwireInstant] = [:]

        init(interval: Duration) { self.interval = interval }

        mutating func turnHasCome(for client: inout VirtualRelay.Client, now: TickwireInstant) -> Bool {
            let turn = turns[client.clientID] ?? now
            let due = now >= turn
            if due { turns[client.clientID] = turn + interval }
            client.actsAt = turns[client.clientID]
            return due
        }
    }

    /// Runs a hostile bot against the room for `seconds`; returns when (if) it was removed.
    static func runHostile(_ relay: inout VirtualRelay, _ behaviour: HostileBehaviour, seconds: Int,
                           honestEvents: Bool = true) -> (bot: HostileBot, removedAt: TickwireInstant?) {
        var bot = HostileBot(clientID: 99, room: "r", behaviour: behaviour)
        let start = relay.now
        var removedAt: TickwireInstant?
        var counter: UInt8 = 0
        var pacer = EventPacer(interval: .milliseconds(100))
        while relay.now - start < .seconds(Int64(seconds)) {
            relay.advance(by: .milliseconds(10)) { client, now in
                if client.clientID == 99 {
                    // The relay keeps what clients heard; the hostile bot reads it from its core.
                    client.core.events = client.heard
                    client.heard.removeAll()
                    bot.step(&client.core, now: now)
                } else if honestEvents, pacer.turnHasCome(for: &client, now: now) {
                    counter &+= 1
                    try? client.core.sendEvent([0xAB, counter])
                }
            }
            if removedAt == nil, relay.server.counters.clientsRemoved > 0 { removedAt = relay.now }
        }
        return (bot, removedAt)
    }

    // MARK: The two datagrams that stopped the relay, and the state that stopped the swarm

    @Test func emptyUnreliableRecordFromAnAdmittedClientIsCountedNotFatal() throws {
        var relay = try Self.room()
        let before = relay.server.counters.malformedMessages
        // Ack header, then `03 00 00`: an unreliable record of length 0 (the first crash), and the
        // same followed by another record (the second variant).
        let header = PacketHeader(sequence: 0x4000, ack: 0, ackBits: 0).encoded()
        let sentFirst = relay.clients[0].core.sendRawPayload(header + [0x03, 0x00, 0x00], now: relay.now)
        let header2 = PacketHeader(sequence: 0x4001, ack: 0, ackBits: 0).encoded()
        let sentSecond = relay.clients[0].core.sendRawPayload(header2 + [0x03, 0x00, 0x00, 0x03, 0x02, 0x00, 0x20, 0x07], now: relay.now)
        #expect(sentFirst && sentSecond)
        relay.advance(by: .milliseconds(200))
        #expect(relay.server.counters.malformedMessages == before + 2)
        #expect(relay.server.counters.statesReceived >= 1)
        #expect(relay.server.standing(of: 0)?.violations ?? 0 >= 1.9)
        #expect(relay.server.admittedClientCount == 3)
    }

    @Test func twoFragmentsOfOneNewMessageWithDifferentCountsAreRefused() throws {
        var connection = try ChannelConnection()
        let fragmentSize = connection.configuration.fragmentSize
        let packet = PacketHeader(sequence: 0, ack: 0xFFFF, ackBits: 0).encoded()
            + HostileBot.fragment(id: 0, index: 1, count: 2, length: 100) + HostileBot.fragment(id: 0, index: 2, count: 3, length: 100)
        #expect(connection.receive(packet, now: .zero) == .invalid(.badFragment))
        // The slot is still empty afterwards, and a correct message with that id goes through.
        let good = PacketHeader(sequence: 1, ack: 0xFFFF, ackBits: 0).encoded()
            + HostileBot.fragment(id: 0, index: 0, count: 2, length: fragmentSize) + HostileBot.fragment(id: 0, index: 1, count: 2, length: 7)
        #expect(connection.receive(good, now: .zero) == .accepted)
        #expect(connection.receiveReliable()?.count == fragmentSize + 7)
    }

    @Test func aRoomFullClientSendingContradictoryFragmentsCannotStopTheRelay() throws {
        var configuration = RelayConfiguration()
        configuration.roomCapacity = 2
        var relay = try Self.room(honest: 2, configuration: configuration)
        let index = try relay.addClient(clientID: 50, room: "r")
        relay.clients[index].sendsChannelPackets = false
        #expect(relay.run(for: .seconds(2)) { $0.server.counters.roomFullDenials == 1 })
        let packet = PacketHeader(sequence: 0x4000, ack: 0, ackBits: 0).encoded()
            + HostileBot.fragment(id: 0, index: 1, count: 2, length: 100) + HostileBot.fragment(id: 0, index: 2, count: 3, length: 100)
        let sent = relay.clients[index].core.sendRawPayload(packet, now: relay.now)
        #expect(sent)
        relay.advance(by: .milliseconds(100))
        #expect(relay.server.counters.invalidChannelPackets == 1)
        #expect(relay.server.admittedClientCount == 2)
    }

    @Test func aBotSurvivesAPeerStateWithAnImpossibleTimestamp() throws {
        var relay = try VirtualRelay(seed: 22)
        relay.keepsHeard = false
        try relay.addClient(clientID: 1, room: "r")
        try relay.addClient(clientID: 2, room: "r")
        var bot = Bot(clientID: 1, room: "r", behaviour: BotBehaviour(), seed: 1, now: relay.now)
        relay.advance(by: .seconds(3)) { client, now in
            if client.clientID == 1 { bot.step(&client.core, now: now) } else {
                client.core.events.removeAll()
                // `20 ff ff ff ff ff ff ff ff`: a send time far past Int64.max nanoseconds.
                try? client.core.sendUnchecked(.state(payload: [UInt8](repeating: 0xFF, count: 8)), reliable: false)
            }
        }
        #expect(bot.implausibleTimestamps > 0)
        #expect(bot.isJoined)
    }

    // MARK: Abuse limits

    @Test func anEventFloodIsThrottledThenRemovedForAbuseAndNoReceiverIsRemoved() throws {
        var relay = try Self.room(hostile: .eventFlood)
        let (bot, removedAt) = Self.runHostile(&relay, .eventFlood, seconds: 5)
        #expect(Self.removals(relay).map(\.clientID) == [99])
        #expect(Self.removals(relay).first?.reason == .abuse)
        #expect(removedAt.map { $0 - relay.now < .seconds(5) } == true)
        #expect(relay.server.counters.eventsRefusedRateLimited > 0)
        #expect(bot.refusals[.rateLimited, default: 0] >= 1)
        #expect(relay.server.admittedClientCount == 3)
        // Honest members keep hearing each other after the flood.
        #expect(relay.clients[0].heard.contains { if case .event(2, _) = $0 { true } else { false } })
    }

    /// Reliable messages of a kind only a server sends, and ones that do not decode, are counted
    /// and held against their sender and reach nobody; the sender's next event is relayed.
    @Test func serverKindsAndMalformedReliableMessagesFromAClientReachNobody() throws {
        var relay = try Self.room()
        let malformed = relay.server.counters.malformedMessages
        let relayed = relay.server.counters.eventsRelayed
        try relay.clients[0].core.sendUnchecked(.event(from: 2, payload: [7]), reliable: true)
        try relay.clients[0].core.sendUnchecked(.refused(.roomBusy), reliable: true)
        // A welcome in this version cut short: it does not decode.
        try relay.clients[0].core.sendUnchecked(.welcomeInOtherVersion(protocolVersion: RelayMessage.protocolVersion, rest: [1]), reliable: true)
        relay.advance(by: .milliseconds(200))
        #expect(relay.server.counters.malformedMessages == malformed + 3)
        #expect(relay.server.counters.eventsRelayed == relayed)
        #expect(relay.server.standing(of: 0)?.violations ?? 0 >= 2.9)
        #expect(!relay.clients[1].heard.contains { if case .event = $0 { true } else { false } })
        try relay.clients[0].core.sendEvent([9, 9])
        relay.advance(by: .milliseconds(200))
        #expect(relay.server.counters.eventsRelayed == relayed + 2)
        #expect(relay.clients[1].heard.contains(.event(from: 1, payload: [9, 9])))
        #expect(relay.server.admittedClientCount == 3)
    }

    @Test func eventsToAClientNotInTheRoomCountAgainstTheSendersRate() throws {
        var relay = try Self.room()
        for _ in 0..<30 {
            relay.advance(by: .milliseconds(10)) { client, _ in
                if client.clientID == 1 { for _ in 0..<20 { try? client.core.sendEvent([1, 2, 3], to: 424_242) } }
            }
        }
        #expect(relay.server.counters.eventsToUnknownClient > 0)
        #expect(relay.server.counters.eventsRefusedRateLimited > 0)
        #expect(Self.removals(relay).map(\.clientID) == [1])
        #expect(Self.removals(relay).first?.reason == .abuse)
        #expect(relay.clients[0].heard.contains(.refused(.unknownRecipient)))
    }

    @Test func aGiantEventIsRefusedToItsSenderAndReachesNobody() throws {
        var relay = try Self.room(hostile: .giantEvent)
        let (bot, _) = Self.runHostile(&relay, .giantEvent, seconds: 3, honestEvents: false)
        #expect(relay.server.counters.eventsRefusedTooLarge >= 2)
        #expect(bot.refusals[.eventTooLarge, default: 0] >= 1)
        #expect(relay.server.counters.eventsRelayed == 0)
        #expect(relay.server.counters.removedBacklogged == 0)
        #expect(relay.server.admittedClientCount >= 3)
        // The client library refuses it before it leaves.
        #expect(throws: RelayClientError.eventTooLarge(size: 16_385, limit: 16_384)) {
            try relay.clients[0].core.sendEvent([UInt8](repeating: 0, count: 16_385))
        }
    }

    @Test func aClientThatNeverAcksIsRemovedAsBackloggedInAQuietRoom() throws {
        var relay = try Self.room(hostile: .neverAck)
        let (_, removedAt) = Self.runHostile(&relay, .neverAck, seconds: 8, honestEvents: false)
        #expect(Self.removals(relay).map(\.reason) == [.backlogged])
        let joined = try #require(removedAt)
        #expect(joined.seconds < relay.now.seconds)
        #expect(relay.server.admittedClientCount == 3)
    }

    @Test func aClientThatNeverAcksIsRemovedAsBackloggedInABusyRoomAndHoldsLittle() throws {
        var relay = try Self.room(hostile: .neverAck)
        let hostileSlot = relay.server.members(of: "r").last!
        var peak = 0
        var removed = false
        var bot = HostileBot(clientID: 99, room: "r", behaviour: .neverAck)
        var pacer = EventPacer(interval: .milliseconds(20))
        for _ in 0..<800 {
            relay.advance(by: .milliseconds(10)) { client, now in
                if client.clientID == 99 { bot.step(&client.core, now: now) } else if pacer.turnHasCome(for: &client, now: now) {
                    // 50 events a second of 200 bytes from each honest member: within the limits.
                    try? client.core.sendEvent([UInt8](repeating: 7, count: 200))
                }
            }
            if let bytes = relay.server.backlogBytes(of: hostileSlot) { peak = max(peak, bytes) } else { removed = true }
        }
        #expect(removed)
        #expect(Self.removals(relay).map(\.reason) == [.backlogged])
        #expect(peak > 50_000)
        #expect(peak <= ChannelConfiguration().sendQueueByteLimit)
        #expect(relay.server.admittedClientCount == 3)
    }

    @Test func aKeepAliveOnlyClientIsRemovedAsIdle() throws {
        var relay = try Self.room(hostile: .keepAliveOnly)
        let (_, removedAt) = Self.runHostile(&relay, .keepAliveOnly, seconds: 13, honestEvents: false)
        #expect(Self.removals(relay).map(\.reason) == [.idle])
        #expect(removedAt != nil)
        #expect(relay.server.admittedClientCount == 3)
    }

    @Test func fragmentAbuseAndMalformedStatesAreRemovedForProtocolViolations() throws {
        for behaviour in [HostileBehaviour.fragmentAbuse, .malformedState] {
            var relay = try Self.room(hostile: behaviour)
            let (_, removedAt) = Self.runHostile(&relay, behaviour, seconds: 3)
            #expect(Self.removals(relay).map(\.reason) == [.protocolViolation], "\(behaviour)")
            #expect(removedAt != nil)
            #expect(relay.server.admittedClientCount == 3)
        }
    }

    @Test func aSilentClientStillLeavesAsTimedOutNotIdleOrBacklogged() throws {
        var relay = try Self.room()
        relay.clients[2].up.isDown = true
        relay.clients[2].down.isDown = true
        relay.advance(by: .seconds(12))
        #expect(Self.removals(relay).isEmpty)
        #expect(relay.server.events.contains { if case .left(_, 3, _, .timedOut) = $0 { true } else { false } })
    }

    @Test func invalidLimitsNameTheOptionAndTheRange() {
        var configuration = RelayConfiguration()
        configuration.limits.maxEventBytes = 70_000
        #expect(throws: RelayConfigurationError.self) { try configuration.validate() }
        do { try configuration.validate() } catch {
            #expect(error.description.contains("max event size (--max-event-bytes) must be 1...65527"))
        }
    }
}
