import Foundation
import TickwireProtocol
import TickwireRelay
import TickwireReliability

/// The test vectors of PROTOCOL.md (Fixtures/relay-vectors), made by the implementation's own
/// encoders from fixed inputs. `RelayVectorTests` checks the checked-in files against these
/// (re-encoding) and decodes the files back to the fields in `index.json` (decoding).
enum RelayVectors {
    struct Vector {
        var name: String
        var bytes: [UInt8]
        /// What the bytes decode to, as written in `index.json` (kind, fields, hex strings).
        var fields: [String: Any]
    }

    static func all() -> [Vector] {
        varints() + headers() + xorDeltas() + messages() + snapshots() + packets()
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    // MARK: Varints (section 2)

    static func varints() -> [Vector] {
        [0, 1, 127, 128, 300, 16_383, 16_384, (1 << 28) - 1].map { value in
            var buffer = [UInt8](repeating: 0, count: 8)
            let length = buffer.withUnsafeMutableBytes { out in
                var writer = UnsafeByteWriter(out)
                writer.writeVarint(value)
                return writer.offset
            }
            return Vector(name: "varint-\(value)", bytes: Array(buffer[0..<length]), fields: ["kind": "varint", "value": value])
        }
    }

    // MARK: Packet headers (section 4)

    static func headers() -> [Vector] {
        let cases: [(String, PacketHeader)] = [
            ("header-first", PacketHeader(sequence: 0, ack: 0, ackBits: 0)),
            ("header-short-ack", PacketHeader(sequence: 1000, ack: 998, ackBits: 0xFFFF_FF0F)),
            ("header-all-received", PacketHeader(sequence: 5, ack: 4, ackBits: 0xFFFF_FFFF)),
            ("header-long-ack", PacketHeader(sequence: 700, ack: 100, ackBits: 0x8000_0001)),
            ("header-wrapped", PacketHeader(sequence: 3, ack: 65_530, ackBits: 0x00FF_7F01)),
        ]
        return cases.map { name, header in
            Vector(name: name, bytes: header.encoded(), fields: [
                "kind": "packet_header", "sequence": Int(header.sequence), "ack": Int(header.ack),
                "ack_bits": Int(header.ackBits),
            ])
        }
    }

    // MARK: Delta runs (section 7.3)

    static func xorDeltas() -> [Vector] {
        let cases: [(String, state: [UInt8], against: [UInt8])] = [
            ("xor-delta-changed", [1, 2, 3, 4, 5, 6, 7, 9], [1, 2, 3, 4, 5, 6, 7, 8]),
            ("xor-delta-against-nothing", [0, 0, 0, 7, 7, 0, 0, 0, 0, 1], []),
            ("xor-delta-shorter", [1, 2, 3, 0xFF], [1, 2, 3, 4, 5, 6]),
            ("xor-delta-longer", [1, 2, 3, 4, 5, 6, 0, 0, 9], [1, 2, 3, 4]),
            ("xor-delta-unchanged", [0x10, 0x20, 0x30], [0x10, 0x20, 0x30]),
            ("xor-delta-short-gap", [1, 0xA1, 0xA2, 3, 0xA4, 5, 6, 7, 8, 9, 0xAA], Array(1...11)),
        ]
        return cases.map { name, state, against in
            var buffer = [UInt8](repeating: 0, count: 64)
            let length = buffer.withUnsafeMutableBytes { out in
                var writer = UnsafeByteWriter(out)
                let fitted = state.withUnsafeBytes { s in against.withUnsafeBytes { a in XORDelta.encode(s, against: a, into: &writer) } }
                precondition(fitted)
                return writer.offset
            }
            return Vector(name: name, bytes: Array(buffer[0..<length]), fields: [
                "kind": "xor_delta", "state": hex(state), "against": hex(against),
            ])
        }
    }

    // MARK: Relay messages (section 6)

    static let sampleWelcome = RelayMessage.Welcome(entityID: 3, tickRate: 60, maxStateSize: 64, roomCapacity: 64, maxEventBytes: 16_384)

    static func messages() -> [Vector] {
        let cases: [(String, RelayMessage)] = [
            ("message-event-to-room", .eventToRoom(payload: Array("hello".utf8))),
            ("message-event-to-room-empty", .eventToRoom(payload: [])),
            ("message-event-to-client", .eventToClient(clientID: 0x0102_0304_0506_0708, payload: [0xCA, 0xFE])),
            ("message-resync", .resync),
            ("message-state", .state(payload: [0x00, 0x01, 0x02, 0x03, 0xFF])),
            ("message-peer-joined", .peerJoined(clientID: 42, entityID: 7)),
            ("message-peer-left-disconnected", .peerLeft(clientID: 42, reason: .disconnected)),
            ("message-peer-left-timed-out", .peerLeft(clientID: 42, reason: .timedOut)),
            ("message-peer-left-removed", .peerLeft(clientID: 42, reason: .removedByServer)),
            ("message-event", .event(from: 9, payload: Array("gg".utf8))),
            ("message-welcome", .welcome(sampleWelcome)),
            ("message-welcome-version-2", .welcomeInOtherVersion(protocolVersion: 2, rest: [0x03, 0x00, 0x3C, 0x00])),
            ("message-denied-room-full", .denied(.roomFull)),
            ("message-denied-room-not-hosted", .denied(.roomNotHosted)),
            ("message-refused-too-large", .refused(.eventTooLarge)),
            ("message-refused-rate-limited", .refused(.rateLimited)),
            ("message-refused-room-busy", .refused(.roomBusy)),
            ("message-refused-unknown-recipient", .refused(.unknownRecipient)),
        ]
        return cases.map { name, message in
            var fields = describe(message)
            fields["kind"] = "relay_message"
            return Vector(name: name, bytes: message.encoded(), fields: fields)
        }
    }

    /// A message's fields as `index.json` names them.
    static func describe(_ message: RelayMessage) -> [String: Any] {
        switch message {
        case .eventToRoom(let payload): ["message": "event_to_room", "payload": hex(payload)]
        case .eventToClient(let id, let payload): ["message": "event_to_client", "client_id": "\(id)", "payload": hex(payload)]
        case .resync: ["message": "resync"]
        case .state(let payload): ["message": "state", "payload": hex(payload)]
        case .peerJoined(let id, let entity): ["message": "peer_joined", "client_id": "\(id)", "entity_id": Int(entity)]
        case .peerLeft(let id, let reason): ["message": "peer_left", "client_id": "\(id)", "reason": Int(reason.rawValue)]
        case .event(let from, let payload): ["message": "event", "from": "\(from)", "payload": hex(payload)]
        case .welcome(let w):
            [
                "message": "welcome", "protocol_version": Int(RelayMessage.protocolVersion), "entity_id": Int(w.entityID),
                "tick_rate": Int(w.tickRate), "state_size": Int(w.maxStateSize), "room_capacity": Int(w.roomCapacity),
                "max_event_bytes": Int(w.maxEventBytes),
            ]
        case .welcomeInOtherVersion(let version, let rest): ["message": "welcome", "protocol_version": Int(version), "rest": hex(rest)]
        case .denied(let reason): ["message": "denied", "reason": Int(reason.rawValue)]
        case .refused(let reason): ["message": "refused", "reason": Int(reason.rawValue)]
        }
    }

    // MARK: Snapshots (section 7)

    /// The room at ticks 100 and 101, seen by the client whose entity is 0: at 101 entity 2
    /// moved, entity 3 left and entity 5 joined. Tick 101 is coded against 100 (acked).
    static let roomAt100: [(entity: UInt16, client: UInt64, state: [UInt8])] = [
        (0, 100, [0xEE, 0xEE]),
        (1, 101, [1, 0, 0, 0, 0x10, 0, 0, 0]),
        (2, 102, [2, 0, 0, 0, 0x20, 0, 0, 0]),
        (3, 103, [3, 0, 0, 0, 0x30, 0, 0, 0]),
    ]
    static let roomAt101: [(entity: UInt16, client: UInt64, state: [UInt8])] = [
        (0, 100, [0xEE, 0xEF]),
        (1, 101, [1, 0, 0, 0, 0x10, 0, 0, 0]),
        (2, 102, [2, 0, 0, 0, 0x21, 0, 0, 0]),
        (5, 105, [5, 5, 5]),
    ]

    static func snapshots() -> [Vector] {
        var encoder = SnapshotEncoder()
        var out: [Vector] = []
        func view(_ room: [(entity: UInt16, client: UInt64, state: [UInt8])]) -> SnapshotView {
            var view = SnapshotView()
            for e in room { view.append(id: e.entity, clientID: e.client, state: e.state) }
            return view
        }
        func encode(_ name: String, tick: UInt32, room: [(entity: UInt16, client: UInt64, state: [UInt8])], baseline: String?) {
            var buffer = [UInt8](repeating: 0, count: 1188)
            let length = buffer.withUnsafeMutableBytes {
                encoder.encode(tick: tick, serverTimeMicros: UInt64(tick) * 16_667, room: view(room), excluding: 0, into: $0)
            }
            let entities = room.filter { $0.entity != 0 }.map { e -> [String: Any] in
                ["entity_id": Int(e.entity), "client_id": "\(e.client)", "state": hex(e.state)]
            }
            var fields: [String: Any] = [
                "kind": "snapshot", "tick": Int(tick), "server_time_us": Int(tick) * 16_667, "state_size": 64,
                "entities": entities,
            ]
            fields["baseline"] = baseline ?? NSNull()
            out.append(Vector(name: name, bytes: Array(buffer[0..<length]), fields: fields))
        }
        encode("snapshot-full", tick: 100, room: roomAt100, baseline: nil)
        encoder.acked(tick: 100)
        encode("snapshot-delta", tick: 101, room: roomAt101, baseline: "snapshot-full")
        return out
    }

    // MARK: Packets (sections 4 and 5)

    /// Each packet vector: what a fresh connection (sequence 0) was given, the packet it wrote.
    static func packets() -> [Vector] {
        var out: [Vector] = []
        func write(_ connection: inout ChannelConnection) -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: Netcode.maxPayloadBytes)
            let length = buffer.withUnsafeMutableBytes { connection.writePacket(into: $0, now: .zero) }
            return Array(buffer[0..<length])
        }
        func add(_ name: String, _ bytes: [UInt8], note: String) {
            out.append(Vector(name: name, bytes: bytes, fields: ["kind": "packet", "note": note].merging(records(bytes)) { a, _ in a }))
        }

        var client = try! ChannelConnection()
        _ = try! client.sendReliable(RelayMessage.eventToRoom(payload: Array("hello".utf8)).encoded())
        let first = write(&client)
        add("packet-reliable", first, note: "a client's first packet: one event to the room, reliable id 0")

        var server = try! ChannelConnection()
        server.receive(first, now: .zero)
        add("packet-ack-only", write(&server), note: "the server's reply to packet-reliable with nothing to send: an ack-only packet")

        _ = try! server.sendReliable(RelayMessage.welcome(sampleWelcome).encoded())
        try! server.sendUnreliable(snapshots()[0].bytes)
        add("packet-mixed", write(&server), note: "the server's next packet: the welcome (reliable id 0) and snapshot-full (unreliable)")

        try! client.sendUnreliable(RelayMessage.state(payload: [1, 2, 3, 4]).encoded())
        add("packet-state", write(&client), note: "the client's second packet: a state, unreliable")

        var sender = try! ChannelConnection()
        let big = (0..<2000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        _ = try! sender.sendReliable(RelayMessage.eventToRoom(payload: big).encoded())
        add("packet-fragment-0", write(&sender), note: "a 2001-byte event to the room (payload byte i = i mod 251) from a fresh connection: fragment 0 of 2")
        add("packet-fragment-1", write(&sender), note: "fragment 1 of 2 of the same message")
        return out
    }

    /// A packet's header and records, read by the layout of PROTOCOL.md sections 4 and 5
    /// (independently of `ChannelConnection`); nil fields when the bytes do not follow it.
    static func records(_ bytes: [UInt8]) -> [String: Any] {
        bytes.withUnsafeBytes { raw -> [String: Any] in
            var reader = ByteReader(raw)
            guard let header = PacketHeader.decode(&reader) else { return ["error": "bad header"] }
            var records: [[String: Any]] = []
            while let kind = reader.readUInt8() {
                switch kind {
                case 0x01:
                    guard let id = reader.read(UInt16.self), let length = reader.read(UInt16.self),
                          let body = reader.readBytes(Int(length)) else { return ["error": "truncated reliable message"] }
                    records.append(["record": "reliable", "id": Int(id), "body": hex(body)])
                case 0x02:
                    guard let id = reader.read(UInt16.self), let index = reader.read(UInt16.self),
                          let count = reader.read(UInt16.self), let length = reader.read(UInt16.self),
                          let body = reader.readBytes(Int(length)) else { return ["error": "truncated fragment"] }
                    records.append(["record": "fragment", "id": Int(id), "index": Int(index), "count": Int(count), "body": hex(body)])
                case 0x03:
                    guard let length = reader.read(UInt16.self), let body = reader.readBytes(Int(length)) else {
                        return ["error": "truncated unreliable message"]
                    }
                    records.append(["record": "unreliable", "body": hex(body)])
                default:
                    return ["error": "unknown record kind \(kind)"]
                }
            }
            return [
                "sequence": Int(header.sequence), "ack": Int(header.ack), "ack_bits": Int(header.ackBits),
                "records": records,
            ]
        }
    }
}
