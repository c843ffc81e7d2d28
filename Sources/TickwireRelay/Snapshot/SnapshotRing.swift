/// The last `size` snapshots by tick (slot = tick mod size), as the client's decoder keeps them.
struct SnapshotRing: Sendable {
    private var views: [SnapshotView]
    private var ticks: [Int64]

    init(size: Int) {
        views = Array(repeating: SnapshotView(), count: size)
        ticks = Array(repeating: -1, count: size)
    }

    private func slot(_ tick: UInt32) -> Int { Int(tick % UInt32(views.count)) }

    /// The snapshot of `tick`, while its slot still holds it.
    func view(tick: UInt32) -> SnapshotView? {
        contains(tick: tick) ? views[slot(tick)] : nil
    }

    /// Whether the ring holds `tick` (without copying its view).
    func contains(tick: UInt32) -> Bool { ticks[slot(tick)] == Int64(tick) }

    /// Stores `view` as `tick` by swapping: `view` comes back holding the evicted snapshot's
    /// storage, ready to be cleared and reused without allocating.
    mutating func store(tick: UInt32, swapping view: inout SnapshotView) {
        swap(&views[slot(tick)], &view)
        ticks[slot(tick)] = Int64(tick)
    }
}
