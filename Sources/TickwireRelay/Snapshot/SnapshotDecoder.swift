import TickwireProtocol

/// Rebuilds snapshots on the client: each message is applied to the baseline it names, which
/// the decoder still holds because the server only names snapshots whose packets were acked
/// and this ring is longer than the server's.
public struct SnapshotDecoder {
    public static let ringSize = 64

    public enum Outcome: Equatable, Sendable {
        case decoded(tick: UInt32, serverTimeMicros: UInt64)
        /// Already decoded (a duplicate or a resend of the same tick).
        case duplicate(tick: UInt32)
        /// The named baseline is not held: ask the server for a full snapshot.
        case missingBaseline(tick: UInt32, baseline: UInt32)
        case malformed
    }

    public struct Counters: Sendable, Equatable {
        public var decoded: UInt64 = 0
        public var duplicates: UInt64 = 0
        public var missingBaseline: UInt64 = 0
        public var malformed: UInt64 = 0
    }

    private struct Entry {
        var id: UInt16
        var op: UInt8
        var clientID: UInt64
        var start: Int
        var length: Int
    }

    public let maxStateSize: Int
    private var ring = SnapshotRing(size: SnapshotDecoder.ringSize)
    public private(set) var newestTick: UInt32?
    public private(set) var counters = Counters()
    private var entries: [Entry] = []
    private var entryBytes: [UInt8] = []
    /// The view being built; after it is stored it holds the evicted snapshot's storage, reused
    /// by the next decode (nothing else still holds a snapshot 64 ticks old), so decoding allocates nothing.
    private var scratch = SnapshotView()

    /// False: every message takes the general path (`decodeSorting`), for tests that hold the
    /// two paths to the same outcomes.
    var takesInOrderPath = true

    public init(maxStateSize: Int) {
        self.maxStateSize = maxStateSize
    }

    public func view(tick: UInt32) -> SnapshotView? { ring.view(tick: tick) }

    /// Decodes one snapshot message (starting with its kind byte).
    public mutating func decode(_ message: UnsafeRawBufferPointer) -> Outcome {
        let outcome = decodeMessage(message)
        switch outcome {
        case .decoded: counters.decoded &+= 1
        case .duplicate: counters.duplicates &+= 1
        case .missingBaseline: counters.missingBaseline &+= 1
        case .malformed: counters.malformed &+= 1
        }
        return outcome
    }

    private mutating func decodeMessage(_ message: UnsafeRawBufferPointer) -> Outcome {
        var reader = ByteReader(message)
        guard reader.readUInt8() == SnapshotFormat.kind,
              let tick = reader.read(UInt32.self), let time = reader.read(UInt64.self),
              let baselineTick = reader.read(UInt32.self), let count = reader.read(UInt16.self) else { return .malformed }
        if ring.contains(tick: tick) { return .duplicate(tick: tick) }
        let base: SnapshotView
        if baselineTick == SnapshotFormat.noBaseline {
            base = SnapshotView()
        } else {
            guard baselineTick < tick else { return .malformed }
            guard let held = view(tick: baselineTick) else { return .missingBaseline(tick: tick, baseline: baselineTick) }
            base = held
        }
        let entriesStart = reader
        switch takesInOrderPath ? decodeInOrder(&reader, count: count, base: base) : .outOfOrder {
        case .decoded: break
        case .malformed: return .malformed
        case .outOfOrder:
            // Entries may come in any order; the relay's come in id order unless some were removed.
            reader = entriesStart
            guard decodeSorting(&reader, count: count, base: base) else { return .malformed }
        }
        ring.store(tick: tick, swapping: &scratch)
        if newestTick.map({ tick > $0 }) ?? true { newestTick = tick }
        return .decoded(tick: tick, serverTimeMicros: time)
    }

    enum InOrderResult { case decoded, malformed, outOfOrder }

    /// Rebuilds the snapshot into `scratch` in one pass while the entries come in ascending id
    /// order (as the relay writes them unless some were removed): each entry's state is decoded
    /// straight into place beside the baseline's untouched entities. `.outOfOrder`: an entry
    /// came after a higher id, and the caller starts again with `decodeSorting`.
    mutating func decodeInOrder(_ reader: inout ByteReader, count: UInt16, base: SnapshotView) -> InOrderResult {
        scratch.removeAll()
        var i = 0, previous = -1
        for _ in 0..<count {
            guard let id = reader.read(UInt16.self), let op = reader.readUInt8() else { return .malformed }
            guard Int(id) > previous else { return .outOfOrder }
            previous = Int(id)
            while i < base.count && base.id(at: i) < id {
                scratch.append(base, at: i)
                i += 1
            }
            let inBase = i < base.count && base.id(at: i) == id
            switch op {
            case SnapshotFormat.Op.removed:
                guard inBase else { return .malformed }
                i += 1
            case SnapshotFormat.Op.new:
                guard !inBase, let clientID = reader.read(UInt64.self), let length = reader.readVarint(limit: maxStateSize),
                      scratch.append(id: id, clientID: clientID, length: length, filling: {
                          XORDelta.decode(&reader, length: length, against: UnsafeRawBufferPointer(start: nil, count: 0), into: &$0)
                      })
                else { return .malformed }
            case SnapshotFormat.Op.changed:
                guard inBase, let length = reader.readVarint(limit: maxStateSize),
                      base.withState(at: i, { baseline in
                          scratch.append(id: id, clientID: base.clientID(at: i), length: length, filling: {
                              XORDelta.decode(&reader, length: length, against: baseline, into: &$0)
                          })
                      })
                else { return .malformed }
                i += 1
            default:
                return .malformed
            }
        }
        guard reader.remaining == 0 else { return .malformed }
        while i < base.count {
            scratch.append(base, at: i)
            i += 1
        }
        return .decoded
    }

    /// Rebuilds the snapshot into `scratch` from entries in any order: decodes each aside, sorts
    /// them by id, then merges them with the baseline. False: malformed.
    mutating func decodeSorting(_ reader: inout ByteReader, count: UInt16, base: SnapshotView) -> Bool {
        entries.removeAll(keepingCapacity: true)
        entryBytes.removeAll(keepingCapacity: true)
        for _ in 0..<count {
            guard let id = reader.read(UInt16.self), let op = reader.readUInt8() else { return false }
            let inBase = base.position(of: id)
            var entry = Entry(id: id, op: op, clientID: 0, start: entryBytes.count, length: 0)
            switch op {
            case SnapshotFormat.Op.removed:
                guard inBase != nil else { return false }
            case SnapshotFormat.Op.new:
                guard inBase == nil, let clientID = reader.read(UInt64.self),
                      let length = reader.readVarint(limit: maxStateSize),
                      XORDelta.decode(&reader, length: length, against: UnsafeRawBufferPointer(start: nil, count: 0), into: &entryBytes)
                else { return false }
                entry.clientID = clientID
                entry.length = length
            case SnapshotFormat.Op.changed:
                guard let position = inBase, let length = reader.readVarint(limit: maxStateSize),
                      base.withState(at: position, { XORDelta.decode(&reader, length: length, against: $0, into: &entryBytes) })
                else { return false }
                entry.clientID = base.clientID(at: position)
                entry.length = length
            default:
                return false
            }
            entries.append(entry)
        }
        guard reader.remaining == 0 else { return false }
        entries.sort { $0.id < $1.id }
        for k in entries.indices.dropFirst() where entries[k].id == entries[k - 1].id { return false }

        scratch.removeAll()
        var i = 0, e = 0
        while i < base.count || e < entries.count {
            if e == entries.count || (i < base.count && base.id(at: i) < entries[e].id) {
                scratch.append(base, at: i)
                i += 1
                continue
            }
            let entry = entries[e]
            if entry.op != SnapshotFormat.Op.removed {
                entryBytes.withUnsafeBytes { raw in
                    scratch.append(id: entry.id, clientID: entry.clientID,
                                state: UnsafeRawBufferPointer(rebasing: raw[entry.start..<entry.start + entry.length]))
                }
            }
            if i < base.count && base.id(at: i) == entry.id { i += 1 }
            e += 1
        }
        return true
    }
}
