#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 endpoint as netcode encodes it in connect tokens.
///
/// Stored as plain integers so it hashes and compares without allocating: IPv4 keeps its four
/// octets in the low 32 bits of `low` (first octet highest); IPv6 keeps groups 0–3 in `high` and
/// 4–7 in `low` (group 0 highest).
public struct NetcodeAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: UInt8, Sendable {
        case ipv4 = 1
        case ipv6 = 2
    }

    public var family: Family
    public var high: UInt64
    public var low: UInt64
    public var port: UInt16

    public init(family: Family, high: UInt64, low: UInt64, port: UInt16) {
        self.family = family
        self.high = high
        self.low = low
        self.port = port
    }

    public static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) -> NetcodeAddress {
        NetcodeAddress(
            family: .ipv4, high: 0,
            low: UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d), port: port)
    }

    public static func ipv6(groups: [UInt16], port: UInt16) -> NetcodeAddress {
        precondition(groups.count == 8, "an IPv6 address has 8 groups")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<4 { high = high << 16 | UInt64(groups[i]) }
        for i in 4..<8 { low = low << 16 | UInt64(groups[i]) }
        return NetcodeAddress(family: .ipv6, high: high, low: low, port: port)
    }

    /// The four octets of an IPv4 address, in dotted order.
    public var ipv4Octets: [UInt8] {
        [UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
         UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low)]
    }

    /// The eight groups of an IPv6 address.
    public var ipv6Groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    /// The 16 bytes of an IPv6 address in network order.
    public var ipv6Bytes: [UInt8] {
        ipv6Groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// True for 0.0.0.0 and ::, the "any address" binds.
    public var isUnspecified: Bool { high == 0 && low == 0 }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        family == .ipv4 ? low >> 24 == 127 : (high == 0 && low == 1)
    }

    /// Encoded size in a token: type byte + address + port.
    public var encodedSize: Int { family == .ipv4 ? 7 : 19 }

    // MARK: Parsing and printing

    /// Parses `a.b.c.d:port`, `[v6]:port`, or (when `defaultPort` is given) a bare address.
    public init?(parsing text: String, defaultPort: UInt16? = nil) {
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        let port: UInt16
        if let portText {
            guard let p = UInt16(portText) else { return nil }
            port = p
        } else if let defaultPort {
            port = defaultPort
        } else {
            return nil
        }
        if let v4 = Self.parseIPv4(host) {
            self = .ipv4(v4[0], v4[1], v4[2], v4[3], port: port)
        } else if let v6 = Self.parseIPv6(String(host)) {
            self = .ipv6(groups: v6, port: port)
        } else {
            return nil
        }
    }

    private static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let v = UInt8(part) else { return nil }
            out.append(v)
        }
        return out
    }

    private static func parseIPv6(_ text: String) -> [UInt16]? {
        var storage = in6_addr()
        guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
        return withUnsafeBytes(of: &storage) { raw in
            (0..<8).map { UInt16(raw[2 * $0]) << 8 | UInt16(raw[2 * $0 + 1]) }
        }
    }

    public var hostDescription: String {
        switch family {
        case .ipv4:
            return ipv4Octets.map(String.init).joined(separator: ".")
        case .ipv6:
            var storage = in6_addr()
            let bytes = ipv6Bytes
            withUnsafeMutableBytes(of: &storage) { raw in
                for i in 0..<16 { raw[i] = bytes[i] }
            }
            var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &storage, &out, socklen_t(out.count)) != nil else { return "?" }
            return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public var description: String {
        family == .ipv4 ? "\(hostDescription):\(port)" : "[\(hostDescription)]:\(port)"
    }
}

// MARK: - Token encoding

extension NetcodeAddress {
    /// Writes the token form: type byte, octets (IPv4) or little-endian groups (IPv6), port LE.
    public func encode(into writer: inout ByteWriter) {
        writer.write(family.rawValue)
        switch family {
        case .ipv4:
            for octet in ipv4Octets { writer.write(octet) }
        case .ipv6:
            for group in ipv6Groups { writer.write(group) }
        }
        writer.write(port)
    }

    /// Reads the token form. Returns `nil` for an unknown type byte or a truncated entry.
    public static func decode(from reader: inout ByteReader) -> NetcodeAddress? {
        guard let type = reader.readUInt8() else { return nil }
        switch type {
        case Family.ipv4.rawValue:
            guard let a = reader.readUInt8(), let b = reader.readUInt8(), let c = reader.readUInt8(),
                let d = reader.readUInt8(), let port = reader.read(UInt16.self)
            else { return nil }
            return .ipv4(a, b, c, d, port: port)
        case Family.ipv6.rawValue:
            var groups: [UInt16] = []
            groups.reserveCapacity(8)
            for _ in 0..<8 {
                guard let g = reader.read(UInt16.self) else { return nil }
                groups.append(g)
            }
            guard let port = reader.read(UInt16.self) else { return nil }
            return .ipv6(groups: groups, port: port)
        default:
            return nil
        }
    }
}
