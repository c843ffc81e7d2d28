import TickwireProtocol

/// The entity entries of one room's snapshots at one tick, coded once and copied into every
/// member's snapshot that needs the same entry.
///
/// An entry (`id | op | …`) depends only on the room's view at this tick and on what it is coded
/// against: nothing for a new entity, or the room's view at the baseline tick when the client's
/// baseline is that shared view (see `SnapshotEncoder`). Members of one room mostly acknowledge the
/// same ticks, so each changed entity is delta-coded about once per tick instead of once per member.
///
/// It also keeps, per baseline tick, which entities differ between that tick's view and this one
/// (the merge and the state comparisons), for every member coded against it to filter its own out,
/// and the entries of all of them coded in snapshot order in one run: a member whose snapshot
/// takes every change copies the run but its own entry, two copies instead of one per entity.
///
/// Keys are a baseline tick (or `newEntries`) and the entity's position in the room's view; the
/// cache holds `baselineSlots` baseline ticks and forgets the oldest-filled one when a further one
/// comes. `reset` starts a new room and tick. Storage is reused: steady state allocates nothing.
public struct RoomDeltaCache {
    /// The key for entries of entities new to the client (coded against nothing).
    static let newEntries: Int64 = -2
    static let baselineSlots = 8
    private static let none: Int64 = -1

    /// Slot 0: new entries; slots 1...baselineSlots: one baseline tick each.
    private var keys: [Int64]
    /// Per slot and room position: where the entry starts in `bytes`, or -1.
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    /// The entries coded this tick, in `bytes[0..<used]`. The array keeps its high-water size, so
    /// entries are coded straight into it: no scratch copy, no append per entry.
    private var bytes: [UInt8] = []
    private var used = 0
    /// Per baseline slot: the room-wide differences from that baseline (every entity, the
    /// members' own included), in `differences[start..<end]`; start -1: not found yet.
    private var differenceStart: [Int]
    private var differenceEnd: [Int]
    private var differences: [Difference] = []
    /// Per baseline slot: whether `differences[differenceStart..<differenceEnd]` carry their
    /// entries, coded one after another in `bytes` (see `storeRun`).
    private var hasRun: [Bool]
    private var positions = 0
    private var nextVictim = 1
    /// False: a placeholder that never stores (for callers coding one client alone).
    public let isEnabled: Bool
    public private(set) var hits: UInt64 = 0
    public private(set) var misses: UInt64 = 0

    /// One entity that differs between a baseline and the room: gone from the room (`current`
    /// -1), new to it (`baseline` -1), or changed.
    struct Difference {
        var id: UInt16
        var current: Int32
        var baseline: Int32
        /// In a run: where the entity's entry lies in the cache's bytes.
        var entryStart: Int32 = 0
        var entryLength: Int32 = 0
    }

    public init(enabled: Bool = true) {
        isEnabled = enabled
        keys = enabled ? Array(repeating: Self.none, count: Self.baselineSlots + 1) : []
        differenceStart = Array(repeating: -1, count: keys.count)
        differenceEnd = Array(repeating: -1, count: keys.count)
        hasRun = Array(repeating: false, count: keys.count)
    }

    /// Empties the cache for a room view of `positions` entities.
    public mutating func reset(positions: Int) {
        guard isEnabled else { return }
        self.positions = positions
        for i in keys.indices { keys[i] = Self.none }
        let needed = positions * (Self.baselineSlots + 1)
        if starts.count < needed {
            starts = Array(repeating: -1, count: needed)
            lengths = Array(repeating: 0, count: needed)
        } else {
            for i in 0..<needed { starts[i] = -1 }
        }
        used = 0
        differences.removeAll(keepingCapacity: true)
        for i in differenceStart.indices {
            differenceStart[i] = -1
            hasRun[i] = false
        }
        nextVictim = 1
    }

    /// The room-wide differences from baseline `key`, if a member found them this tick.
    mutating func withDifferences<R>(key: Int64, _ body: (ArraySlice<Difference>) -> R) -> R? {
        guard isEnabled, let slot = slot(of: key), differenceStart[slot] >= 0 else { return nil }
        return body(differences[differenceStart[slot]..<differenceEnd[slot]])
    }

    /// Keeps the room-wide differences from baseline `key`, given by `fill` appending to the arena.
    mutating func storeDifferences(key: Int64, _ fill: (inout [Difference]) -> Void) {
        guard isEnabled else { return }
        let slot = claim(key)
        differenceStart[slot] = differences.count
        fill(&differences)
        differenceEnd[slot] = differences.count
        hasRun[slot] = false
    }

    /// The run of baseline `key` (its differences with their entries, and the cache's bytes they
    /// point into), if a member coded it this tick.
    func withRun<R>(key: Int64, _ body: (ArraySlice<Difference>, UnsafeRawBufferPointer) -> R) -> R? {
        guard hasRun(key: key), let slot = slot(of: key) else { return nil }
        return bytes.withUnsafeBytes { body(differences[differenceStart[slot]..<differenceEnd[slot]], $0) }
    }

    /// Whether a member coded the run of baseline `key` this tick.
    func hasRun(key: Int64) -> Bool {
        guard isEnabled, let slot = slot(of: key) else { return false }
        return differenceStart[slot] >= 0 && hasRun[slot]
    }

    /// Keeps the room-wide differences from baseline `key` (given by `fill`) with their entries:
    /// `code` writes each one's entry (into room for `capacity` bytes) and returns false if it did
    /// not fit, in which case the differences are kept without a run.
    mutating func storeRun(
        key: Int64, _ fill: (inout [Difference]) -> Void,
        capacity: (Difference) -> Int, code: (Difference, inout UnsafeByteWriter) -> Bool
    ) {
        guard isEnabled else { return }
        storeDifferences(key: key, fill)
        guard let slot = slot(of: key) else { return }
        for k in differenceStart[slot]..<differenceEnd[slot] {
            let room = capacity(differences[k])
            let start = used
            guard reserve(room) else { return }
            let difference = differences[k]
            let written = bytes.withUnsafeMutableBytes { raw -> Int? in
                var writer = UnsafeByteWriter(UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + room]))
                guard code(difference, &writer), !writer.overflowed else { return nil }
                return writer.offset
            }
            guard let written else { return }
            used += written
            differences[k].entryStart = Int32(start)
            differences[k].entryLength = Int32(written)
        }
        hasRun[slot] = true
    }

    /// Makes room for `count` more bytes past `used` (growing `bytes` only past its high-water
    /// size); false if the entries would outgrow `Int32` offsets.
    private mutating func reserve(_ count: Int) -> Bool {
        guard used + count <= Int(Int32.max) else { return false }
        if bytes.count < used + count { bytes.append(contentsOf: repeatElement(0, count: max(used + count - bytes.count, bytes.count))) }
        return true
    }

    /// Counts `count` entries taken from a run.
    mutating func countRunHits(_ count: Int) { hits &+= UInt64(count) }

    /// The slot of `key`, taking the oldest-filled baseline slot (and forgetting its entries) if
    /// `key` has none.
    private mutating func claim(_ key: Int64) -> Int {
        if let existing = slot(of: key) { return existing }
        if key == Self.newEntries {
            keys[0] = key
            return 0
        }
        let slot = nextVictim
        nextVictim = nextVictim == Self.baselineSlots ? 1 : nextVictim + 1
        keys[slot] = key
        for i in slot * positions..<(slot + 1) * positions { starts[i] = -1 }
        differenceStart[slot] = -1
        hasRun[slot] = false
        return slot
    }

    private func slot(of key: Int64) -> Int? {
        for i in keys.indices where keys[i] == key { return i }
        return nil
    }

    /// The cached entry for the entity at `position` coded against `key`, passed to `body`.
    mutating func withEntry<R>(key: Int64, position: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard isEnabled else { return nil }
        guard position < positions, let slot = slot(of: key), starts[slot * positions + position] >= 0 else {
            misses &+= 1
            return nil
        }
        let index = slot * positions + position
        let start = Int(starts[index])
        hits &+= 1
        let length = Int(lengths[index])
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<start + length])) }
    }

    /// Keeps `entry` for the entity at `position` coded against `key`.
    mutating func store(key: Int64, position: Int, entry: UnsafeRawBufferPointer) {
        guard isEnabled, position < positions, reserve(entry.count) else { return }
        let slot = claim(key)
        let index = slot * positions + position
        let start = used
        starts[index] = Int32(start)
        lengths[index] = Int32(entry.count)
        bytes.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + entry.count]).copyMemory(from: entry) }
        used += entry.count
    }
}
