import CTickwireMemory
import TickwireProtocol

/// Builds one client's snapshots on the server: each tick, the room's entities delta-coded
/// against the newest snapshot the client has acknowledged, within a byte budget.
///
/// * A ring of the last `ringSize` snapshots *as the client will reconstruct them* is kept;
///   an ack of the packet that carried one (`acked(tick:)`) makes it the next baseline. Which
///   packet carried which tick is the owner's to remember (the server tags the packet's record
///   in its `ChannelConnection`). With no acked snapshot still in the ring,
///   the snapshot is coded against nothing (a full snapshot).
/// * When every change was sent (the usual case) the client reconstructs the room's view less its
///   own entity, so the ring keeps the room's view itself, shared (no copy), with that entity
///   marked excluded. Only a snapshot that deferred something is copied into a view of its own.
///   The server keeps each room's views for a ring's span (`RelayServerCore`), so sharing them
///   costs neither copies nor allocations.
/// * When the changes do not fit the budget, a priority accumulator picks what goes now: every
///   changed entity gains priority each tick it waits and loses it when sent, so every entity is
///   eventually sent. A deferred entity keeps its baseline state in the reconstructed snapshot.
/// * Steady state allocates nothing: views and scratch arrays keep their capacity.
public struct SnapshotEncoder {
    public static let ringSize = 32

    public struct Counters: Sendable, Equatable {
        public var snapshots: UInt64 = 0
        /// Snapshots coded against nothing (no acked baseline).
        public var fullSnapshots: UInt64 = 0
        public var entitiesSent: UInt64 = 0
        /// Entity changes that waited for a later tick because the budget was spent.
        public var entitiesDeferred: UInt64 = 0
        public var bytes: UInt64 = 0
    }

    /// The changes and removals one `encode` finds against its baseline and reads back before it
    /// returns. A server passes one to every client's encoder: lists of each encoder's own would
    /// be two more cold allocations per client per tick.
    public struct Scratch {
        fileprivate var changes: [Change] = []
        fileprivate var removals: [(position: Int, included: Bool)] = []

        public init() {
            changes.reserveCapacity(64)
            removals.reserveCapacity(16)
        }
    }

    fileprivate struct Change {
        var id: UInt16
        var current: Int
        var baseline: Int?
        var priority: Float
        var included = false
    }

    /// One sent snapshot as the client reconstructs it: `view` less the entity `excluding`.
    private struct Baseline {
        var tick: Int64 = -1
        var view = SnapshotView()
        var excluding: UInt16?
        /// `view` is the room's (shared); else the encoder's own copy, reusable once evicted.
        var shared = false
    }

    private var ring: [Baseline]
    public private(set) var newestAckedTick: UInt32?
    /// The newest tick encoded when the baseline was last reset: acks of snapshots up to it are
    /// ignored (the client asked for a full snapshot after them).
    private var resetThrough: UInt32?
    private var newestEncodedTick: UInt32?
    public private(set) var counters = Counters()
    /// Accumulated priority by entity id (ids are client slots, so the table is small and dense).
    private var priority: [Float] = []
    /// Entities whose priority is not zero. Zero, as for a client whose snapshots always fit,
    /// means the table is not read at all (it is a cache miss per client per tick otherwise).
    private var prioritized = 0
    /// The encode's working lists: its own (allocated on first use) unless a `Scratch` is passed in.
    private var changes: [Change] = []
    private var removals: [(position: Int, included: Bool)] = []
    /// Owned views evicted from the ring, kept for the next snapshot that must be copied.
    private var spares: [SnapshotView] = []
    private static let empty = SnapshotView()
    /// False: never use a baseline (every snapshot full).
    public let usesBaselines: Bool

    public init(usesBaselines: Bool = true) {
        self.usesBaselines = usesBaselines
        ring = Array(repeating: Baseline(), count: Self.ringSize)
        spares.reserveCapacity(4)
    }

    private func slot(_ tick: UInt32) -> Int { Int(tick % UInt32(Self.ringSize)) }

    /// Whether the ring still holds the snapshot of `tick`.
    private func holds(tick: UInt32) -> Bool { ring[slot(tick)].tick == Int64(tick) }

    /// The snapshot the client reconstructs for `tick`, while it is in the ring (a copy: for
    /// inspection and tests, not the hot path).
    public func view(tick: UInt32) -> SnapshotView? {
        guard holds(tick: tick) else { return nil }
        let entry = ring[slot(tick)]
        var view = SnapshotView()
        for i in 0..<entry.view.count where entry.view.id(at: i) != entry.excluding { view.append(entry.view, at: i) }
        return view
    }

    /// Writes the snapshot message for `tick` into `buffer` (its size is the budget) and returns
    /// its length, or 0 if even the header does not fit. `room` holds every entity of the room;
    /// `own` (the client's own entity) is left out.
    public mutating func encode(
        tick: UInt32, serverTimeMicros: UInt64, room: SnapshotView, excluding own: UInt16?,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        var noCache = RoomDeltaCache(enabled: false)
        return encode(tick: tick, serverTimeMicros: serverTimeMicros, room: room, excluding: own, into: buffer, cache: &noCache)
    }

    /// `encode`, taking entity entries other members of the room already coded this tick from
    /// `cache` (reset for this room and tick) and leaving the ones it codes there, and working in
    /// `scratch` (shared by the server's encoders) instead of lists of its own.
    public mutating func encode(
        tick: UInt32, serverTimeMicros: UInt64, room: SnapshotView, excluding own: UInt16?,
        into buffer: UnsafeMutableRawBufferPointer, cache: inout RoomDeltaCache, scratch: inout Scratch
    ) -> Int {
        // Swapped in and out: only the arrays' references move, not their contents.
        swap(&changes, &scratch.changes)
        swap(&removals, &scratch.removals)
        defer {
            swap(&changes, &scratch.changes)
            swap(&removals, &scratch.removals)
        }
        return encode(tick: tick, serverTimeMicros: serverTimeMicros, room: room, excluding: own, into: buffer, cache: &cache)
    }

    /// `encode`, taking entity entries other members of the room already coded this tick from
    /// `cache` (reset for this room and tick) and leaving the ones it codes there.
    public mutating func encode(
        tick: UInt32, serverTimeMicros: UInt64, room: SnapshotView, excluding own: UInt16?,
        into buffer: UnsafeMutableRawBufferPointer, cache: inout RoomDeltaCache
    ) -> Int {
        guard buffer.count >= SnapshotFormat.headerSize else { return 0 }
        if newestEncodedTick.map({ tick > $0 }) ?? true { newestEncodedTick = tick }
        var baselineTick: UInt32?
        var base = Self.empty
        var baseExcluding: UInt16?
        // Entries coded against the room's own (shared) view of the baseline tick are the same
        // for every member with that baseline: those are cached under the tick.
        var baseKey: Int64?
        /// The ring slot `base` was taken from: it goes back before this snapshot is stored.
        var baseSlot: Int?
        if usesBaselines, let acked = newestAckedTick, holds(tick: acked) {
            let i = slot(acked)
            baselineTick = acked
            // Taken out of the ring for the encode, not copied (a copy retains and releases each
            // of the view's arrays, cold memory for most clients).
            swap(&base, &ring[i].view)
            baseSlot = i
            baseExcluding = ring[i].excluding
            if ring[i].shared { baseKey = Int64(acked) }
        }
        var writer = UnsafeByteWriter(buffer)
        writer.write(SnapshotFormat.kind)
        writer.write(tick)
        writer.write(serverTimeMicros)
        writer.write(baselineTick ?? SnapshotFormat.noBaseline)
        let countAt = writer.offset
        writer.write(UInt16(0))
        var entries: UInt16 = 0

        // The usual case in a busy room: the baseline is the room's shared view, nothing waits on
        // priority, and every change fits. The room's run for this baseline then holds every
        // entry this snapshot needs, in order, plus the client's own, which is skipped.
        if let key = baseKey, baseExcluding == own, cache.isEnabled, prioritized == 0,
           let (count, changed) = writeRun(key: key, base: base, room: room, own: own, cache: &cache, into: &writer)
        {
            writer.patch(count, at: countAt)
            if let i = baseSlot { swap(&base, &ring[i].view) }
            store(Baseline(tick: Int64(tick), view: room, excluding: own, shared: true))
            counters.snapshots &+= 1
            counters.entitiesSent &+= UInt64(changed)
            counters.bytes &+= UInt64(writer.offset)
            return writer.offset
        }

        if let key = baseKey, baseExcluding == own, cache.isEnabled {
            differences(from: key, base: base, room: room, own: own, cache: &cache)
        } else {
            findDifferences(base: base, baseExcluding: baseExcluding, room: room, own: own)
        }
        for k in removals.indices {
            let mark = writer.offset
            writer.write(base.id(at: removals[k].position))
            writer.write(SnapshotFormat.Op.removed)
            if writer.overflowed { writer.rewind(to: mark); continue }
            removals[k].included = true
            clearPriority(of: base.id(at: removals[k].position))
            entries += 1
        }
        // Usually every change fits: write them in id order (the order `record` needs) with no
        // sort. Only when the budget runs out are they written again in priority order.
        let afterRemovals = writer.offset
        var fitAll = true
        for k in changes.indices where !write(changes[k], room: room, base: base, baseKey: baseKey, cache: &cache, into: &writer, budget: buffer.count) {
            fitAll = false
            break
        }
        if fitAll {
            for k in changes.indices {
                changes[k].included = true
                clearPriority(of: changes[k].id)
            }
            entries += UInt16(changes.count)
        } else {
            // Every change gains priority for the tick it waited; the highest go first.
            for k in changes.indices {
                let id = Int(changes[k].id)
                if id >= priority.count { priority.append(contentsOf: repeatElement(0, count: id + 1 - priority.count)) }
                if priority[id] == 0 { prioritized += 1 }
                priority[id] += 1
                changes[k].priority = priority[id]
            }
            writer.rewind(to: afterRemovals)
            changes.sort { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
            for k in changes.indices {
                guard buffer.count - writer.offset >= 4 else {
                    counters.entitiesDeferred &+= UInt64(changes.count - k)
                    break
                }
                guard write(changes[k], room: room, base: base, baseKey: baseKey, cache: &cache, into: &writer, budget: buffer.count) else {
                    counters.entitiesDeferred &+= 1
                    continue
                }
                changes[k].included = true
                clearPriority(of: changes[k].id)
                entries += 1
            }
            changes.sort { $0.id < $1.id }
        }
        writer.patch(entries, at: countAt)

        // The ring gets the baseline's view back before this tick's snapshot is stored: it may
        // take the same slot (a baseline exactly `ringSize` ticks old).
        if fitAll && !removals.contains(where: { !$0.included }) {
            if let i = baseSlot { swap(&base, &ring[i].view) }
            store(Baseline(tick: Int64(tick), view: room, excluding: own, shared: true))
        } else {
            let reconstructed = record(base: base, baseExcluding: baseExcluding, room: room, own: own)
            if let i = baseSlot { swap(&base, &ring[i].view) }
            store(Baseline(tick: Int64(tick), view: reconstructed, excluding: nil, shared: false))
        }
        counters.snapshots &+= 1
        if baselineTick == nil { counters.fullSnapshots &+= 1 }
        counters.entitiesSent &+= UInt64(changes.count(where: \.included))
        counters.bytes &+= UInt64(writer.offset)
        return writer.offset
    }

    /// An entity was sent (or is gone): its accumulated priority ends.
    private mutating func clearPriority(of id: UInt16) {
        guard prioritized > 0, Int(id) < priority.count, priority[Int(id)] != 0 else { return }
        priority[Int(id)] = 0
        prioritized -= 1
    }

    /// Writes one change, or rewinds and returns false if it does not fit. The entry comes from
    /// `cache` when another member coded it against the same thing this tick, and goes there when
    /// it is coded here.
    private func write(
        _ change: Change, room: SnapshotView, base: SnapshotView, baseKey: Int64?, cache: inout RoomDeltaCache,
        into writer: inout UnsafeByteWriter, budget: Int
    ) -> Bool {
        guard budget - writer.offset >= 4 else { return false }
        let mark = writer.offset
        let key = change.baseline == nil ? RoomDeltaCache.newEntries : baseKey
        if let key {
            let copied = cache.withEntry(key: key, position: change.current) { entry -> Bool in
                writer.write(bytes: entry)
                return !writer.overflowed
            }
            if let copied {
                if !copied { writer.rewind(to: mark) }
                return copied
            }
        }
        let fits = Self.codeEntry(id: change.id, current: change.current, baseline: change.baseline, room: room, base: base, into: &writer)
        if !fits || writer.overflowed {
            writer.rewind(to: mark)
            return false
        }
        if let key { cache.store(key: key, position: change.current, entry: UnsafeRawBufferPointer(rebasing: writer.buffer[mark..<writer.offset])) }
        return true
    }

    /// Hint: fetch the ring slots the snapshot of `tick` reads and writes (its baseline's and its
    /// own). A server that encodes many clients in turn calls it for the next one while it
    /// encodes this one.
    public mutating func prefetch(tick: UInt32) {
        let stride = MemoryLayout<Baseline>.stride
        let baseline = usesBaselines ? newestAckedTick.map { slot($0) &* stride } : nil
        let own = slot(tick) &* stride
        withUnsafeMutablePointer(to: &ring) { ring in
            if let baseline { tickwire_prefetch_array_elements(ring, baseline, 2) }
            tickwire_prefetch_array_elements(ring, own, 2)
        }
    }

    /// Writes the entries of the room's run against baseline `key` but `own`'s (coding the run
    /// first if no member has this tick) and returns how many entries and how many of them are
    /// changes (not removals); nil, with nothing written, if they do not all fit or no run could be coded.
    private mutating func writeRun(
        key: Int64, base: SnapshotView, room: SnapshotView, own: UInt16?, cache: inout RoomDeltaCache,
        into writer: inout UnsafeByteWriter
    ) -> (entries: UInt16, changes: Int)? {
        if !cache.hasRun(key: key) { codeRun(key: key, base: base, room: room, cache: &cache) }
        let written: (entries: UInt16, changes: Int)?? = cache.withRun(key: key) { list, bytes in
            guard let first = list.first, let last = list.last else { return (0, 0) }
            let runStart = Int(first.entryStart)
            let runEnd = Int(last.entryStart + last.entryLength)
            var ownEntry = runEnd..<runEnd
            var changes = 0
            for difference in list {
                if difference.id == own {
                    ownEntry = Int(difference.entryStart)..<Int(difference.entryStart + difference.entryLength)
                } else if difference.current >= 0 {
                    changes += 1
                }
            }
            let skipped = ownEntry.isEmpty ? 0 : 1
            guard writer.buffer.count - writer.offset >= runEnd - runStart - ownEntry.count, list.count - skipped <= Int(UInt16.max) else { return nil }
            writer.write(bytes: UnsafeRawBufferPointer(rebasing: bytes[runStart..<ownEntry.lowerBound]))
            writer.write(bytes: UnsafeRawBufferPointer(rebasing: bytes[ownEntry.upperBound..<runEnd]))
            return (UInt16(list.count - skipped), changes)
        }
        guard let result = written ?? nil else { return nil }
        cache.countRunHits(Int(result.entries))
        return result
    }

    /// Finds the room-wide differences from the room's view of baseline `key` and codes every
    /// one's entry into the cache's run, in snapshot order: removals, then changes by id.
    private mutating func codeRun(key: Int64, base: SnapshotView, room: SnapshotView, cache: inout RoomDeltaCache) {
        findDifferences(base: base, baseExcluding: nil, room: room, own: nil)
        let (removed, changed) = (removals, changes)
        cache.storeRun(key: key, { Self.appendDifferences(removals: removed, changes: changed, base: base, to: &$0) }, capacity: { difference in
            // id, op, client id, a 5-byte varint, and XORDelta's worst case (under 2 bytes a byte).
            difference.current < 0 ? 3 : 16 + 2 * room.withState(at: Int(difference.current)) { $0.count } + 16
        }, code: { difference, writer in
            guard difference.current >= 0 else {
                writer.write(difference.id)
                writer.write(SnapshotFormat.Op.removed)
                return true
            }
            return Self.codeEntry(
                id: difference.id, current: Int(difference.current), baseline: difference.baseline < 0 ? nil : Int(difference.baseline),
                room: room, base: base, into: &writer)
        })
    }

    /// Codes the entry of entity `id`, at `current` in `room`: changed against its state at
    /// `baseline` in `base`, or new (no baseline). False if it did not fit (part may be written).
    private static func codeEntry(
        id: UInt16, current: Int, baseline: Int?, room: SnapshotView, base: SnapshotView, into writer: inout UnsafeByteWriter
    ) -> Bool {
        writer.write(id)
        return room.withState(at: current) { state -> Bool in
            if let baseline {
                writer.write(SnapshotFormat.Op.changed)
                writer.writeVarint(state.count)
                return base.withState(at: baseline) { XORDelta.encode(state, against: $0, into: &writer) }
            }
            writer.write(SnapshotFormat.Op.new)
            writer.write(room.clientID(at: current))
            writer.writeVarint(state.count)
            return XORDelta.encode(state, against: UnsafeRawBufferPointer(start: nil, count: 0), into: &writer)
        }
    }

    /// The snapshot of `tick` was acknowledged (the packet that carried it was): it becomes a
    /// baseline candidate. A snapshot older than the ring's span is acked too late to matter.
    public mutating func acked(tick: UInt32) {
        if let reset = resetThrough, tick <= reset { return }
        if newestAckedTick.map({ tick > $0 }) ?? true { newestAckedTick = tick }
    }

    /// Forgets the baseline: the next snapshot is full (the client asked for a resync), and
    /// acks of the snapshots sent so far no longer count.
    public mutating func resetBaseline() {
        newestAckedTick = nil
        resetThrough = newestEncodedTick
    }

    /// Removals and changes against the room's shared view of baseline tick `key`: the
    /// room-wide differences another member found this tick, or found here and left in `cache`,
    /// less the client's own entity.
    private mutating func differences(from key: Int64, base: SnapshotView, room: SnapshotView, own: UInt16?, cache: inout RoomDeltaCache) {
        removals.removeAll(keepingCapacity: true)
        changes.removeAll(keepingCapacity: true)
        let found: Void? = cache.withDifferences(key: key) { list in
            for difference in list where difference.id != own {
                if difference.current < 0 {
                    removals.append((Int(difference.baseline), false))
                } else {
                    changes.append(Change(
                        id: difference.id, current: Int(difference.current),
                        baseline: difference.baseline < 0 ? nil : Int(difference.baseline), priority: 0))
                }
            }
        }
        if found != nil { return }
        findDifferences(base: base, baseExcluding: nil, room: room, own: nil)
        do {
            // Released before the lists are edited below (a second reference would make that a copy).
            let (removed, changed) = (removals, changes)
            cache.storeDifferences(key: key) { Self.appendDifferences(removals: removed, changes: changed, base: base, to: &$0) }
        }
        if let own {
            removals.removeAll { base.id(at: $0.position) == own }
            changes.removeAll { $0.id == own }
        }
    }

    /// The removals and changes just found, as the cache keeps them for the room (removals first,
    /// in the baseline's order, then changes by id: snapshot order).
    /// Static over the two lists: a closure calling a method would capture (copy) the whole
    /// encoder, retaining and releasing each of its arrays, cold memory for most clients.
    private static func appendDifferences(
        removals: [(position: Int, included: Bool)], changes: [Change], base: SnapshotView, to arena: inout [RoomDeltaCache.Difference]
    ) {
        for removal in removals { arena.append(.init(id: base.id(at: removal.position), current: -1, baseline: Int32(removal.position))) }
        for change in changes {
            arena.append(.init(id: change.id, current: Int32(change.current), baseline: change.baseline.map { Int32($0) } ?? -1))
        }
    }

    /// Merges the baseline and the room by id into removals and changes.
    private mutating func findDifferences(base: SnapshotView, baseExcluding: UInt16?, room: SnapshotView, own: UInt16?) {
        removals.removeAll(keepingCapacity: true)
        changes.removeAll(keepingCapacity: true)
        var i = 0, j = 0
        while i < base.count || j < room.count {
            if i < base.count, base.id(at: i) == baseExcluding { i += 1; continue }
            if j < room.count, room.id(at: j) == own { j += 1; continue }
            if j == room.count || (i < base.count && base.id(at: i) < room.id(at: j)) {
                removals.append((i, false))
                i += 1
            } else if i == base.count || room.id(at: j) < base.id(at: i) {
                changes.append(Change(id: room.id(at: j), current: j, baseline: nil, priority: 0))
                j += 1
            } else {
                if !room.sameState(at: j, as: base, at: i) {
                    changes.append(Change(id: room.id(at: j), current: j, baseline: i, priority: 0))
                }
                i += 1
                j += 1
            }
        }
    }

    /// Puts `entry` in its tick's slot; an owned view it evicts is kept for reuse.
    private mutating func store(_ entry: Baseline) {
        var entry = entry
        let i = Int(UInt32(truncatingIfNeeded: entry.tick) % UInt32(Self.ringSize))
        swap(&ring[i], &entry)
        if entry.tick >= 0, !entry.shared, spares.count < spares.capacity { spares.append(entry.view) }
    }

    /// A copy of what the client will reconstruct: the baseline with the included entries
    /// applied, in a spare view when there is one. `changes` is in id order here.
    private mutating func record(base: SnapshotView, baseExcluding: UInt16?, room: SnapshotView, own: UInt16?) -> SnapshotView {
        var scratch = spares.popLast() ?? SnapshotView()
        scratch.removeAll()
        var i = 0, j = 0, r = 0, c = 0
        while i < base.count || j < room.count {
            if i < base.count, base.id(at: i) == baseExcluding { i += 1; continue }
            if j < room.count, room.id(at: j) == own { j += 1; continue }
            if j == room.count || (i < base.count && base.id(at: i) < room.id(at: j)) {
                if !removals[r].included { scratch.append(base, at: i) }
                r += 1
                i += 1
            } else if i == base.count || room.id(at: j) < base.id(at: i) {
                if changes[c].included { scratch.append(room, at: j) }
                c += 1
                j += 1
            } else {
                if c < changes.count, changes[c].id == room.id(at: j) {
                    scratch.append(changes[c].included ? room : base, at: changes[c].included ? j : i)
                    c += 1
                } else {
                    scratch.append(room, at: j)
                }
                i += 1
                j += 1
            }
        }
        return scratch
    }
}
