import TickwireProtocol

/// A binary min-heap of (instant, client index): when each client of `VirtualRelay` next has
/// something to do. One entry per client is current (`scheduled[index]`); an entry left behind
/// when a client's instant moved is dropped when it comes up. Ties are broken by index, so the
/// order of a run depends on nothing but its inputs.
struct WakeQueue {
    private var entries: [(at: TickwireInstant, index: Int)] = []
    private var scheduled: [TickwireInstant?] = []

    /// The earliest current entry's instant (dropping stale ones on the way).
    mutating func first() -> TickwireInstant? {
        while let top = entries.first, scheduled[top.index] != top.at { removeFirst() }
        return entries.first?.at
    }

    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
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
        entries.append((at, index))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the client whose current entry is earliest if it is due at `now`.
    mutating func popDue(_ now: TickwireInstant) -> Int? {
        guard let at = first(), at <= now else { return nil }
        let index = entries[0].index
        scheduled[index] = nil
        removeFirst()
        return index
    }

    private mutating func removeFirst() {
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < entries.count else { break }
                var smallest = left
                if left + 1 < entries.count, Self.less(entries[left + 1], entries[left]) { smallest = left + 1 }
                guard Self.less(entries[smallest], entries[parent]) else { break }
                entries.swapAt(smallest, parent)
                parent = smallest
            }
        }
    }

    private static func less(_ a: (at: TickwireInstant, index: Int), _ b: (at: TickwireInstant, index: Int)) -> Bool {
        a.at != b.at ? a.at < b.at : a.index < b.index
    }
}
