import CTickwireMemory

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A set of entities and their states, sorted by entity id, stored flat so that clearing and
/// refilling it reuses its memory: what one client sees of its room at one tick.
///
/// Two arrays, not one per field: the server refills each room's views every tick and every
/// member's snapshot ring holds some of them, so each array is a retain, a release and a
/// uniqueness check on memory that is cold by then.
public struct SnapshotView: Sendable, Equatable {
    private struct Entry: Sendable {
        var clientID: UInt64
        var start: Int
        var length: Int
        var id: UInt16
    }

    private var entries: [Entry] = []
    private var bytes: [UInt8] = []

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var indices: Range<Int> { 0..<entries.count }

    /// The entity id at `position` (0..<count).
    public func id(at position: Int) -> UInt16 { entries[position].id }
    /// The client id of the entity at `position` (0..<count).
    public func clientID(at position: Int) -> UInt64 { entries[position].clientID }
    /// The id of the last entity (the highest), or nil when empty.
    public var lastID: UInt16? { entries.last?.id }

    /// Every entity id in order (an array: for inspection and tests, not the hot path).
    public var ids: [UInt16] { entries.map(\.id) }
    /// Every entity's client id in order (an array: for inspection and tests, not the hot path).
    public var clientIDs: [UInt64] { entries.map(\.clientID) }

    public mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends an entity; ids must come in ascending order.
    public mutating func append(id: UInt16, clientID: UInt64, state: UnsafeRawBufferPointer) {
        precondition(entries.last.map { $0.id < id } ?? true, "SnapshotView ids must be appended in ascending order")
        entries.append(Entry(clientID: clientID, start: bytes.count, length: state.count, id: id))
        bytes.append(contentsOf: state)
    }

    /// Appends an entity whose state `fill` appends to the view's bytes: exactly `length` of
    /// them, or it returns false. False: the view is as it was, and so is the result.
    mutating func append(id: UInt16, clientID: UInt64, length: Int, filling fill: (inout [UInt8]) -> Bool) -> Bool {
        precondition(entries.last.map { $0.id < id } ?? true, "SnapshotView ids must be appended in ascending order")
        let start = bytes.count
        guard fill(&bytes), bytes.count == start + length else {
            bytes.removeSubrange(start...)
            return false
        }
        entries.append(Entry(clientID: clientID, start: start, length: length, id: id))
        return true
    }

    public mutating func append(id: UInt16, clientID: UInt64, state: [UInt8]) {
        state.withUnsafeBytes { append(id: id, clientID: clientID, state: $0) }
    }

    /// Appends entity `position` of another view.
    public mutating func append(_ other: SnapshotView, at position: Int) {
        let entry = other.entries[position]
        other.withState(at: position) { append(id: entry.id, clientID: entry.clientID, state: $0) }
    }

    /// The position of `id`, or nil.
    public func position(of id: UInt16) -> Int? {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return low < entries.count && entries[low].id == id ? low : nil
    }

    /// The position of the entity of `clientID`, or nil.
    public func position(ofClient clientID: UInt64) -> Int? { entries.firstIndex { $0.clientID == clientID } }

    public func withState<R>(at position: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let entry = entries[position]
        return try bytes.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[entry.start..<entry.start + entry.length]))
        }
    }

    public func state(at position: Int) -> [UInt8] { withState(at: position) { Array($0) } }

    /// Whether entity `position` here and entity `other` there hold the same bytes.
    public func sameState(at position: Int, as view: SnapshotView, at other: Int) -> Bool {
        let count = entries[position].length
        guard count == view.entries[other].length else { return false }
        guard count > 0 else { return true }
        return withState(at: position) { a in view.withState(at: other) { b in memcmp(a.baseAddress!, b.baseAddress!, count) == 0 } }
    }

    /// Hint: fetch the entries and state bytes of the view at `view`, as many as `like` holds
    /// (a view of the same room, in cache), without retaining the view's storage or reading it:
    /// `view` may point at a view in an array's storage.
    static func prefetch(_ view: UnsafePointer<SnapshotView>, like: SnapshotView) {
        let raw = UnsafeRawPointer(view)
        tickwire_prefetch_array_elements(raw + entriesOffset, 0, (like.entries.count &* MemoryLayout<Entry>.stride &+ 63) / 64)
        tickwire_prefetch_array_elements(raw + bytesOffset, 0, (like.bytes.count &+ 63) / 64)
    }
    static let entriesOffset = MemoryLayout<SnapshotView>.offset(of: \SnapshotView.entries) ?? 0
    static let bytesOffset = MemoryLayout<SnapshotView>.offset(of: \SnapshotView.bytes) ?? 0

    /// Where the two arrays' elements start (for the test that `prefetch` reads the right words).
    var elementStarts: (entries: UnsafeRawPointer?, bytes: UnsafeRawPointer?) {
        (entries.withUnsafeBytes { $0.baseAddress }, bytes.withUnsafeBytes { $0.baseAddress })
    }

    public static func == (a: SnapshotView, b: SnapshotView) -> Bool {
        guard a.count == b.count else { return false }
        for i in a.indices where a.entries[i].id != b.entries[i].id || a.entries[i].clientID != b.entries[i].clientID || !a.sameState(at: i, as: b, at: i) {
            return false
        }
        return true
    }
}
