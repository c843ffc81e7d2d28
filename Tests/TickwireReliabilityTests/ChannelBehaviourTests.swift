import Testing
import TickwireProtocol
import TickwireReliability
import TickwireSimulation

@Suite struct ChannelBehaviourTests {
    let configuration = ChannelConfiguration()

    @Test func oversizedMessagesAreRefusedAtTheAPI() throws {
        var connection = try ChannelConnection()
        let tooBig = [UInt8](repeating: 1, count: configuration.maxMessageSize + 1)
        #expect(throws: ChannelSendError.messageTooLarge(size: tooBig.count, limit: configuration.maxMessageSize)) {
            try connection.sendReliable(tooBig)
        }
        let tooBigUnreliable = [UInt8](repeating: 1, count: configuration.maxUnreliableSize + 1)
        #expect(throws: ChannelSendError.messageTooLarge(size: tooBigUnreliable.count, limit: configuration.maxUnreliableSize)) {
            try connection.sendUnreliable(tooBigUnreliable)
        }
        #expect(connection.reliableMessagesInFlight == 0)
        // The largest allowed message still goes through.
        try connection.sendReliable([UInt8](repeating: 2, count: configuration.maxMessageSize))
        try connection.sendUnreliable([UInt8](repeating: 2, count: configuration.maxUnreliableSize))
    }

    @Test func fullSendQueueThrowsAndRecoversAfterAcks() throws {
        var config = ChannelConfiguration()
        config.sendQueueCapacity = 8
        var pair = try ChannelPair(profile: ImpairmentProfile(latency: .milliseconds(20)), seed: 1, configuration: config)
        for n in 0..<8 { try pair.a.sendReliable([UInt8(n)]) }
        #expect(!pair.a.canSendReliable)
        #expect(throws: ChannelSendError.sendQueueFull(capacity: 8)) { try pair.a.sendReliable([9]) }
        for _ in 0..<10 { pair.step() }
        #expect(pair.a.reliableMessagesInFlight == 0)
        try pair.a.sendReliable([9])
        var received: [[UInt8]] = []
        for _ in 0..<10 { pair.step() }
        while let message = pair.b.receiveReliable() { received.append(message) }
        #expect(received == (0..<8).map { [UInt8($0)] } + [[9]], "the refused message was never queued")
    }

    @Test func largeMessageTravelsAsSeveralFragmentsPerTick() throws {
        var pair = try ChannelPair(profile: ImpairmentProfile(latency: .milliseconds(20)), seed: 2)
        pair.packetsPerTick = 8
        let message = (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try pair.a.sendReliable(message)
        pair.step()
        let fragments = configuration.maxFragments
        #expect(pair.a.stats.counters.fragmentsSent == 8, "one tick sends eight full fragments, not one")
        var delivered: [UInt8]?
        var ticks = 1
        while delivered == nil && ticks < 100 {
            pair.step()
            ticks += 1
            delivered = pair.b.receiveReliable()
        }
        #expect(delivered == message)
        #expect(ticks <= (fragments + 7) / 8 + 4)
        #expect(pair.b.stats.counters.fragmentsReceived == UInt64((message.count + configuration.fragmentSize - 1) / configuration.fragmentSize))
    }

    /// The receive window starts with a few slots and grows when messages arrive far ahead of
    /// the next one to deliver (here: hundreds queued at once under heavy loss); messages held
    /// when it grows keep their order.
    @Test func aReceiveWindowThatGrowsUnderLossStillDeliversEveryMessageInOrder() throws {
        var pair = try ChannelPair(profile: ImpairmentProfile(latency: .milliseconds(30), loss: 0.3), seed: 11)
        pair.packetsPerTick = 8
        for n in 0..<600 { try pair.a.sendReliable([UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8), 7, 7]) }
        var received: [[UInt8]] = []
        for _ in 0..<2000 where received.count < 600 {
            pair.step()
            while let message = pair.b.receiveReliable() { received.append(message) }
        }
        #expect(received == (0..<600).map { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8), 7, 7] })
        #expect(pair.b.stats.counters.reliableDuplicates > 0, "loss made the sender resend, so some copies arrived twice")
    }

    @Test func severalMessagesShareOnePacket() throws {
        var pair = try ChannelPair(profile: .perfect, seed: 3)
        for n in 0..<50 { try pair.a.sendReliable([UInt8](repeating: UInt8(n), count: 10)) }
        pair.step()
        #expect(pair.a.stats.counters.packetsSent == 1)
        pair.step()
        var count = 0
        while pair.b.receiveReliable() != nil { count += 1 }
        #expect(count == 50)
    }

    @Test func resendWaitFollowsTheMeasuredRTT() throws {
        var pair = try ChannelPair(profile: ImpairmentProfile(latency: .milliseconds(150)), seed: 4)
        #expect(pair.a.stats.resendIntervalMilliseconds == 100, "before any sample: the initial interval")
        for _ in 0..<120 {
            try pair.a.sendUnreliable([1])
            try pair.b.sendUnreliable([2])
            pair.step()
        }
        let stats = pair.a.stats
        #expect(abs(stats.rttMilliseconds - 300) < 25, "RTT \(stats.rttMilliseconds) ms on a 150 ms each-way link")
        #expect(stats.resendIntervalMilliseconds >= stats.rttMilliseconds)
        #expect(stats.resendIntervalMilliseconds < 400)
    }

    @Test func unreliableIsSentOnceAndNewestWins() throws {
        var pair = try ChannelPair(profile: ImpairmentProfile(latency: .milliseconds(10), loss: 0.3), seed: 5)
        var received: [UInt8] = []
        for n in 0..<600 {
            try pair.a.sendUnreliable([UInt8(truncatingIfNeeded: n)])
            pair.step(unreliableAtB: { received.append($0[0]) })
        }
        for _ in 0..<5 { pair.step(unreliableAtB: { received.append($0[0]) }) }
        let stats = pair.a.stats.counters
        #expect(stats.unreliableMessagesSent == 600)
        #expect(stats.reliableResends == 0)
        #expect(received.count < 500 && received.count > 350, "about 30% lost and never resent: \(received.count)")
        // Delivered in send order, never going back.
        var previous = -1
        var wraps = 0
        for value in received {
            if Int(value) < previous { wraps += 1 }
            previous = Int(value)
        }
        #expect(wraps <= 600 / 256 + 1)
    }

    @Test func olderUnreliablePacketIsDiscardedAfterANewerOne() throws {
        var sender = try ChannelConnection()
        var receiver = try ChannelConnection()
        var packets: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 1200)
        for n in 0..<2 {
            try sender.sendUnreliable([UInt8(n)])
            let length = buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: .zero) }
            packets.append(Array(buffer[0..<length]))
        }
        var delivered: [UInt8] = []
        #expect(receiver.receive(packets[1], now: .zero) { delivered.append($0[0]) } == .accepted)
        #expect(receiver.receive(packets[0], now: .zero) { delivered.append($0[0]) } == .accepted)
        #expect(delivered == [1])
        #expect(receiver.stats.counters.unreliableStale == 1)
    }

    @Test func reliableGoesFirstAndStateFillsWhatIsLeft() throws {
        var sender = try ChannelConnection()
        var buffer = [UInt8](repeating: 0, count: 1200)
        // Reliable traffic that fills a packet, and a 600-byte state blob.
        for _ in 0..<6 { try sender.sendReliable([UInt8](repeating: 7, count: 190)) }
        try sender.sendUnreliable([UInt8](repeating: 9, count: 600))
        let first = buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: .zero) }
        var receiver = try ChannelConnection()
        var state = 0
        _ = receiver.receive(Array(buffer[0..<first]), now: .zero) { _ in state += 1 }
        var reliable = 0
        while receiver.receiveReliable() != nil { reliable += 1 }
        #expect(reliable == 6)
        #expect(state == 0, "no room left for state in the first packet")
        // The state still goes in a second packet of the same tick, then the tick ends.
        let second = buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: .zero) }
        #expect(second > 600)
        sender.endTick()
        #expect(sender.stats.counters.unreliableDropped == 0)
        // A state message with no packet written before the tick ends is dropped, not kept.
        try sender.sendUnreliable([1])
        sender.endTick()
        #expect(sender.stats.counters.unreliableDropped == 1)
        #expect(buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: .zero) } == 0)
    }

    @Test func idleLinkAndSparseReliableTrafficAcrossSequenceWraps() throws {
        // Sends a packet every tick for 200,000 ticks (the 16-bit sequence wraps three times)
        // with a reliable message only every 5,000 ticks, then goes silent for ten minutes and
        // carries on: the failure yojimbo users hit (#69, #138, #146) must not occur.
        var pair = try ChannelPair(profile: ImpairmentProfile(latency: .milliseconds(40), loss: 0.02), seed: 6)
        var expected: [[UInt8]] = []
        var received: [[UInt8]] = []
        for tick in 0..<200_000 {
            if tick % 5000 == 0 {
                let message = [UInt8(truncatingIfNeeded: tick / 5000), 0xAB]
                expected.append(message)
                try pair.a.sendReliable(message)
            }
            try pair.a.sendUnreliable([0])
            try pair.b.sendUnreliable([0])
            pair.step()
            while let message = pair.b.receiveReliable() { received.append(message) }
            if tick == 120_000 { pair.now = pair.now + .seconds(600) }
        }
        for _ in 0..<60 { pair.step(); while let message = pair.b.receiveReliable() { received.append(message) } }
        #expect(received == expected)
        let a = pair.a.stats.counters, b = pair.b.stats.counters
        #expect(a.packetsInvalid == 0 && b.packetsInvalid == 0)
        #expect(a.packetsStale == 0 && b.packetsStale == 0)
        #expect(a.packetsSent > 200_000)
    }

    @Test func ackBitsCoverTheAckItselfAndTheThirtyOneBefore() throws {
        var sender = try ChannelConnection()
        var receiver = try ChannelConnection()
        var buffer = [UInt8](repeating: 0, count: 1200)
        var packets: [[UInt8]] = []
        for _ in 0..<40 {
            try sender.sendUnreliable([0])
            let length = buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: .zero) }
            packets.append(Array(buffer[0..<length]))
        }
        // Deliver 0..<40 except 35 and 38.
        for (n, packet) in packets.enumerated() where n != 35 && n != 38 { receiver.receive(packet, now: .zero) }
        let length = buffer.withUnsafeMutableBytes { receiver.writePacket(into: $0, now: .zero) }
        let header = try #require(PacketHeader.decode(Array(buffer[0..<length])))
        #expect(header.ack == 39)
        #expect(header.ackBits == ~(UInt32(1) << 1 | UInt32(1) << 4))
    }

    @Test func anAckHeldForDataWaitsUntilTheHoldThenGoesAlone() throws {
        var sender = try ChannelConnection()
        var receiver = try ChannelConnection()
        var buffer = [UInt8](repeating: 0, count: 1200)
        try sender.sendUnreliable([1, 2, 3])
        let length = buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: .zero) }
        _ = receiver.receive(Array(buffer[0..<length]), now: .zero)
        let at = { (ms: Int64) in TickwireInstant.zero + .milliseconds(ms) }
        // No hold, no delay: the ack is due at once.
        #expect(receiver.nextDeadline == .zero)
        receiver.ackHold = at(40)
        #expect(receiver.nextDeadline == at(40))
        #expect(receiver.pollTimeout() == at(40))
        #expect(buffer.withUnsafeMutableBytes { receiver.writePacket(into: $0, now: at(39)) } == 0)
        // Data before the hold carries the ack; while it waits to be written, the poll says now.
        try receiver.sendUnreliable([9])
        #expect(receiver.nextDeadline == at(40))
        #expect(receiver.pollTimeout() == .zero)
        let carried = buffer.withUnsafeMutableBytes { receiver.writePacket(into: $0, now: at(20)) }
        #expect(try #require(PacketHeader.decode(Array(buffer[0..<carried]))).ack == 0)
        #expect(receiver.nextDeadline == nil)
        // Owed again: alone at the hold, not before.
        try sender.sendUnreliable([4])
        let second = buffer.withUnsafeMutableBytes { sender.writePacket(into: $0, now: at(21)) }
        _ = receiver.receive(Array(buffer[0..<second]), now: at(21))
        #expect(buffer.withUnsafeMutableBytes { receiver.writePacket(into: $0, now: at(30)) } == 0)
        let alone = buffer.withUnsafeMutableBytes { receiver.writePacket(into: $0, now: at(40)) }
        #expect(try #require(PacketHeader.decode(Array(buffer[0..<alone]))).ack == 1)
    }

    @Test func aMessageWrittenInPlaceGetsTheRoomLeftAndArrivesAsUnreliable() throws {
        var sender = try ChannelConnection()
        var receiver = try ChannelConnection()
        var buffer = [UInt8](repeating: 0, count: 1200)
        var offered: [Int] = []
        let length = buffer.withUnsafeMutableBytes { raw in
            sender.writePacket(into: raw, now: .zero) { room in
                offered.append(room.count)
                for i in 0..<100 { room[i] = UInt8(i) }
                return 100
            }
        }
        #expect(offered == [sender.configuration.maxUnreliableSize], "an empty packet offers a whole unreliable message")
        var unreliable: [[UInt8]] = []
        #expect(receiver.receive(Array(buffer[0..<length]), now: .zero) { unreliable.append(Array($0)) } == .accepted)
        #expect(unreliable == [(0..<100).map { UInt8($0) }])
        // A large reliable message goes first; what is left is offered, and declining it writes no record.
        try sender.sendReliable([UInt8](repeating: 7, count: 1000))
        let second = buffer.withUnsafeMutableBytes { raw in
            sender.writePacket(into: raw, now: .zero) { room in
                offered.append(room.count)
                return 0
            }
        }
        #expect(offered[1] < 200)
        unreliable.removeAll()
        #expect(receiver.receive(Array(buffer[0..<second]), now: .zero) { unreliable.append(Array($0)) } == .accepted)
        #expect(unreliable.isEmpty)
        #expect(receiver.receiveReliable()?.count == 1000)
    }

    @Test func ackOnlyPacketsAreNotAckedSoAQuietLinkFallsSilent() throws {
        // One message each way, then nothing to say: after the acks have crossed, neither side
        // writes another packet (two peers acking each other's acks would never stop), and the
        // unanswered ack-only packets count neither as lost nor toward the RTT.
        var pair = try ChannelPair(profile: ImpairmentProfile(latency: .milliseconds(30)), seed: 11)
        try pair.a.sendReliable([1])
        try pair.b.sendReliable([2])
        for _ in 0..<10 { pair.step() }
        let sentAfterExchange = (pair.a.stats.counters.packetsSent, pair.b.stats.counters.packetsSent)
        for _ in 0..<600 { pair.step() }
        #expect(pair.a.stats.counters.packetsSent == sentAfterExchange.0)
        #expect(pair.b.stats.counters.packetsSent == sentAfterExchange.1)
        #expect(sentAfterExchange.0 <= 3 && sentAfterExchange.1 <= 3)
        #expect(pair.a.receiveReliable() == [2] && pair.b.receiveReliable() == [1])
        #expect(pair.a.stats.packetLossPercent == 0 && pair.b.stats.packetLossPercent == 0)
    }

    @Test func anAckReportsTheNewestTagOfThePacketsItAcknowledges() throws {
        var a = try ChannelConnection()
        var b = try ChannelConnection()
        var now = TickwireInstant.zero
        func carry(_ from: inout ChannelConnection, to: inout ChannelConnection, tag: UInt32?) -> Bool {
            var buffer = [UInt8](repeating: 0, count: 1200)
            let length = buffer.withUnsafeMutableBytes { from.writePacket(into: $0, now: now) }
            guard length > 0 else { return false }
            if let tag { from.tagLastPacket(tag) }
            Array(buffer[0..<length]).withUnsafeBytes { _ = to.receive($0, now: now) }
            return true
        }
        // Three packets a to b: tagged 7, tagged 9, untagged. None acks anything of b's.
        for tag in [7, 9, nil] as [UInt32?] {
            try a.sendUnreliable([1])
            #expect(carry(&a, to: &b, tag: tag))
            #expect(b.newestAckedTag == nil)
            now = now + .milliseconds(10)
        }
        // b's next packet acks all three: the highest tag among them.
        try b.sendUnreliable([2])
        #expect(carry(&b, to: &a, tag: nil))
        #expect(a.newestAckedTag == 9)
        // Its next acks nothing new: nil again, though the same acks ride along.
        now = now + .milliseconds(10)
        try b.sendUnreliable([3])
        #expect(carry(&b, to: &a, tag: nil))
        #expect(a.newestAckedTag == nil)
        // A packet tagged lower than one acked before still reports its own tag when first acked.
        try a.sendUnreliable([4])
        #expect(carry(&a, to: &b, tag: 2))
        try b.sendUnreliable([5])
        #expect(carry(&b, to: &a, tag: nil))
        #expect(a.newestAckedTag == 2)
    }
}
