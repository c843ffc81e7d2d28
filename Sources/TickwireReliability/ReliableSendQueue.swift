import TickwireProtocol

/// Reliable messages from enqueue until every fragment is acknowledged, in a ring indexed by
/// message id. `oldest` is the oldest unacknowledged id, `next` the id the next message gets.
///
/// A message is one fragment when it fits a packet, else `count` fragments of `fragmentSize`
/// bytes. Each fragment remembers when it was last sent (resends wait an RTT-based interval)
/// and whether an ack covered it. Slots keep their arrays' capacity, so steady-state traffic
/// allocates only the caller's message bytes.
struct ReliableSendQueue {
    struct Entry {
        var bytes: [UInt8] = []
        var fragmentCount = 0
        var lastSent: [TickwireInstant?] = []
        /// Set when the packet carrying the latest copy is known lost: send again without waiting.
        var resendNow: [Bool] = []
        var acked: [Bool] = []
        var ackedCount = 0
        var isComplete: Bool { ackedCount == fragmentCount }
    }

    private var entries: [Entry]
    private(set) var oldest: UInt16 = 0
    private(set) var next: UInt16 = 0
    let capacity: Int
    /// Slots hold on to buffers up to this size between messages; larger ones are released.
    private static let retainedBytes = 4096

    init(capacity: Int) {
        self.capacity = capacity
        var size = 1
        while size < capacity { size <<= 1 }
        entries = Array(repeating: Entry(), count: size)
    }

    var count: Int { SequenceNumber.distance(from: oldest, to: next) }
    var isFull: Bool { count >= capacity }

    private func index(_ id: UInt16) -> Int { Int(id) & (entries.count - 1) }

    mutating func enqueue(_ message: UnsafeRawBufferPointer, fragmentSize: Int, wholeLimit: Int) -> UInt16 {
        let id = next
        let fragments = message.count <= wholeLimit ? 1 : (message.count + fragmentSize - 1) / fragmentSize
        let i = index(id)
        entries[i].bytes.removeAll(keepingCapacity: true)
        entries[i].bytes.append(contentsOf: message)
        entries[i].fragmentCount = fragments
        entries[i].lastSent.removeAll(keepingCapacity: true)
        entries[i].lastSent.append(contentsOf: repeatElement(nil, count: fragments))
        entries[i].resendNow.removeAll(keepingCapacity: true)
        entries[i].resendNow.append(contentsOf: repeatElement(false, count: fragments))
        entries[i].acked.removeAll(keepingCapacity: true)
        entries[i].acked.append(contentsOf: repeatElement(false, count: fragments))
        entries[i].ackedCount = 0
        next &+= 1
        return id
    }

    /// The entry for the message `offset` places after `oldest`.
    subscript(offset offset: Int) -> Entry {
        get { entries[index(oldest &+ UInt16(truncatingIfNeeded: offset))] }
        _modify { yield &entries[index(oldest &+ UInt16(truncatingIfNeeded: offset))] }
    }

    /// Marks one fragment acknowledged; ignores ids outside the queue and repeated acks.
    mutating func ack(id: UInt16, fragment: Int) {
        guard SequenceNumber.distance(from: oldest, to: id) < count else { return }
        let i = index(id)
        guard fragment < entries[i].fragmentCount, !entries[i].acked[fragment] else { return }
        entries[i].acked[fragment] = true
        entries[i].ackedCount += 1
    }

    /// A packet sent at `sentAt` carrying this fragment was lost: if that was its latest copy,
    /// let the next packet carry it again.
    mutating func lost(id: UInt16, fragment: Int, sentAt: TickwireInstant) {
        guard SequenceNumber.distance(from: oldest, to: id) < count else { return }
        let i = index(id)
        guard fragment < entries[i].fragmentCount, !entries[i].acked[fragment], entries[i].lastSent[fragment] == sentAt else { return }
        entries[i].resendNow[fragment] = true
    }

    /// Drops fully acknowledged messages from the front.
    mutating func advance() {
        while count > 0, entries[index(oldest)].isComplete {
            let i = index(oldest)
            if entries[i].bytes.capacity > Self.retainedBytes { entries[i].bytes = [] }
            entries[i].fragmentCount = 0
            oldest &+= 1
        }
    }
}
