/// Reliable messages received ahead of delivery, in a ring indexed by message id.
///
/// `nextDelivery` is the id the application gets next; ids before it were delivered (a copy is a
/// duplicate), ids up to `size` after it are buffered, anything further is a protocol breach.
/// Fragmented messages are reassembled in place; `heldFragmentedBytes` is what they occupy,
/// which the connection keeps within its reassembly budget. `heldWholeBytes` is what whole
/// messages waiting for an earlier one occupy, which it keeps within its receive budget.
///
/// The window spans `size` ids, but its ring of slots starts at 16 and doubles (up to `size`)
/// only when a message arrives further ahead than it reaches: a connection that receives a
/// few events at a time holds 16 slots, not `size`.
///
/// Every store checks its own arguments against the slot, so even a caller that skipped the
/// connection's validation cannot make it trap: a store that does not fit returns false.
struct ReliableReceiveWindow {
    enum Placement: Equatable { case delivered, buffer, beyondWindow }

    struct Slot {
        enum State { case empty, partial, complete }
        var state = State.empty
        var id: UInt16 = 0
        var bytes: [UInt8] = []
        var fragmented = false
        var fragmentCount = 0
        var received: [Bool] = []
        var receivedCount = 0
    }

    private var slots: [Slot]
    private(set) var nextDelivery: UInt16 = 0
    private(set) var heldFragmented = 0
    private(set) var heldFragmentedBytes = 0
    private(set) var heldWholeBytes = 0
    /// Messages complete and not yet delivered, kept inline: with none, `deliver` answers without
    /// reading the ring (a cold line per packet at hundreds of connections).
    private(set) var heldComplete = 0
    /// A slot keeps a buffer up to this size between messages (small events reuse it); larger
    /// ones are released on delivery, so an idle window holds at most `size` × this.
    static let retainedBytes = 256

    let fragmentSize: Int

    /// The number of ids the window spans (a power of two).
    let size: Int
    static let initialSlots = 16

    init(size: Int, fragmentSize: Int) {
        precondition(size >= 1 && size <= 0x8000 && size.nonzeroBitCount == 1, "receive window size must be a power of two up to 32768")
        self.size = size
        slots = Array(repeating: Slot(), count: min(size, Self.initialSlots))
        self.fragmentSize = fragmentSize
    }

    private func index(_ id: UInt16) -> Int { Int(id) & (slots.count - 1) }

    func placement(of id: UInt16) -> Placement {
        let forward = SequenceNumber.distance(from: nextDelivery, to: id)
        if forward < size { return .buffer }
        return forward >= 0x8000 ? .delivered : .beyondWindow
    }

    /// What the slot an in-window id would use holds, to check a packet before applying it
    /// (scalars only: no copy of the slot's buffers). An id beyond the allocated ring finds an
    /// empty slot: everything held lies within it.
    func occupant(for id: UInt16) -> (state: Slot.State, id: UInt16, fragmented: Bool, fragmentCount: Int) {
        guard SequenceNumber.distance(from: nextDelivery, to: id) < slots.count else { return (.empty, 0, false, 0) }
        let i = index(id)
        return (slots[i].state, slots[i].id, slots[i].fragmented, slots[i].fragmentCount)
    }

    /// Grows the ring until it reaches `id` (which `placement` put in the window), moving every
    /// held message to its slot in the larger ring.
    private mutating func reach(_ id: UInt16) {
        let forward = SequenceNumber.distance(from: nextDelivery, to: id)
        guard forward >= slots.count, forward < size else { return }
        var count = slots.count
        while count <= forward { count *= 2 }
        var larger = Array(repeating: Slot(), count: min(count, size))
        for slot in slots where slot.state != .empty { larger[Int(slot.id) & (larger.count - 1)] = slot }
        slots = larger
    }

    /// Stores a whole message. Returns false if it was already held.
    mutating func storeWhole(id: UInt16, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard placement(of: id) == .buffer else { return false }
        reach(id)
        let i = index(id)
        guard slots[i].state == .empty else { return false }
        heldWholeBytes += bytes.count
        slots[i].state = .complete
        heldComplete += 1
        slots[i].id = id
        slots[i].fragmented = false
        slots[i].bytes.removeAll(keepingCapacity: true)
        slots[i].bytes.append(contentsOf: bytes)
        return true
    }

    /// Stores one fragment. Returns false if it was already held or does not fit the message
    /// the slot holds (another count, an index past it, a length that overruns it).
    mutating func storeFragment(id: UInt16, index fragment: Int, count: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard count >= 2, (0..<count).contains(fragment), (1...fragmentSize).contains(bytes.count) else { return false }
        let isLast = fragment == count - 1
        guard isLast || bytes.count == fragmentSize, placement(of: id) == .buffer else { return false }
        reach(id)
        let i = index(id)
        if slots[i].state == .empty {
            slots[i].state = .partial
            slots[i].id = id
            slots[i].fragmented = true
            slots[i].fragmentCount = count
            slots[i].receivedCount = 0
            slots[i].received.removeAll(keepingCapacity: true)
            slots[i].received.append(contentsOf: repeatElement(false, count: count))
            slots[i].bytes.removeAll(keepingCapacity: true)
            slots[i].bytes.append(contentsOf: repeatElement(0, count: count * fragmentSize))
            heldFragmented += 1
            heldFragmentedBytes += count * fragmentSize
        }
        guard slots[i].state == .partial, slots[i].id == id, slots[i].fragmentCount == count,
              !slots[i].received[fragment] else { return false }
        let offset = fragment * fragmentSize
        // The last fragment trims the buffer to the message's length; every other fragment lies
        // wholly before that point, so the write below stays inside the buffer.
        guard offset + bytes.count <= slots[i].bytes.count else { return false }
        slots[i].received[fragment] = true
        slots[i].receivedCount += 1
        slots[i].bytes.withUnsafeMutableBytes { buffer in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + bytes.count]).copyMemory(from: bytes)
        }
        if isLast { slots[i].bytes.removeLast(fragmentSize - bytes.count) }
        if slots[i].receivedCount == count {
            slots[i].state = .complete
            heldComplete += 1
        }
        return true
    }

    var hasDeliverable: Bool { heldComplete > 0 && slots[index(nextDelivery)].state == .complete }

    /// Hands the next in-order message to `body` and frees its slot; nil if it has not arrived.
    mutating func deliver<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard heldComplete > 0 else { return nil }
        let i = index(nextDelivery)
        guard slots[i].state == .complete else { return nil }
        let result = try slots[i].bytes.withUnsafeBytes(body)
        if slots[i].fragmented {
            heldFragmented -= 1
            heldFragmentedBytes -= slots[i].fragmentCount * fragmentSize
        } else {
            heldWholeBytes -= slots[i].bytes.count
        }
        if slots[i].bytes.capacity > Self.retainedBytes { slots[i].bytes = [] }
        slots[i].state = .empty
        heldComplete -= 1
        nextDelivery &+= 1
        return result
    }
}
