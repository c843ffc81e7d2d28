import TickwireProtocol

/// One end of a connection's reliability layer, as a sans-IO state machine: packet acks, link
/// statistics, a reliable-ordered channel and an unreliable newest-wins channel.
///
/// ### Overview
/// Messages go in with `sendReliable` / `sendUnreliable`; `writePacket(into:now:)` builds the
/// next Tickwire packet (header, then reliable records, then unreliable ones, within the packet
/// budget) for the caller to send as a netcode payload; `receive(_:now:onUnreliable:)` takes the
/// peer's packets, and `receiveReliable` hands out reliable messages in order, exactly once.
/// Time is always passed in, so the same code runs over UDP and in virtual time.
///
/// ### Function
/// * Every packet carries a 16-bit sequence, the newest sequence received and 32 ack bits
///   (`PacketHeader`). Acked packets yield RTT samples; packets the acks have passed by settle
///   the loss estimate.
/// * Reliable messages get 16-bit ids. A message or fragment is sent again when no ack covered
///   it within smoothed RTT + 4 × deviation (clamped), and is gone from the queue once acked.
///   Messages larger than one packet are split into fragments; a packet carries as many records
///   as fit, and the caller may write several packets per tick.
/// * Unreliable messages are sent at most once: what does not fit this tick's packets is
///   dropped, and the receiver discards any that arrive in a packet older than one it already
///   delivered unreliable messages from.
/// * A packet that is malformed or breaks the channel rules is dropped whole and not acked,
///   so nothing in it is lost: the sender will send it again.
/// * Packets are assumed to arrive intact or not at all, as netcode's AEAD guarantees; a damaged
///   packet that still parses cannot be told from a good one at this layer.
public struct ChannelConnection {
    public enum ReceiveVerdict: Equatable, Sendable {
        case accepted
        case duplicate
        case stale
        case invalid(InvalidPacketReason)
    }

    public enum InvalidPacketReason: String, Equatable, Sendable, CaseIterable {
        case badHeader = "bad_header"
        case ackFromFuture = "ack_from_future"
        case unknownRecord = "unknown_record"
        case truncatedRecord = "truncated_record"
        case messageTooLarge = "message_too_large"
        case badFragment = "bad_fragment"
        case beyondReceiveWindow = "beyond_receive_window"
        case reassemblyBudgetExceeded = "reassembly_budget_exceeded"
        case receiveBudgetExceeded = "receive_budget_exceeded"
    }

    /// A validated configuration, held by reference so that many connections (a server's
    /// clients) share one: inline it would be three cache lines of each connection's state, and
    /// a server walks hundreds of connections a tick.
    public final class Settings: Sendable {
        public let configuration: ChannelConfiguration

        public init(_ configuration: ChannelConfiguration) throws(ChannelConfigurationError) {
            try configuration.validate()
            self.configuration = configuration
        }
    }

    public var configuration: ChannelConfiguration { settings.configuration }

    // The stored properties are in the order a server touches them, as declaration order is
    // layout order: first what every packet written reads and writes (every client, every tick),
    // then what receiving one adds, then the rest. A server walks hundreds of connections a tick,
    // each cold in cache, so the cache lines a tick touches per connection are what it waits for.
    // (An optional instant takes 9 bytes: 2-byte fields follow one where they can, in its padding.)

    // MARK: Touched by every packet written

    private let settings: Settings
    /// `configuration.maxAckDelay`, for the checks every packet written makes.
    private let maxAckDelayNanoseconds: UInt64
    private var sent: SentPacketRing
    private var received: ReceivedPacketWindow
    /// When the oldest packet still owed an ack arrived (nil: no ack owed).
    private var ackOwedSince: TickwireInstant?
    private var nextSequence: UInt16 = 0
    /// The sequence of the last packet `writePacket` built and how many unreliable messages it
    /// carried: lets the owner map a packet to what it held (for example a snapshot's tick).
    public private(set) var lastPacketSequence: UInt16 = 0
    private var newestElicitingSequence: UInt16?
    /// When the earliest unacked reliable fragment was last sent, as of the last full scan of the
    /// send queue (nil: scan again). Until a resend interval after it, no fragment is due, and
    /// writing a packet skips the scan. Cleared by whatever can make one due sooner: a message
    /// queued, an ack of a packet that carried reliable records, a loss.
    private var reliableQuietSince: TickwireInstant?
    /// An ack owed does not go alone before this instant: the owner expects to send data the ack
    /// can ride on by then (a client's next state). nil: only `maxAckDelay` holds it.
    public var ackHold: TickwireInstant?
    /// When the oldest ack-eliciting packet not yet covered by a fresh ack went out; nil when
    /// everything sent has been acknowledged (see `ackStall(now:)`).
    private var outstandingSince: TickwireInstant?
    public private(set) var lastPacketUnreliableCount = 0
    private var packetMessages: [UInt32] = []
    private var reliableOut: ReliableSendQueue
    private var unreliableOut: UnreliableSendQueue
    // All three roll at every `update`.
    private var sentMeter = BandwidthMeter()
    private var receivedMeter = BandwidthMeter()
    private var ackedMeter = BandwidthMeter()
    /// When set, every packet sent that asks for an ack, every ack and every packet accepted is
    /// logged with its time (a trace recorder's view of the link).
    public var packetLog: PacketLog?
    /// Its first fields are the ones every packet written or received counts.
    private var counters = LinkStats.Counters()

    // MARK: Added by every packet received

    private var newestPeerAck: UInt16?
    private var settleCursor: UInt16 = 0
    private var largestAcked: UInt16?
    private var lossCursor: UInt16 = 0
    /// The acks already applied as of `newestPeerAck` (bit i: `newestPeerAck - i`): a header
    /// mostly repeats the previous one's bits, and those need no second look.
    private var appliedAckBits: UInt32 = 0
    private var newestUnreliableSequence: UInt16?
    /// The highest tag (`tagLastPacket`) of the packets of ours the last `receive` learned were
    /// acknowledged for the first time; nil if none of them was tagged. A value, not a list: a
    /// list is an allocation of its own, a cache miss per packet received.
    public private(set) var newestAckedTag: UInt32?
    private var roundTrip = RoundTripEstimator()
    private var loss = LossEstimator()

    // MARK: Reliable traffic received, and the rest

    private var reliableIn: ReliableReceiveWindow
    private var unreliableSent: [Bool] = []
    /// Fragmented messages a packet under validation starts, with their fragment counts.
    private var newFragmented: [(id: UInt16, count: UInt16)] = []

    public init(configuration: ChannelConfiguration = ChannelConfiguration()) throws(ChannelConfigurationError) {
        self.init(settings: try Settings(configuration))
    }

    /// A connection on `settings`, shared with other connections.
    public init(settings: Settings) {
        self.settings = settings
        let configuration = settings.configuration
        maxAckDelayNanoseconds = configuration.maxAckDelay.nonNegativeNanoseconds
        received = ReceivedPacketWindow(size: configuration.receivedPacketBufferSize)
        sent = SentPacketRing(size: configuration.sentPacketBufferSize)
        reliableOut = ReliableSendQueue(capacity: configuration.sendQueueCapacity)
        reliableIn = ReliableReceiveWindow(size: configuration.receiveWindowSize, fragmentSize: configuration.fragmentSize)
        unreliableOut = UnreliableSendQueue(capacity: configuration.unreliableQueueCapacity, reserveBytes: configuration.maxPacketSize * 2)
        packetMessages.reserveCapacity(configuration.maxMessagesPerPacket)
        unreliableSent.reserveCapacity(configuration.unreliableQueueCapacity)
        newFragmented.reserveCapacity(16)
    }

    // MARK: Sending

    /// Queues a reliable message; returns its id. Refuses (and queues nothing) when the message
    /// is over `maxMessageSize`, `sendQueueCapacity` messages await acks, or it would take the
    /// queued bytes past `sendQueueByteLimit`.
    @discardableResult
    public mutating func sendReliable(_ message: UnsafeRawBufferPointer) throws(ChannelSendError) -> UInt16 {
        guard message.count <= configuration.maxMessageSize else {
            throw .messageTooLarge(size: message.count, limit: configuration.maxMessageSize)
        }
        guard !reliableOut.isFull else { throw .sendQueueFull(capacity: configuration.sendQueueCapacity) }
        guard reliableOut.bytesQueued + message.count <= configuration.sendQueueByteLimit else {
            throw .sendQueueBytesFull(limit: configuration.sendQueueByteLimit)
        }
        reliableQuietSince = nil
        return reliableOut.enqueue(message, fragmentSize: configuration.fragmentSize, wholeLimit: configuration.maxUnfragmentedSize)
    }

    @discardableResult
    public mutating func sendReliable(_ message: [UInt8]) throws(ChannelSendError) -> UInt16 {
        let result = message.withUnsafeBytes { raw in Result { () throws(ChannelSendError) in try sendReliable(raw) } }
        return try result.get()
    }

    /// Queues an unreliable message for the next packet. Refuses one that can never fit a packet.
    public mutating func sendUnreliable(_ message: UnsafeRawBufferPointer) throws(ChannelSendError) {
        guard message.count <= configuration.maxUnreliableSize else {
            throw .messageTooLarge(size: message.count, limit: configuration.maxUnreliableSize)
        }
        counters.unreliableDropped &+= UInt64(unreliableOut.enqueue(message))
    }

    public mutating func sendUnreliable(_ message: [UInt8]) throws(ChannelSendError) {
        let result = message.withUnsafeBytes { raw in Result { () throws(ChannelSendError) in try sendUnreliable(raw) } }
        try result.get()
    }

    /// Reliable messages queued and not yet fully acknowledged.
    public var reliableMessagesInFlight: Int { reliableOut.count }
    /// Bytes of those messages the queue holds.
    public var reliableBytesInFlight: Int { reliableOut.bytesQueued }
    /// Slots the send queue has allocated (it grows with what is in flight).
    public var reliableQueueSlots: Int { reliableOut.slotCount }
    /// Whether `sendReliable` would accept another message now.
    public var canSendReliable: Bool { !reliableOut.isFull }
    /// Whether `sendReliable` would accept a message of `size` bytes now and still leave room
    /// for `leavingMessages` more messages and `leavingBytes` more bytes. `mutating` though it
    /// changes nothing (as `backlog`): a relay asks it of every member of a room for each event,
    /// and a non-mutating call on a connection held in a class is handed a copy of it.
    public mutating func canSendReliable(size: Int, leavingMessages: Int = 0, leavingBytes: Int = 0) -> Bool {
        size <= configuration.maxMessageSize
            && reliableOut.count + 1 + leavingMessages <= configuration.sendQueueCapacity
            && reliableOut.bytesQueued + size + leavingBytes <= configuration.sendQueueByteLimit
    }

    /// How long the peer has gone without acknowledging anything new while packets that ask
    /// for an ack are outstanding: zero when it is keeping up. A peer that receives and still
    /// never acks shows a stall that grows without bound.
    public func ackStall(now: TickwireInstant) -> Duration {
        guard let since = outstandingSince, now > since else { return .zero }
        return now - since
    }

    /// How long the oldest reliable message still unacknowledged has waited since it was first
    /// sent (zero when none is outstanding).
    public func oldestReliableAge(now: TickwireInstant) -> Duration {
        guard let sent = reliableOut.oldestFirstSent, now > sent else { return .zero }
        return now - sent
    }

    /// `ackStall` and `oldestReliableAge` together, read where the connection is: `mutating`
    /// though it changes nothing (as `pollTimeout`), for an owner that checks every connection it
    /// holds (a server's liveness sweep): non-mutating calls are handed a copy of the connection.
    public mutating func backlog(now: TickwireInstant) -> (stall: Duration, oldest: Duration) {
        (ackStall(now: now), oldestReliableAge(now: now))
    }

    /// Builds the next packet into `buffer` and returns its length, or 0 when there is nothing to
    /// send (no message due, no unreliable message, no ack owed). Call it until it returns 0 or
    /// the tick's packet allowance is used, then `endTick()`.
    public mutating func writePacket(into buffer: UnsafeMutableRawBufferPointer, now: TickwireInstant) -> Int {
        writePacket(into: buffer, now: now, inPlace: false) { _ in 0 }
    }

    /// `writePacket`, with one more unreliable message written in place, after the queued ones,
    /// by `message`: it is given the room left in the packet (at most `maxUnreliableSize`) and
    /// returns the length it wrote, or 0 for none. The message never passes through the
    /// unreliable queue (the relay writes each tick's snapshot this way). Called once, even when
    /// no room is left (with an empty buffer).
    public mutating func writePacket(
        into buffer: UnsafeMutableRawBufferPointer, now: TickwireInstant, appending message: (UnsafeMutableRawBufferPointer) -> Int
    ) -> Int {
        writePacket(into: buffer, now: now, inPlace: true, message)
    }

    private mutating func writePacket(
        into buffer: UnsafeMutableRawBufferPointer, now: TickwireInstant, inPlace: Bool, _ message: (UnsafeMutableRawBufferPointer) -> Int
    ) -> Int {
        let budget = min(buffer.count, configuration.maxPacketSize)
        guard budget >= PacketHeader.maximumSize else { return 0 }
        var writer = UnsafeByteWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<budget]))
        let ack = received.ack
        PacketHeader(sequence: nextSequence, ack: ack.ack, ackBits: ack.bits).encode(into: &writer)
        // `packetMessages` is empty here: it is emptied once its messages are recorded below (not
        // checked here: its header would be a cache miss per packet, for a list that is almost always empty).
        let wroteReliable = writeReliableRecords(into: &writer, now: now)
        let unreliableCount = writeUnreliableRecords(into: &writer) + (inPlace ? writeInPlace(message, into: &writer) : 0)
        let wroteUnreliable = unreliableCount > 0
        // An ack rides on the next packet that carries data; alone it waits up to maxAckDelay
        // for one (QUIC's max_ack_delay), so a steady flow of data sends no ack-only packets.
        let ackDue = ackDeadline.map { now >= $0 } ?? false
        guard wroteReliable || wroteUnreliable || ackDue else { return 0 }
        lastPacketSequence = nextSequence
        lastPacketUnreliableCount = unreliableCount

        let (slot, evicted) = sent.begin(nextSequence, at: now)
        if let acked = evicted { loss.settle(acked: acked) }
        if wroteReliable {
            sent.record(messages: packetMessages, in: slot)
            packetMessages.removeAll(keepingCapacity: true)
        }
        // An ack-only packet does not ask for an ack (else two peers would ack each other's
        // acks forever), so it says nothing about loss or RTT when one arrives late or never.
        let elicitsAck = wroteReliable || wroteUnreliable
        sent[slot].elicitsAck = elicitsAck
        sent[slot].decided = !elicitsAck
        if elicitsAck {
            if outstandingSince == nil { outstandingSince = now }
            newestElicitingSequence = nextSequence
        }
        let wireBytes = writer.offset + configuration.overheadBytesPerPacket
        sent[slot].wireBytes = UInt16(clamping: wireBytes)
        sentMeter.add(bytes: wireBytes, now: now)
        if elicitsAck, packetLog != nil { packetLog!.noteSent(sequence: nextSequence, at: now, bytes: wireBytes) }
        counters.packetsSent &+= 1
        nextSequence &+= 1
        ackOwedSince = nil
        return writer.offset
    }

    /// The sequence the next packet written will carry.
    public var nextPacketSequence: UInt16 { nextSequence }

    /// Hint: fetch what the next `writePacket` reads beyond this connection's own fields (the
    /// sent-packet record it fills, the oldest reliable messages in flight). A host that writes
    /// many connections in turn calls it for the next one while it writes this one.
    public mutating func prefetchForWrite() {
        sent.prefetch(nextSequence)
        reliableOut.prefetch()
    }

    /// Hint: fetch what the next `receive` most likely reads beyond this connection's own fields:
    /// the received-window slot of the next sequence in order, the records of the last packets
    /// sent (which its ack most likely names) and the oldest reliable messages in flight.
    public mutating func prefetchForReceive() {
        received.prefetchNext()
        sent.prefetch(nextSequence &- 4, lines: 3)
        reliableOut.prefetch()
    }

    /// Notes `tag` on the packet `writePacket` just built (`lastPacketSequence`): an owner's
    /// mark of what it carried, for example a snapshot's tick, returned by `newestAckedTag` when
    /// the packet is acknowledged. Kept in the packet's own record, which the write and the ack
    /// touch anyway.
    public mutating func tagLastPacket(_ tag: UInt32) {
        guard let slot = sent.find(lastPacketSequence) else { return }
        sent[slot].tagged = true
        sent[slot].tag = tag
    }

    /// Drops unreliable messages that found no room in this tick's packets: they are never resent.
    public mutating func endTick() {
        counters.unreliableDropped &+= UInt64(unreliableOut.count)
        unreliableOut.removeAll()
    }

    private mutating func writeReliableRecords(into writer: inout UnsafeByteWriter, now: TickwireInstant) -> Bool {
        guard reliableOut.count > 0 else { return false }
        let interval = resendInterval
        // Every unacked fragment went out less than a resend interval ago: nothing to write.
        if let quiet = reliableQuietSince, now - quiet < interval { return false }
        let inFlight = min(reliableOut.count, configuration.receiveWindowSize)
        let fragmentSize = configuration.fragmentSize
        var fragmentedSeen = 0
        var fragmentedBytes = 0
        var wholeBytes = 0
        var wrote = false
        // Whether this scan saw every unacked fragment, and when the earliest of them was last sent.
        var sawAll = reliableOut.count <= configuration.receiveWindowSize
        var earliestSent: TickwireInstant?
        defer { reliableQuietSince = sawAll ? earliestSent : nil }
        scan: for offset in 0..<inFlight {
            let room = writer.buffer.count - writer.offset
            if room <= ChannelRecord.messageHeaderSize || packetMessages.count >= configuration.maxMessagesPerPacket {
                sawAll = false
                break
            }
            let fragmentCount = reliableOut[offset: offset].fragmentCount
            if fragmentCount > 1 {
                // Every fragmented message from the oldest on counts against the reassembly
                // budget, sent or not, so the receiver never holds more than the budget.
                fragmentedSeen += 1
                fragmentedBytes += fragmentCount * fragmentSize
                if fragmentedSeen > 1 && fragmentedBytes > configuration.reassemblyBudget {
                    sawAll = false
                    continue
                }
            } else if offset > 0 {
                // Whole messages after the oldest count against the receiver's buffer budget, as
                // the receiver counts everything it holds after the one it delivers next (which
                // is never before our oldest): it never has to hold more than the budget.
                wholeBytes += reliableOut[offset: offset].byteCount
                if wholeBytes > configuration.receiveBufferBudget {
                    sawAll = false
                    break scan
                }
            }
            if reliableOut[offset: offset].isComplete { continue }
            let id = reliableOut.oldest &+ UInt16(truncatingIfNeeded: offset)
            for fragment in 0..<fragmentCount {
                let state = reliableOut[offset: offset][fragment: fragment]
                if state.acked { continue }
                if let last = state.lastSent, now - last < interval, !state.resendNow {
                    earliestSent = min(earliestSent ?? last, last)
                    continue
                }
                let total = reliableOut[offset: offset].byteCount
                let start = fragmentCount == 1 ? 0 : fragment * fragmentSize
                let length = fragmentCount == 1 ? total : min(fragmentSize, total - start)
                let header = fragmentCount == 1 ? ChannelRecord.messageHeaderSize : ChannelRecord.fragmentHeaderSize
                guard header + length <= writer.buffer.count - writer.offset else {
                    sawAll = false
                    // Fragments are full-size; if this one does not fit, none after it will.
                    if fragmentCount > 1 { continue scan } else { break }
                }
                if fragmentCount == 1 {
                    writer.write(ChannelRecord.reliableMessage)
                    writer.write(id)
                } else {
                    writer.write(ChannelRecord.reliableFragment)
                    writer.write(id)
                    writer.write(UInt16(fragment))
                    writer.write(UInt16(fragmentCount))
                    counters.fragmentsSent &+= 1
                }
                writer.write(UInt16(length))
                reliableOut[offset: offset].bytes.withUnsafeBytes { raw in
                    writer.write(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<start + length]))
                }
                if reliableOut[offset: offset].firstSent == nil { reliableOut[offset: offset].firstSent = now }
                if state.lastSent == nil {
                    if fragment == 0 { counters.reliableMessagesSent &+= 1 }
                } else {
                    counters.reliableResends &+= 1
                }
                reliableOut[offset: offset][fragment: fragment].lastSent = now
                reliableOut[offset: offset][fragment: fragment].resendNow = false
                packetMessages.append(UInt32(id) << 16 | UInt32(fragment))
                wrote = true
                earliestSent = min(earliestSent ?? now, now)
                if packetMessages.count >= configuration.maxMessagesPerPacket {
                    sawAll = false
                    break scan
                }
            }
        }
        return wrote
    }

    /// One unreliable record whose message `message` writes into the packet; 1 if it wrote one.
    private mutating func writeInPlace(_ message: (UnsafeMutableRawBufferPointer) -> Int, into writer: inout UnsafeByteWriter) -> Int {
        let room = writer.buffer.count - writer.offset - ChannelRecord.unreliableHeaderSize
        guard room > 0 else {
            _ = message(UnsafeMutableRawBufferPointer(start: nil, count: 0))
            return 0
        }
        let mark = writer.offset
        writer.write(ChannelRecord.unreliableMessage)
        writer.write(UInt16(0))
        let start = writer.offset
        let capacity = min(room, configuration.maxUnreliableSize)
        let length = message(UnsafeMutableRawBufferPointer(rebasing: writer.buffer[start..<start + capacity]))
        guard length > 0, length <= capacity else {
            writer.rewind(to: mark)
            return 0
        }
        writer.patch(UInt16(length), at: mark + 1)
        _ = writer.reserve(length)
        counters.unreliableMessagesSent &+= 1
        return 1
    }

    private mutating func writeUnreliableRecords(into writer: inout UnsafeByteWriter) -> Int {
        guard !unreliableOut.isEmpty else { return 0 }
        unreliableSent.removeAll(keepingCapacity: true)
        var wrote = 0
        for i in 0..<unreliableOut.count {
            let fits = unreliableOut.withMessage(at: i) { message in
                guard ChannelRecord.unreliableHeaderSize + message.count <= writer.buffer.count - writer.offset else { return false }
                writer.write(ChannelRecord.unreliableMessage)
                writer.write(UInt16(message.count))
                writer.write(bytes: message)
                return true
            }
            unreliableSent.append(fits)
            if fits {
                wrote += 1
                counters.unreliableMessagesSent &+= 1
            }
        }
        if wrote > 0 { unreliableOut.removeAll { unreliableSent[$0] } }
        return wrote
    }

    // MARK: Receiving

    /// Takes one packet from the peer. Unreliable messages in it go to `onUnreliable` at once;
    /// reliable ones become available through `receiveReliable` in order.
    @discardableResult
    public mutating func receive(
        _ packet: UnsafeRawBufferPointer, now: TickwireInstant,
        onUnreliable: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) -> ReceiveVerdict {
        newestAckedTag = nil
        var reader = ByteReader(packet)
        guard let header = PacketHeader.decode(&reader) else { return reject(.badHeader) }
        switch received.classify(header.sequence) {
        case .stale:
            counters.packetsStale &+= 1
            return .stale
        case .duplicate:
            counters.packetsDuplicate &+= 1
            return .duplicate
        case .fresh:
            break
        }
        if header.ackBits != 0, SequenceNumber.isNewer(header.ack, than: nextSequence &- 1) { return reject(.ackFromFuture) }
        let recordsStart = reader.offset
        if let problem = validateRecords(&reader) { return reject(problem) }

        received.insert(header.sequence)
        if packetLog != nil { packetLog!.noteReceived(sequence: header.sequence, at: now, bytes: packet.count + configuration.overheadBytesPerPacket) }
        if packet.count > recordsStart, ackOwedSince == nil { ackOwedSince = now }
        counters.packetsReceived &+= 1
        receivedMeter.add(bytes: packet.count + configuration.overheadBytesPerPacket, now: now)
        processAcks(header, now: now)

        let deliverUnreliable = newestUnreliableSequence.map { SequenceNumber.isNewer(header.sequence, than: $0) } ?? true
        reader = ByteReader(packet, offset: recordsStart)
        var sawUnreliable = false
        // Every record was validated above; the reads below still refuse to trap, and stop at
        // the first one that does not parse.
        apply: while let kind = reader.readUInt8() {
            switch kind {
            case ChannelRecord.reliableMessage:
                guard let id = reader.read(UInt16.self), let length = reader.read(UInt16.self),
                      let body = reader.readSlice(Int(length)) else { break apply }
                if reliableIn.placement(of: id) == .delivered || !reliableIn.storeWhole(id: id, body) {
                    counters.reliableDuplicates &+= 1
                }
            case ChannelRecord.reliableFragment:
                guard let id = reader.read(UInt16.self), let index = reader.read(UInt16.self),
                      let count = reader.read(UInt16.self), let length = reader.read(UInt16.self),
                      let body = reader.readSlice(Int(length)) else { break apply }
                counters.fragmentsReceived &+= 1
                if reliableIn.placement(of: id) == .delivered
                    || !reliableIn.storeFragment(id: id, index: Int(index), count: Int(count), body) {
                    counters.reliableDuplicates &+= 1
                }
            default:
                guard let length = reader.read(UInt16.self), let body = reader.readSlice(Int(length)) else { break apply }
                sawUnreliable = true
                if deliverUnreliable {
                    counters.unreliableMessagesDelivered &+= 1
                    onUnreliable(body)
                } else {
                    counters.unreliableStale &+= 1
                    if configuration.deliverStaleUnreliable { onUnreliable(body) }
                }
            }
        }
        if sawUnreliable, deliverUnreliable { newestUnreliableSequence = header.sequence }
        return .accepted
    }

    @discardableResult
    public mutating func receive(
        _ packet: [UInt8], now: TickwireInstant, onUnreliable: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) -> ReceiveVerdict {
        packet.withUnsafeBytes { receive($0, now: now, onUnreliable: onUnreliable) }
    }

    /// Hands the next reliable message, in send order, to `body`; nil when it has not arrived.
    /// The bytes are only valid inside `body`.
    public mutating func receiveReliable<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        let result = try reliableIn.deliver(body)
        if result != nil { counters.reliableMessagesDelivered &+= 1 }
        return result
    }

    /// The next reliable message as an array, or nil.
    public mutating func receiveReliable() -> [UInt8]? { receiveReliable { Array($0) } }

    private mutating func reject(_ reason: InvalidPacketReason) -> ReceiveVerdict {
        counters.packetsInvalid &+= 1
        return .invalid(reason)
    }

    /// Checks every record before any is applied, so a bad packet changes nothing.
    private mutating func validateRecords(_ reader: inout ByteReader) -> InvalidPacketReason? {
        newFragmented.removeAll(keepingCapacity: true)
        var newFragmentedBytes = 0
        var newWholeBytes = 0
        while let kind = reader.readUInt8() {
            switch kind {
            case ChannelRecord.reliableMessage:
                guard let id = reader.read(UInt16.self), let length = reader.read(UInt16.self) else { return .truncatedRecord }
                guard Int(length) <= configuration.maxUnfragmentedSize else { return .messageTooLarge }
                guard reader.skip(Int(length)) else { return .truncatedRecord }
                switch reliableIn.placement(of: id) {
                case .delivered: continue
                case .beyondWindow: return .beyondReceiveWindow
                case .buffer:
                    let slot = reliableIn.occupant(for: id)
                    if slot.state != .empty, slot.id != id || slot.fragmented { return .badFragment }
                    if slot.state == .empty {
                        // Held until delivered: within the receive budget, except the message due
                        // next, which is always taken so delivery can progress.
                        if newFragmented.contains(where: { $0.id == id }) { return .badFragment }
                        if id != reliableIn.nextDelivery {
                            newWholeBytes += Int(length)
                            if reliableIn.heldWholeBytes + newWholeBytes > configuration.receiveBufferBudget {
                                return .receiveBudgetExceeded
                            }
                        }
                    }
                }
            case ChannelRecord.reliableFragment:
                guard let id = reader.read(UInt16.self), let index = reader.read(UInt16.self),
                      let count = reader.read(UInt16.self), let length = reader.read(UInt16.self)
                else { return .truncatedRecord }
                guard count >= 2, Int(count) <= configuration.maxFragments, index < count else { return .badFragment }
                let isLast = index == count - 1
                guard isLast ? (1...configuration.fragmentSize).contains(Int(length)) : Int(length) == configuration.fragmentSize
                else { return .badFragment }
                guard reader.skip(Int(length)) else { return .truncatedRecord }
                switch reliableIn.placement(of: id) {
                case .delivered: continue
                case .beyondWindow: return .beyondReceiveWindow
                case .buffer:
                    let slot = reliableIn.occupant(for: id)
                    if slot.state == .empty {
                        // Several fragments of one new message in one packet must agree on the
                        // count: the slot is still empty, so it cannot be checked against yet.
                        if let seen = newFragmented.first(where: { $0.id == id }) {
                            if seen.count != count { return .badFragment }
                        } else {
                            newFragmented.append((id, count))
                            newFragmentedBytes += Int(count) * configuration.fragmentSize
                            let onlyOne = reliableIn.heldFragmented + newFragmented.count == 1
                            if !onlyOne && reliableIn.heldFragmentedBytes + newFragmentedBytes > configuration.reassemblyBudget {
                                return .reassemblyBudgetExceeded
                            }
                        }
                    } else if slot.id != id || !slot.fragmented || slot.fragmentCount != Int(count) {
                        return .badFragment
                    }
                }
            case ChannelRecord.unreliableMessage:
                guard let length = reader.read(UInt16.self) else { return .truncatedRecord }
                guard Int(length) <= configuration.maxUnreliableSize else { return .messageTooLarge }
                guard reader.skip(Int(length)) else { return .truncatedRecord }
            default:
                return .unknownRecord
            }
        }
        return nil
    }

    private mutating func processAcks(_ header: PacketHeader, now: TickwireInstant) {
        guard header.ackBits != 0 else { return }
        var bits = header.ackBits
        let shift = newestPeerAck.map { SequenceNumber.distance(from: $0, to: header.ack) } ?? Int.max
        if shift < 32 { bits &= ~(appliedAckBits << UInt32(shift)) }
        var freshAck = false
        while bits != 0 {
            let i = bits.trailingZeroBitCount
            bits &= bits - 1
            guard let slot = sent.find(header.ack &- UInt16(i)), !sent[slot].acked else { continue }
            sent[slot].acked = true
            if sent[slot].tagged, newestAckedTag.map({ sent[slot].tag > $0 }) ?? true { newestAckedTag = sent[slot].tag }
            if packetLog != nil { packetLog!.noteAcked(sequence: header.ack &- UInt16(i), at: now) }
            counters.packetsAcked &+= 1
            if sent[slot].elicitsAck {
                roundTrip.add(sample: now.seconds(since: sent[slot].sentAt))
                freshAck = true
            }
            ackedMeter.add(bytes: Int(sent[slot].wireBytes), now: now)
            if sent[slot].carriesMessages {
                reliableQuietSince = nil
                for k in 0..<Int(sent[slot].messageCount) {
                    let reference = sent.message(in: slot, at: k)
                    reliableOut.ack(id: UInt16(truncatingIfNeeded: reference >> 16), fragment: Int(reference & 0xFFFF))
                }
            }
        }
        if freshAck {
            // The peer is acknowledging: the stall clock restarts, or stops if all is acked.
            let caughtUp = newestElicitingSequence.map { newest in sent.find(newest).map { sent[$0].acked } ?? true } ?? true
            outstandingSince = caughtUp ? nil : now
        }
        let newestAckedHere = header.ack &- UInt16(header.ackBits.trailingZeroBitCount)
        if largestAcked.map({ SequenceNumber.isNewer(newestAckedHere, than: $0) }) ?? true { largestAcked = newestAckedHere }
        detectLoss(now: now)
        reliableOut.advance()
        if shift < 32 {
            appliedAckBits = (appliedAckBits << UInt32(shift)) | header.ackBits
        } else if newestPeerAck.map({ SequenceNumber.isNewer(header.ack, than: $0) }) ?? true {
            appliedAckBits = header.ackBits
        }
        if newestPeerAck.map({ SequenceNumber.isNewer(header.ack, than: $0) }) ?? true {
            newestPeerAck = header.ack
            settle(upTo: header.ack &- 31)
        }
    }

    /// Fast resend: a packet still unacked although a later one was acked, and older than the
    /// RTT by a margin (QUIC's time threshold, 9/8, plus one RTT deviation so that jitter alone
    /// does not trigger resends), is taken as lost and its reliable
    /// fragments are sent again in the next packet instead of waiting for the resend timer.
    private mutating func detectLoss(now: TickwireInstant) {
        guard let largest = largestAcked, roundTrip.samples > 0 else { return }
        let threshold = Duration.nanoseconds(Int64((max(roundTrip.smoothed, roundTrip.latest) * 1.125 + roundTrip.deviation) * 1e9) + 1_000_000)
        let ringSize = sent.size
        if SequenceNumber.distance(from: lossCursor, to: largest) > ringSize { lossCursor = largest &- UInt16(ringSize) }
        while SequenceNumber.isNewer(largest, than: lossCursor) {
            if let slot = sent.find(lossCursor), !sent[slot].acked {
                guard now - sent[slot].sentAt > threshold else { return }
                if sent[slot].carriesMessages {
                    reliableQuietSince = nil
                    for k in 0..<Int(sent[slot].messageCount) {
                        let reference = sent.message(in: slot, at: k)
                        reliableOut.lost(id: UInt16(truncatingIfNeeded: reference >> 16), fragment: Int(reference & 0xFFFF), sentAt: sent[slot].sentAt)
                    }
                }
            }
            lossCursor &+= 1
        }
    }

    /// Settles loss for every sent packet the peer's ack bits can no longer mention.
    private mutating func settle(upTo horizon: UInt16) {
        guard SequenceNumber.isNewer(horizon, than: settleCursor) else { return }
        let ringSize = sent.size
        if SequenceNumber.distance(from: settleCursor, to: horizon) > ringSize { settleCursor = horizon &- UInt16(ringSize) }
        while settleCursor != horizon {
            if let slot = sent.find(settleCursor), !sent[slot].decided {
                sent[slot].decided = true
                loss.settle(acked: sent[slot].acked)
            }
            settleCursor &+= 1
        }
    }

    // MARK: Statistics

    private var resendInterval: Duration {
        @inline(__always) get {
            roundTrip.resendInterval(
                initial: configuration.initialResendInterval,
                minimum: configuration.minResendInterval, maximum: configuration.maxResendInterval)
        }
    }

    /// The earliest instant at which `writePacket` has something to send without new input: a
    /// reliable fragment not yet sent or due for a resend, or an ack that has waited its delay.
    /// `.zero` means now; nil, nothing until new input. (Queued unreliable messages are the
    /// caller's to write in the update that queued them.) O(messages in flight).
    /// (Inlined, with the getters it reads: out of line, `update` handed it a copy of the whole
    /// connection, 784 bytes, on every packet and tick.)
    public var nextDeadline: TickwireInstant? {
        @inline(__always) get {
            let ack = ackDeadline
            // (The interval is computed only with messages queued: an autoclosure here would capture,
            // and so copy, the whole connection on every call.)
            guard reliableOut.count > 0 else { return ack }
            let interval = resendInterval.nonNegativeNanoseconds
            guard let send = reliableQuietSince.map({ $0.adding(nanoseconds: interval) })
                ?? reliableOut.earliestSend(within: configuration.receiveWindowSize, interval: interval)
            else { return ack }
            return min(ack ?? send, send)
        }
    }

    /// Unreliable messages are queued for the next `writePacket`.
    public var hasUnreliableQueued: Bool { !unreliableOut.isEmpty }

    /// When the owner should next write: `nextDeadline`, or now (`.zero`) while unreliable
    /// messages are queued. Read where the connection is: `mutating` though it changes nothing, as
    /// quinn-proto's `poll_timeout` takes `&mut self`. A non-mutating call on a connection held in
    /// a larger struct in memory is handed a copy of it (650 bytes) on the stack.
    public mutating func pollTimeout() -> TickwireInstant? { unreliableOut.isEmpty ? nextDeadline : .zero }

    /// When an owed ack goes alone: `maxAckDelay` after it became owed, or at `ackHold` if later.
    private var ackDeadline: TickwireInstant? {
        @inline(__always) get {
            guard let owed = ackOwedSince else { return nil }
            let delayed = owed.adding(nanoseconds: maxAckDelayNanoseconds)
            guard let hold = ackHold else { return delayed }
            return max(delayed, hold)
        }
    }

    /// Brings the rate meters up to `now` and returns `nextDeadline`. (A caller that holds the connection in a
    /// class reads the deadline here, in the mutating access it already has: reading the computed
    /// property through the class copies the whole connection.)
    @discardableResult
    public mutating func update(now: TickwireInstant) -> TickwireInstant? {
        sentMeter.roll(now: now)
        receivedMeter.roll(now: now)
        ackedMeter.roll(now: now)
        return nextDeadline
    }

    public var stats: LinkStats {
        var stats = LinkStats()
        stats.rttMilliseconds = roundTrip.smoothed * 1000
        stats.rttJitterMilliseconds = roundTrip.deviation * 1000
        stats.minRTTMilliseconds = roundTrip.samples > 0 ? roundTrip.minimum * 1000 : 0
        stats.packetLossPercent = loss.fraction * 100
        stats.sentKbps = sentMeter.kbps
        stats.receivedKbps = receivedMeter.kbps
        stats.ackedKbps = ackedMeter.kbps
        stats.resendIntervalMilliseconds = resendInterval.millisecondsDouble
        stats.counters = counters
        stats.counters.packetsLost = loss.lost
        return stats
    }
}
