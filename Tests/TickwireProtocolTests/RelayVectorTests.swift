import Foundation
import Testing
import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// PROTOCOL.md's test vectors (Fixtures/relay-vectors): every file decodes to the fields its
/// `index.json` entry gives, and the implementation re-encodes those inputs to exactly the file's
/// bytes. `TICKWIRE_WRITE_VECTORS=1 swift test --filter RelayVectorTests` rewrites them.
@Suite struct RelayVectorTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/relay-vectors")

    /// The checked-in index: `vectors` in order, each with `name`, `file` and its fields.
    static func index() throws -> [[String: Any]] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/relay-vectors/index", withExtension: "json"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect(json["protocol_version"] as? Int == Int(RelayMessage.protocolVersion))
        return try #require(json["vectors"] as? [[String: Any]])
    }

    static func file(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/relay-vectors/\(name)", withExtension: nil))
        return Array(try Data(contentsOf: url))
    }

    /// Fields as canonical JSON text, to compare dictionaries of any shape.
    static func canonical(_ fields: [String: Any]) throws -> String {
        var fields = fields
        fields["name"] = nil
        fields["file"] = nil
        return String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func theImplementationReEncodesEveryVectorByteForByte() throws {
        let generated = RelayVectors.all()
        if ProcessInfo.processInfo.environment["TICKWIRE_WRITE_VECTORS"] == "1" { try Self.write(generated) }
        let index = try Self.index()
        #expect(index.map { $0["name"] as? String } == generated.map(\.name), "the index lists other vectors: regenerate")
        for vector in generated {
            let bytes = try Self.file("\(vector.name).bin")
            #expect(bytes == vector.bytes, "\(vector.name): the file is not what the implementation encodes")
            let entry = index.first { $0["name"] as? String == vector.name } ?? [:]
            #expect(try Self.canonical(entry) == Self.canonical(vector.fields), "\(vector.name): index fields")
        }
    }

    @Test func everyVectorFileDecodesToItsIndexFields() throws {
        var snapshots: SnapshotDecoder?
        var ticks: [String: Int] = [:]
        for entry in try Self.index() {
            let name = try #require(entry["name"] as? String)
            let bytes = try Self.file(try #require(entry["file"] as? String))
            let decoded: [String: Any]
            switch entry["kind"] as? String {
            case "varint": decoded = try Self.varint(bytes)
            case "packet_header": decoded = try Self.header(bytes)
            case "xor_delta": decoded = try Self.xorDelta(bytes, entry)
            case "relay_message":
                let message = try #require(RelayMessage.decode(bytes), "\(name) does not decode")
                decoded = RelayVectors.describe(message).merging(["kind": "relay_message"]) { a, _ in a }
            case "snapshot":
                if snapshots == nil { snapshots = SnapshotDecoder(maxStateSize: try #require(entry["state_size"] as? Int)) }
                decoded = try Self.snapshot(bytes, entry, &snapshots!, ticks: ticks)
                ticks[name] = decoded["tick"] as? Int
            case "packet":
                decoded = RelayVectors.records(bytes).merging(["kind": "packet", "note": entry["note"] ?? ""]) { a, _ in a }
            default:
                Issue.record("\(name): unknown kind \(entry["kind"] ?? "none")")
                continue
            }
            #expect(try Self.canonical(decoded) == Self.canonical(entry), "\(name): decodes to other fields")
        }
    }

    /// The packet vectors are accepted by a connection, and the fragments reassemble.
    @Test func aConnectionAcceptsThePacketVectors() throws {
        var receiver = try ChannelConnection()
        #expect(receiver.receive(try Self.file("packet-reliable.bin"), now: .zero) == .accepted)
        #expect(receiver.receiveReliable() == RelayMessage.eventToRoom(payload: Array("hello".utf8)).encoded())
        var fragments = try ChannelConnection()
        #expect(fragments.receive(try Self.file("packet-fragment-1.bin"), now: .zero) == .accepted)
        #expect(fragments.receiveReliable() == nil)
        #expect(fragments.receive(try Self.file("packet-fragment-0.bin"), now: .zero) == .accepted)
        let big = (0..<2000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        #expect(fragments.receiveReliable() == RelayMessage.eventToRoom(payload: big).encoded())
    }

    /// The relay reads a client's reliable message in place (`request(in:)`) exactly as the
    /// decoder does: nil where `decode` is nil, the same payload where it is an event, over every
    /// message kind, every cut of each, and seeded random bytes. An event framed in place
    /// (`writeEvent`) is the encoder's bytes.
    @Test func clientRequestsReadInPlaceAgreeWithTheDecoder() {
        let welcome = RelayMessage.Welcome(entityID: 3, tickRate: 60, maxStateSize: 64, roomCapacity: 8, maxEventBytes: 512)
        let messages: [RelayMessage] = [
            .eventToRoom(payload: []), .eventToRoom(payload: [1, 2, 3]), .eventToClient(clientID: 0x0102_0304_0506_0708, payload: []),
            .eventToClient(clientID: 9, payload: [0xFF, 0]), .resync, .peerJoined(clientID: 4, entityID: 5), .peerLeft(clientID: 4, reason: .timedOut),
            .event(from: 6, payload: [7]), .welcome(welcome), .denied(.roomFull), .refused(.roomBusy), .state(payload: [0x20, 1]),
        ]
        var samples = messages.flatMap { message in (0...message.encoded().count).map { Array(message.encoded()[..<$0]) } }
        samples += [[0x12, 0x00], [0x7F], [0x06, 0x09], [0x04, 0x01, 0x00, 0x01]]
        var random = SplitMix64(seed: 11)
        for _ in 0..<2_000 {
            let kind = [0x10, 0x11, 0x12, 0x03, 0x04, 0x06, 0x20, 0x55][Int(random.next() % 8)]
            samples.append([UInt8(kind)] + (0..<Int(random.next() % 20)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        for bytes in samples {
            bytes.withUnsafeBytes { raw in
                let decoded = RelayMessage.decode(raw)
                switch RelayMessage.request(in: raw) {
                case .eventToRoom(let payload)?: #expect(decoded == .eventToRoom(payload: Array(bytes[payload])), "\(bytes)")
                case .eventToClient(let id, let payload)?:
                    #expect(decoded == .eventToClient(clientID: id, payload: Array(bytes[payload])), "\(bytes)")
                case .resync?: #expect(decoded == .resync, "\(bytes)")
                case .notARequest?:
                    let isRequest = switch decoded { case .eventToRoom?, .eventToClient?, .resync?, nil: true; default: false }
                    #expect(!isRequest, "\(bytes): \(String(describing: decoded))")
                case nil: #expect(decoded == nil, "\(bytes)")
                }
            }
        }
        for payload in [[], [1], (0..<300).map { UInt8(truncatingIfNeeded: $0) }] as [[UInt8]] {
            let framed = [UInt8](unsafeUninitializedCapacity: RelayMessage.eventOverhead + payload.count) { buffer, count in
                count = payload.withUnsafeBytes { RelayMessage.writeEvent(from: 0xAABB, payload: $0, into: UnsafeMutableRawBufferPointer(buffer)) }
            }
            #expect(framed == RelayMessage.event(from: 0xAABB, payload: payload).encoded())
        }
    }

    /// A welcome in another protocol version reads as such, whatever follows its version.
    @Test func aWelcomeInAnotherVersionIsRecognisedByItsFirstField() {
        #expect(RelayMessage.decode([0x04, 0x02, 0x00]) == .welcomeInOtherVersion(protocolVersion: 2))
        #expect(RelayMessage.decode([0x04, 0x07, 0x00, 0xAA, 0xBB]) == .welcomeInOtherVersion(protocolVersion: 7, rest: [0xAA, 0xBB]))
        #expect(RelayMessage.welcomeInOtherVersion(protocolVersion: 7, rest: [0xAA, 0xBB]).encoded() == [0x04, 0x07, 0x00, 0xAA, 0xBB])
        #expect(RelayMessage.decode([0x04, 0x01]) == nil)
        #expect(RelayMessage.decode([0x04]) == nil)
    }

    static func varint(_ bytes: [UInt8]) throws -> [String: Any] {
        try bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            let read = reader.readVarint(limit: (1 << 28) - 1)
            let value = try #require(read)
            #expect(reader.remaining == 0)
            return ["kind": "varint", "value": value]
        }
    }

    static func header(_ bytes: [UInt8]) throws -> [String: Any] {
        try bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            let read = PacketHeader.decode(&reader)
            let header = try #require(read)
            #expect(reader.remaining == 0)
            return ["kind": "packet_header", "sequence": Int(header.sequence), "ack": Int(header.ack), "ack_bits": Int(header.ackBits)]
        }
    }

    static func xorDelta(_ bytes: [UInt8], _ entry: [String: Any]) throws -> [String: Any] {
        let against = Vectors.hex(try #require(entry["against"] as? String))
        let length = try #require(entry["state"] as? String).count / 2
        var state: [UInt8] = []
        let ok = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            let decoded = against.withUnsafeBytes { XORDelta.decode(&reader, length: length, against: $0, into: &state) }
            return decoded && reader.remaining == 0
        }
        #expect(ok)
        return ["kind": "xor_delta", "state": RelayVectors.hex(state), "against": RelayVectors.hex(against)]
    }

    static func snapshot(_ bytes: [UInt8], _ entry: [String: Any], _ decoder: inout SnapshotDecoder, ticks: [String: Int]) throws -> [String: Any] {
        let outcome = bytes.withUnsafeBytes { decoder.decode($0) }
        guard case .decoded(let tick, let micros) = outcome else {
            Issue.record("snapshot does not decode: \(outcome)")
            return [:]
        }
        // The baseline named in the message is the baseline vector's tick.
        let baselineTick = bytes.count >= 17 ? bytes[13..<17].reversed().reduce(0) { $0 << 8 | Int($1) } : -1
        if let baseline = entry["baseline"] as? String {
            #expect(ticks[baseline] == baselineTick, "the message names tick \(baselineTick)")
        } else {
            #expect(UInt32(truncatingIfNeeded: baselineTick) == SnapshotFormat.noBaseline)
        }
        let view = try #require(decoder.view(tick: tick))
        let entities = (0..<view.count).map { i -> [String: Any] in
            ["entity_id": Int(view.ids[i]), "client_id": "\(view.clientIDs[i])", "state": RelayVectors.hex(view.state(at: i))]
        }
        var fields: [String: Any] = [
            "kind": "snapshot", "tick": Int(tick), "server_time_us": Int(micros), "state_size": decoder.maxStateSize, "entities": entities,
        ]
        fields["baseline"] = entry["baseline"] is String ? entry["baseline"] : NSNull()
        return fields
    }

    /// Writes the vectors and their index into the source tree.
    static func write(_ vectors: [RelayVectors.Vector]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var entries: [[String: Any]] = []
        for vector in vectors {
            try Data(vector.bytes).write(to: directory.appendingPathComponent("\(vector.name).bin"))
            var entry = vector.fields
            entry["name"] = vector.name
            entry["file"] = "\(vector.name).bin"
            entries.append(entry)
        }
        let index: [String: Any] = [
            "about": "Test vectors of PROTOCOL.md, generated by the implementation (Tests/TickwireProtocolTests/Support/RelayVectors.swift). Each file holds raw bytes; its entry gives what they decode to. Integers are decimal, 64-bit ids are decimal strings, byte strings are hex. Snapshot entities are the reconstruction (the baseline with the entries applied), in entity id order.",
            "protocol_version": Int(RelayMessage.protocolVersion),
            "vectors": entries,
        ]
        let data = try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .prettyPrinted])
        try data.write(to: directory.appendingPathComponent("index.json"))
    }
}
