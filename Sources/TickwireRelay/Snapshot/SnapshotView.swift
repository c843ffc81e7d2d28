#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A set of entities and their states, sorted by entity id, stored flat so that clearing and
/// refilling it reuses its memory: what one client sees of its room at one tick.
public struct SnapshotView: Sendable, Equatable {
    public private(set) var ids: [UInt16] = []
    public private(set) var clientIDs: [UInt64] = []
    private var starts: [Int] = []
    private var lengths: [Int] = []
    private var bytes: [UInt8] = []

    public init() {}

    public var count: Int { ids.count }
    public var isEmpty: Bool { ids.isEmpty }

    public mutating func removeAll() {
        ids.removeAll(keepingCapacity: true)
        clientIDs.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends an entity; ids must come in ascending order.
    public mutating func append(id: UInt16, clientID: UInt64, state: UnsafeRawBufferPointer) {
        precondition(ids.last.map { $0 < id } ?? true, "SnapshotView ids must be appended in ascending order")
        ids.append(id)
        clientIDs.append(clientID)
        starts.append(bytes.count)
        lengths.append(state.count)
        bytes.append(contentsOf: state)
    }

    public mutating func append(id: UInt16, clientID: UInt64, state: [UInt8]) {
        state.withUnsafeBytes { append(id: id, clientID: clientID, state: $0) }
    }

    /// Appends entity `position` of another view.
    public mutating func append(_ other: SnapshotView, at position: Int) {
        other.withState(at: position) { append(id: other.ids[position], clientID: other.clientIDs[position], state: $0) }
    }

    /// The position of `id`, or nil.
    public func position(of id: UInt16) -> Int? {
        var low = 0, high = ids.count
        while low < high {
            let mid = (low + high) / 2
            if ids[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low < ids.count && ids[low] == id ? low : nil
    }

    public func withState<R>(at position: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[starts[position]..<starts[position] + lengths[position]]))
        }
    }

    public func state(at position: Int) -> [UInt8] { withState(at: position) { Array($0) } }

    /// Whether entity `position` here and entity `other` there hold the same bytes.
    public func sameState(at position: Int, as view: SnapshotView, at other: Int) -> Bool {
        guard lengths[position] == view.lengths[other] else { return false }
        let count = lengths[position]
        guard count > 0 else { return true }
        return withState(at: position) { a in view.withState(at: other) { b in memcmp(a.baseAddress!, b.baseAddress!, count) == 0 } }
    }

    public static func == (a: SnapshotView, b: SnapshotView) -> Bool {
        guard a.ids == b.ids, a.clientIDs == b.clientIDs else { return false }
        for i in a.ids.indices where !a.sameState(at: i, as: b, at: i) { return false }
        return true
    }
}
