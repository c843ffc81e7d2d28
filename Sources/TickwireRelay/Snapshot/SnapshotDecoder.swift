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
        entries.removeAll(keepingCapacity: true)
        entryBytes.removeAll(keepingCapacity: true)
        for _ in 0..<count {
            guard let id = reader.read(UInt16.self), let op = reader.readUInt8() else { return .malformed }
            let inBase = base.position(of: id)
            var entry = Entry(id: id, op: op, clientID: 0, start: entryBytes.count, length: 0)
            switch op {
            case SnapshotFormat.Op.removed:
                guard inBase != nil else { return .malformed }
            case SnapshotFormat.Op.new:
                guard inBase == nil, let clientID = reader.read(UInt64.self),
                      let length = reader.readVarint(limit: maxStateSize),
                      XORDelta.decode(&reader, length: length, against: UnsafeRawBufferPointer(start: nil, count: 0), into: &entryBytes)
                else { return .malformed }
                entry.clientID = clientID
                entry.length = length
            case SnapshotFormat.Op.changed:
                guard let position = inBase, let length = reader.readVarint(limit: maxStateSize),
                      base.withState(at: position, { XORDelta.decode(&reader, length: length, against: $0, into: &entryBytes) })
                else { return .malformed }
                entry.clientID = base.clientID(at: position)
                entry.length = length
            default:
                return .malformed
            }
            entries.append(entry)
        }
        guard reader.remaining == 0 else { return .malformed }
        entries.sort { $0.id < $1.id }
        for k in entries.indices.dropFirst() where entries[k].id == entries[k - 1].id { return .malformed }

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
        ring.store(tick: tick, swapping: &scratch)
        if newestTick.map({ tick > $0 }) ?? true { newestTick = tick }
        return .decoded(tick: tick, serverTimeMicros: time)
    }
}
