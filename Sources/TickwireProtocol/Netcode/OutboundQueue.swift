/// Datagrams a state machine wants sent, in one reusable byte arena.
///
/// State machines write packets straight into the arena; the I/O shell drains it once per event
/// and calls `removeAll()`. Both keep their capacity, so the steady state allocates nothing.
public struct OutboundQueue: Sendable {
    public struct Record: Sendable {
        public var address: NetcodeAddress
        public var offset: Int
        public var length: Int
    }

    private var arena: [UInt8]
    private var used = 0
    public private(set) var records: [Record] = []

    public init(initialCapacity: Int = 64 * 1024) {
        arena = [UInt8](repeating: 0, count: initialCapacity)
        records.reserveCapacity(64)
    }

    public var count: Int { records.count }
    /// Read from the queue's own bytes (every record holds at least one byte), not the record
    /// list's header: a host that checks many idle queues touches one line per queue, not two.
    public var isEmpty: Bool { used == 0 }

    /// Reserves `maxLength` bytes, lets `write` fill them, and keeps the record if it returns a length.
    @discardableResult
    public mutating func append(
        to address: NetcodeAddress, maxLength: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int?
    ) -> Bool {
        if used + maxLength > arena.count {
            arena.append(contentsOf: repeatElement(0, count: max(arena.count, maxLength)))
        }
        let start = used
        let written = arena.withUnsafeMutableBytes { raw in
            write(UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + maxLength]))
        }
        guard let written, written > 0, written <= maxLength else { return false }
        records.append(Record(address: address, offset: start, length: written))
        used += written
        return true
    }

    /// Calls `body` for every queued datagram, in order.
    public func forEach(_ body: (NetcodeAddress, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try arena.withUnsafeBytes { raw in
            for record in records {
                try body(record.address, UnsafeRawBufferPointer(rebasing: raw[record.offset..<record.offset + record.length]))
            }
        }
    }

    /// The records and the arena they point into, for a shell that hands them to the kernel as they are.
    public func withRecords<R>(_ body: ([Record], UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try arena.withUnsafeBytes { try body(records, $0) }
    }

    /// Copies of the queued datagrams, for tests and in-memory networks.
    public var datagrams: [(address: NetcodeAddress, bytes: [UInt8])] {
        var out: [(address: NetcodeAddress, bytes: [UInt8])] = []
        forEach { out.append(($0, Array($1))) }
        return out
    }

    public mutating func removeAll() {
        used = 0
        records.removeAll(keepingCapacity: true)
    }
}
