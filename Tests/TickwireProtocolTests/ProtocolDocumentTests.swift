import Foundation
import Testing
import TickwireProtocol
import TickwireRelay

/// PROTOCOL.md names every kind byte, reason code and snapshot op the code knows, each in its
/// section: a code added without its specification fails here.
@Suite struct ProtocolDocumentTests {
    static func document() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../PROTOCOL.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The text of section `number` (from its heading to the next heading of any level).
    static func section(_ number: String, in document: String) throws -> String {
        let lines = document.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasPrefix("## \(number) ") || $0.hasPrefix("### \(number) ") }, "no section \(number)")
        let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") || $0.hasPrefix("### ") } ?? lines.count
        return lines[start..<end].joined(separator: "\n")
    }

    static func hex(_ kind: UInt8) -> String { String(format: "`0x%02x`", kind) }

    @Test func everyKindReasonAndOpIsSpecified() throws {
        let doc = try Self.document()
        #expect(doc.hasPrefix("# The Tickwire protocol, version \(RelayMessage.protocolVersion)\n"))

        let records = try Self.section("5.", in: doc)
        for kind: UInt8 in [0x01, 0x02, 0x03] { #expect(records.contains("| \(Self.hex(kind)) |"), "record \(kind)") }

        let messages = try Self.section("6.", in: doc)
        let kinds: [UInt8] = [
            RelayMessage.Kind.eventToRoom, RelayMessage.Kind.eventToClient, RelayMessage.Kind.resync, RelayMessage.Kind.state,
            RelayMessage.Kind.peerJoined, RelayMessage.Kind.peerLeft, RelayMessage.Kind.event, RelayMessage.Kind.welcome,
            RelayMessage.Kind.denied, RelayMessage.Kind.refused, RelayMessage.Kind.snapshot,
        ]
        for kind in kinds { #expect(messages.contains("| \(Self.hex(kind)) |"), "message kind \(kind)") }
        // Each message's own section gives its layout, starting with its kind byte.
        for kind in kinds where kind != RelayMessage.Kind.snapshot {
            #expect(doc.contains("— `0x\(String(format: "%02x", kind))"), "no layout for kind \(kind)")
        }

        let denied = try Self.section("6.5", in: doc)
        for raw in UInt8(0)...255 where RelayMessage.DenyReason(rawValue: raw) != nil {
            #expect(denied.contains("| \(raw) |"), "deny reason \(raw)")
        }
        let left = try Self.section("6.7", in: doc)
        for raw in UInt8(0)...255 where RelayMessage.PeerLeftReason(rawValue: raw) != nil {
            #expect(left.contains("\(raw) "), "peer-left reason \(raw)")
        }
        let refused = try Self.section("6.9", in: doc)
        for reason in RelayMessage.RefusalReason.allCases { #expect(refused.contains("\(reason.rawValue) "), "refusal \(reason)") }

        let snapshot = try Self.section("7.1", in: doc)
        for op in 0...2 { #expect(snapshot.contains("op \(op)"), "snapshot op \(op)") }
        #expect(snapshot.contains("\(SnapshotFormat.headerSize) bytes of header"))
    }
}
