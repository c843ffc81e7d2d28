import CTickwireMemory
import TickwireProtocol

/// Reliable messages from enqueue until every fragment is acknowledged, in a ring indexed by
/// message id. `oldest` is the oldest unacknowledged id, `next` the id the next message gets.
///
/// A message is one fragment when it fits a packet, else `count` fragments of `fragmentSize`
/// bytes. Each fragment remembers when it was last sent (resends wait an RTT-based interval)
/// and whether an ack covered it.
///
/// Memory follows what is in flight: the ring starts small and doubles (up to `capacity`)
/// only when it is full, `bytesQueued` counts the message bytes it holds, and a slot keeps at
/// most `retainedBytes` of buffer once its message is acknowledged. Steady small-message
/// traffic reuses the slots' buffers and allocates only on growth.
struct ReliableSendQueue {
    /// One fragment's sending state.
    struct Fragment {
        var lastSent: TickwireInstant?
        /// Set when the packet carrying the latest copy is known lost: send again without waiting.
        var resendNow = false
        var acked = false
    }

    struct Entry {
        var bytes: [UInt8] = []
        /// `bytes.count`, kept in the entry: a scan over the messages in flight reads only the
        /// ring, not each message's buffer (a cache miss per message per packet).
        var byteCount = 0
        var fragmentCount = 0
        var ackedCount = 0
        /// When the first copy of any fragment went out (nil until then).
        var firstSent: TickwireInstant?
        /// Fragment 0's state is kept inline and only fragments 1... in an array, so a message
        /// that fits one packet (nearly all of them) needs no buffer beyond its bytes.
        private var first = Fragment()
        private var rest: [Fragment] = []
        var isComplete: Bool { ackedCount == fragmentCount }

        subscript(fragment i: Int) -> Fragment {
            get { i == 0 ? first : rest[i - 1] }
            set { if i == 0 { first = newValue } else { rest[i - 1] = newValue } }
        }

        /// Starts a message of `count` fragments, none sent.
        mutating func resetFragments(_ count: Int) {
            first = Fragment()
            rest.clearKeepingCapacity()
            if count > 1 { rest.append(contentsOf: repeatElement(Fragment(), count: count - 1)) }
        }
    }

    private var entries: [Entry]
    private(set) var oldest: UInt16 = 0
    private(set) var next: UInt16 = 0
    /// Message bytes held for messages not yet fully acknowledged.
    private(set) var bytesQueued = 0
    let capacity: Int
    /// Slots hold on to buffers up to this size between messages; larger ones are released.
    static let retainedBytes = 256
    static let initialSlots = 16

    /// `entries.count - 1`, kept inline so `prefetch` finds a slot without reading the header.
    private var mask: Int

    init(capacity: Int) {
        self.capacity = capacity
        entries = Array(repeating: Entry(), count: min(Self.initialSlots, Self.slots(for: capacity)))
        mask = entries.count - 1
    }

    private static func slots(for capacity: Int) -> Int {
        var size = 1
        while size < capacity { size <<= 1 }
        return size
    }

    var count: Int { SequenceNumber.distance(from: oldest, to: next) }
    var isFull: Bool { count >= capacity }
    /// Slots allocated now (grows with what is in flight, never past `capacity` rounded up).
    var slotCount: Int { entries.count }

    private func index(_ id: UInt16) -> Int { Int(id) & mask }

    /// Hint: fetch the oldest messages in flight, which the next packet's scan reads first.
    mutating func prefetch() {
        guard count > 0 else { return }
        let offset = index(oldest) &* MemoryLayout<Entry>.stride
        withUnsafeMutablePointer(to: &entries) { tickwire_prefetch_array_elements($0, offset, 2) }
    }

    /// Doubles the ring, moving every queued entry to its slot in the larger one.
    private mutating func grow() {
        var larger = Array(repeating: Entry(), count: entries.count * 2)
        for offset in 0..<count {
            let id = oldest &+ UInt16(truncatingIfNeeded: offset)
            swap(&larger[Int(id) & (larger.count - 1)], &entries[index(id)])
        }
        entries = larger
        mask = entries.count - 1
    }

    mutating func enqueue(_ message: UnsafeRawBufferPointer, fragmentSize: Int, wholeLimit: Int) -> UInt16 {
        if count >= entries.count { grow() }
        let id = next
        let fragments = message.count <= wholeLimit ? 1 : (message.count + fragmentSize - 1) / fragmentSize
        let i = index(id)
        entries[i].bytes.removeAll(keepingCapacity: true)
        entries[i].bytes.append(contentsOf: message)
        entries[i].byteCount = message.count
        entries[i].fragmentCount = fragments
        entries[i].resetFragments(fragments)
        entries[i].ackedCount = 0
        entries[i].firstSent = nil
        bytesQueued += message.count
        next &+= 1
        return id
    }

    /// The entry for the message `offset` places after `oldest`.
    subscript(offset offset: Int) -> Entry {
        _read { yield entries[index(oldest &+ UInt16(truncatingIfNeeded: offset))] }
        _modify { yield &entries[index(oldest &+ UInt16(truncatingIfNeeded: offset))] }
    }

    /// When the first of the oldest `limit` messages has a fragment to (re)send: never sent or
    /// marked for resend (`.zero`, now), or `interval` (nanoseconds, computed only when needed) after
    /// its last send. Nil: all acknowledged.
    func earliestSend(within limit: Int, interval: UInt64) -> TickwireInstant? {
        var earliestLastSent: TickwireInstant?
        for offset in 0..<min(count, limit) {
            let i = index(oldest &+ UInt16(truncatingIfNeeded: offset))
            guard entries[i].ackedCount < entries[i].fragmentCount else { continue }
            for fragment in 0..<entries[i].fragmentCount where !entries[i][fragment: fragment].acked {
                let state = entries[i][fragment: fragment]
                guard let last = state.lastSent, !state.resendNow else { return .zero }
                earliestLastSent = min(earliestLastSent ?? last, last)
            }
        }
        return earliestLastSent.map { $0.adding(nanoseconds: interval) }
    }

    /// When the oldest unacknowledged message was first sent; nil if none is queued or it has
    /// not been sent yet.
    var oldestFirstSent: TickwireInstant? { count > 0 ? entries[index(oldest)].firstSent : nil }

    /// Marks one fragment acknowledged; ignores ids outside the queue and repeated acks.
    mutating func ack(id: UInt16, fragment: Int) {
        guard SequenceNumber.distance(from: oldest, to: id) < count else { return }
        let i = index(id)
        guard fragment >= 0, fragment < entries[i].fragmentCount, !entries[i][fragment: fragment].acked else { return }
        entries[i][fragment: fragment].acked = true
        entries[i].ackedCount += 1
    }

    /// A packet sent at `sentAt` carrying this fragment was lost: if that was its latest copy,
    /// let the next packet carry it again.
    mutating func lost(id: UInt16, fragment: Int, sentAt: TickwireInstant) {
        guard SequenceNumber.distance(from: oldest, to: id) < count else { return }
        let i = index(id)
        guard fragment >= 0, fragment < entries[i].fragmentCount, !entries[i][fragment: fragment].acked,
              entries[i][fragment: fragment].lastSent == sentAt else { return }
        entries[i][fragment: fragment].resendNow = true
    }

    /// Drops fully acknowledged messages from the front, releasing their bytes.
    mutating func advance() {
        while count > 0, entries[index(oldest)].isComplete {
            let i = index(oldest)
            bytesQueued -= entries[i].byteCount
            entries[i].byteCount = 0
            if entries[i].bytes.capacity > Self.retainedBytes {
                entries[i].bytes = []
            } else {
                entries[i].bytes.removeAll(keepingCapacity: true)
            }
            entries[i].fragmentCount = 0
            oldest &+= 1
        }
    }
}
