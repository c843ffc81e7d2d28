import CTickwireMemory
/// Which of the peer's recent packet sequences arrived: the source of `ack`/`ackBits` and of the
/// stale and duplicate checks.
///
/// A ring of `size` slots each holding the exact sequence stored there (or nothing). Moving the
/// newest sequence forward clears every slot it passes, so after an idle spell or a long gap no
/// old entry can be mistaken for a new one: a slot only answers for the sequence it holds.
struct ReceivedPacketWindow {
    enum Verdict: Equatable { case fresh, duplicate, stale }

    private var slots: [Int32]
    private(set) var newest: UInt16 = 0xFFFF
    private(set) var hasReceived = false
    /// Which of the 32 sequences up to `newest` arrived (bit i: `newest - i`), kept as they arrive.
    private var recentBits: UInt32 = 0

    /// `slots.count - 1`, kept inline so `prefetchNext` finds a slot without reading the header.
    private let mask: Int

    init(size: Int) {
        precondition(size >= 64 && size <= 0x8000 && size.nonzeroBitCount == 1, "window size must be a power of two in 64...32768")
        slots = Array(repeating: -1, count: size)
        mask = size - 1
    }

    /// Hint: fetch the slot the next sequence in order will take.
    mutating func prefetchNext() {
        let offset = ((Int(newest) &+ 1) & mask) &* MemoryLayout<Int32>.stride
        withUnsafeMutablePointer(to: &slots) { tickwire_prefetch_array_elements($0, offset, 1) }
    }

    func classify(_ sequence: UInt16) -> Verdict {
        guard hasReceived else { return .fresh }
        if SequenceNumber.isNewer(sequence, than: newest) { return .fresh }
        if SequenceNumber.distance(from: sequence, to: newest) >= slots.count { return .stale }
        return slots[Int(sequence) & mask] == Int32(sequence) ? .duplicate : .fresh
    }

    /// Records a sequence `classify` called fresh.
    mutating func insert(_ sequence: UInt16) {
        if !hasReceived {
            hasReceived = true
            newest = sequence
            recentBits = 1
        } else if SequenceNumber.isNewer(sequence, than: newest) {
            let gap = SequenceNumber.distance(from: newest, to: sequence)
            if gap >= slots.count {
                for i in slots.indices { slots[i] = -1 }
            } else {
                var s = newest &+ 1
                while s != sequence { slots[Int(s) & mask] = -1; s &+= 1 }
            }
            recentBits = (gap >= 32 ? 0 : recentBits << UInt32(gap)) | 1
            newest = sequence
        } else {
            let age = SequenceNumber.distance(from: sequence, to: newest)
            if age < 32 { recentBits |= 1 << UInt32(age) }
        }
        slots[Int(sequence) & mask] = Int32(sequence)
    }

    /// The ack header fields: newest sequence and which of the 32 up to it arrived. Before any
    /// packet arrived: ack 0xFFFF with no bits, which acknowledges nothing.
    var ack: (ack: UInt16, bits: UInt32) {
        hasReceived ? (newest, recentBits) : (0xFFFF, 0)
    }
}
