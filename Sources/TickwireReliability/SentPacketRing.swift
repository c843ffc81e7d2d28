import CTickwireMemory
import TickwireProtocol

/// What this side remembers of each packet it sent, keyed by sequence in a fixed ring.
///
/// Each slot holds the exact sequence it describes, so an ack for a sequence whose slot has been
/// reused (or never written) finds nothing and is ignored, however sparse or bursty the traffic.
/// `messages` lists the reliable message fragments the packet carried (message id << 16 |
/// fragment index); the arrays keep their capacity, so steady-state sending allocates nothing.
struct SentPacketRing {
    struct Record {
        // Widest first, so a record packs into 32 bytes (every client holds a ring of them).
        var sentAt = TickwireInstant.zero
        private(set) var messages: [UInt32] = []
        var sequence: Int32 = -1
        /// The packet's size on the wire (at most a UDP datagram).
        var wireBytes: UInt16 = 0
        var acked = false
        var decided = false
        /// False for ack-only packets: the peer need not answer them.
        var elicitsAck = true
        /// Whether `messages` lists anything: read instead of the list itself, whose storage (once
        /// a packet in this slot carried messages) is a cache line of its own.
        private(set) var carriesMessages = false
        /// The owner's note on what the packet carried (`ChannelConnection.tagLastPacket`), if any.
        var tagged = false
        var tag: UInt32 = 0

        mutating func record(messages list: [UInt32]) {
            guard !list.isEmpty else { return }
            messages.append(contentsOf: list)
            carriesMessages = true
        }

        mutating func clearMessages() {
            messages.clearKeepingCapacity()
            carriesMessages = false
        }
    }

    private(set) var records: [Record]
    /// `records.count - 1`, kept inline: the slot of a sequence is known without reading the
    /// array's header (which `prefetch` must not wait for).
    private let mask: Int

    init(size: Int) {
        precondition(size >= 64 && size <= 0x8000 && size.nonzeroBitCount == 1, "sent-packet buffer size must be a power of two in 64...32768")
        records = Array(repeating: Record(), count: size)
        mask = size - 1
    }

    var size: Int { mask + 1 }

    func index(of sequence: UInt16) -> Int { Int(sequence) & mask }

    /// Hint: fetch the record `begin(sequence)` will write (and `lines - 1` lines after it).
    mutating func prefetch(_ sequence: UInt16, lines: Int = 1) {
        let offset = index(of: sequence) &* MemoryLayout<Record>.stride
        withUnsafeMutablePointer(to: &records) { tickwire_prefetch_array_elements($0, offset, lines) }
    }

    /// The slot for `sequence` if it still describes that packet.
    func find(_ sequence: UInt16) -> Int? {
        let i = index(of: sequence)
        return records[i].sequence == Int32(sequence) ? i : nil
    }

    /// Claims the slot for a packet about to be sent. `evicted` is the acked flag of an older
    /// packet that was still undecided there (so loss accounting can settle it), else nil.
    mutating func begin(_ sequence: UInt16, at now: TickwireInstant) -> (index: Int, evicted: Bool?) {
        let i = index(of: sequence)
        let evicted: Bool? = records[i].sequence >= 0 && !records[i].decided ? records[i].acked : nil
        records[i].sequence = Int32(sequence)
        records[i].sentAt = now
        records[i].wireBytes = 0
        records[i].acked = false
        records[i].decided = false
        records[i].elicitsAck = true
        records[i].tagged = false
        if records[i].carriesMessages { records[i].clearMessages() }
        return (i, evicted)
    }

    subscript(i: Int) -> Record {
        get { records[i] }
        _modify { yield &records[i] }
    }
}
