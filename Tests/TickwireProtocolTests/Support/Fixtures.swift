import Foundation
import TickwireProtocol

/// Fixed inputs of the netcode reference vectors (see Fixtures/netcode-vectors/index.json).
enum Vectors {
    static let protocolID: UInt64 = 0x1122_3344_5566_7788
    static let clientID: UInt64 = 0x0123_4567_89ab_cdef
    static let createTimestamp: UInt64 = 1_700_000_000
    static let expireTimestamp: UInt64 = 1_700_003_600
    static let timeoutSeconds: Int32 = 5
    static let servers: [NetcodeAddress] = [
        .ipv4(127, 0, 0, 1, port: 40000),
        .ipv6(groups: [0x2001, 0x0db8, 0, 0, 0, 0, 0, 1], port: 40001),
    ]
    static let privateKey = bytes(0x00...0x1f)
    static let tokenNonce = bytes(0x80...0x97)
    static let clientToServerKey = bytes(0x40...0x5f)
    static let serverToClientKey = bytes(0x60...0x7f)
    static let challengeKey = bytes(0xa0...0xbf)
    static let userData = bytes(0x00...0xff)

    static func bytes(_ range: ClosedRange<Int>) -> [UInt8] { range.map { UInt8($0) } }

    static func file(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "Fixtures/netcode-vectors/\(name)", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        return Array(try Data(contentsOf: url))
    }

    /// The `index.json` entry of a vector, for its recorded plaintext.
    static func entry(_ name: String) throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures/netcode-vectors/index", withExtension: "json")!
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let vectors = json["vectors"] as! [[String: Any]]
        return vectors.first { ($0["name"] as? String) == name }!
    }

    static func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = text.makeIterator()
        while let a = iterator.next(), let b = iterator.next() {
            out.append(UInt8(String([a, b]), radix: 16)!)
        }
        return out
    }
}
