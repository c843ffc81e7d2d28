import HeapModule
import NIOConcurrencyHelpers

/// The loop's timers, earliest first (then in the order scheduled), with cancellation by id.
struct TimerQueue {
    struct Timer: Comparable, @unchecked Sendable {  // built and run on the loop's thread only
        let deadline: UInt64
        let id: UInt64
        let body: () -> Void
        let abandon: () -> Void

        static func < (a: Timer, b: Timer) -> Bool { a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id }
        static func == (a: Timer, b: Timer) -> Bool { a.id == b.id }
    }

    private var heap = Heap<Timer>()
    private var cancelled: Set<UInt64> = []
    private static let ids = NIOLockedValueBox<UInt64>(0)

    static func nextID() -> UInt64 { ids.withLockedValue { $0 &+= 1; return $0 } }

    var earliest: UInt64? {
        mutating get {
            dropCancelled()
            return heap.min?.deadline
        }
    }

    mutating func insert(_ timer: Timer) { heap.insert(timer) }

    mutating func cancel(_ id: UInt64) {
        if heap.unordered.contains(where: { $0.id == id }) { cancelled.insert(id) }
    }

    mutating func popDue(at now: UInt64) -> Timer? {
        dropCancelled()
        guard let first = heap.min, first.deadline <= now else { return nil }
        return heap.removeMin()
    }

    /// Empties the queue; returns the timers not cancelled.
    mutating func removeAll() -> [Timer] {
        let left = heap.unordered.filter { !cancelled.contains($0.id) }
        heap = Heap()
        cancelled.removeAll()
        return left
    }

    private mutating func dropCancelled() {
        while let first = heap.min, !cancelled.isEmpty, cancelled.remove(first.id) != nil { _ = heap.removeMin() }
    }
}
