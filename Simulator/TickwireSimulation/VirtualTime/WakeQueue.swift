import HeapModule
import TickwireProtocol

/// A min-heap (swift-collections' `Heap`) of (instant, client index): when each client of `VirtualRelay` next has
/// something to do. One entry per client is current (`scheduled[index]`); an entry left behind
/// when a client's instant moved is dropped when it comes up. Ties are broken by index, so the
/// order of a run depends on nothing but its inputs.
struct WakeQueue {
    private struct Entry: Comparable {
        var at: TickwireInstant
        var index: Int
        static func < (a: Entry, b: Entry) -> Bool { a.at != b.at ? a.at < b.at : a.index < b.index }
    }

    private var entries = Heap<Entry>()
    private var scheduled: [TickwireInstant?] = []

    /// The earliest current entry's instant (dropping stale ones on the way).
    mutating func first() -> TickwireInstant? {
        while let top = entries.min, scheduled[top.index] != top.at { entries.removeMin() }
        return entries.min?.at
    }

    mutating func removeAll() {
        entries = Heap()
        for i in scheduled.indices { scheduled[i] = nil }
    }

    /// Client `index` has something to do at `at` as well as whatever it had.
    mutating func scheduleNoLater(_ index: Int, than at: TickwireInstant) {
        let current = index < scheduled.count ? scheduled[index] : nil
        schedule(index, at: current.map { min($0, at) } ?? at)
    }

    /// Client `index` next has something to do at `at` (nil: nothing until new input); replaces
    /// what it had.
    mutating func schedule(_ index: Int, at: TickwireInstant?) {
        if index >= scheduled.count { scheduled.append(contentsOf: repeatElement(nil, count: index + 1 - scheduled.count)) }
        guard scheduled[index] != at else { return }
        scheduled[index] = at
        guard let at else { return }
        entries.insert(Entry(at: at, index: index))
    }

    /// Removes and returns the client whose current entry is earliest if it is due at `now`.
    mutating func popDue(_ now: TickwireInstant) -> Int? {
        guard let at = first(), at <= now, let entry = entries.popMin() else { return nil }
        scheduled[entry.index] = nil
        return entry.index
    }
}
