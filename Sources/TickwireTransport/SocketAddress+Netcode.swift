import NIOCore
import TickwireProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension NetcodeAddress {
    /// Converts a NIO socket address without going through strings (no allocation for IPv4/IPv6).
    public init?(_ socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let v4):
            let raw = UInt32(bigEndian: v4.address.sin_addr.s_addr)
            self = .ipv4(
                UInt8(truncatingIfNeeded: raw >> 24), UInt8(truncatingIfNeeded: raw >> 16),
                UInt8(truncatingIfNeeded: raw >> 8), UInt8(truncatingIfNeeded: raw),
                port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6):
            var addr = v6.address.sin6_addr
            let (high, low): (UInt64, UInt64) = withUnsafeBytes(of: &addr) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            // IPv4-mapped IPv6 (dual-stack sockets) is reported as plain IPv4, as tokens name it.
            if high == 0, low >> 32 == 0xffff {
                self = .ipv4(
                    UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
                    UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low),
                    port: UInt16(bigEndian: v6.address.sin6_port))
            } else {
                self.init(family: .ipv6, high: high, low: low, port: UInt16(bigEndian: v6.address.sin6_port))
            }
        case .unixDomainSocket:
            return nil
        }
    }
}

extension SocketAddress {
    public init(_ address: NetcodeAddress) {
        switch address.family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = address.port.bigEndian
            sin.sin_addr.s_addr = UInt32(truncatingIfNeeded: address.low).bigEndian
            self.init(sin, host: address.hostDescription)
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = address.port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                raw.storeBytes(of: address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            self.init(sin6, host: address.hostDescription)
        }
    }

    /// The same address as an IPv4-mapped IPv6 address, for sending from a dual-stack socket.
    public static func v4MappedV6(_ address: NetcodeAddress) -> SocketAddress {
        precondition(address.family == .ipv4)
        let mapped = NetcodeAddress(family: .ipv6, high: 0, low: 0xffff_0000_0000 | (address.low & 0xffff_ffff), port: address.port)
        return SocketAddress(mapped)
    }
}
