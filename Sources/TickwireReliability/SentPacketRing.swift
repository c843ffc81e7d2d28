import CTickwireMemory
import TickwireProtocol

/// What this side remembers of each packet it sent, keyed by sequence in a fixed ring.
///
/// Each slot holds the exact sequence it describes, so an ack for a sequence whose slot has been
/// reused (or never written) finds nothing and is ignored, however sparse or bursty the traffic.
///
/// The reliable message fragments each packet carried (message id << 16 | fragment index): one
/// (the usual case, an event or two a tick) is kept in its record itself; two or more lie back to
/// back in one log, in sequence order, appended when the packet is recorded and dropped when its
/// slot is claimed again, which is always the oldest such packet's. The log is a ring of its own,
/// indexed by a running position, and doubles when the packets in the ring carry more than it
/// holds, so once it has grown to what they carry, recording allocates nothing (where a list
/// per record each grew on its own).
struct SentPacketRing {
    struct Record {
        // Widest first, so a record packs into 32 bytes (every client holds a ring of them).
        var sentAt = TickwireInstant.zero
        /// How many message references the packet carried, and the reference itself when it is
        /// one, else the running log position of the first.
        fileprivate(set) var messageStart: UInt32 = 0
        fileprivate(set) var messageCount: UInt16 = 0
        var sequence: Int32 = -1
        /// The packet's size on the wire (at most a UDP datagram).
        var wireBytes: UInt16 = 0
        var acked = false
        var decided = false
        /// False for ack-only packets: the peer need not answer them.
        var elicitsAck = true
        /// The owner's note on what the packet carried (`ChannelConnection.tagLastPacket`), if any.
        var tagged = false
        var tag: UInt32 = 0

        var carriesMessages: Bool { messageCount > 0 }
    }

    private(set) var records: [Record]
    /// The recorded packets' message references, at `position & (log.count - 1)`; live from
    /// `logStart` to `logEnd` (running positions).
    private var log: [UInt32] = []
    private var logStart: UInt32 = 0
    private var logEnd: UInt32 = 0
    static let initialLogEntries = 64
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
        if records[i].messageCount > 1 {
            // The oldest packet with references in the log: they are its first. (Checked: a
            // release never moves the start past the end.)
            let end = records[i].messageStart &+ UInt32(records[i].messageCount)
            if end &- logStart <= logEnd &- logStart { logStart = end }
        }
        records[i].messageCount = 0
        return (i, evicted)
    }

    /// Records the message references `list` for the packet in `slot` (just claimed by `begin`).
    mutating func record(messages list: [UInt32], in slot: Int) {
        guard list.count > 1 else {
            if let only = list.first {
                records[slot].messageStart = only
                records[slot].messageCount = 1
            }
            return
        }
        let live = Int(logEnd &- logStart)
        if live + list.count > log.count { growLog(toHold: live + list.count) }
        let mask = log.count - 1
        for reference in list {
            log[Int(logEnd) & mask] = reference
            logEnd &+= 1
        }
        records[slot].messageStart = logEnd &- UInt32(list.count)
        records[slot].messageCount = UInt16(list.count)
    }

    /// Doubles the log until it holds `count` references, each live one at its position's index in
    /// the larger ring (the records' positions stay as they are).
    private mutating func growLog(toHold count: Int) {
        var size = max(Self.initialLogEntries, log.count)
        while size < count { size *= 2 }
        var larger = [UInt32](repeating: 0, count: size)
        var position = logStart
        while position != logEnd {
            larger[Int(position) & (size - 1)] = log[Int(position) & (log.count - 1)]
            position &+= 1
        }
        log = larger
    }

    /// References the log has room for now (a power of two, or 0 before the first).
    var logCapacity: Int { log.count }

    /// The `k`th message reference of the packet in `slot` (`k` below its `messageCount`).
    func message(in slot: Int, at k: Int) -> UInt32 {
        records[slot].messageCount == 1 ? records[slot].messageStart : log[Int(records[slot].messageStart &+ UInt32(k)) & (log.count - 1)]
    }

    subscript(i: Int) -> Record {
        get { records[i] }
        _modify { yield &records[i] }
    }
}
