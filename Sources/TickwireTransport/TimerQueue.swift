import NIOConcurrencyHelpers

/// The loop's timers: a binary heap by deadline (then by order scheduled), with cancellation by id.
struct TimerQueue {
    struct Timer: @unchecked Sendable {  // built and run on the loop's thread only
        let deadline: UInt64
        let id: UInt64
        let body: () -> Void
        let abandon: () -> Void
    }

    private var heap: [Timer] = []
    private var cancelled: Set<UInt64> = []
    private static let ids = NIOLockedValueBox<UInt64>(0)

    static func nextID() -> UInt64 { ids.withLockedValue { $0 &+= 1; return $0 } }

    var earliest: UInt64? {
        mutating get {
            dropCancelled()
            return heap.first?.deadline
        }
    }

    mutating func insert(_ timer: Timer) {
        heap.append(timer)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func cancel(_ id: UInt64) {
        if heap.contains(where: { $0.id == id }) { cancelled.insert(id) }
    }

    mutating func popDue(at now: UInt64) -> Timer? {
        dropCancelled()
        guard let first = heap.first, first.deadline <= now else { return nil }
        return removeFirst()
    }

    /// Empties the queue; returns the timers not cancelled.
    mutating func removeAll() -> [Timer] {
        let left = heap.filter { !cancelled.contains($0.id) }
        heap.removeAll()
        cancelled.removeAll()
        return left
    }

    private mutating func dropCancelled() {
        while let first = heap.first, !cancelled.isEmpty, cancelled.remove(first.id) != nil { _ = removeFirst() }
    }

    private mutating func removeFirst() -> Timer {
        let first = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, Self.before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, Self.before(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    private static func before(_ a: Timer, _ b: Timer) -> Bool { a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id }
}
