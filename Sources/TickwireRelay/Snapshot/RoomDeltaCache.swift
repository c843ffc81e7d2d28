/// The entity entries of one room's snapshots at one tick, coded once and copied into every
/// member's snapshot that needs the same entry.
///
/// An entry (`id | op | …`) depends only on the room's view at this tick and on what it is coded
/// against: nothing for a new entity, or the room's view at the baseline tick when the client's
/// baseline is that shared view (see `SnapshotEncoder`). Members of one room mostly acknowledge the
/// same ticks, so each changed entity is delta-coded about once per tick instead of once per member.
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
    private var bytes: [UInt8] = []
    private var positions = 0
    private var nextVictim = 1
    /// False: a placeholder that never stores (for callers coding one client alone).
    public let isEnabled: Bool
    public private(set) var hits: UInt64 = 0
    public private(set) var misses: UInt64 = 0

    public init(enabled: Bool = true) {
        isEnabled = enabled
        keys = enabled ? Array(repeating: Self.none, count: Self.baselineSlots + 1) : []
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
        bytes.removeAll(keepingCapacity: true)
        nextVictim = 1
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
        guard isEnabled, position < positions, entry.count <= Int(Int32.max) else { return }
        let slot: Int
        if let existing = self.slot(of: key) {
            slot = existing
        } else if key == Self.newEntries {
            keys[0] = key
            slot = 0
        } else {
            slot = nextVictim
            nextVictim = nextVictim == Self.baselineSlots ? 1 : nextVictim + 1
            keys[slot] = key
            for i in slot * positions..<(slot + 1) * positions { starts[i] = -1 }
        }
        let index = slot * positions + position
        starts[index] = Int32(bytes.count)
        lengths[index] = Int32(entry.count)
        bytes.append(contentsOf: entry)
    }
}
