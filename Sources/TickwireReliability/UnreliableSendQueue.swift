import TickwireProtocol

/// Unreliable messages waiting for the next packet, oldest first, in one reusable byte arena.
/// Beyond `capacity` messages the oldest is dropped: for state, the newest wins.
struct UnreliableSendQueue {
    private(set) var arena: [UInt8] = []
    private(set) var spans: [(offset: Int, length: Int)] = []
    let capacity: Int
    /// Reserved on the first message, not up front: a relay server writes its snapshots in place
    /// and never queues one, so its hundreds of connections would hold the space for nothing.
    private let reserveBytes: Int

    init(capacity: Int, reserveBytes: Int) {
        self.capacity = capacity
        self.reserveBytes = reserveBytes
    }

    var count: Int { spans.count }
    var isEmpty: Bool { spans.isEmpty }

    /// Queues a message; returns how many older messages were dropped to make room.
    mutating func enqueue(_ message: UnsafeRawBufferPointer) -> Int {
        if arena.capacity == 0 {
            arena.reserveCapacity(reserveBytes)
            spans.reserveCapacity(capacity)
        }
        var dropped = 0
        if spans.count >= capacity {
            spans.removeFirst()
            dropped = 1
            // Reclaim the dropped bytes once they are half the arena, so a flood stays bounded.
            if let first = spans.first, first.offset > arena.count / 2 { removeAll { _ in false } }
        }
        spans.append((arena.count, message.count))
        arena.append(contentsOf: message)
        return dropped
    }

    func withMessage<R>(at i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        arena.withUnsafeBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[spans[i].offset..<spans[i].offset + spans[i].length]))
        }
    }

    /// Removes the messages `shouldRemove` picks (by position), compacting the arena.
    mutating func removeAll(where shouldRemove: (Int) -> Bool) {
        var write = 0
        var kept = 0
        for i in spans.indices where !shouldRemove(i) {
            let span = spans[i]
            if span.offset != write {
                arena.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.advanced(by: write).copyMemory(from: raw.baseAddress!.advanced(by: span.offset), byteCount: span.length)
                }
            }
            spans[kept] = (write, span.length)
            write += span.length
            kept += 1
        }
        spans.removeLast(spans.count - kept)
        arena.removeLast(arena.count - write)
    }

    mutating func removeAll() {
        arena.clearKeepingCapacity()
        spans.clearKeepingCapacity()
    }
}
